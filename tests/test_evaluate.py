"""Evaluation during training (best checkpoint) and `python -m tfgan_zoo.evaluate` end to end."""
import json
import os
import re
import subprocess
import sys

import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from tfgan_zoo import config as config_lib
from tfgan_zoo.engine import training
from tfgan_zoo.errors import ZooError
from tfgan_zoo.evaluation import report, scoring


def tiny_config(data_dir, model="dcgan", **eval_overrides):
    config = config_lib.load(model, "tiny")
    config.data.data_dir = data_dir
    config.eval.update(dict(every=2, num_samples=200), **eval_overrides)
    return config


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory, digits_data_dir):
    workdir = str(tmp_path_factory.mktemp("eval") / "run")
    training.train(tiny_config(digits_data_dir), workdir, log=lambda _: None)
    return workdir


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory, digits_data_dir):
    workdir = str(tmp_path_factory.mktemp("eval") / "cgan")
    lines = []
    training.train(tiny_config(digits_data_dir, "cgan"), workdir, log=lines.append)
    # The log names the recipe, not only the family module it shares with dcgan.
    assert any(line.startswith("Training dcgan (projection-conditioned) on sklearn_digits")
               for line in lines), lines
    return workdir


def run_evaluate(*args):
    return subprocess.run([sys.executable, "-m", "tfgan_zoo.evaluate", *args],
                          capture_output=True, text=True, timeout=300)


def test_training_keeps_the_best_checkpoint_by_fid(evaluated_run):
    record = json.load(open(os.path.join(evaluated_run, "checkpoints", "best", "best.json")))
    assert record["primary"] == "fid" and record["step"] in (2, 4)
    assert set(record["results"]) >= {"fid", "kid", "classifier_score", "precision", "recall"}
    best_files = os.listdir(os.path.join(evaluated_run, "checkpoints", "best"))
    assert f"ckpt-{record['step']}.index" in best_files


def test_best_checkpoint_stays_when_the_metric_worsens(tmp_path, digits_data_dir, monkeypatch):
    fids = iter([5.0, 3.0, 4.0])
    monkeypatch.setattr(scoring.Scorer, "__call__",
                        lambda self, gan: {"fid": next(fids), "kid": 0.0})
    config = tiny_config(digits_data_dir)
    config.train.num_steps = 6
    training.train(config, str(tmp_path / "run"), log=lambda _: None)
    record = json.load(open(tmp_path / "run" / "checkpoints" / "best" / "best.json"))
    assert record["step"] == 4 and record["results"]["fid"] == 3.0


def test_evaluate_writes_the_table_and_json(evaluated_run, digits_data_dir):
    result = run_evaluate(f"--workdir={evaluated_run}", "--checkpoint=latest",
                          "--num_samples=200")
    assert result.returncode == 0, result.stderr
    assert "ckpt-4 (step 4), 200 samples vs 360 test images" in result.stdout
    assert "classifier:sklearn_digits@28x28x1 (test accuracy" in result.stdout
    assert "FID (lower is better)" in result.stdout and "real floor" in result.stdout
    # The class histogram is reported for every model, beside the real data's.
    assert re.search(r"class entropy \(1: even\) +\d\.\d{4} +\d\.\d{4}", result.stdout)
    assert re.search(r"class coverage +\d\.\d{4} +\d\.\d{4}", result.stdout)
    assert "per class" not in result.stdout and "recall of the worst class" not in result.stdout
    report = json.load(open(os.path.join(evaluated_run, "eval", "ckpt-4.json")))
    assert report["step"] == 4 and report["num_generated"] == 200
    # Real training images against the test split score far better than a 4-step generator.
    assert report["floor"]["fid"] < report["results"]["fid"]
    assert report["floor"]["classifier_score"] > report["results"]["classifier_score"]
    assert not [key for key in (*report["results"], *report["floor"]) if "/" in key]


def test_evaluate_prints_a_conditional_models_figures_per_class(conditional_run):
    result = run_evaluate(f"--workdir={conditional_run}", "--checkpoint=latest",
                          "--num_samples=200")
    assert result.returncode == 0, result.stderr
    report = json.load(open(os.path.join(conditional_run, "eval", "ckpt-4.json")))
    results, floor = report["results"], report["floor"]
    for c in range(10):
        # 200 samples asked for the 10 digits in turn; sklearn_digits' test split has 36 of
        # each but 35 of 2 and 8 and 37 of 3 and 5.
        assert results[f"num_asked/{c}"] == 20 and 35 <= results[f"num_real/{c}"] <= 37
        for key in (f"class_accuracy/{c}", f"precision/{c}", f"recall/{c}"):
            assert 0.0 <= results[key] <= 1.0
        assert f"precision/{c}" in floor and f"class_accuracy/{c}" not in floor
    worst = min(range(10), key=lambda c: results[f"recall/{c}"])
    assert results["recall_worst_class"] == results[f"recall/{worst}"]
    # Real training digits cover each test class better than a 4-step generator.
    assert floor["recall_worst_class"] > results["recall_worst_class"]

    table = result.stdout.split("per class asked for")[1].splitlines()[2:12]
    assert [int(line.split()[0]) for line in table] == list(range(10))
    row = table[worst].split()
    assert row[1:3] == ["20", str(results[f"num_real/{worst}"])]
    assert [float(x) for x in row[3:8]] == pytest.approx(
        [results[f"class_accuracy/{worst}"], results[f"precision/{worst}"],
         floor[f"precision/{worst}"], results[f"recall/{worst}"], floor[f"recall/{worst}"]],
        abs=5e-4)
    assert table[worst].endswith("<- worst recall")
    assert sum("<- worst recall" in line for line in table) == 1
    assert re.search(r"recall of the worst class +\d\.\d{4} +\d\.\d{4}", result.stdout)


def test_a_conditional_run_logs_its_figures_per_class_to_tensorboard(conditional_run):
    acc = event_accumulator.EventAccumulator(os.path.join(conditional_run, "logs"),
                                             size_guidance={"tensors": 0})
    acc.Reload()
    tags = set(acc.Tags()["tensors"])
    for c in range(10):
        assert {f"eval_per_class/{name}/{c}" for name in
                ("precision", "recall", "class_accuracy")} <= tags
    assert not [tag for tag in tags if "num_asked" in tag or "num_real/" in tag]
    assert {"eval/recall_worst_class", "eval/class_entropy", "eval/class_coverage"} <= tags

    def last(tag):
        return float(tf.make_ndarray(acc.Tensors(tag)[-1].tensor_proto))

    recalls = [last(f"eval_per_class/recall/{c}") for c in range(10)]
    assert last("eval/recall_worst_class") == pytest.approx(min(recalls))
    record = json.load(open(os.path.join(conditional_run, "checkpoints", "best", "best.json")))
    # The best checkpoint is still chosen by FID alone.
    assert record["primary"] == "fid" and "recall/0" in record["results"]


def test_evaluating_a_run_without_checkpoints(tmp_path):
    (tmp_path / "run").mkdir()
    config = config_lib.load("dcgan", "tiny")
    (tmp_path / "run" / "config.json").write_text(config_lib.to_json(config))
    with pytest.raises(ZooError, match="has no checkpoint; train it first"):
        report.evaluate_run(str(tmp_path / "run"))


def test_evaluating_a_directory_that_is_no_run(tmp_path):
    result = run_evaluate(f"--workdir={tmp_path}")
    assert result.returncode == 2
    assert "holds no training run (no config.json)" in result.stderr
    assert "Traceback" not in result.stderr


def test_checkpoint_from_a_different_config(evaluated_run, tmp_path):
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", evaluated_run, str(copy)], check=True)
    saved = json.load(open(copy / "config.json"))
    saved["model"]["base_channels"] = 16
    (copy / "config.json").write_text(json.dumps(saved))
    with pytest.raises(ZooError, match="does not fit the model in this run's config.json"):
        report.evaluate_run(str(copy), "latest")


def test_too_few_samples_for_fid(evaluated_run):
    with pytest.raises(ZooError, match="needs at least 129 samples.*--num_samples=129"):
        report.evaluate_run(evaluated_run, "latest", num_samples=50)


def test_missing_inception_weights(evaluated_run, tmp_path):
    with pytest.raises(ZooError, match="InceptionV3 weights not found"):
        report.evaluate_run(evaluated_run, "latest", extractor="inception",
                                inception_weights=str(tmp_path / "none.h5"))
