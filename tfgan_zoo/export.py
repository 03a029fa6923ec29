"""Export a trained run's generator for TF Serving (SavedModel) and for phones (TFLite/LiteRT).

  python -m tfgan_zoo.export --workdir=runs/dcgan [--format=saved_model,tflite]
      [--quantize=none,float16,dynamic,int8] [--version=N] [--overwrite]
      [--export_dir=export] [--name=NAME] [--checkpoint=best|latest|STEP] [--tflite_batch=1]
      [--tflite_timeout=SECONDS]

Writes <export_dir>/<name>/<version>/ (TF Serving's layout; the SavedModel has the signatures
serving_default and sample) with tflite/generator_<mode>.tflite beside it, and refreshes
<export_dir>/models.config. Every variant is checked against the Keras generator first. A text
generator exports TFLite float32 only (its token ids must equal Keras'; see
tfgan_zoo/kinds/text.py), and its `sample` signature returns token ids and strings, no latents.
"""
from absl import flags

from tfgan_zoo import cli_common

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Run directory written by tfgan_zoo.train.", required=True)
flags.DEFINE_list("format", ["saved_model", "tflite"], "What to write: saved_model, tflite.")
flags.DEFINE_list("quantize", None,
                  "TFLite variants: none (float32), float16, dynamic (int8 weights), int8 "
                  "(full integer, calibrated on latents from the prior). Default: every one "
                  "that the generator's kind of sample offers (images and audio: all four; "
                  "text: none, float16, dynamic).")
flags.DEFINE_integer("version", None, "Version number (default: one above the highest).",
                     lower_bound=1)
flags.DEFINE_bool("overwrite", False, "Replace an existing version directory.")
flags.DEFINE_string("export_dir", "export", "Base folder: <export_dir>/<name>/<version>/.")
flags.DEFINE_string("name", None, "Model name for TF Serving (default: the workdir's name).")
flags.DEFINE_string("checkpoint", "best", "best (falls back to latest), latest or a step.")
flags.DEFINE_integer("tflite_batch", 1, "Fixed batch of the TFLite models.", lower_bound=1)
flags.DEFINE_integer("tflite_timeout", None, "Seconds the TFLite conversion may take before it "
                     "is stopped (default: 10 minutes per --quantize mode).", lower_bound=1)


def _run(argv):
    del argv
    with cli_common.user_errors():
        from tfgan_zoo.deployment import exports

        meta = exports.export_run(
            FLAGS.workdir, export_dir=FLAGS.export_dir, name=FLAGS.name, version=FLAGS.version,
            formats=FLAGS.format, quantize=FLAGS.quantize, which=FLAGS.checkpoint,
            tflite_batch=FLAGS.tflite_batch, overwrite=FLAGS.overwrite,
            tflite_timeout=FLAGS.tflite_timeout)
    print(exports.summary(meta))


def main(argv=None):
    cli_common.run(_run, argv, check=cli_common.workdir_holds_a_run)


if __name__ == "__main__":
    main()
