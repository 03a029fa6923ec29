"""`python -m tfgan_zoo.train` end to end on the tiny preset, and every bad input a user can give.

The CLI runs in subprocesses, as a user runs it; each costs a TensorFlow import (~5 s), so the
bad inputs that need no command-line parsing are checked in-process against training.train.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing import event_accumulator

from tfgan_zoo import config as config_lib
from tfgan_zoo.engine import training
from tfgan_zoo.errors import ZooError


def run_train(*args, data_dir=None):
    argv = [sys.executable, "-m", "tfgan_zoo.train", "--model=dcgan", "--preset=tiny", *args]
    if data_dir:
        argv.append(f"--data_dir={data_dir}")
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def snapshot(path):
    """Every file under `path` with its size and modification time."""
    return {os.path.join(root, f): (os.stat(os.path.join(root, f)).st_size,
                                    os.stat(os.path.join(root, f)).st_mtime_ns)
            for root, _, files in os.walk(path) for f in files}


def scalar_steps(logdir, tag):
    acc = event_accumulator.EventAccumulator(logdir, size_guidance={"tensors": 0, "images": 0})
    acc.Reload()
    return [e.step for e in acc.Tensors(tag)], acc.Tags()


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, digits_data_dir):
    """A tiny run trained to step 4, then resumed to step 8 in a second process."""
    workdir = str(tmp_path_factory.mktemp("run") / "dcgan")
    first = run_train(f"--workdir={workdir}", data_dir=digits_data_dir)
    assert first.returncode == 0, first.stderr
    after_first = snapshot(workdir)
    second = run_train(f"--workdir={workdir}", "--config.train.num_steps=8",
                       data_dir=digits_data_dir)
    assert second.returncode == 0, second.stderr
    return workdir, first, second, after_first


def test_first_run_writes_config_checkpoints_events_and_pngs(trained_run):
    workdir, first, _, after_first = trained_run
    assert ("Training dcgan on sklearn_digits (1437 images, 28x28x1) from step 0 to 4"
            in first.stdout)
    assert f"tensorboard --logdir {workdir}/logs" in first.stdout
    names = {os.path.relpath(p, workdir) for p in after_first}
    assert {"config.json", "checkpoints/ckpt-4.index", "samples/step_0000002.png",
            "samples/step_0000004.png", "samples/latest.png"} <= names
    saved = config_lib.from_json(open(os.path.join(workdir, "config.json")).read())
    assert saved.model.base_channels == 8 and saved.train.num_steps == 8  # the resumed run's
    grid = np.asarray(Image.open(os.path.join(workdir, "samples", "latest.png")))
    # 16 samples of 28x28 in a 4x4 grid with 2-pixel borders, enlarged 4x.
    assert grid.shape == (4 * (4 * 30 + 2), 4 * (4 * 30 + 2))
    assert grid.std() > 0  # not a blank picture


def test_second_run_resumes_at_the_saved_step(trained_run):
    workdir, _, second, _ = trained_run
    assert "Resuming dcgan on sklearn_digits" in second.stdout
    assert "from step 4 to 8" in second.stdout
    ckpts = sorted(f for f in os.listdir(os.path.join(workdir, "checkpoints"))
                   if f.endswith(".index"))
    assert ckpts == ["ckpt-4.index", "ckpt-6.index", "ckpt-8.index"]  # keep_checkpoints=3
    steps, tags = scalar_steps(os.path.join(workdir, "logs"), "train/d_loss")
    assert steps == [2, 4, 6, 8]  # logged every 2 steps, continuing across the restart
    assert {"train/g_loss", "perf/images_per_second", "samples"} <= set(tags["tensors"])


def test_a_finished_run_says_so_and_changes_nothing(trained_run, digits_data_dir):
    workdir = trained_run[0]
    before = snapshot(workdir)
    again = run_train(f"--workdir={workdir}", "--config.train.num_steps=8",
                      data_dir=digits_data_dir)
    assert again.returncode == 0
    assert "already at step 8 of 8" in again.stdout and "--config.train.num_steps" in again.stdout
    assert snapshot(workdir) == before


def assert_user_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    for fragment in fragments:
        assert fragment in last
    assert "Traceback" not in result.stderr


def test_unknown_model_lists_the_models():
    result = subprocess.run([sys.executable, "-m", "tfgan_zoo.train", "--model=biggan"],
                            capture_output=True, text=True, timeout=60)
    assert_user_error(result, "unknown model 'biggan'", "available models:", "dcgan")


def test_bad_value_is_refused_and_the_workdir_kept(trained_run, digits_data_dir):
    workdir = trained_run[0]
    before = snapshot(workdir)
    result = run_train(f"--workdir={workdir}", "--config.train.batch_size=-5",
                       data_dir=digits_data_dir)
    assert_user_error(result, "config.train.batch_size must be a positive integer, got -5")
    assert snapshot(workdir) == before


def test_changed_model_in_an_existing_workdir_is_refused_and_kept(trained_run, digits_data_dir):
    workdir = trained_run[0]
    before = snapshot(workdir)
    result = run_train(f"--workdir={workdir}", "--config.model.base_channels=16",
                       "--config.train.num_steps=10", data_dir=digits_data_dir)
    assert_user_error(result, "different config.model", "base_channels: saved 8, now 16",
                      "use a new --workdir")
    assert snapshot(workdir) == before


def test_unknown_config_key_is_refused_with_a_suggestion():
    result = run_train("--config.train.batch_sise=32")
    assert_user_error(result, "unknown config key config.train.batch_sise",
                      "did you mean config.train.batch_size?")


def test_malformed_config_value_is_a_one_line_user_error():
    result = run_train("--config.train.batch_size=abc")
    assert_user_error(result, "--config.train.batch_size=abc: expected an integer")
    assert result.stderr.count("\n") == 1  # not absl's FATAL and its help hint


def test_empty_folder_dataset_is_refused(tmp_path):
    (tmp_path / "images").mkdir()
    result = run_train(f"--workdir={tmp_path / 'run'}", f"--dataset=folder:{tmp_path / 'images'}")
    assert_user_error(result, str(tmp_path / "images"))
    assert not (tmp_path / "run").exists()


def tiny_config(**data):
    config = config_lib.load("dcgan", "tiny")
    config.data.update(data)
    return config


def test_unknown_dataset_lists_the_choices(tmp_path, digits_data_dir):
    with pytest.raises(ZooError, match="unknown dataset 'mnistt'.*sklearn_digits.*folder:"):
        training.train(tiny_config(dataset="mnistt", data_dir=digits_data_dir), tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_dataset_that_needs_a_download_says_how_to_prepare_it(tmp_path):
    config = tiny_config(dataset="mnist", data_dir=str(tmp_path / "tfds"), download=False)
    with pytest.raises(ZooError, match="tfds build mnist --data_dir"):
        training.train(config, tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_workdir_under_a_file_is_refused(tmp_path, digits_data_dir):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(ZooError, match="cannot be created: .*a_file is not a directory"):
        training.train(tiny_config(data_dir=digits_data_dir), tmp_path / "a_file" / "run")


def test_workdir_that_is_a_file_is_refused(tmp_path, digits_data_dir):
    (tmp_path / "run").write_text("x")
    with pytest.raises(ZooError, match="is a file, not a directory"):
        training.train(tiny_config(data_dir=digits_data_dir), tmp_path / "run")
    assert (tmp_path / "run").read_text() == "x"


def test_corrupt_config_json_in_workdir_is_refused(tmp_path, digits_data_dir):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{not json")
    with pytest.raises(ZooError, match="config.json is unreadable"):
        training.train(tiny_config(data_dir=digits_data_dir), tmp_path / "run")
    assert (tmp_path / "run" / "config.json").read_text() == "{not json"


def run_console_script(*args):
    argv = ["tfgan-zoo", *args]
    code = f"import sys; sys.argv = {argv!r}; from tfgan_zoo.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_console_script_lists_its_verbs():
    result = run_console_script("fly")
    assert result.returncode == 2
    assert "usage: tfgan-zoo {train,evaluate,prune,export,generate,benchmark}" in result.stderr


def test_console_script_runs_a_verb(tmp_path):
    assert_user_error(run_console_script("evaluate", f"--workdir={tmp_path}"),
                      "holds no training run")
