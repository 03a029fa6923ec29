"""Training a text GAN end to end: MLE pre-training then the adversarial phase from one config,
text samples, the temperature's horizon across a resume, the best checkpoint by the kind's
metric in its direction, and a user's own text file."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from tfgan_zoo import config as config_lib
from tfgan_zoo.data import text as text_data
from tfgan_zoo.engine import training
from tfgan_zoo.engine.runs import load
from tfgan_zoo.errors import ZooError
from tfgan_zoo.models import relgan


def _config(data_dir, **train):
    config = config_lib.load("relgan", "tiny")
    config.data.data_dir = data_dir
    config.eval.every = 4
    config.eval.num_samples = 200
    config.train.update(train)
    return config


def _tensors(workdir):
    events = event_accumulator.EventAccumulator(
        os.path.join(workdir, "logs"), size_guidance={event_accumulator.TENSORS: 0})
    events.Reload()
    return events


@pytest.fixture(scope="module")
def oracle_run(tmp_path_factory):
    """A tiny oracle run of 4 MLE updates and 4 adversarial steps, then resumed to 8 steps."""
    data_dir = str(tmp_path_factory.mktemp("tfds"))
    workdir = str(tmp_path_factory.mktemp("runs") / "relgan")
    training.train(_config(data_dir), workdir, log=lambda _: None)
    first = load(workdir, "latest")
    beta_at_4 = float(first.gan.progress.scheduled["beta"].numpy())
    training.train(_config(data_dir, num_steps=8), workdir, log=lambda _: None)
    return workdir, data_dir, beta_at_4


def test_one_config_pretrains_then_trains_adversarially_and_writes_lines(oracle_run):
    workdir, _, _ = oracle_run
    run = load(workdir, "latest")
    assert int(run.gan.progress.pretrain_step.numpy()) == 4
    assert int(run.gan.progress.step.numpy()) == 8
    with open(os.path.join(workdir, "dataset.json")) as f:
        saved = json.load(f)
    assert len(saved["vocabulary"]) == 5000 and saved["sequence_length"] == 20
    lines = open(os.path.join(workdir, "samples", "latest.txt")).read().splitlines()
    assert len(lines) == run.config.train.num_samples
    assert all(len(line.split()) == 20 and all(0 <= int(t) < 5000 for t in line.split())
               for line in lines)
    events = _tensors(workdir)
    assert "samples" in events.Tags()["tensors"]  # summary.text
    for tag in ("pretrain/pretrain_loss", "train/beta", "eval/nll_oracle", "eval/nll_gen"):
        assert tag in events.Tags()["tensors"], tag


def test_the_temperature_horizon_is_the_adversarial_phase_also_after_a_resume(oracle_run):
    workdir, _, beta_at_4 = oracle_run
    cfg = config_lib.load("relgan", "tiny").model
    # A step's beta is set as it starts: the last step of a phase of N steps is step N - 1.
    assert beta_at_4 == pytest.approx(relgan.temperature("exp", cfg.beta_max, 3, 4))
    beta_at_8 = float(load(workdir, "latest").gan.progress.scheduled["beta"].numpy())
    assert beta_at_8 == pytest.approx(relgan.temperature("exp", cfg.beta_max, 7, 8))
    assert beta_at_8 == pytest.approx(cfg.beta_max ** (7 / 8))


def test_the_best_oracle_checkpoint_is_the_lowest_nll_oracle(oracle_run):
    workdir, _, _ = oracle_run
    with open(os.path.join(workdir, "checkpoints", "best", "best.json")) as f:
        best = json.load(f)
    assert best["primary"] == "nll_oracle"
    events = _tensors(workdir).Tensors("eval/nll_oracle")
    # Step 0 scores the generator as pre-training left it (the MLE baseline), then steps 4, 8.
    assert [e.step for e in events] == [0, 4, 8]
    adversarial = [float(tf.make_ndarray(e.tensor_proto)) for e in events if e.step > 0]
    assert best["step"] > 0  # the baseline is logged, never kept as the best checkpoint
    assert best["results"]["nll_oracle"] == pytest.approx(min(adversarial), rel=1e-5)


@pytest.fixture(scope="module")
def lines_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    words = ["the", "whale", "sea", "ship", "captain", "white", "a", "sailed", "on", "deep"]
    path = tmp_path_factory.mktemp("text") / "lines.txt"
    path.write_text("".join(" ".join(rng.choice(words, rng.integers(3, 8))) + ".\n"
                            for _ in range(120)))
    return str(path)


def test_a_text_file_run_keeps_its_vocabulary_and_is_scored_by_bleu(lines_file, tmp_path):
    config = _config(None)
    config.data.dataset = f"{text_data.PREFIX}{lines_file}"
    config.data.max_length = 8
    config.model.d_filter_sizes = (2, 3)
    workdir = str(tmp_path / "run")
    training.train(config, workdir, log=lambda _: None)
    with open(os.path.join(workdir, "dataset.json")) as f:
        vocabulary = json.load(f)["vocabulary"]
    assert vocabulary[:2] == [text_data.EOS, text_data.UNK] and "whale" in vocabulary
    for line in open(os.path.join(workdir, "samples", "latest.txt")).read().splitlines():
        assert set(line.split()) <= set(vocabulary)
    with open(os.path.join(workdir, "checkpoints", "best", "best.json")) as f:
        best = json.load(f)
    assert best["primary"] == "bleu4"
    results = best["results"]
    assert 0 < results["bleu2"] <= 1 and 0 < results["self_bleu2"] <= 1
    assert results["bleu2"] >= results["bleu3"] >= results["bleu4"] >= results["bleu5"]


def test_a_binary_file_is_refused_before_the_run_writes_anything(tmp_path):
    binary = tmp_path / "model.bin"
    binary.write_bytes(bytes(range(256)) * 8)
    config = _config(None)
    config.data.dataset = f"{text_data.PREFIX}{binary}"
    with pytest.raises(ZooError, match="binary|UTF-8"):
        training.train(config, str(tmp_path / "run"), log=lambda _: None)
    assert not os.path.exists(tmp_path / "run")
