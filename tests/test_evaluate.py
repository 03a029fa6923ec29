"""Evaluation during training (best checkpoint) and `python -m tfgan_zoo.evaluate` end to end."""
import json
import os
import subprocess
import sys

import pytest

from tfgan_zoo import config as config_lib
from tfgan_zoo.engine import training
from tfgan_zoo.errors import ZooError
from tfgan_zoo.evaluation import report, scoring


def tiny_config(data_dir, **eval_overrides):
    config = config_lib.load("dcgan", "tiny")
    config.data.data_dir = data_dir
    config.eval.update(dict(every=2, num_samples=200), **eval_overrides)
    return config


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory, digits_data_dir):
    workdir = str(tmp_path_factory.mktemp("eval") / "run")
    training.train(tiny_config(digits_data_dir), workdir, log=lambda _: None)
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
    report = json.load(open(os.path.join(evaluated_run, "eval", "ckpt-4.json")))
    assert report["step"] == 4 and report["num_generated"] == 200
    # Real training images against the test split score far better than a 4-step generator.
    assert report["floor"]["fid"] < report["results"]["fid"]
    assert report["floor"]["classifier_score"] > report["results"]["classifier_score"]


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
