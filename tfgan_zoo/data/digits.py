"""`sklearn_digits`: the zoo's embedded dataset, a TFDS builder that needs no network.

scikit-learn ships the UCI handwritten digits inside its wheel (1,797 real 8x8 images, ten
classes), so this dataset prepares offline, in seconds, into any data_dir. It is what tests,
examples and machines without internet train on.

TFDS registers a builder under its class name in snake_case when the class is defined, so
importing this module is what makes `tfds.builder("sklearn_digits")` work.
"""
from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from tfgan_zoo.data.embedded import EmbeddedBuilder, labeled_images, stratified_split

NAME = "sklearn_digits"
TEST_FRACTION = 0.2
SPLIT_SEED = 0
# load_digits() stores pixels as counts of set bits in 4x4 blocks of the original 32x32 bitmaps.
MAX_PIXEL_VALUE = 16

_DESCRIPTION = """\
The UCI "Optical Recognition of Handwritten Digits" images as shipped inside scikit-learn
(`sklearn.datasets.load_digits`): 1,797 8x8 grayscale digits written by 43 people, ten classes.
Pixel values 0..16 are scaled to 0..255. The train/test split is a stratified 80/20 split made
with `train_test_split(test_size=0.2, stratify=labels, random_state=0)`: 1,437 train, 360 test.
Example keys are the indices into `load_digits()`.
"""

_CITATION = """\
@misc{alpaydin1998optical,
  author = {Alpaydin, E. and Kaynak, C.},
  title = {Optical Recognition of Handwritten Digits},
  year = {1998},
  howpublished = {UCI Machine Learning Repository},
  doi = {10.24432/C50P49},
}
"""


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """Scales load_digits() pixel values 0..16 to uint8 0..255, rounding to nearest."""
    return np.rint(np.asarray(pixels, np.float64) * 255.0 / MAX_PIXEL_VALUE).astype(np.uint8)


def split_indices(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fixed stratified split of load_digits() indices into (train, test)."""
    return stratified_split(labels, TEST_FRACTION, SPLIT_SEED)


class SklearnDigits(EmbeddedBuilder, tfds.core.GeneratorBasedBuilder):
    """scikit-learn's 8x8 handwritten digits, prepared offline."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: stratified 80/20 split with random_state=0."}

    def how_prepared(self) -> str:
        return "from the copy shipped with scikit-learn"

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=_DESCRIPTION,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(8, 8, 1)),
                    "label": tfds.features.ClassLabel(names=[str(d) for d in range(10)]),
                }
            ),
            supervised_keys=("image", "label"),
            homepage="https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits",
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # everything comes from the scikit-learn wheel
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = to_uint8(digits.images)[..., np.newaxis]
        labels = digits.target.astype(np.int64)
        train, test = split_indices(labels)
        return {
            "train": self._generate_examples(images, labels, train),
            "test": self._generate_examples(images, labels, test),
        }

    def _generate_examples(self, images, labels, indices):
        return labeled_images(images, labels, indices)
