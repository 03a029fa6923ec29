"""The best checkpoint by a metric, and finding checkpoints of a run by name."""
import json
import os

import pytest
import tensorflow as tf

from tfgan_zoo.engine import checkpoints
from tfgan_zoo.engine.workdir import Workdir
from tfgan_zoo.errors import ZooError
from tfgan_zoo.kinds import HIGHER


def test_a_metric_that_worsens_after_improving_leaves_the_best_in_place(tmp_path):
    value = tf.Variable(0.0)
    checkpoint = tf.train.Checkpoint(value=value)
    best = checkpoints.BestCheckpoint(checkpoint, str(tmp_path / "best"))
    for step, fid in [(100, 30.0), (200, 12.0), (300, 25.0), (400, 12.0)]:
        value.assign(float(step))
        saved = best.offer(step, {"fid": fid, "kid": 0.1})
        assert saved == (step in (100, 200))
    assert best.record["step"] == 200
    assert json.load(open(tmp_path / "best" / "best.json"))["results"]["fid"] == 12.0
    assert [f for f in os.listdir(tmp_path / "best") if f.endswith(".index")] == ["ckpt-200.index"]
    checkpoint.restore(checkpoints.best_path(str(tmp_path / "best")))
    assert float(value.numpy()) == 200.0

    # A resumed run continues the comparison from best.json.
    resumed = checkpoints.BestCheckpoint(checkpoint, str(tmp_path / "best"))
    assert not resumed.offer(500, {"fid": 13.0})
    assert resumed.offer(600, {"fid": 11.0})


def test_a_higher_is_better_metric_keeps_the_highest(tmp_path):
    # BLEU, classifier score: the kind says which way is better, and best.json follows it.
    value = tf.Variable(0.0)
    checkpoint = tf.train.Checkpoint(value=value)
    best = checkpoints.BestCheckpoint(checkpoint, str(tmp_path / "best"), "bleu", HIGHER)
    for step, bleu in [(100, 0.2), (200, 0.5), (300, 0.3), (400, 0.5), (500, 0.6)]:
        value.assign(float(step))
        assert best.offer(step, {"bleu": bleu}) == (step in (100, 200, 500))
    record = json.load(open(tmp_path / "best" / "best.json"))
    assert record["step"] == 500 and record["primary"] == "bleu"
    resumed = checkpoints.BestCheckpoint(checkpoint, str(tmp_path / "best"), "bleu", HIGHER)
    assert not resumed.offer(600, {"bleu": 0.55}) and resumed.offer(700, {"bleu": 0.7})


def test_a_crash_before_best_json_is_replaced_leaves_it_naming_a_whole_checkpoint(
        tmp_path, monkeypatch):
    value = tf.Variable(1.0)
    checkpoint = tf.train.Checkpoint(value=value)
    directory = str(tmp_path / "best")
    best = checkpoints.BestCheckpoint(checkpoint, directory)
    best.offer(100, {"fid": 30.0})

    def crash(path, data):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints.files, "write_json", crash)
    value.assign(2.0)
    with pytest.raises(OSError):
        best.offer(200, {"fid": 10.0})
    monkeypatch.undo()
    assert checkpoints.best_path(directory).endswith("best/ckpt-100")
    checkpoint.restore(checkpoints.best_path(directory))
    assert float(value.numpy()) == 1.0  # the checkpoint best.json names, whole
    # The next improvement replaces both and removes the orphan the crash left.
    resumed = checkpoints.BestCheckpoint(checkpoint, directory)
    assert resumed.offer(300, {"fid": 5.0})
    assert sorted(f for f in os.listdir(directory) if f.endswith(".index")) == ["ckpt-300.index"]


def test_best_of_a_run_from_before_best_json_named_its_checkpoint(tmp_path):
    checkpoint = tf.train.Checkpoint(value=tf.Variable(1.0))
    directory = str(tmp_path / "best")
    tf.train.CheckpointManager(checkpoint, directory, max_to_keep=1).save(checkpoint_number=7)
    with open(os.path.join(directory, "best.json"), "w") as f:
        json.dump({"step": 7, "primary": "fid", "results": {"fid": 3.0}}, f)
    assert checkpoints.best_path(directory).endswith("best/ckpt-7")


def truncate_data_file(prefix):
    data = [f for f in os.listdir(os.path.dirname(prefix))
            if f.startswith(os.path.basename(prefix) + ".data")]
    path = os.path.join(os.path.dirname(prefix), data[0])
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


def test_an_unreadable_latest_checkpoint_is_skipped_with_a_warning(tmp_path):
    workdir = Workdir(str(tmp_path / "run"))
    value = tf.Variable(tf.zeros([1000]))
    checkpoint = tf.train.Checkpoint(value=value)
    manager = tf.train.CheckpointManager(checkpoint, workdir.checkpoints, max_to_keep=5)
    for step in (2, 4):
        value.assign(tf.fill([1000], float(step)))
        manager.save(checkpoint_number=step)
    truncate_data_file(manager.latest_checkpoint)
    value.assign(tf.zeros([1000]))
    warnings = []
    used = checkpoints.restore_latest(checkpoint, manager, warnings.append)
    assert used.endswith("ckpt-2") and float(value.numpy()[0]) == 2.0
    assert len(warnings) == 1 and "ckpt-4 is unreadable" in warnings[0]
    truncate_data_file(used)
    with pytest.raises(ZooError, match="no checkpoint in .* reads whole; move the folder away"):
        checkpoints.restore_latest(checkpoint, manager, warnings.append)


def make_run(tmp_path, steps=(2, 4), best=None):
    workdir = Workdir(str(tmp_path / "run"))
    os.makedirs(workdir.checkpoints)
    checkpoint = tf.train.Checkpoint(value=tf.Variable(1.0))
    manager = tf.train.CheckpointManager(checkpoint, workdir.checkpoints, max_to_keep=5)
    for step in steps:
        manager.save(checkpoint_number=step)
    if best:
        checkpoints.BestCheckpoint(checkpoint, workdir.best_checkpoints).offer(
            best, {"fid": 1.0})
    return workdir


def test_find_best_latest_and_steps(tmp_path):
    workdir = make_run(tmp_path, best=3)
    assert checkpoints.find(workdir, "best").endswith("best/ckpt-3")
    assert checkpoints.find(workdir, "latest").endswith("checkpoints/ckpt-4")
    assert checkpoints.find(workdir, "2").endswith("checkpoints/ckpt-2")
    with pytest.raises(ZooError, match="no checkpoint '7'.*kept steps: 2, 4"):
        checkpoints.find(workdir, "7")


def test_best_falls_back_to_latest(tmp_path):
    assert checkpoints.find(make_run(tmp_path), "best").endswith("checkpoints/ckpt-4")


def test_a_run_without_checkpoints_says_to_train_first(tmp_path):
    workdir = make_run(tmp_path, steps=())
    with pytest.raises(ZooError, match="has no checkpoint; train it first"):
        checkpoints.find(workdir, "best")


def test_restoring_into_another_model_is_a_clear_error(tmp_path):
    workdir = make_run(tmp_path)
    other = tf.train.Checkpoint(weights=tf.Variable([1.0, 2.0]))
    with pytest.raises(ZooError, match="does not fit the model in this run's config.json"):
        checkpoints.restore(other, checkpoints.find(workdir, "latest"))
