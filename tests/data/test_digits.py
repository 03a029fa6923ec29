"""The embedded sklearn_digits TFDS builder: offline preparation, the fixed split, pixel values."""
import collections

import numpy as np
import pytest
import tensorflow_datasets as tfds
from sklearn.datasets import load_digits

from tfgan_zoo import data
from tfgan_zoo.data import digits


@pytest.fixture(scope="module")
def builder(tmp_path_factory):
    builder = tfds.builder("sklearn_digits", data_dir=str(tmp_path_factory.mktemp("tfds")))
    assert not builder.is_prepared()
    builder.download_and_prepare()  # no network here: this only works because it is offline
    return builder


def _examples(builder, split):
    """[(image bytes, label)] of a split, in file order."""
    return [
        (example["image"].tobytes(), int(example["label"]))
        for example in tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False))
    ]


def test_registered_under_its_name(builder):
    assert data.EMBEDDED_DATASET == "sklearn_digits"
    assert isinstance(builder, digits.SklearnDigits)
    assert str(builder.info.version) == "1.0.0"
    assert builder.is_prepared()


def test_info_describes_the_data(builder):
    info = builder.info
    assert info.features["image"].shape == (8, 8, 1)
    assert info.features["label"].names == [str(d) for d in range(10)]
    assert "UCI" in info.description and "load_digits" in info.description
    assert info.homepage.startswith("https://archive.ics.uci.edu/")
    assert "Alpaydin" in info.citation


def test_split_sizes(builder):
    assert builder.info.splits["train"].num_examples == 1437
    assert builder.info.splits["test"].num_examples == 360
    assert len(_examples(builder, "train")) == 1437
    assert len(_examples(builder, "test")) == 360


def test_splits_are_the_stratified_split_of_all_1797_digits(builder):
    sk = load_digits()
    expected_images = np.rint(sk.images * 255 / 16).astype(np.uint8)[..., None]
    train_idx, test_idx = digits.split_indices(sk.target)
    assert not set(train_idx) & set(test_idx)
    assert len(set(train_idx) | set(test_idx)) == 1797
    for split, indices in (("train", train_idx), ("test", test_idx)):
        expected = collections.Counter(
            (expected_images[i].tobytes(), int(sk.target[i])) for i in indices
        )
        assert collections.Counter(_examples(builder, split)) == expected, split
    # Stratified: every class is about 20% test (each class has 174..183 examples).
    test_counts = collections.Counter(label for _, label in _examples(builder, "test"))
    assert sorted(test_counts) == list(range(10))
    assert all(35 <= count <= 37 for count in test_counts.values())


def test_pixels_are_scaled_to_0_255(builder):
    images = np.stack(
        [e["image"] for e in tfds.as_numpy(builder.as_dataset(split="train"))]
    )
    assert images.dtype == np.uint8 and images.shape == (1437, 8, 8, 1)
    assert images.min() == 0 and images.max() == 255
    allowed = {round(v * 255 / 16) for v in range(17)}
    assert set(np.unique(images).tolist()) <= allowed
    assert digits.to_uint8(np.array([0, 8, 16])).tolist() == [0, 128, 255]
