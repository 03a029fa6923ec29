"""Writing files whole (tfgan_zoo.files): a crash mid-write never leaves half a file, or a
temporary one, and the old content stays."""
import json
import os

import pytest

from tfgan_zoo import files


class Crash(Exception):
    pass


def test_write_json_replaces_the_whole_file(tmp_path):
    path = tmp_path / "best.json"
    files.write_json(path, {"step": 1})
    files.write_json(path, {"step": 2})
    assert json.loads(path.read_text()) == {"step": 2}
    assert os.listdir(tmp_path) == ["best.json"]


def test_a_crash_mid_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "config.json"
    files.write_text(path, "old")
    with pytest.raises(Crash), files.atomic_write(path) as f:
        f.write("half of the new")
        raise Crash
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["config.json"]


def test_temporary_names_are_unique_so_two_writers_do_not_collide(tmp_path):
    path = tmp_path / "models.config"
    with files.atomic_write(path) as first, files.atomic_write(path) as second:
        assert first.name != second.name
        first.write("first")
        second.write("second")
    assert path.read_text() == "first"  # the outer writer finishes last
    assert os.listdir(tmp_path) == ["models.config"]


def test_atomic_path_keeps_the_ending_a_keras_writer_chooses_the_format_by(tmp_path):
    path = tmp_path / "generator_pruned.keras"
    with files.atomic_path(path) as tmp:
        assert tmp.endswith(".keras") and os.path.dirname(tmp) == str(tmp_path)
        with open(tmp, "w") as f:
            f.write("model")
    assert path.read_text() == "model" and os.listdir(tmp_path) == [path.name]
    with files.atomic_path(tmp_path / "c.weights.h5") as tmp:
        assert tmp.endswith(".weights.h5")
        with open(tmp, "w") as f:
            f.write("w")
    with pytest.raises(Crash), files.atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write("half")
        raise Crash
    assert path.read_text() == "model"
    assert sorted(os.listdir(tmp_path)) == ["c.weights.h5", "generator_pruned.keras"]
