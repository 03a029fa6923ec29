"""Audio feature extractors: the log-mel front end, its augmentation layers, and the spoken-digit
classifier trained on the embedded spoken_digits_espeak/small data (40 clips: too few to expect
accuracy here; it is measured on the full config outside the test suite)."""
import json
import math
import os
import shutil
import types

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
import tf_keras as keras

import tfgan_zoo.data.spoken_digits  # noqa: F401  (registers spoken_digits_espeak)
from tfgan_zoo.errors import ZooError
from tfgan_zoo.metrics import audio_extractors as ax
from tfgan_zoo.metrics import mel
from tfgan_zoo.metrics.extractors import Extractor

LENGTH = 16384
RATE = 16000
MEMBERS = 2  # the ensemble's mechanics; the zoo's own audio classifier has ax.MEMBERS


def _spec(num_classes=10, name="spoken_digits_espeak/small"):
    return types.SimpleNamespace(name=name, num_classes=num_classes, channels=1,
                                 sample_rate=RATE)


@pytest.fixture(scope="module")
def labeled_batches(tmp_path_factory):
    builder = tfds.builder("spoken_digits_espeak/small",
                           data_dir=str(tmp_path_factory.mktemp("tfds")))
    builder.download_and_prepare()  # offline: eSpeak NG synthesises the 40 clips

    def batches(split, shuffle):
        ds = builder.as_dataset(split=split, shuffle_files=shuffle)
        if shuffle:
            ds = ds.shuffle(64)
        return ds.batch(16).map(
            lambda e: (tf.cast(e["audio"], tf.float32)[:, :, None] / 32768.0, e["label"]))

    return batches


@pytest.fixture(scope="module")
def trained(labeled_batches, tmp_path_factory):
    stem = str(tmp_path_factory.mktemp("extractors") / "spoken_digits_small_16384")
    messages = []
    extractor = ax.spoken_digit_classifier(labeled_batches, _spec(), LENGTH, stem,
                                           "classifier:spoken_digits_espeak/small@16384x1",
                                           epochs=2, members=MEMBERS, log=messages.append)
    return stem, extractor, messages


def _mel(hz):
    return 1127.0 * np.log1p(hz / 700.0)


def _band_centres(sample_rate, num_mels=mel.NUM_MELS, lower=mel.LOWER_EDGE_HERTZ):
    """Centre frequencies of the mel bands: HTK mel scale, evenly spaced, edges excluded."""
    edges = np.linspace(_mel(lower), _mel(sample_rate / 2.0), num_mels + 2)
    return 700.0 * np.expm1(edges[1:-1] / 1127.0)


def test_frame_sizes_scale_with_the_sample_rate():
    assert mel.frame_sizes(16000) == (400, 160, 512)  # 25 ms, 10 ms
    assert mel.frame_sizes(8000) == (200, 80, 256)
    assert mel.frame_sizes(48000) == (1200, 480, 2048)
    assert mel.num_frames(16384, 16000) == 1 + (16384 - 400) // 160 == 100
    with pytest.raises(ValueError, match="shorter than one window"):
        mel.num_frames(100, 16000)


@pytest.mark.parametrize("length, rate, channels", [(16384, 16000, 1), (4096, 8000, 2),
                                                    (65536, 16000, 1)])
def test_log_mel_shapes(length, rate, channels):
    audio = np.random.default_rng(0).uniform(-1, 1, (3, length, channels)).astype(np.float32)
    out = mel.log_mel(audio, rate)
    assert out.dtype == tf.float32
    assert out.shape == (3, mel.num_frames(length, rate), mel.NUM_MELS)
    layer = mel.LogMel(rate)
    assert tuple(layer.compute_output_shape((None, length, channels))) == (
        None, mel.num_frames(length, rate), mel.NUM_MELS)
    np.testing.assert_allclose(layer(audio).numpy(), out.numpy(), rtol=1e-6)
    assert mel.log_mel(audio[..., 0], rate, num_mels=40).shape[-1] == 40  # [B, L] works too


def test_channels_are_averaged_to_mono():
    left = np.random.default_rng(1).uniform(-1, 1, (2, 4096, 1)).astype(np.float32)
    stereo = np.concatenate([left, np.zeros_like(left)], axis=-1)
    np.testing.assert_allclose(mel.log_mel(stereo, RATE).numpy(),
                               mel.log_mel(left / 2, RATE).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rate", [16000, 8000])
def test_a_pure_tone_peaks_in_the_mel_band_of_its_frequency(rate):
    centres = _band_centres(rate)
    t = np.arange(LENGTH) / rate
    for band in (12, 25, 40, 55):
        tone = 0.5 * np.sin(2 * np.pi * centres[band] * t)
        spectrum = mel.log_mel(tone[None, :, None].astype(np.float32), rate).numpy()[0]
        assert np.all(np.argmax(spectrum, axis=1) == band), (rate, band, centres[band])
        # Far from the tone there is (almost) nothing: at the log floor, not above it.
        assert spectrum[:, 0].max() < math.log(mel.LOG_EPSILON) + 1.0
        assert spectrum[:, band].min() > math.log(0.01)


def test_silence_sits_at_the_log_floor():
    silence = mel.log_mel(np.zeros((1, 4096, 1), np.float32), RATE).numpy()
    np.testing.assert_allclose(silence, math.log(mel.LOG_EPSILON), rtol=1e-6)


def test_layers_are_serializable():
    for layer in (mel.LogMel(8000, num_mels=32, upper_edge_hertz=3000.0),
                  ax.RandomTimeShift(40), ax.RandomGain(-20.0)):
        name = type(layer).__name__
        assert keras.utils.get_registered_name(type(layer)) == f"tfgan_zoo>{name}"
        again = keras.layers.deserialize(keras.layers.serialize(layer))
        assert type(again) is type(layer) and again.get_config() == layer.get_config()
    audio = np.random.default_rng(2).uniform(-1, 1, (2, 4096, 1)).astype(np.float32)
    layer = mel.LogMel(8000, num_mels=32, upper_edge_hertz=3000.0)
    np.testing.assert_allclose(layer.from_config(layer.get_config())(audio).numpy(),
                               layer(audio).numpy())
    # The whole classifier is one Functional model that Keras can rebuild from its config.
    network = ax.classifier_network(4096, 1, 8000, 3)
    rebuilt = keras.Model.from_config(network.get_config())
    rebuilt.set_weights(network.get_weights())
    for got, want in zip(rebuilt(audio), network(audio), strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_augmentation_only_in_training():
    audio = np.random.default_rng(3).uniform(-1, 1, (8, 1000, 1)).astype(np.float32)
    shift, gain = ax.RandomTimeShift(50), ax.RandomGain(-30.0)
    for layer in (shift, gain):
        np.testing.assert_array_equal(layer(audio, training=False).numpy(), audio)
        np.testing.assert_array_equal(layer(audio).numpy(), audio)
    shifted = shift(audio, training=True).numpy()
    # Each clip is moved by its own k, zeros shifted in.
    for out, clip in zip(shifted, audio, strict=True):
        matches = [k for k in range(-50, 51)
                   if np.array_equal(out, np.roll(np.pad(clip, [(50, 50), (0, 0)]),
                                                  k, axis=0)[50:-50])]
        assert matches, "not a shift of the clip"
    scaled = gain(audio, training=True).numpy()
    ratios = np.abs(scaled).sum(axis=(1, 2)) / np.abs(audio).sum(axis=(1, 2))
    assert np.all(ratios <= 1 + 1e-6) and np.all(ratios >= 10 ** (-30 / 20) - 1e-6)
    assert len(np.unique(ratios.round(6))) > 1  # one gain per clip


def test_clips_of_another_length_are_centred():
    audio = tf.reshape(tf.range(10, dtype=tf.float32), [1, 10, 1])
    assert ax._fit_length(audio, 6).numpy().ravel().tolist() == [2, 3, 4, 5, 6, 7]
    padded = ax._fit_length(audio, 13).numpy().ravel().tolist()
    assert padded == [0] + list(range(10)) + [0, 0]


def test_classifier_trains_and_records_its_accuracy(trained):
    stem, extractor, messages = trained
    assert isinstance(extractor, Extractor)
    assert extractor.name == "classifier:spoken_digits_espeak/small@16384x1"
    assert extractor.feature_dim == 128
    assert any("Training" in m for m in messages)
    with open(stem + ".json") as f:
        record = json.load(f)
    assert record["version"] == ax.CLASSIFIER_VERSION
    assert record["dataset"] == "spoken_digits_espeak/small"
    assert (record["slice_length"], record["sample_rate"], record["num_classes"]) == (
        LENGTH, RATE, 10)
    assert record["accuracy_split"] == "test" and record["epochs"] == 2
    assert record["members"] == MEMBERS and len(record["member_accuracies"]) == MEMBERS
    assert 0.0 <= record["test_accuracy"] <= 1.0
    assert record["test_accuracy"] == extractor.test_accuracy
    assert os.path.exists(stem + ".weights.h5")
    assert not [n for n in os.listdir(os.path.dirname(stem)) if n.startswith(".")]  # no temps


def test_classifier_outputs_features_and_probabilities(trained, labeled_batches):
    _, extractor, _ = trained
    audio, _ = next(iter(labeled_batches("test", False)))
    features, probs = extractor(audio)
    assert features.shape == (len(audio), 128) and features.dtype == np.float64
    assert probs.shape == (len(audio), 10) and probs.dtype == np.float64
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(probs >= 0)
    # Taken before the ReLU: negative values appear, and no feature is constant.
    assert (features < 0).any() and np.all(features.std(axis=0) > 0)
    # Inference is deterministic (augmentation and dropout are off).
    np.testing.assert_array_equal(extractor(audio)[0], features)


def test_second_call_loads_the_cache_without_training(trained, labeled_batches, monkeypatch):
    stem, first, _ = trained

    def no_training(*args, **kwargs):
        raise AssertionError("trained again instead of loading the cache")

    monkeypatch.setattr(ax, "_train", no_training)
    again = ax.spoken_digit_classifier(labeled_batches, _spec(), LENGTH, stem, "again",
                                       members=MEMBERS, log=pytest.fail)
    audio = np.random.default_rng(4).uniform(-1, 1, (3, LENGTH, 1)).astype(np.float32)
    np.testing.assert_allclose(again(audio)[0], first(audio)[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(again(audio)[1], first(audio)[1], rtol=1e-5, atol=1e-6)
    assert again.test_accuracy == first.test_accuracy and again.name == "again"


def test_training_is_seeded_and_leaves_the_callers_streams_seeded(trained, labeled_batches,
                                                                  tmp_path):
    """Trained again from scratch on this machine it is the same network: the FID units of a
    fresh machine's classifier are this one's. Afterwards the caller's random streams go on
    from its own seed, not the classifier's: runs of different seeds that trained it mid-run
    must not continue with the same random numbers."""
    stem, first, _ = trained
    draws = []
    for attempt, seed in enumerate((7, 7, 8)):
        keras.utils.set_random_seed(seed)
        again = ax.spoken_digit_classifier(labeled_batches, _spec(), LENGTH,
                                           str(tmp_path / f"again{attempt}"), "again",
                                           epochs=2, members=MEMBERS, log=lambda _: None)
        for got, want in zip(again.model.get_weights(), first.model.get_weights(), strict=True):
            np.testing.assert_array_equal(got, want)
        draws.append((np.random.rand(), float(tf.random.uniform([]))))
    assert draws[0] == draws[1] and draws[2][0] != draws[0][0] and draws[2][1] != draws[0][1]
    with open(stem + ".json") as f:
        assert json.load(f)["seed"] == ax.CLASSIFIER_SEED


def test_a_cache_of_another_version_or_length_is_retrained(trained, labeled_batches,
                                                           monkeypatch, tmp_path):
    stem, _, _ = trained
    calls = []

    def fake_training(network, batches, spec, slice_length, epochs, log):
        calls.append(slice_length)
        return 0.5, "test"

    monkeypatch.setattr(ax, "_train", fake_training)
    copy = str(tmp_path / "copy")
    shutil.copy(stem + ".weights.h5", copy + ".weights.h5")
    with open(stem + ".json") as f:
        record = json.load(f)
    # accuracy_split "train": a record from before a part of a test-less split was held out.
    for change in ({"version": ax.CLASSIFIER_VERSION - 1}, {"slice_length": 8192},
                   {"accuracy_split": "train"}, {"members": MEMBERS + 1}):
        with open(copy + ".json", "w") as f:
            json.dump({**record, **change}, f)
        messages = []
        extractor = ax.spoken_digit_classifier(labeled_batches, _spec(), LENGTH, copy, "x",
                                               members=1, log=messages.append)
        assert extractor.test_accuracy == 0.5  # one member: its accuracy is the ensemble's
        assert any("another version, shape or number of members" in m for m in messages)
        with open(copy + ".json") as f:
            assert json.load(f)["version"] == ax.CLASSIFIER_VERSION
    assert calls == [LENGTH] * 4


def test_without_a_test_split_accuracy_is_measured_on_held_out_clips(labeled_batches,
                                                                     tmp_path):
    def train_only(split, shuffle):
        if split != "train":
            raise ZooError(f"no split {split!r}")
        return labeled_batches(split, shuffle)

    messages = []
    extractor = ax.spoken_digit_classifier(train_only, _spec(), 4096, str(tmp_path / "c"),
                                           "x", epochs=1, members=MEMBERS, log=messages.append)
    with open(tmp_path / "c.json") as f:
        record = json.load(f)
    assert record["accuracy_split"] == ax.HELD_OUT and record["slice_length"] == 4096
    assert record["test_accuracy"] == extractor.test_accuracy
    assert any("every 5th clip of the training split is held out to measure it" in m
               for m in messages)
    assert extractor(np.zeros((2, 4096, 1), np.float32))[0].shape == (2, 128)


def test_the_ensemble_gives_the_first_members_features_and_the_mean_probabilities(
        trained, labeled_batches, tmp_path):
    _, extractor, _ = trained
    members = [extractor.model.get_layer(f"member{k}") for k in range(MEMBERS)]
    audio, _ = next(iter(labeled_batches("test", False)))
    outputs = [member(audio, training=False) for member in members]
    features, probs = extractor(audio)
    np.testing.assert_allclose(features, outputs[0][0].numpy(), rtol=1e-5, atol=1e-5)
    mean = np.mean([p.numpy() for _, p in outputs], axis=0)
    np.testing.assert_allclose(probs, mean, rtol=1e-5, atol=1e-6)
    # The members differ (trained from their own seeds), so the mean is not either of them.
    assert np.abs(outputs[0][1].numpy() - outputs[1][1].numpy()).max() > 1e-3
    # Member 0 is the single classifier a one-member cache holds, weight for weight: FID in
    # the ensemble's features is FID in that classifier's.
    single = ax.spoken_digit_classifier(labeled_batches, _spec(), LENGTH, str(tmp_path / "one"),
                                        "one", epochs=2, members=1, log=lambda _: None)
    for got, want in zip(single.model.get_weights(), members[0].get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_an_ensemble_needs_a_member(labeled_batches, tmp_path):
    with pytest.raises(ZooError, match="at least one member"):
        ax.spoken_digit_classifier(labeled_batches, _spec(), LENGTH, str(tmp_path / "c"), "x",
                                   members=0)


@pytest.mark.parametrize("num_classes", [0, 1])
def test_unlabeled_audio_has_no_classifier(num_classes, tmp_path):
    def never(split, shuffle):
        raise AssertionError("read data for an unlabeled dataset")

    with pytest.raises(ZooError, match="no class labels.*labeled dataset"):
        ax.spoken_digit_classifier(never, _spec(num_classes, "folder:/clips"), LENGTH,
                                   str(tmp_path / "c"), "x")
    assert not os.listdir(tmp_path)
