"""Train a GAN from the zoo.

  python -m tfgan_zoo.train --model=dcgan [--preset=tiny] [--workdir=runs/dcgan]
      [--dataset=sklearn_digits|mnist_5k|mnist|spoken_digits_espeak|folder:/path] [--data_dir=DIR]
      [--config.train.batch_size=128 ...]

--model picks configs/<model>.py; --config.SECTION.KEY=VALUE overrides any value of it.
Running again with the same --workdir resumes from its last checkpoint.
"""
import shlex
import signal
import sys

from absl import flags
from ml_collections import config_flags

from tfgan_zoo import cli_common
from tfgan_zoo import config as config_lib
from tfgan_zoo.engine.workdir import Workdir

FLAGS = flags.FLAGS
flags.DEFINE_string("model", "dcgan", "Model to train: the name of a file in configs/.")
flags.DEFINE_string("preset", None, "A variant inside the config file, e.g. `tiny`.")
flags.DEFINE_string("workdir", None, "Run directory (default runs/<model>[_<preset>]).")
flags.DEFINE_string("dataset", None, "Overrides config.data.dataset: a TFDS name or "
                    "folder:/path (images, or WAV files for audio models).")
flags.DEFINE_string("data_dir", None, "Overrides config.data.data_dir: where TFDS datasets are "
                    "(or will be) prepared.")


def _config_and_workdir():
    """The config the flags give, and the run directory."""
    config = FLAGS.config
    if FLAGS.dataset:
        config.data.dataset = FLAGS.dataset
    if FLAGS.data_dir:
        config.data.data_dir = FLAGS.data_dir
    default_workdir = f"runs/{FLAGS.model}" + (f"_{FLAGS.preset}" if FLAGS.preset else "")
    return config, FLAGS.workdir or default_workdir


def _check(argv):
    """The checks that need no TensorFlow (train() makes them again for its other callers)."""
    del argv
    config, workdir = _config_and_workdir()
    config_lib.validate(config)
    Workdir(workdir).check(config)


def _run(argv):
    del argv
    config, workdir = _config_and_workdir()
    with cli_common.user_errors():
        import tensorflow_datasets as tfds

        from tfgan_zoo.engine import training

        tfds.disable_progress_bar()  # ours is the one bar that matters
        result = training.train(config, workdir)
    w = result.workdir
    if result.stopped_by:
        # The shell's convention for a process ended by a signal: 128 + its number.
        print(f"Resume with the same command; it continues from {w.checkpoints}: "
              f"python -m tfgan_zoo.train {shlex.join(sys.argv[1:])}", file=sys.stderr)
        sys.exit(128 + int(getattr(signal, result.stopped_by)))
    if result.worker:
        print(f"\n{result.worker}: weights fingerprint {result.fingerprint} (equal on every "
              "worker when their replicas stayed in sync)")
    if not result.is_chief:
        print(f"Done: step {result.end_step} in {result.seconds:.0f} s; the chief wrote the run.")
        return
    print(f"\nDone: step {result.end_step} in {result.seconds:.0f} s. Wrote to {w.path}:\n"
          f"  samples      {result.latest_sample} (and one per sample_every steps beside it)\n"
          f"  checkpoints  {w.checkpoints}\n"
          f"  config       {w.config_path}\n"
          f"  TensorBoard  tensorboard --logdir {w.logs}")


def main(argv=None):
    argv = list(sys.argv if argv is None else argv)
    model = cli_common.peek_flag(argv, "model", "dcgan")
    preset = cli_common.peek_flag(argv, "preset", None)
    with cli_common.user_errors():
        config = config_lib.load(model, preset)
        cli_common.check_config_overrides(argv, config)
    config_flags.DEFINE_config_dict("config", config, "The model's config; override any value "
                                    "with --config.SECTION.KEY=VALUE.", lock_config=True)
    cli_common.run(_run, argv, check=_check)


if __name__ == "__main__":
    main()
