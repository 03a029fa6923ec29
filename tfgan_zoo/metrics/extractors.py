"""Feature extractors: what turns images into the activations the metrics compare.

FID and friends are only comparable when measured with the same extractor, so every extractor
carries a `name` that the evaluation reports beside its figures.

- `domain_classifier`: a small CNN trained by the zoo on the real training split of a labeled
  dataset (TF-GAN's offline MNIST approach), cached in the data directory and reused. Its test
  accuracy is part of its record; a dataset with no test split (a folder) has every 5th example
  of its training split held out to measure it (`hold_out`).
- `inception`: InceptionV3's 2048-d pool features and 1000-way softmax, for natural images, from
  a weights file on disk (nothing is downloaded; Keras' own download cache is looked in).
"""
import contextlib
import dataclasses
import json
import os

import numpy as np
import tensorflow as tf
import tf_keras as keras
from absl import logging

from tfgan_zoo import data, files
from tfgan_zoo.errors import ZooError

CLASSIFIER_VERSION = 2
INCEPTION_SIZE = 299
INCEPTION_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"  # Keras' name for it
HOLD_OUT_EVERY = 5
HELD_OUT = "held-out fifth of train"  # a record's accuracy_split where there is no test split


@dataclasses.dataclass(eq=False)  # hashable by identity, as tf.function methods need
class Extractor:
    """images [B, H, W, C] in [-1, 1] -> (features [B, feature_dim], class probabilities [B, K])."""

    name: str
    feature_dim: int
    model: keras.Model
    test_accuracy: float | None = None

    def __call__(self, images):
        features, probs = self._forward(tf.convert_to_tensor(images, tf.float32))
        return features.numpy().astype(np.float64), probs.numpy().astype(np.float64)

    @tf.function(reduce_retracing=True)
    def _forward(self, images):
        return self.model(images, training=False)


@contextlib.contextmanager
def float32_policy():
    """Builds in float32 whatever the global mixed-precision policy (a bfloat16 or float16
    training run's): extractors measure, and probabilities from a bfloat16 softmax do not sum
    to 1 closely enough for the classifier score."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


CLASSIFIER_SEED = 0  # in the record: the feature classifiers train from this seed


@contextlib.contextmanager
def seeded(seed=CLASSIFIER_SEED):
    """Python's, NumPy's and TensorFlow's global seeds at `seed` inside: a feature classifier
    trained on a fresh machine starts from the same weights and sees its batches in the same
    order as one trained anywhere else, so FID in its features means the same there (up to
    floating-point rounding, which differs between CPUs). Afterwards every stream goes on from
    a seed drawn from NumPy's state before, so a seeded run stays as reproducible as it was."""
    after = int(np.random.randint(2**31 - 1))
    keras.utils.set_random_seed(seed)
    try:
        yield
    finally:
        keras.utils.set_random_seed(after)


def data_root(data_config):
    """The TFDS data directory of a data config: where extractors are cached too."""
    return os.path.expanduser(data_config.get("data_dir") or os.environ.get(
        "TFDS_DATA_DIR", "~/tensorflow_datasets"))


def _cache_stem(data_config, resolution, channels):
    dataset = data_config.dataset.replace(os.sep, "_").replace(":", "_").strip("_")
    return os.path.join(data_root(data_config), "tfgan_zoo_extractors",
                        f"{dataset}_{resolution}x{resolution}x{channels}_v{CLASSIFIER_VERSION}")


def _classifier_network(resolution, channels, num_classes):
    images = keras.Input((resolution, resolution, channels), name="images")
    x = keras.layers.RandomTranslation(0.1, 0.1)(images)  # active in training only
    for filters, stride in ((32, 1), (64, 2), (128, 2)):
        x = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)  # keeps where strokes are: 99% on digits vs 86% pooled
    # Features are taken before the ReLU: units that a ReLU zeroes on every image would make the
    # feature covariance singular, and FID's matrix square root unreliable.
    features = keras.layers.Dense(128, name="features")(x)
    hidden = keras.layers.Dropout(0.3)(keras.layers.ReLU()(features))
    logits = keras.layers.Dense(num_classes, name="logits")(hidden)
    return keras.Model(images, [features, keras.layers.Softmax(name="probs")(logits)])


def hold_out(batches, every=HOLD_OUT_EVERY, batch_size=64, shuffle_buffer=10_000):
    """Batches of (samples, labels) read in a fixed order -> (training batches, reshuffled each
    epoch; held-out batches). Every `every`-th example is held out, so a folder read in sorted
    order holds out some of each class."""
    examples = batches.unbatch().enumerate()

    def part(held):
        chosen = examples.filter(lambda i, example: tf.equal(i % every == 0, held))
        return chosen.map(lambda i, example: example)

    return (part(False).shuffle(shuffle_buffer).batch(batch_size),
            part(True).batch(batch_size))


def _labeled_batches(data_config, resolution, split, shuffle):
    ds, spec = data.load(data_config, resolution=resolution, batch_size=64, split=split,
                         shuffle=shuffle, repeat=False, drop_remainder=False)
    return ds.map(lambda b: (b[data.FEATURE], b["label"])), spec


def _train_and_test_batches(data_config, resolution):
    """(training batches, batches to measure accuracy on, the record's accuracy_split)."""
    try:
        test_ds, _ = _labeled_batches(data_config, resolution, "test", shuffle=False)
    except ZooError:  # e.g. a folder: no test split, so part of the training split is held out
        in_order, _ = _labeled_batches(data_config, resolution, "train", shuffle=False)
        return (*hold_out(in_order, shuffle_buffer=data_config.get("shuffle_buffer", 10_000)),
                HELD_OUT)
    train_ds, _ = _labeled_batches(data_config, resolution, "train", shuffle=True)
    return train_ds, test_ds, "test"


def _train_classifier(data_config, resolution, spec, epochs, log):
    """Trains the classifier network from CLASSIFIER_SEED; returns (network, accuracy, the split
    it was measured on)."""
    with seeded():  # the shuffles are seeded when the datasets are made
        train_ds, test_ds, split = _train_and_test_batches(data_config, resolution)
        held = (f"; no test split, so every {HOLD_OUT_EVERY}th image is held out to measure "
                "its accuracy" if split == HELD_OUT else "")
        log(f"Training the {spec.name} feature classifier ({spec.num_examples} images, "
            f"{epochs} epochs{held}); it is cached for later evaluations")
        network = _classifier_network(resolution, spec.channels, spec.num_classes)
        trainer = keras.Model(network.input, network.output[1])
        trainer.compile(keras.optimizers.Adam(1e-3),
                        keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
        trainer.fit(train_ds, epochs=epochs, verbose=0)
        _, accuracy = trainer.evaluate(test_ds, verbose=0)
    return network, float(accuracy), split


def _cached_record(stem, data_config):
    """The record of the classifier cached at `stem`, or None: none there, or one of a dataset
    with no test split from before part of it was held out (its accuracy is training
    accuracy)."""
    if not (os.path.exists(stem + ".json") and os.path.exists(stem + ".weights.h5")):
        return None
    with open(stem + ".json") as f:
        record = json.load(f)
    if "accuracy_split" not in record and not _has_split(data_config, "test"):
        return None
    return record


def _has_split(data_config, split):
    try:
        data.describe(data_config, split)
    except ZooError:
        return False
    return True


def domain_classifier(data_config, resolution, epochs=15, log=print):
    """The cached classifier extractor for `data_config`'s dataset at `resolution`.

    Trains it on the train split on first use, from CLASSIFIER_SEED (about 20 s for
    sklearn_digits on 2 cores), and stores weights and test accuracy (`accuracy_split`:
    "test", or HELD_OUT) under `<data_dir>/tfgan_zoo_extractors/`.
    """
    spec = data.describe(data_config, split="train")
    if spec.num_classes < 2:
        raise ZooError(f"{spec.name} has no class labels to train a feature classifier on; "
                       "use InceptionV3: --extractor=inception --inception_weights=PATH to "
                       "evaluate, --config.eval.extractor=inception "
                       "--config.eval.inception_weights=PATH to train")
    stem = _cache_stem(data_config, resolution, spec.channels)
    name = f"classifier:{spec.name}@{resolution}x{resolution}x{spec.channels}"
    record = _cached_record(stem, data_config)
    if record is not None:
        network = _classifier_network(resolution, spec.channels, spec.num_classes)
        network.load_weights(stem + ".weights.h5")
        return Extractor(name, 128, network, record["test_accuracy"])
    network, accuracy, split = _train_classifier(data_config, resolution, spec, epochs, log)
    os.makedirs(os.path.dirname(stem), exist_ok=True)
    # Weights first, record last: a record on disk always means complete weights beside it.
    with files.atomic_path(stem + ".weights.h5") as tmp:
        network.save_weights(tmp)
    files.write_json(stem + ".json", {
        "dataset": spec.name, "resolution": resolution, "channels": spec.channels,
        "num_classes": spec.num_classes, "test_accuracy": accuracy, "accuracy_split": split,
        "seed": CLASSIFIER_SEED})
    logging.info("feature classifier for %s: %s accuracy %.4f", spec.name, split, accuracy)
    return Extractor(name, 128, network, accuracy)


def find_inception_weights(path=None):
    """`path` if given, else Keras' download cache's copy ($KERAS_HOME or ~/.keras, then
    models/INCEPTION_FILE) if it is there, else None. Whether a given path exists is for
    `inception` to say."""
    if path:
        return path
    home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    cached = os.path.expanduser(os.path.join(home, "models", INCEPTION_FILE))
    return cached if os.path.isfile(cached) else None


def inception(weights_path, channels=3):
    """InceptionV3 pool features (2048-d) and softmax, from a Keras weights file with the top.

    The file is Keras' INCEPTION_FILE; get it on a machine with internet
    (keras.applications.InceptionV3(weights="imagenet") caches it in ~/.keras/models/) and pass
    its path. With no path, Keras' cache is looked in (`find_inception_weights`).
    """
    weights_path = find_inception_weights(weights_path)
    if not weights_path or not os.path.isfile(weights_path):
        raise ZooError(f"InceptionV3 weights not found at {weights_path!r}; copy "
                       f"{INCEPTION_FILE} (from ~/.keras/models on a machine with internet) "
                       "here and pass its path: --inception_weights=PATH to evaluate, "
                       "--config.eval.inception_weights=PATH to train")
    base = keras.applications.InceptionV3(weights=None, include_top=True)
    try:
        base.load_weights(weights_path)
    except (OSError, ValueError) as e:
        raise ZooError(f"{weights_path} is not InceptionV3 weights with the top ({e}); pass the "
                       "inception_v3_weights_tf_dim_ordering_tf_kernels.h5 file") from None
    images = keras.Input((None, None, channels), name="images")
    x = images
    if channels == 1:
        x = keras.layers.Concatenate()([images] * 3)  # grayscale -> RGB
    # The weights expect [-1, 1] at 299x299, and the zoo's images are already in [-1, 1].
    resized = keras.layers.Resizing(INCEPTION_SIZE, INCEPTION_SIZE)(x)
    pool = keras.Model(base.input, [base.get_layer("avg_pool").output, base.output])
    features, probs = pool(resized)
    return Extractor("inception_v3:pool3", 2048, keras.Model(images, [features, probs]))
