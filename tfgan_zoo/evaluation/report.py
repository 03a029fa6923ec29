"""Scoring one checkpoint of a finished run against real data, with the real-data floor beside
it: what `python -m tfgan_zoo.evaluate` calls."""
import os

from tfgan_zoo import files
from tfgan_zoo.engine import runs
from tfgan_zoo.evaluation import scoring


def evaluate_run(workdir_path, which="best", *, num_samples=0, split="test",
                 extractor="classifier", inception_weights=None, data_dir=None, log=print):
    """Scores one checkpoint of a run and writes `<workdir>/eval/<checkpoint>.json`.

    Returns the report dict: checkpoint, step, extractor, split, unit (what the kind's samples
    are called), results, floor, path.
    """
    run = runs.load(workdir_path, which, data_dir=data_dir)
    config, gan, workdir, name = run.config, run.gan, run.workdir, run.name
    scorer = scoring.make_scorer(config, split, num_samples, extractor, inception_weights,
                                 log=log)
    report = {"checkpoint": name, "step": run.step,
              "extractor": scorer.name, "extractor_test_accuracy": scorer.test_accuracy,
              "split": split, "unit": run.kind.unit, "num_generated": scorer.num_samples,
              "num_real": scorer.real_count, "results": scorer(gan),
              "floor": scorer.floor()}
    os.makedirs(workdir.eval_dir, exist_ok=True)
    report["path"] = os.path.join(workdir.eval_dir, f"{name}.json")
    files.write_json(report["path"], report)
    return report
