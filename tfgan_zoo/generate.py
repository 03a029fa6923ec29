"""Generate samples from an export, a .tflite file or a training run, into files of the
generator's kind (tfgan_zoo.kinds: for images, one PNG grid; for audio, a folder of WAV files;
for text, samples.txt with one line per sample).

  python -m tfgan_zoo.generate --source=export/dcgan[/VERSION | /VERSION/tflite/X.tflite]
      [--num=64] [--seed=0] [--label=-1] [--out=samples.png] [--checkpoint=best]
  python -m tfgan_zoo.generate --source=runs/dcgan ...

The same seed gives the same latents from every source, so an export and its run draw the same
samples (for text, the same lines from a float32 .tflite too). Conditional models draw classes
in turn (one column per class) unless --label is set. One call of an export's `sample` gives
at most 1,024 samples, fewer for large latents (text: 167 oracle sequences); a run directory
or a .tflite file gives any number.
"""
import math
import os

from absl import flags

from tfgan_zoo import cli_common
from tfgan_zoo.errors import ZooError

FLAGS = flags.FLAGS
flags.DEFINE_string("source", None, "Export directory, .tflite file, or run directory.",
                    required=True)
flags.DEFINE_integer("num", 64, "Number of samples.")
flags.DEFINE_integer("seed", 0, "Latent seed: the same seed gives the same samples.")
flags.DEFINE_integer("label", -1, "Class id for conditional models; -1: classes in turn.")
flags.DEFINE_string("out", None, "Where the samples are written; default: what the "
                    "generator's kind names (one grid for images, a folder of WAV files for "
                    "audio, samples.txt for text).")
flags.DEFINE_string("checkpoint", "best", "For a run directory: best, latest or a step.")
flags.DEFINE_integer("scale", 4, "Enlarge an image grid this many times (nearest neighbour).",
                     lower_bound=1)


def _check(argv):
    """--out's folder must exist: said before TensorFlow loads, not after the samples."""
    del argv
    out_dir = os.path.dirname(os.path.abspath(FLAGS.out or "."))
    if not os.path.isdir(out_dir):
        raise ZooError(f"--out={FLAGS.out}: folder {out_dir} does not exist")


def _run(argv):
    del argv
    with cli_common.user_errors():
        from tfgan_zoo.deployment import generation

        samples = generation.generate(FLAGS.source, FLAGS.num, seed=FLAGS.seed,
                                      label=FLAGS.label, which=FLAGS.checkpoint)
    cols = None
    if samples.labels is not None and FLAGS.label < 0:
        cols = int(samples.labels.max()) + 1
    rows = math.ceil(len(samples.samples) / cols) if cols else None
    out = samples.kind.write_generated(FLAGS.out or samples.kind.default_output,
                                       samples.samples, samples.spec, rows=rows,
                                       scale=FLAGS.scale)
    print(f"Wrote {len(samples.samples)} samples from {samples.source} to {out}")


def main(argv=None):
    cli_common.run(_run, argv, check=_check)


if __name__ == "__main__":
    main()
