"""Prune a trained run's generator: fine-tune it (with its discriminator) to a target sparsity.

  python -m tfgan_zoo.prune --workdir=runs/dcgan --target_sparsity=0.8 [--steps=2000]
      [--new_workdir=runs/dcgan_pruned80] [--checkpoint=best|latest|STEP] [--seed=N]
      [--networks=generator,discriminator] [--keep_dense=generator/to_image]

The source run is only read. The new run directory holds a normal training run (resumable with
the same command) plus generator_pruned.keras (a plain Keras model, zeros in its kernels),
pruning.json (per-layer sparsity, sizes) and prune_report.json (quality before and after).

--target_sparsity=0 is the dense baseline: the same fine-tuning (steps, seed, evaluations and
best-checkpoint rule) with nothing pruned, into <workdir>_pruned00 by default, a normal dense run
with a prune_report.json of the same before/after. A pruned run's FID against the baseline's of
the same seed is what pruning costs, without the effect of the extra training.
"""
import os

from absl import flags

from tfgan_zoo import cli_common
from tfgan_zoo.errors import ZooError

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "The trained run to prune (read only).", required=True)
flags.DEFINE_float("target_sparsity", 0.8, "Fraction of zeros in each pruned kernel; 0: the "
                   "dense baseline, fine-tuned alike with nothing pruned.")
flags.DEFINE_integer("steps", 2000, "Fine-tuning generator updates; the schedule reaches the "
                     "target halfway and the rest lets the networks recover.")
flags.DEFINE_list("networks", ["generator", "discriminator"],
                  "Networks pruned to the target: the generator, and by default the "
                  "discriminator too, which keeps the game balanced while G loses weights.")
flags.DEFINE_list("keep_dense", None, "Prunable layers to leave dense, as network/layer "
                  "(e.g. generator/to_image); default: the recipe's config.prune.keep_dense. "
                  "Pass --keep_dense= to prune every layer.")
flags.DEFINE_integer("seed", None, "Seed of the fine-tuning (latents, data order); default: "
                     "the source run's. The same seed gives the same result on one machine.")
flags.DEFINE_string("new_workdir", None, "Where the pruned run goes "
                    "(default <workdir>_pruned<NN>).")
flags.DEFINE_string("checkpoint", "best", "Source checkpoint: best, latest or a step.")
flags.DEFINE_integer("num_samples", 0, "Samples for the before/after evaluation "
                     "(0: as many as the train split).")


def _run(argv):
    del argv
    new_workdir = FLAGS.new_workdir or (
        f"{FLAGS.workdir.rstrip(os.sep)}_pruned{round(FLAGS.target_sparsity * 100):02d}")
    with cli_common.user_errors():
        from tfgan_zoo.pruning import finetune

        report = finetune.prune_run(FLAGS.workdir, new_workdir, FLAGS.target_sparsity,
                                       steps=FLAGS.steps, which=FLAGS.checkpoint,
                                       num_samples=FLAGS.num_samples,
                                       networks=FLAGS.networks, keep_dense=FLAGS.keep_dense,
                                       seed=FLAGS.seed)
    print(finetune.summary(report))


def _check(argv):
    """The checks that need no TensorFlow: the flags, and a run in --workdir."""
    _check_dense_baseline_flags()
    cli_common.workdir_holds_a_run(argv)


def _check_dense_baseline_flags():
    """--networks and --keep_dense choose what is pruned: given with nothing to prune, they
    are a mistake about what the run does, not something to ignore silently."""
    given = [f"--{name}" for name in ("networks", "keep_dense") if FLAGS[name].present]
    if FLAGS.target_sparsity == 0 and given:
        raise ZooError(f"{' and '.join(given)} choose what is pruned, and --target_sparsity=0 "
                       "prunes nothing (the dense baseline); drop them, or give a target")


def main(argv=None):
    cli_common.run(_run, argv, check=_check)


if __name__ == "__main__":
    main()
