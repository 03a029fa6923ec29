"""Run directories written before the kind/engine layout (tests/fixtures/runs_v0, made by the
code of commit 113cd01) still generate the same samples, evaluate, export and resume."""
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from tfgan_zoo import config as config_lib
from tfgan_zoo.deployment import exports, generation
from tfgan_zoo.engine import runs, training
from tfgan_zoo.evaluation import report

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "runs_v0")
RUNS = ("dcgan_tiny", "cgan_tiny", "dcgan_tiny_pruned")


@pytest.fixture
def old_run(tmp_path):
    """A copy of an old run (evaluate and resume write into it)."""
    def copy(name):
        return shutil.copytree(os.path.join(FIXTURES, name), tmp_path / name)
    return copy


@pytest.mark.parametrize("name", RUNS)
def test_an_old_run_generates_exactly_what_it_did(name):
    expected = np.load(os.path.join(FIXTURES, "expected_samples.npz"))[name]
    samples = generation.generate(os.path.join(FIXTURES, name), 8, seed=3, which="latest")
    # Bit-exact on the machine that wrote them; CPUs whose kernels TensorFlow picks differently
    # (oneDNN on or off by CPU model) differ in the last bits (4e-8 measured), never more.
    np.testing.assert_allclose(samples.samples, expected, rtol=0, atol=1e-6)
    assert samples.kind.name == "image"


def test_an_old_run_reopens_at_its_step_with_its_data_description():
    run = runs.load(os.path.join(FIXTURES, "cgan_tiny"), "latest")
    assert run.step == 4 and run.gan.num_classes == 10 and run.spec.channels == 1


def test_an_old_run_evaluates(old_run, digits_data_dir):
    path = old_run("dcgan_tiny")
    result = report.evaluate_run(str(path), "latest", data_dir=digits_data_dir,
                                 log=lambda _: None)
    assert result["step"] == 4 and result["checkpoint"] == "ckpt-4"
    assert np.isfinite(result["results"]["fid"]) and result["results"]["fid"] > 100
    assert os.path.exists(path / "eval" / "ckpt-4.json")


def test_old_conditional_and_pruned_runs_export_in_the_same_layout(tmp_path):
    meta = exports.export_run(os.path.join(FIXTURES, "cgan_tiny"), export_dir=str(tmp_path),
                              quantize=("none",), which="latest", log=lambda _: None)
    version = tmp_path / "cgan_tiny" / "1"
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    # The file names the export wrote before the layout change (quantize none only).
    assert written == sorted([
        "models.config", "cgan_tiny/1/fingerprint.pb", "cgan_tiny/1/saved_model.pb",
        "cgan_tiny/1/variables/variables.data-00000-of-00001",
        "cgan_tiny/1/variables/variables.index", "cgan_tiny/1/assets.extra/tfgan_zoo.json",
        "cgan_tiny/1/assets.extra/tf_serving_warmup_requests",
        "cgan_tiny/1/tflite/generator_float32.tflite"])
    assert meta["kind"] == "image" and meta["shape"] == [28, 28, 1] and meta["step"] == 4
    outputs = tf.saved_model.load(str(version)).signatures["sample"](
        count=tf.constant(4), seed=tf.constant(0, tf.int64), label=tf.constant(-1))
    assert outputs["images"].dtype == tf.uint8 and outputs["images"].shape == (4, 28, 28, 1)
    pruned = exports.export_run(os.path.join(FIXTURES, "dcgan_tiny_pruned"),
                                export_dir=str(tmp_path), formats=("saved_model",),
                                which="latest", log=lambda _: None)
    assert pruned["pruned"] and pruned["step"] == 4


def test_an_old_run_resumes_from_its_step(old_run, digits_data_dir):
    path = old_run("dcgan_tiny")
    config = config_lib.load("dcgan", "tiny")
    config.data.data_dir = digits_data_dir
    config.train.num_steps = 6
    result = training.train(config, str(path), log=lambda _: None)
    assert (result.start_step, result.end_step) == (4, 6)
    assert runs.load(str(path), "latest").step == 6


def test_a_run_from_before_the_divergence_guard_resumes(tmp_path, digits_data_dir):
    """Its checkpoint has the run's progress but not the skipped-update counters."""
    path = shutil.copytree(os.path.join(os.path.dirname(FIXTURES), "runs_v1", "dcgan_tiny"),
                           tmp_path / "dcgan_tiny")
    config = config_lib.load("dcgan", "tiny")
    config.data.data_dir = digits_data_dir
    config.train.num_steps = 6
    result = training.train(config, str(path), log=lambda _: None)
    assert (result.start_step, result.end_step) == (4, 6)
    assert runs.load(str(path), "latest").gan.progress.first_nonfinite() is None
