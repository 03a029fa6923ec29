"""data.load on the embedded digits: shapes, ranges, batching, repeat, shuffle, validation."""
import dataclasses

import ml_collections
import numpy as np
import pytest
import tensorflow_datasets as tfds

from tfgan_zoo import data
from tfgan_zoo.errors import ZooError


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("tfds"))


def _config(data_dir, **overrides):
    fields = {
        "dataset": "sklearn_digits",
        "data_dir": data_dir,
        "download": False,
        "channels": None,
        "cache": False,
        "shuffle_buffer": 2000,
    }
    return ml_collections.ConfigDict({**fields, **overrides})


def _batches(ds, count):
    return list(ds.take(count).as_numpy_iterator())


@pytest.mark.parametrize(("resolution", "channels"), [(28, None), (32, 3), (28, 3), (32, 1)])
def test_batches_have_the_promised_shape_dtype_and_range(data_dir, resolution, channels):
    ds, spec = data.load(
        _config(data_dir, channels=channels), resolution=resolution, batch_size=64
    )
    want_channels = channels or 1
    assert spec == data.DatasetSpec(
        name="sklearn_digits",
        split="train",
        resolution=resolution,
        channels=want_channels,
        num_classes=10,
        class_names=tuple(str(d) for d in range(10)),
        num_examples=1437,
    )
    assert ds.element_spec["image"].shape == (64, resolution, resolution, want_channels)
    for batch in _batches(ds, 2):
        images, labels = batch["image"], batch["label"]
        assert images.dtype == np.float32
        assert images.shape == (64, resolution, resolution, want_channels)
        assert images.min() == -1.0 and images.max() == 1.0  # digits have black and white pixels
        assert labels.dtype == np.int64 and labels.shape == (64,)
        assert labels.min() >= 0 and labels.max() <= 9
        if want_channels == 3:  # gray made RGB: the three channels are equal
            np.testing.assert_array_equal(images[..., 0], images[..., 2])


def test_images_keep_their_pixels_and_labels_in_order(data_dir):
    """At the native 8x8 nothing is resized: the values are exactly uint8 / 127.5 - 1."""
    ds, _ = data.load(
        _config(data_dir), resolution=8, batch_size=360, split="test", shuffle=False, repeat=False
    )
    (batch,) = _batches(ds, 2)
    builder = tfds.builder("sklearn_digits", data_dir=data_dir)
    raw = list(tfds.as_numpy(builder.as_dataset(split="test", shuffle_files=False)))
    np.testing.assert_array_equal(
        batch["image"], np.stack([r["image"] for r in raw]).astype(np.float32) / 127.5 - 1.0
    )
    np.testing.assert_array_equal(batch["label"], [r["label"] for r in raw])


def test_last_partial_batch_is_dropped(data_dir):
    ds, _ = data.load(_config(data_dir), batch_size=100, split="test", shuffle=False, repeat=False)
    assert [b["label"].shape[0] for b in ds.as_numpy_iterator()] == [100, 100, 100]  # of 360


def test_repeat_goes_past_one_epoch(data_dir):
    ds, spec = data.load(_config(data_dir), batch_size=128, split="test")
    batches = _batches(ds, 6)
    assert len(batches) == 6 and 6 * 128 > 2 * spec.num_examples


def test_shuffle_gives_each_epoch_a_new_order(data_dir):
    # One batch is exactly one epoch of the test split, so two batches are two epochs.
    ds, _ = data.load(_config(data_dir), batch_size=360, split="test")
    first, second = _batches(ds, 2)
    assert not np.array_equal(first["label"], second["label"])
    # Each batch is a whole epoch: shuffling happens before repeating, never across epochs.
    assert np.array_equal(np.bincount(first["label"]), np.bincount(second["label"]))
    unshuffled, _ = data.load(_config(data_dir), batch_size=360, split="test", shuffle=False)
    a, b = _batches(unshuffled, 2)
    np.testing.assert_array_equal(a["label"], b["label"])
    assert not np.array_equal(a["label"], first["label"])


def test_cache_gives_the_same_images(data_dir):
    kwargs = {"batch_size": 120, "split": "test", "shuffle": False, "repeat": False}
    cached, _ = data.load(_config(data_dir, cache=True), **kwargs)
    plain, _ = data.load(_config(data_dir, cache=False), **kwargs)
    for _ in range(2):  # the second pass reads from the cache
        for x, y in zip(cached.as_numpy_iterator(), plain.as_numpy_iterator(), strict=True):
            np.testing.assert_array_equal(x["image"], y["image"])


def test_describe_matches_load_without_resizing(data_dir):
    spec = data.describe(_config(data_dir, channels=3), split="test")
    assert spec.resolution == 0 and spec.channels == 3 and spec.num_examples == 360
    _, loaded = data.load(_config(data_dir, channels=3), resolution=16, split="test")
    assert loaded == dataclasses.replace(spec, resolution=16)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.channels = 1


@pytest.mark.parametrize(
    ("kwargs", "config", "message"),
    [
        ({"batch_size": 0}, {}, r"^batch_size must be at least 1, got 0; "),
        ({"resolution": 4}, {}, r"^resolution must be at least 8, got 4; "),
        ({}, {"channels": 2}, r"^channels must be 1 \(grayscale\), 3 \(RGB\) or None .* got 2; "),
        ({}, {"shuffle_buffer": 0}, r"^shuffle_buffer must be at least 1, got 0; "),
        ({"split": "validation"}, {}, r"^unknown split 'validation' .* valid splits: test, train$"),
        (
            {"batch_size": 400, "split": "test", "repeat": False},
            {},
            r"^batch_size 400 is larger than the 360 examples .* pass a smaller batch size$",
        ),
    ],
)
def test_bad_arguments_are_zoo_errors(data_dir, kwargs, config, message):
    with pytest.raises(ZooError, match=message):
        data.load(_config(data_dir, **config), **kwargs)
