"""Score a trained run against real data with its kind's metrics (images: FID, KID, classifier
score and precision/recall).

  python -m tfgan_zoo.evaluate --workdir=runs/dcgan [--checkpoint=best|latest|STEP|untrained]
      [--num_samples=N] [--split=test] [--extractor=classifier|inception]
      [--inception_weights=PATH] [--data_dir=DIR]

Prints a table of the checkpoint's figures beside the real-data floor (the training split
scored the same way), for a conditional model a second one per class asked for (samples heard
as asked, precision and recall against that class's real samples), and writes it all as JSON
to <workdir>/eval/<checkpoint>.json.
"""

from absl import flags

from tfgan_zoo import cli_common

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Run directory written by tfgan_zoo.train.", required=True)
flags.DEFINE_string("checkpoint", "best", "best (falls back to latest), latest, a step number, "
                    "or untrained (fresh weights: the baseline to beat).")
flags.DEFINE_integer("num_samples", 0, "Generated samples; 0: as many as the train split.")
flags.DEFINE_string("split", "test", "Real split the samples are compared with.")
flags.DEFINE_enum("extractor", "classifier", ["classifier", "inception"],
                  "Feature extractor: a classifier trained on the dataset, or InceptionV3.")
flags.DEFINE_string("inception_weights", None, "InceptionV3 weights file (.h5, with the top).")
flags.DEFINE_string("data_dir", None, "Overrides the run's config.data.data_dir.")

ROWS = [("fid", "FID (lower is better)"), ("kid", "KID (lower is better)"),
        ("classifier_score", "classifier score (higher)"), ("precision", "precision"),
        ("recall", "recall"), ("class_accuracy", "class asked = class heard"),
        ("class_entropy", "class entropy (1: even)"), ("class_coverage", "class coverage"),
        ("recall_worst_class", "recall of the worst class"),
        ("nll_oracle", "NLL_oracle (lower)"), ("nll_gen", "NLL_gen (lower)"),
        *[(f"bleu{n}", f"BLEU-{n} (higher)") for n in (2, 3, 4, 5)],
        *[(f"self_bleu{n}", f"self-BLEU-{n} (lower: diverse)") for n in (2, 3, 4, 5)]]


def table(results, floor):
    """The metrics the report holds (class_accuracy only for conditional models, which the
    real floor has no counterpart of; recall_worst_class only for conditional models)."""
    lines = [f"{'metric':28s} {'model':>10s} {'real floor':>11s}"]
    for key, label in ROWS:
        if key in results:
            real = f"{floor[key]:11.4f}" if key in floor else f"{'-':>11s}"
            lines.append(f"{label:28s} {results[key]:10.4f} {real}")
    return "\n".join(lines)


def per_class_table(results, floor):
    """A conditional model's figures per class asked for: samples asked and real samples of
    the class, the share the classifier hears as asked, precision and recall against the
    class's real samples with the floor's beside them; "" for an unconditional model."""
    classes = sorted(int(key.split("/")[1]) for key in results if key.startswith("num_asked/"))
    if not classes:
        return ""
    scored = [c for c in classes if f"recall/{c}" in results]
    worst = min(scored, key=lambda c: results[f"recall/{c}"], default=None)
    lines = [f"{'class':>5s}  {'asked':>5s}  {'real':>5s}  {'heard as asked':>14s}  "
             f"{'precision':>9s} {'(floor)':>7s}  {'recall':>7s} {'(floor)':>7s}"]
    for c in classes:
        cells = [_cell(results, f"class_accuracy/{c}", 14) + " ",
                 _cell(results, f"precision/{c}", 9), _cell(floor, f"precision/{c}", 7) + " ",
                 _cell(results, f"recall/{c}", 7), _cell(floor, f"recall/{c}", 7)]
        lines.append(f"{c:5d}  {results[f'num_asked/{c}']:5d}  {results[f'num_real/{c}']:5d}  "
                     + " ".join(cells) + ("  <- worst recall" if c == worst else ""))
    return "\n".join(lines)


def _cell(figures, key, width):
    return f"{figures[key]:{width}.3f}" if key in figures else f"{'-':>{width}s}"


def _run(argv):
    del argv
    with cli_common.user_errors():
        from tfgan_zoo.evaluation import report as evaluation

        report = evaluation.evaluate_run(
            FLAGS.workdir, FLAGS.checkpoint, num_samples=FLAGS.num_samples, split=FLAGS.split,
            extractor=FLAGS.extractor, inception_weights=FLAGS.inception_weights,
            data_dir=FLAGS.data_dir)
    print(f"\n{report['checkpoint']} (step {report['step']}), {report['num_generated']} samples "
          f"vs {report['num_real']} {report['split']} {report['unit']}, "
          f"scored with {report['extractor']}"
          + (f" (test accuracy {report['extractor_test_accuracy']:.3f})"
             if report["extractor_test_accuracy"] is not None else ""))
    print(table(report["results"], report["floor"]))
    per_class = per_class_table(report["results"], report["floor"])
    if per_class:
        # k-NN balls of 3 neighbours among one class's own samples: with few real samples of a
        # class (36 a digit in sklearn_digits' test split) its figures are coarse; the floor,
        # measured with the same counts, is what to compare them with.
        print(f"\nper class asked for (precision/recall against that class's real "
              f"{report['unit']}):\n{per_class}")
    print(f"\nWrote {report['path']}")


def main(argv=None):
    cli_common.run(_run, argv, check=cli_common.workdir_holds_a_run)


if __name__ == "__main__":
    main()
