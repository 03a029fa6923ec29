"""A run survives SIGKILL and SIGTERM, and a NaN never reaches a checkpoint.

The kill tests run `python -m tfgan_zoo.train` in subprocesses, as a user (or a preemptible
machine) does; each start costs a TensorFlow import, so there are as few as the issue asks for.
"""
import os
import random
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tfgan_zoo import config as config_lib
from tfgan_zoo.engine import checkpoints, training
from tfgan_zoo.errors import ZooError
from tfgan_zoo.evaluation import scoring
from tfgan_zoo.kinds import image as image_kind

# Every step a checkpoint: a kill at a random moment often lands inside a checkpoint write.
FLAGS = ("--config.train.num_steps=40", "--config.train.log_every=1",
         "--config.train.checkpoint_every=1", "--config.train.sample_every=20",
         "--config.train.keep_checkpoints=2")


def config_of(data_dir, *flags):
    """The config the CLI builds from FLAGS and `flags`, for resuming in this process (a
    TensorFlow import saved)."""
    config = config_lib.load("dcgan", "tiny")
    config.data.data_dir = data_dir
    for flag in (*FLAGS, *flags):
        key, value = flag[len("--config."):].split("=")
        section, name = key.split(".")
        config[section][name] = int(value)
    return config


def start_train(workdir, data_dir, *flags):
    argv = [sys.executable, "-m", "tfgan_zoo.train", "--model=dcgan", "--preset=tiny",
            f"--workdir={workdir}", f"--data_dir={data_dir}", *FLAGS, *flags]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_line(process, pattern, timeout=120):
    """Reads the process's output up to the first line matching `pattern`; returns the match."""
    deadline, seen = time.monotonic() + timeout, []
    for line in process.stdout:
        match = re.search(pattern, line)
        if match:
            return match
        seen.append(line)
        assert time.monotonic() < deadline, f"no line matching {pattern!r} in {timeout} s"
    raise AssertionError(f"the run ended without a line matching {pattern!r}:\n{''.join(seen)}")


def wait_for_checkpoint_after(checkpoint_dir, step, timeout=120):
    """Waits until the run has saved a checkpoint beyond `step` (it is past start-up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        path = tf.train.latest_checkpoint(checkpoint_dir)
        if path and int(path.rsplit("-", 1)[1]) > step:
            return
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint after step {step} in {timeout} s")


def saved_state(checkpoint_dir):
    """(step, generator optimizer updates, one generator kernel) of the latest checkpoint,
    read from its files: it must read whole."""
    path = tf.train.latest_checkpoint(checkpoint_dir)
    assert path is not None and checkpoints._unreadable(path) == ""
    reader = tf.train.load_checkpoint(path)
    names = reader.get_variable_to_shape_map()
    kernel = next(n for n in sorted(names)
                  if n.startswith("gan/generator/") and "kernel" in n and "OPTIMIZER" not in n)
    return (int(reader.get_tensor("progress/step/.ATTRIBUTES/VARIABLE_VALUE")),
            int(reader.get_tensor("gan/g_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE")),
            reader.get_tensor(kernel))


def test_sigkill_at_random_moments_loses_only_the_steps_since_the_last_checkpoint(
        tmp_path, digits_data_dir):
    workdir = tmp_path / "run"
    checkpoint_dir = str(workdir / "checkpoints")
    rng = random.Random(0)
    saved = None
    for _ in range(2):  # the second start resumes from what the first kill left
        process = start_train(workdir, digits_data_dir)
        started = wait_for_line(process, r"(Training|Resuming) dcgan .* from step (\d+)")
        if saved:  # it resumes from exactly the checkpoint the last kill left
            assert int(started.group(2)) == saved[0]
        wait_for_checkpoint_after(checkpoint_dir, int(started.group(2)))
        time.sleep(rng.uniform(0.0, 0.5))  # well before the 40th step
        process.kill()
        process.communicate()
        saved = saved_state(checkpoint_dir)
    config = config_of(digits_data_dir)
    resumed = training.train(config, str(workdir), log=lambda _: None)
    assert (resumed.start_step, resumed.end_step) == (saved[0], 40)
    # Every generator update made once: the optimizer's count was restored with the weights.
    # (test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one compares the weights.)
    assert saved_state(checkpoint_dir)[:2] == (40, 40)


def test_sigterm_finishes_the_step_saves_and_says_how_to_resume(tmp_path, digits_data_dir):
    workdir = tmp_path / "run"
    process = start_train(workdir, digits_data_dir, "--config.train.checkpoint_every=5")
    wait_for_line(process, r"Training dcgan")
    wait_for_checkpoint_after(str(workdir / "checkpoints"), -1)  # the guard is in place
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 128 + signal.SIGTERM, output
    stopped = re.search(r"SIGTERM: stopped after step (\d+); saved (\S+ckpt-(\d+))", output)
    assert stopped, output
    step = int(stopped.group(1))
    assert 0 < step < 40 and int(stopped.group(3)) == step
    assert "Resume with the same command" in output and f"--workdir={workdir}" in output
    assert saved_state(str(workdir / "checkpoints"))[:2] == (step, step)

    # Resumed off the log_every grid, it still ends at num_steps exactly.
    config = config_of(digits_data_dir, "--config.train.checkpoint_every=5")
    resumed = training.train(config, str(workdir), log=lambda _: None)
    assert (resumed.start_step, resumed.end_step) == (step, 40)
    assert saved_state(str(workdir / "checkpoints"))[:2] == (40, 40)


def tiny_config(data_dir, **train):
    config = config_lib.load("dcgan", "tiny")
    config.data.data_dir = data_dir
    config.train.update({**dict(num_steps=12, log_every=2, checkpoint_every=4, sample_every=4),
                         **train})
    return config


@pytest.fixture
def nan_from_step_7(monkeypatch):
    """Real images turn NaN from the 7th batch on: a corrupted input, as a bad file would be."""
    load = image_kind.ImageKind.load

    def poisoned(self, *args, **kwargs):
        dataset, spec = load(self, *args, **kwargs)

        def poison(i, batch):
            bad = tf.cast(i >= 6, tf.float32) * np.nan
            return {**batch, "image": batch["image"] + tf.where(i >= 6, bad, 0.0)}

        return dataset.enumerate().map(poison), spec

    monkeypatch.setattr(image_kind.ImageKind, "load", poisoned)


def test_a_nan_stops_the_run_at_the_last_finite_checkpoint(tmp_path, digits_data_dir,
                                                           nan_from_step_7):
    workdir = tmp_path / "run"
    with pytest.raises(ZooError) as error:
        training.train(tiny_config(digits_data_dir), str(workdir), log=lambda _: None)
    message = str(error.value)
    assert message.startswith("training diverged: the discriminator's gradients were NaN or "
                              "Inf at step 7, so the run stopped; the latest checkpoint, ")
    assert message.rstrip().endswith("--config.train.on_nonfinite=skip to skip such updates")
    assert tf.train.latest_checkpoint(str(workdir / "checkpoints")).endswith("ckpt-4")
    reader = tf.train.load_checkpoint(str(workdir / "checkpoints" / "ckpt-4"))
    for name in reader.get_variable_to_shape_map():
        value = reader.get_tensor(name)
        if np.issubdtype(np.asarray(value).dtype, np.floating):
            assert np.isfinite(value).all(), name


def test_skip_mode_trains_on_without_the_non_finite_updates(tmp_path, digits_data_dir,
                                                            nan_from_step_7):
    config = tiny_config(digits_data_dir, on_nonfinite="skip")
    result = training.train(config, str(tmp_path / "run"), log=lambda _: None)
    assert result.end_step == 12
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(tmp_path / "run" /
                                                                     "checkpoints")))
    # Steps 7..12 each skipped D's update (the real batch is NaN); G's stayed finite.
    assert int(reader.get_tensor("progress/nonfinite/.ATTRIBUTES/VARIABLE_VALUE")) == 6
    assert int(reader.get_tensor("gan/d_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE")) == 6


def test_an_unknown_on_nonfinite_is_refused_with_the_valid_values(tmp_path, digits_data_dir):
    with pytest.raises(ZooError, match="config.train.on_nonfinite='ignore'; valid: stop, skip"):
        training.train(tiny_config(digits_data_dir, on_nonfinite="ignore"),
                       str(tmp_path / "run"))
    assert not os.path.exists(tmp_path / "run")


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path,
                                                                    digits_data_dir):
    """Resume restores the weights, both optimizers, the latent stream and the data's place:
    6 + 6 steps end exactly where 12 do (on CPU, float32, the step is deterministic)."""
    config = tiny_config(digits_data_dir)
    training.train(config, str(tmp_path / "whole"), log=lambda _: None)
    config.train.num_steps = 6
    training.train(config, str(tmp_path / "halves"), log=lambda _: None)
    config.train.num_steps = 12
    training.train(config, str(tmp_path / "halves"), log=lambda _: None)
    whole, halves = (tf.train.load_checkpoint(str(tmp_path / run / "checkpoints" / "ckpt-12"))
                     for run in ("whole", "halves"))
    names = [n for n in whole.get_variable_to_shape_map() if n.startswith("gan/")]
    assert any("generator" in n for n in names)
    for name in names:
        np.testing.assert_array_equal(whole.get_tensor(name), halves.get_tensor(name), name)


def test_resuming_with_another_log_every_still_ends_at_num_steps(tmp_path, digits_data_dir):
    config = tiny_config(digits_data_dir, num_steps=4)
    training.train(config, str(tmp_path / "run"), log=lambda _: None)
    config.train.update(dict(num_steps=12, log_every=3, checkpoint_every=6, sample_every=6))
    result = training.train(config, str(tmp_path / "run"), log=lambda _: None)
    assert (result.start_step, result.end_step) == (4, 12)  # the epochs' grid moved; not 13
    assert tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints")).endswith("ckpt-12")


def test_the_last_step_is_evaluated_off_the_eval_grid(tmp_path, digits_data_dir, monkeypatch):
    scored = []
    monkeypatch.setattr(scoring.Scorer, "__call__",
                        lambda self, gan: scored.append(int(gan.progress.step.numpy())) or
                        {"fid": 10.0 - len(scored), "kid": 0.0})
    config = tiny_config(digits_data_dir, num_steps=6)
    config.eval.update(dict(every=4, num_samples=200))
    training.train(config, str(tmp_path / "run"), log=lambda _: None)
    assert scored == [4, 6]


def test_a_learning_rate_changed_at_resume_is_the_one_used(tmp_path, digits_data_dir):
    config = tiny_config(digits_data_dir, num_steps=4)
    training.train(config, str(tmp_path / "run"), log=lambda _: None)
    config.train.num_steps = 6
    config.optimizer.g.learning_rate = 5e-5
    training.train(config, str(tmp_path / "run"), log=lambda _: None)
    reader = tf.train.load_checkpoint(str(tmp_path / "run" / "checkpoints" / "ckpt-6"))
    names = [n for n in reader.get_variable_to_shape_map()
             if n.startswith("gan/g_optimizer/") and "learning_rate" in n]
    assert names and reader.get_tensor(names[0]) == np.float32(5e-5)


def test_the_tensorboard_writer_is_closed_even_when_the_run_stops_on_an_error(
        tmp_path, digits_data_dir, nan_from_step_7, monkeypatch):
    writers = []
    create = tf.summary.create_file_writer

    def recorded(*args, **kwargs):
        writer = create(*args, **kwargs)
        writer.close = lambda close=writer.close: (writers.append("closed"), close())
        return writer

    monkeypatch.setattr(training.tf.summary, "create_file_writer", recorded)
    with pytest.raises(ZooError, match="training diverged"):
        training.train(tiny_config(digits_data_dir), str(tmp_path / "run"), log=lambda _: None)
    assert writers == ["closed"]
