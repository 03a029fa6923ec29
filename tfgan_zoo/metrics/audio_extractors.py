"""Feature extractors for audio: a spoken-digit classifier on log-mel features (`mel`).

WaveGAN's inception score comes from a classifier of SC09's spoken digits; the zoo trains its
own, once, on the real training split of a labeled audio dataset and caches it, as
`extractors.domain_classifier` does for images. It returns the same `Extractor`, so FID, KID,
the classifier score and precision/recall work on audio unchanged.

- `spoken_digit_classifier(labeled_batches, spec, slice_length, cache_stem, name)`: MEMBERS
  small CNNs on those features (1-D convolutions over time, the mel bands as channels; see
  `classifier_network`); its `Extractor` takes clips [B, slice_length, C] and returns the
  first member's 128-d features (a Dense layer's output, taken before its ReLU so that no unit
  is zero on every clip, which would make FID's covariance singular) and the members' mean
  softmax over `spec.num_classes` (`ensemble_network` says why).

One member, measured on spoken_digits_espeak/full (2,880 train clips, 720 test clips of 8 unseen
voices), 2 CPU cores, 10 epochs: 97.9% test accuracy (98.1% with another seed), 35 s to train and
test. Both training augmentations helped, measured on a precursor with 64 filters throughout:
without the time shift it reached 93.6-96.4% instead of 97.6-98.6%; without the random gain, test
clips made 20 dB quieter were classified 44% right instead of 93% (generated clips need not be as
loud as the data; this network gets 86-91% on them).
"""
from __future__ import annotations

import json
import os
import time

import tensorflow as tf
import tf_keras as keras
from absl import logging

from tfgan_zoo import files
from tfgan_zoo.errors import ZooError
from tfgan_zoo.metrics.extractors import (
    CLASSIFIER_SEED,
    HELD_OUT,
    HOLD_OUT_EVERY,
    Extractor,
    float32_policy,
    hold_out,
    seeded,
)
from tfgan_zoo.metrics.mel import LogMel

CLASSIFIER_VERSION = 2  # in the record and the cache's name; another version is retrained
# Classifiers whose mean probabilities give the inception score and the digit heard (version 2;
# version 1 was one): see `ensemble_network`.
MEMBERS = 5
FEATURE_DIM = 128
LEARNING_RATE = 1e-3
MAX_SHIFT_SECONDS = 0.1  # training augmentation: clips move by up to this much either way
MIN_GAIN_DB = -30.0  # training augmentation: and are attenuated by up to this much


@keras.utils.register_keras_serializable(package="tfgan_zoo")
class RandomTimeShift(keras.layers.Layer):
    """Moves each clip of [B, L, C] by its own random k in [-max_shift, max_shift] samples,
    zeros shifted in (training only; the identity otherwise). An augmentation: the classifier
    should not depend on where in the clip a word is, since generated words need not be where
    the training data put them."""

    def __init__(self, max_shift, **kwargs):
        super().__init__(**kwargs)
        if max_shift < 0:
            raise ValueError(f"RandomTimeShift needs max_shift >= 0, got {max_shift}")
        self.max_shift = int(max_shift)

    def call(self, inputs, training=None):
        if self.max_shift == 0 or training is None:
            return inputs
        if tf.is_tensor(training):  # a symbolic learning phase
            return tf.cond(tf.cast(training, tf.bool), lambda: self._shift(inputs),
                           lambda: tf.identity(inputs))
        return self._shift(inputs) if training else inputs

    def _shift(self, inputs):
        s = self.max_shift
        batch, length = tf.shape(inputs)[0], tf.shape(inputs)[1]
        shifts = tf.random.uniform([batch], -s, s + 1, dtype=tf.int32)
        padded = tf.pad(inputs, [[0, 0], [s, s], [0, 0]])
        # Output sample t of clip b is input sample t - shifts[b] (zero outside the clip).
        index = tf.range(length)[None, :] + (s - shifts)[:, None]
        shifted = tf.gather(padded, index, batch_dims=1)
        shifted.set_shape(inputs.shape)
        return shifted

    def get_config(self):
        return {**super().get_config(), "max_shift": self.max_shift}


@keras.utils.register_keras_serializable(package="tfgan_zoo")
class RandomGain(keras.layers.Layer):
    """Scales each clip of [B, L, C] by its own random gain, uniform in decibels between
    `min_db` and 0 (training only; the identity otherwise). An augmentation: generated clips
    need not be as loud as the training data's."""

    def __init__(self, min_db, **kwargs):
        super().__init__(**kwargs)
        if min_db > 0:
            raise ValueError(f"RandomGain needs min_db <= 0, got {min_db}")
        self.min_db = float(min_db)

    def call(self, inputs, training=None):
        if self.min_db == 0 or training is None:
            return inputs
        if tf.is_tensor(training):  # a symbolic learning phase
            return tf.cond(tf.cast(training, tf.bool), lambda: self._scale(inputs),
                           lambda: tf.identity(inputs))
        return self._scale(inputs) if training else inputs

    def _scale(self, inputs):
        db = tf.random.uniform([tf.shape(inputs)[0], 1, 1], self.min_db, 0.0)
        return inputs * tf.pow(10.0, db / 20.0)

    def get_config(self):
        return {**super().get_config(), "min_db": self.min_db}


def classifier_network(slice_length, channels, sample_rate, num_classes,
                       max_shift_seconds=MAX_SHIFT_SECONDS, min_gain_db=MIN_GAIN_DB,
                       name="spoken_digit_classifier"):
    """audio [B, slice_length, channels] -> (features [B, 128], probabilities [B, num_classes]).

    (Training only: each clip moved by up to `max_shift_seconds` and attenuated by up to
    `min_gain_db`.) Log-mel [T, 64] (T = 100 for 16,384 samples at 16 kHz), each mel band
    batch-normalised -> 1-D convolutions over time, the mel bands as channels: kernel 3, ReLU,
    64, 64, 128 filters each followed by max pooling by 2, then 256 filters -> max and mean over
    time, concatenated (512; where in the clip a sound is does not matter) -> Dense(128) =
    features -> ReLU, dropout -> Dense -> softmax. About 0.2M parameters.
    """
    with float32_policy():
        audio = keras.Input((slice_length, channels), name="audio")
        x = RandomTimeShift(int(round(max_shift_seconds * sample_rate)), name="time_shift")(audio)
        x = RandomGain(min_gain_db, name="gain")(x)
        x = LogMel(sample_rate, name="log_mel")(x)
        x = keras.layers.BatchNormalization(name="normalize")(x)  # per mel band
        for i, filters in enumerate((64, 64, 128)):
            x = keras.layers.Conv1D(filters, 3, padding="same", activation="relu",
                                    name=f"conv{i}")(x)
            x = keras.layers.MaxPooling1D(2, name=f"pool{i}")(x)
        x = keras.layers.Conv1D(256, 3, padding="same", activation="relu", name="conv3")(x)
        # 512 inputs to the 128 features: fewer would make their covariance singular.
        x = keras.layers.Concatenate(name="pool_over_time")([
            keras.layers.GlobalMaxPooling1D()(x), keras.layers.GlobalAveragePooling1D()(x)])
        # Features are taken before the ReLU: units that a ReLU zeroes on every clip would make
        # the feature covariance singular, and FID's matrix square root unreliable.
        features = keras.layers.Dense(FEATURE_DIM, name="features")(x)
        hidden = keras.layers.Dropout(0.3)(keras.layers.ReLU()(features))
        logits = keras.layers.Dense(num_classes, name="logits")(hidden)
        probs = keras.layers.Softmax(name="probs")(logits)
        return keras.Model(audio, [features, probs], name=name)


def ensemble_network(members):
    """Classifier networks on the same clips -> one model: (the first member's features, the
    mean of the members' probabilities).

    Why an ensemble: generated clips are unlike any real clip, and classifiers of equal test
    accuracy hear different digits in them (on one demo checkpoint, 42% to 78% heard as asked
    across three training seeds); the mean over members moves far less from one set of seeds
    to another. The features stay one network's, so FID, KID and precision/recall are in the
    units they had with a single classifier.
    """
    if len(members) == 1:
        return members[0]
    with float32_policy():
        audio = keras.Input(members[0].input.shape[1:], name="audio")
        outputs = [member(audio) for member in members]
        probs = keras.layers.Average(name="mean_probs")([p for _, p in outputs])
        return keras.Model(audio, [outputs[0][0], probs], name="spoken_digit_ensemble")


def _fit_length(audio, slice_length):
    """Batches [B, L, C] -> [B, slice_length, C]: centre-cropped if longer, zero-padded evenly
    on both sides if shorter (the words of SC09-style clips are near the middle)."""
    length = tf.shape(audio)[1]
    excess = tf.maximum(length - slice_length, 0)
    audio = audio[:, excess // 2:excess // 2 + slice_length]
    missing = tf.maximum(slice_length - length, 0)
    return tf.pad(audio, [[0, 0], [missing // 2, missing - missing // 2], [0, 0]])


def _prepared(batches, slice_length, channels):
    """(audio, label) batches -> audio float32 [B, slice_length, channels], labels int32."""
    def prepare(audio, label):
        audio = tf.convert_to_tensor(audio, tf.float32)
        if audio.shape.rank == 2:
            audio = audio[..., None]
        audio = _fit_length(audio, slice_length)
        audio.set_shape([None, slice_length, channels])
        return audio, tf.cast(label, tf.int32)

    return batches.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)


def _train_and_test_batches(labeled_batches, spec, slice_length, log):
    """(training batches, batches to measure accuracy on, the record's accuracy_split), their
    clips fitted to `slice_length`."""
    def prepared(split, shuffle):
        return _prepared(labeled_batches(split, shuffle), slice_length, spec.channels)

    try:
        test_ds = prepared("test", False)
    except ZooError as e:  # e.g. a folder of clips: no test split, so part of train is held out
        log(f"No test split to measure the {spec.name} classifier on ({e}); every "
            f"{HOLD_OUT_EVERY}th clip of the training split is held out to measure it")
        return (*hold_out(prepared("train", False)), HELD_OUT)
    return prepared("train", True), test_ds, "test"


def _train(network, labeled_batches, spec, slice_length, epochs, log):
    """Trains `network` on split "train" (without its held-out part where there is no test
    split); returns (accuracy, the split it was measured on: "test" or HELD_OUT)."""
    trainer = keras.Model(network.input, network.output[1])
    trainer.compile(keras.optimizers.Adam(LEARNING_RATE),
                    keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    train_ds, test_ds, split = _train_and_test_batches(labeled_batches, spec, slice_length, log)
    trainer.fit(train_ds.prefetch(tf.data.AUTOTUNE), epochs=epochs, verbose=0)
    _, accuracy = trainer.evaluate(test_ds, verbose=0)
    return float(accuracy), split


def _accuracy(network, batches):
    """Share of clips whose most probable class is their label: `network`'s probabilities."""
    right = total = 0
    for audio, labels in batches:
        probs = network(audio, training=False)[1]
        right += int(tf.reduce_sum(tf.cast(
            tf.argmax(probs, axis=-1, output_type=tf.int32) == labels, tf.int32)))
        total += int(labels.shape[0])
    return right / max(total, 1)


def _train_ensemble(build, labeled_batches, spec, slice_length, members, epochs, log):
    """Trains `members` networks, member k from seed CLASSIFIER_SEED + k (member 0 is the
    single classifier of earlier versions, weight for weight); returns (the ensemble, its
    accuracy, the members' accuracies, the split they were measured on)."""
    networks, accuracies = [], []
    for k in range(members):
        with seeded(CLASSIFIER_SEED + k):  # its initial weights, augmentations, batch order
            networks.append(build(f"member{k}"))
            accuracy, split = _train(networks[-1], labeled_batches, spec, slice_length, epochs,
                                     log)
        accuracies.append(accuracy)
    ensemble = ensemble_network(networks)
    if members == 1:
        return ensemble, accuracies[0], accuracies, split
    _, test_ds, _ = _train_and_test_batches(labeled_batches, spec, slice_length, lambda _: None)
    return ensemble, _accuracy(ensemble, test_ds), accuracies, split


def _record_matches(record, spec, slice_length, members):
    # accuracy_split "train": cached before a part was held out, so its accuracy is training
    # accuracy; it is trained again.
    return (record.get("version") == CLASSIFIER_VERSION
            and record.get("accuracy_split") != "train"
            and record.get("members") == members
            and record.get("slice_length") == slice_length
            and record.get("sample_rate") == spec.sample_rate
            and record.get("num_classes") == spec.num_classes
            and record.get("channels", spec.channels) == spec.channels)


def spoken_digit_classifier(labeled_batches, spec, slice_length, cache_stem, name, epochs=10,
                            members=MEMBERS, log=print):
    """The cached classifier extractor of a labeled audio dataset: clips [B, slice_length, C].

    labeled_batches(split, shuffle): a tf.data.Dataset of (audio float32 [B, L, C] in [-1, 1],
        label int [B]) batches of `split` ("train" or "test"); it may raise ZooError for a
        split that does not exist. Clips of another length are centre-cropped or zero-padded.
    spec: the dataset's name, num_classes, channels and sample_rate (a DatasetSpec).
    cache_stem: the path without ending of the cache: `<cache_stem>.weights.h5` holds the
        weights, `<cache_stem>.json` the record (dataset, slice_length, sample_rate,
        num_classes, channels, members, test_accuracy, member_accuracies, accuracy_split,
        epochs, train_seconds, version, seed). A record for the same version, members,
        length, rate and classes is reused without training; anything else is retrained and
        overwritten.
    name: the extractor's name, reported beside the figures measured with it.
    members: how many classifiers, trained from seeds CLASSIFIER_SEED + 0, 1, ..., give the
        probabilities (their mean; see `ensemble_network`); the first gives the features.

    Trains each member on "train" for `epochs` (about 35 s for 2,880 one-second clips on 2 CPU
    cores) and measures accuracy on "test", or where there is no test split on every 5th clip
    of "train", held out of training (`accuracy_split` in the record says which: "test" or
    HELD_OUT). The extractor's test accuracy is the ensemble's.
    """
    if spec.num_classes < 2:
        raise ZooError(f"{spec.name} has no class labels to train an audio classifier on "
                       f"(num_classes={spec.num_classes}); use a labeled dataset (a folder of "
                       "clips with one subfolder per class, such as SC09's digits, or "
                       "spoken_digits_espeak) to measure it with")
    if not spec.sample_rate or spec.sample_rate <= 0:
        raise ZooError(f"{spec.name} has no sample rate (sample_rate={spec.sample_rate}); the "
                       "audio classifier needs one for its log-mel features")
    if members < 1:
        raise ZooError(f"the audio classifier needs at least one member, got {members}")
    weights_path, record_path = cache_stem + ".weights.h5", cache_stem + ".json"

    def build(member_name):
        return classifier_network(slice_length, spec.channels, spec.sample_rate,
                                  spec.num_classes, name=member_name)

    if os.path.exists(record_path) and os.path.exists(weights_path):
        with open(record_path) as f:
            record = json.load(f)
        if _record_matches(record, spec, slice_length, members):
            cached = ensemble_network([build(f"member{k}") for k in range(members)])
            cached.load_weights(weights_path)
            return Extractor(name, FEATURE_DIM, cached, record["test_accuracy"])
        log(f"The cached {spec.name} classifier at {cache_stem} is for another version, shape "
            "or number of members; training a new one")
    log(f"Training the {spec.name} audio classifier ({members} members of {epochs} epochs "
        "each); it is cached for later evaluations")
    start = time.monotonic()
    network, accuracy, accuracies, split = _train_ensemble(
        build, labeled_batches, spec, slice_length, members, epochs, log)
    seconds = time.monotonic() - start
    os.makedirs(os.path.dirname(os.path.abspath(cache_stem)), exist_ok=True)
    # Weights first, record last: a record on disk always means complete weights beside it.
    with files.atomic_path(weights_path) as tmp:
        network.save_weights(tmp)
    files.write_json(record_path, {
        "dataset": spec.name, "slice_length": slice_length, "sample_rate": spec.sample_rate,
        "num_classes": spec.num_classes, "channels": spec.channels, "members": members,
        "test_accuracy": accuracy, "member_accuracies": accuracies, "accuracy_split": split,
        "epochs": epochs, "train_seconds": round(seconds, 1), "version": CLASSIFIER_VERSION,
        "seed": CLASSIFIER_SEED})
    logging.info("audio classifier for %s: %s accuracy %.4f (members %s)", spec.name, split,
                 accuracy, ", ".join(f"{a:.4f}" for a in accuracies))
    return Extractor(name, FEATURE_DIM, network, accuracy)
