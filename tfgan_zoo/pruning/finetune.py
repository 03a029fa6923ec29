"""Pruning a trained run: restore it dense, fine-tune a pruned copy in a new run directory, and
report sparsity, size and quality before and after. What `python -m tfgan_zoo.prune` calls."""
import json
import os

from ml_collections import config_dict

from tfgan_zoo import config as config_lib
from tfgan_zoo import files
from tfgan_zoo.engine import runs, training
from tfgan_zoo.engine.workdir import Workdir
from tfgan_zoo.errors import ZooError
from tfgan_zoo.evaluation import scoring

# Both networks by default: with only the generator losing weights, the intact discriminator
# wins outright mid-schedule (d_loss 0.01) and the generator does not recover. Measured on the
# zoo's DCGAN at 80%, 2,000 steps, seed 0, every layer pruned, from FID 79.1: 120.4 pruning G
# alone, 89.4 pruning D with it.
NETWORKS = ("generator", "discriminator")


def _source_config(workdir):
    config = runs.saved_config(workdir)
    if config.prune.enabled:
        raise ZooError(f"{workdir.path} is already a pruned run; prune its dense source run, "
                       "or train further with the same --workdir")
    return config


def _pruning_config(source, target, steps, networks, keep_dense=None, seed=None):
    config = config_dict.ConfigDict(source.to_dict())
    if seed is not None:
        config.train.seed = seed
    if keep_dense is None:
        # The recipe's current choice: the source run's own section is that of a dense run,
        # possibly older than the key.
        keep_dense = config_lib.load(config.model_name).prune.keep_dense
    log_every = config.train.log_every
    if steps < 2 * log_every or steps % log_every:
        raise ZooError(f"--steps={steps} must be a multiple of the run's log_every ({log_every})"
                       f" and at least {2 * log_every}")
    end = max(log_every, steps // 2 // log_every * log_every)
    config.prune.update(enabled=True, target_sparsity=target, schedule="polynomial",
                        begin_step=0, end_step=end, frequency=max(1, end // 10),
                        networks=tuple(networks), keep_dense=tuple(keep_dense))
    config.train.num_steps = steps
    # The source has done its pre-training phase (text: maximum likelihood); fine-tuning starts
    # from its weights with the adversarial phase, never with a second pre-training.
    if "pretrain_steps" in config.train:
        config.train.pretrain_steps = 0
    config.train.checkpoint_every = config.train.sample_every = steps
    if config.eval.every:
        # Like the source run, keep the best checkpoint by FID, chosen among four evaluations
        # after the schedule has reached the target (the Evaluator ignores earlier ones).
        config.eval.every = max(log_every, (steps - end) // 4 // log_every * log_every)
    return config


# The figures `summary` shows before and after pruning, those the run's kind reports.
QUALITY = ("fid", "kid", "classifier_score", "nll_oracle", "nll_gen", "bleu2", "bleu4",
           "self_bleu4")


def prune_run(source_path, new_path, target, *, steps=2000, which="best", num_samples=0,
              networks=NETWORKS, keep_dense=None, seed=None, log=print):
    """Fine-tunes `source_path`'s checkpoint to `target` sparsity in `new_path`; returns the
    report also written to `<new_path>/prune_report.json`. The source is never written to.
    `keep_dense` ("network/layer" names) defaults to the recipe's `config.prune.keep_dense`;
    `seed` (of the fine-tuning's latents and data order) to the source run's."""
    source = Workdir(source_path)
    dense_config = _source_config(source)
    config = _pruning_config(dense_config, target, steps, networks, keep_dense, seed)
    training.validate(config)
    if os.path.abspath(new_path) == source.path:
        raise ZooError("--new_workdir must differ from --workdir: the source run stays as it is")
    run = runs.load(source_path, which, config=dense_config)
    dense, path = run.gan, run.checkpoint
    scorer = scoring.make_scorer(config, config.eval.split, num_samples, config.eval.extractor,
                                 config.eval.get("inception_weights"), log=log)
    before = scorer(dense)
    weights = (dense.generator.get_weights(), dense.discriminator.get_weights())
    result = training.train(config, new_path, log=log, init_weights=weights)
    pruned = runs.load(result.workdir.path, "best", config=config)
    report = {"source": source.path, "source_checkpoint": path, "target_sparsity": target,
              "steps": steps, "extractor": scorer.name, "before": before,
              "after": scorer(pruned.gan), "after_checkpoint": pruned.checkpoint,
              "pruning": result.pruning or _saved_pruning(result)}
    report["path"] = os.path.join(result.workdir.path, "prune_report.json")
    files.write_json(report["path"], report)
    return report


def _saved_pruning(result):
    with open(os.path.join(result.workdir.path, "pruning.json")) as f:
        return json.load(f)


def summary(report):
    p = report["pruning"]
    lines = [f"Pruned {report['source_checkpoint']} to {p['sparsity']:.1%} sparsity "
             f"({report['steps']} fine-tuning steps):"]
    lines += [f"  {name:12s} {layer['sparsity']:.3f} of {layer['params']:,} weights are zero"
              for name, layer in p["layers"].items()]
    lines += [f"  {name:12s} left dense: {why}" for name, why in p.get("left_dense", {}).items()]
    lines.append(f"  gzipped weights: {p['gzipped_bytes']['dense']:,} B dense -> "
                 f"{p['gzipped_bytes']['stripped']:,} B pruned ({p['compression']:.1f}x smaller)")
    lines.append(f"  quality of {os.path.basename(report['source_checkpoint'])} (dense) against "
                 f"{os.path.basename(report['after_checkpoint'])} of the pruned run:")
    for key in [k for k in QUALITY if k in report["before"]]:
        lines.append(f"  {key:16s} before {report['before'][key]:9.3f}   after "
                     f"{report['after'][key]:9.3f}")
    lines.append(f"Wrote {report['path']} and {p['stripped_model']}")
    return "\n".join(lines)
