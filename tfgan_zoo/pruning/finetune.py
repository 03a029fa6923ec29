"""Pruning a trained run: restore it dense, fine-tune a pruned copy in a new run directory, and
report sparsity, size and quality before and after; or, at target 0, the dense baseline: the same
fine-tuning unpruned. What `python -m tfgan_zoo.prune` calls."""
import json
import os

import tensorflow as tf
from ml_collections import config_dict

from tfgan_zoo import config as config_lib
from tfgan_zoo import files, pruning
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


def schedule_end(steps, log_every):
    """The generator update at which a fine-tune of `steps` reaches its target sparsity: halfway,
    on the log grid. The best checkpoint is chosen from it on, pruned or not."""
    return max(log_every, steps // 2 // log_every * log_every)


def _finetune_config(source, steps, seed=None):
    """`source`'s config fine-tuned for `steps` generator updates, dense: what a pruned copy and
    its dense baseline share (seed, length, checkpoints, evaluation grid)."""
    config = config_dict.ConfigDict(source.to_dict())
    if seed is not None:
        config.train.seed = seed
    log_every = config.train.log_every
    if steps < 2 * log_every or steps % log_every:
        raise ZooError(f"--steps={steps} must be a multiple of the run's log_every ({log_every})"
                       f" and at least {2 * log_every}")
    config.train.num_steps = steps
    # The source has done its pre-training phase (text: maximum likelihood); fine-tuning starts
    # from its weights with the adversarial phase, never with a second pre-training.
    if "pretrain_steps" in config.train:
        config.train.pretrain_steps = 0
    config.train.checkpoint_every = config.train.sample_every = steps
    if config.eval.every:
        # Like the source run, keep the best checkpoint by FID, chosen among four evaluations
        # after the schedule has reached the target (the Evaluator ignores earlier ones in a
        # pruned run, _train_dense skips them in the dense baseline).
        end = schedule_end(steps, log_every)
        config.eval.every = max(log_every, (steps - end) // 4 // log_every * log_every)
    return config


def _pruning_config(source, target, steps, networks, keep_dense=None, seed=None):
    if keep_dense is None:
        # The recipe's current choice: the source run's own section is that of a dense run,
        # possibly older than the key.
        keep_dense = config_lib.load(source.model_name).prune.keep_dense
    config = _finetune_config(source, steps, seed)
    end = schedule_end(steps, config.train.log_every)
    config.prune.update(enabled=True, target_sparsity=target, schedule="polynomial",
                        begin_step=0, end_step=end, frequency=max(1, end // 10),
                        networks=tuple(networks), keep_dense=tuple(keep_dense))
    return config


def _train_dense(config, new_path, weights, log):
    """Fine-tunes the dense networks under the pruned fine-tunes' best-checkpoint rule.

    The engine offers evaluations to the best checkpoint from a pruned run's schedule end on,
    and from step 0 in a dense run, which would let the baseline pick among more (and less
    trained) checkpoints. So the run stops at the schedule's end, evaluated there only if a
    pruned run would be, and resumes to `steps`: the checkpoints it may keep as best are then
    exactly a pruned run's. The data order and latents go on as in one run (both checkpoint).
    """
    every, end = config.eval.every, schedule_end(config.train.num_steps,
                                                 config.train.log_every)
    if every and _steps_done(new_path) < end:  # not yet, or a re-run of a finished baseline
        first = config_dict.ConfigDict(config.to_dict())
        first.train.num_steps = end
        first.eval.every = end if end % every == 0 else 0
        result = training.train(first, new_path, log=log, init_weights=weights)
        if result.stopped_by:  # a signal: resuming the same command finishes the run
            return result
    return training.train(config, new_path, log=log, init_weights=weights)


def _steps_done(path):
    """Generator updates of the newest checkpoint in run directory `path` (0: none). A
    fine-tune does no pre-training, so a checkpoint's number is its adversarial step."""
    latest = tf.train.latest_checkpoint(Workdir(path).checkpoints)
    return int(latest.rsplit("-", 1)[1]) if latest else 0


# The figures `summary` shows before and after pruning, those the run's kind reports.
QUALITY = ("fid", "kid", "classifier_score", "nll_oracle", "nll_gen", "bleu2", "bleu4",
           "self_bleu4")


def prune_run(source_path, new_path, target, *, steps=2000, which="best", num_samples=0,
              networks=NETWORKS, keep_dense=None, seed=None, log=print):
    """Fine-tunes `source_path`'s checkpoint to `target` sparsity in `new_path`; returns the
    report also written to `<new_path>/prune_report.json`. The source is never written to.
    `keep_dense` ("network/layer" names) defaults to the recipe's `config.prune.keep_dense`;
    `seed` (of the fine-tuning's latents and data order) to the source run's.

    `target` 0 is the dense baseline: the same fine-tuning (steps, seed, evaluations, best
    checkpoint rule) with nothing pruned, in a normal dense run; what a pruned fine-tune's
    quality is compared with to separate pruning from the extra training. Its report has the
    same before/after, and `sparsity` (the generator's zeros) in place of `pruning`.
    """
    source = Workdir(source_path)
    dense_config = _source_config(source)
    if target == 0:
        config = _finetune_config(dense_config, steps, seed)
    else:
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
    if target == 0:
        result = _train_dense(config, new_path, weights, log)
    else:
        result = training.train(config, new_path, log=log, init_weights=weights)
    tuned = runs.load(result.workdir.path, "best", config=config)
    report = {"source": source.path, "source_checkpoint": path, "target_sparsity": target,
              "seed": config.train.seed, "steps": steps, "extractor": scorer.name,
              "before": before, "after": scorer(tuned.gan), "after_checkpoint": tuned.checkpoint}
    if target == 0:
        report["sparsity"] = pruning.report(tuned.plain_sampler())
    else:
        report["pruning"] = result.pruning or _saved_pruning(result)
    report["path"] = os.path.join(result.workdir.path, "prune_report.json")
    files.write_json(report["path"], report)
    return report


def _saved_pruning(result):
    with open(os.path.join(result.workdir.path, "pruning.json")) as f:
        return json.load(f)


def summary(report):
    if "pruning" not in report:
        return _dense_summary(report)
    p = report["pruning"]
    lines = [f"Pruned {report['source_checkpoint']} to {p['sparsity']:.1%} sparsity "
             f"({report['steps']} fine-tuning steps):"]
    lines += [f"  {name:12s} {layer['sparsity']:.3f} of {layer['params']:,} weights are zero"
              for name, layer in p["layers"].items()]
    lines += [f"  {name:12s} left dense: {why}" for name, why in p.get("left_dense", {}).items()]
    lines.append(f"  gzipped weights: {p['gzipped_bytes']['dense']:,} B dense -> "
                 f"{p['gzipped_bytes']['stripped']:,} B pruned ({p['compression']:.1f}x smaller)")
    lines += _quality_lines(report, "the pruned run")
    lines.append(f"Wrote {report['path']} and {p['stripped_model']}")
    return "\n".join(lines)


def _dense_summary(report):
    lines = [f"Fine-tuned {report['source_checkpoint']} dense for {report['steps']} steps "
             f"(seed {report['seed']}): the baseline of pruned fine-tunes of the same steps and "
             f"seed; {report['sparsity']['sparsity']:.1%} of the generator's kernels are zero."]
    lines += _quality_lines(report, "the dense fine-tune")
    lines.append(f"Wrote {report['path']}")
    return "\n".join(lines)


def _quality_lines(report, tuned):
    lines = [f"  quality of {os.path.basename(report['source_checkpoint'])} (dense) against "
             f"{os.path.basename(report['after_checkpoint'])} of {tuned}:"]
    for key in [k for k in QUALITY if k in report["before"]]:
        lines.append(f"  {key:16s} before {report['before'][key]:9.3f}   after "
                     f"{report['after'][key]:9.3f}")
    return lines
