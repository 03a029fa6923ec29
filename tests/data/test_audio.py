"""The audio data layer: spoken_digits_espeak and other TFDS audio, WAV folders, WAV files."""
import io
import logging
import socket
import wave

import ml_collections
import numpy as np
import pytest
import tensorflow_datasets as tfds

from tfgan_zoo import data
from tfgan_zoo.data import audio, spoken_digits, tfds_source
from tfgan_zoo.data.wav import read_wav, write_wav
from tfgan_zoo.errors import ZooError

RATE = 16000
ESPEAK = "spoken_digits_espeak"


def _config(dataset, data_dir=None, **overrides):
    values = {
        "dataset": dataset,
        "data_dir": None if data_dir is None else str(data_dir),
        "builder_config": None,
        "download": False,
        "sample_rate": RATE,
        "random_crop": False,
        "cache": False,
        "shuffle_buffer": 100,
    }
    values.update(overrides)
    return ml_collections.ConfigDict(values)


def _all(config, slice_length, split="train", epochs=1):
    """(clips [N, slice_length, 1], labels [N], spec) of `epochs` unshuffled passes."""
    # One batch per epoch; a folder is scanned once (by load) unless epochs > 1.
    size = audio.describe(config, split).num_examples if epochs > 1 else 10_000
    ds, spec = audio.load(
        config, slice_length, batch_size=size, split=split,
        shuffle=False, repeat=epochs > 1, drop_remainder=False,
    )
    batches = list(ds.take(epochs).as_numpy_iterator())
    return (
        np.concatenate([b["audio"] for b in batches]),
        np.concatenate([b["label"] for b in batches]),
        spec,
    )


def _forbidden(*args, **kwargs):
    raise AssertionError("the network was touched")


@pytest.fixture(scope="module")
def espeak_dir(tmp_path_factory):
    """A data_dir where audio.describe prepared spoken_digits_espeak/small, without network."""
    path = tmp_path_factory.mktemp("tfds")
    assert not tfds.builder(f"{ESPEAK}/small", data_dir=str(path)).is_prepared()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", _forbidden)
        patch.setattr(socket, "create_connection", _forbidden)
        patch.setattr(tfds_source, "_internet_reachable", _forbidden)
        spec = audio.describe(_config(ESPEAK, path, builder_config="small"), "test")
    assert spec.num_examples == 10
    return path


@pytest.fixture(scope="module")
def stored(espeak_dir):
    """{split: (int16 clips [N, 16384], labels [N])} as the TFDS builder stores them."""
    builder = tfds.builder(f"{ESPEAK}/small", data_dir=str(espeak_dir))
    out = {}
    for split in ("train", "test"):
        items = list(tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False)))
        out[split] = (np.stack([e["audio"] for e in items]), np.array([e["label"] for e in items]))
    return out


@pytest.fixture
def warnings(caplog):
    """The messages absl.logging.warning logs during the test."""
    caplog.set_level(logging.WARNING, logger="absl")
    return lambda: [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def _peaks(clips):
    return np.max(np.abs(clips.reshape(len(clips), -1)), axis=1)


# --- spoken_digits_espeak ------------------------------------------------------------------


def test_spoken_digits_small_through_load(espeak_dir, stored):
    config = _config(ESPEAK, espeak_dir, builder_config="small")
    for split, count in (("train", 30), ("test", 10)):
        clips, labels, spec = _all(config, 16384, split)
        assert spec == data.DatasetSpec(
            name=f"{ESPEAK}/small", split=split, resolution=0, channels=1, num_classes=10,
            class_names=spoken_digits.DIGITS, num_examples=count, sample_rate=RATE,
        )
        assert clips.shape == (count, 16384, 1) and clips.dtype == np.float32
        assert labels.dtype == np.int64
        assert sorted(labels) == sorted(list(range(10)) * (count // 10))
        assert clips.min() >= -1.0 and clips.max() <= 1.0
        np.testing.assert_allclose(_peaks(clips), audio.PEAK, atol=1e-6)
        # The stored int16 clips, rescaled to the peak: nothing else changed (16 kHz already).
        raw, raw_labels = stored[split]
        np.testing.assert_array_equal(labels, raw_labels)
        expected = raw / np.max(np.abs(raw), axis=1, keepdims=True) * audio.PEAK
        np.testing.assert_allclose(clips[..., 0], expected, atol=1e-6)


def test_default_config_and_config_in_the_name(espeak_dir):
    spec = audio.describe(_config(f"{ESPEAK}/small", espeak_dir), "test")
    assert spec.name == f"{ESPEAK}/small" and spec.num_examples == 10
    with pytest.raises(ZooError, match="give the config in one place"):
        audio.describe(_config(f"{ESPEAK}/small", espeak_dir, builder_config="full"))
    # Without builder_config the default ("full") is opened: not prepared here, and not built
    # by this check of its features (download_and_prepare is what would take 40 s).
    builder = tfds.builder(ESPEAK, data_dir=str(espeak_dir))
    assert builder.builder_config.name == "full" and not builder.is_prepared()


def test_cut_and_pad(espeak_dir, stored):
    config = _config(ESPEAK, espeak_dir, builder_config="small")
    full, labels, _ = _all(config, 16384, "test")
    short, short_labels, _ = _all(config, 8192, "test")
    long, _, _ = _all(config, 32768, "test")
    assert short.shape == (10, 8192, 1) and long.shape == (10, 32768, 1)
    np.testing.assert_array_equal(short_labels, labels)
    np.testing.assert_array_equal(short, full[:, :8192])  # cut: the first samples
    np.testing.assert_array_equal(long[:, :16384], full)  # pad: zeros at the end
    assert not long[:, 16384:].any()
    assert np.all(np.abs(full[:, 8192:]).max(axis=1) > 0.1)  # the cut removed speech


def test_random_crop_takes_new_windows_each_epoch(espeak_dir):
    config = _config(ESPEAK, espeak_dir, builder_config="small")
    full, _, _ = _all(config, 16384, "test")
    crops, _, _ = _all(_config(ESPEAK, espeak_dir, builder_config="small", random_crop=True,
                               cache=True), 8192, "test", epochs=3)
    offsets = []
    for i, crop in enumerate(crops[..., 0]):
        # Every 8192-window of a centred word holds speech: find the window by its loudest sample.
        source, loudest = full[i % 10, :, 0], int(np.argmax(np.abs(crop)))
        starts = [s for s in np.flatnonzero(source == crop[loudest]) - loudest
                  if 0 <= s <= 16384 - 8192 and np.array_equal(source[s:s + 8192], crop)]
        assert starts, f"crop {i} is not a window of its clip"
        offsets.append(starts[0])
    assert len(set(offsets)) > 10  # 30 windows from 8,193 offsets each: not all the same
    padded, _, _ = _all(_config(ESPEAK, espeak_dir, builder_config="small", random_crop=True),
                        32768, "test")
    np.testing.assert_array_equal(padded[:, :16384], full)  # shorter clips are padded, as ever


def test_cache_prepares_each_clip_once(espeak_dir, monkeypatch):
    calls = []
    original = audio.prepare_clip

    def counting(*args):
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(audio, "prepare_clip", counting)
    for cache, expected in ((True, 10), (False, 30)):
        calls.clear()
        config = _config(ESPEAK, espeak_dir, builder_config="small", cache=cache)
        ds, _ = audio.load(config, 8192, batch_size=5, split="test", shuffle=False, repeat=False)
        epochs = [np.concatenate([b["audio"] for b in ds.as_numpy_iterator()]) for _ in range(3)]
        assert epochs[0].shape == (10, 8192, 1)
        np.testing.assert_array_equal(epochs[0], epochs[2])
        assert len(calls) == expected, cache


def test_shuffled_repeated_batches(espeak_dir):
    config = _config(ESPEAK, espeak_dir, builder_config="small")
    ds, _ = audio.load(config, 4096, batch_size=8)
    batch = next(iter(ds))
    assert batch["audio"].shape == (8, 4096, 1) and batch["label"].shape == (8,)
    with pytest.raises(ZooError, match="batch_size 16 is larger than the 10 examples"):
        audio.load(config, 4096, batch_size=16, split="test", repeat=False)


# --- other TFDS datasets --------------------------------------------------------------------


class AudioTestTones8k(tfds.core.GeneratorBasedBuilder):
    """Like TFDS spoken_digit: int64 samples at 8 kHz, variable length, a ClassLabel."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict({
                "audio": tfds.features.Audio(shape=(None,), dtype=np.int64, sample_rate=8000),
                "label": tfds.features.ClassLabel(names=["low", "high"]),
            }),
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        for i, (frequency, label) in enumerate(((500.0, 0), (1500.0, 1), (1000.0, 1))):
            tone = _faded(np.sin(2 * np.pi * frequency * np.arange(4000 + 1000 * i) / 8000))
            yield i, {"audio": np.round(9000 * tone).astype(np.int64), "label": label}


def _faded(x, n=80):
    """x faded in and out over n samples: an abrupt onset would ring (by 3.5% at 1500 Hz)."""
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
    return np.concatenate([x[:n] * ramp, x[n:-n], x[-n:] * ramp[::-1]])


def test_an_8khz_tfds_dataset_is_resampled(tmp_path):
    tfds.builder("audio_test_tones8k", data_dir=str(tmp_path)).download_and_prepare()
    clips, labels, spec = _all(_config("audio_test_tones8k", tmp_path), 16384)
    assert spec.sample_rate == RATE and spec.class_names == ("low", "high")
    assert spec.num_examples == 3 and list(labels) == [0, 1, 1]
    for i, frequency in enumerate((500.0, 1500.0, 1000.0)):
        length = 2 * (4000 + 1000 * i)  # twice the samples at twice the rate
        clip = clips[i, :, 0]
        assert not clip[length:].any()
        spectrum = np.abs(np.fft.rfft(clip[:length]))
        assert np.argmax(spectrum) * RATE / length == pytest.approx(frequency, abs=2.0)
        tone = audio.PEAK * np.sin(2 * np.pi * frequency * np.arange(length) / RATE)
        np.testing.assert_allclose(clip[400:length - 400], tone[400:-400], atol=1e-3)


def test_tfds_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", _forbidden)
    monkeypatch.setattr(tfds_source, "_internet_reachable", _forbidden)
    with pytest.raises(ZooError) as error:
        audio.describe(_config("spoken_digit", tmp_path))
    assert str(error.value).startswith(f"dataset 'spoken_digit' is not prepared in {tmp_path}")
    assert "tfds build spoken_digit --data_dir=DIR" in str(error.value)
    with pytest.raises(ZooError, match=r"'sklearn_digits' has no 'audio' feature \(it has: ima"):
        audio.describe(_config("sklearn_digits", tmp_path))
    with pytest.raises(ZooError) as error:
        audio.describe(_config("no_such_audio_xyz", tmp_path))
    assert str(error.value) == (
        "unknown dataset 'no_such_audio_xyz'; use spoken_digits_espeak (embedded, offline), "
        "a TFDS audio dataset such as spoken_digit, or folder:/path/to/wavs"
    )


def test_bad_arguments(tmp_path):
    config = _config("folder:" + str(tmp_path))
    with pytest.raises(ZooError, match="slice_length must be a positive number"):
        audio.load(config, 0)
    with pytest.raises(ZooError, match="audio is always mono, so channels must be None or 1"):
        audio.describe(_config("folder:" + str(tmp_path), channels=2))
    with pytest.raises(ZooError, match="sample_rate must be a positive"):
        audio.describe(_config("folder:" + str(tmp_path), sample_rate=0))


# --- WAV folders ----------------------------------------------------------------------------


def _tone(frequency, seconds, rate, amplitude=0.5):
    return amplitude * np.sin(2 * np.pi * frequency * np.arange(int(seconds * rate)) / rate)


def test_wav_folder_with_classes_and_a_corrupt_file(tmp_path, warnings):
    (tmp_path / "zero").mkdir()
    (tmp_path / "one" / "deeper").mkdir(parents=True)
    write_wav(tmp_path / "zero" / "a.wav", _tone(440, 0.5, 8000), 8000)
    write_wav(tmp_path / "one" / "b.WAV", _tone(1000, 0.25, 8000), 8000)
    write_wav(tmp_path / "one" / "deeper" / "c.wav", _tone(2000, 0.25, 16000, 0.1), 16000)
    (tmp_path / "one" / "bad.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    write_wav(tmp_path / "zero" / "empty.wav", np.zeros(0), 8000)
    (tmp_path / "zero" / "notes.txt").write_text("not audio")
    clips, labels, spec = _all(_config(f"folder:{tmp_path}"), 8192)
    assert spec == data.DatasetSpec(
        name=f"folder:{tmp_path}", split="train", resolution=0, channels=1, num_classes=2,
        class_names=("one", "zero"), num_examples=3, sample_rate=RATE,
    )
    # Sorted by path: one/b.WAV, one/deeper/c.wav, zero/a.wav.
    assert list(labels) == [0, 0, 1] and clips.shape == (3, 8192, 1)
    np.testing.assert_allclose(_peaks(clips), audio.PEAK, atol=1e-6)
    lengths = (4000, 4000, 8000)  # 0.25 s and 0.5 s at 16 kHz, padded to 8192
    for clip, frequency, length in zip(clips[..., 0], (1000, 2000, 440), lengths, strict=True):
        assert not clip[length:].any() and np.abs(clip[:length]).max() > 0.9
        spectrum = np.abs(np.fft.rfft(clip[:length]))
        assert np.argmax(spectrum) * RATE / length == pytest.approx(frequency, abs=2.0)
    messages = warnings()
    bad = [m for m in messages if m.startswith("Skipping corrupt WAV file")]
    assert len(bad) == 2
    assert bad[0] == (f"Skipping corrupt WAV file {tmp_path / 'one' / 'bad.wav'}: not a "
                      "readable PCM WAV file (a chunk runs past the end of the file)")
    assert str(tmp_path / "zero" / "empty.wav") in bad[1] and "it has no samples" in bad[1]
    assert f"Skipped 2 of 5 WAV files in {tmp_path} as corrupt, unreadable or empty." in messages


def test_wav_folder_without_subfolders_is_unlabeled(tmp_path):
    write_wav(tmp_path / "top.wav", _tone(440, 0.1, RATE), RATE)
    (tmp_path / "cls").mkdir()
    write_wav(tmp_path / "cls" / "inner.wav", np.zeros(300), RATE)  # silence: kept, stays 0
    clips, labels, spec = _all(_config(f"folder:{tmp_path}"), 4096)
    assert spec.num_classes == 0 and spec.class_names == () and list(labels) == [0, 0]
    assert not clips[0].any()  # cls/inner.wav sorts first
    assert _peaks(clips)[1] == pytest.approx(audio.PEAK, abs=1e-6)


def test_stereo_is_averaged_to_mono(tmp_path):
    left, right = _tone(300, 0.2, RATE, 0.8), _tone(700, 0.2, RATE, 0.3)
    write_wav(tmp_path / "stereo.wav", np.stack([left, right], axis=1), RATE)
    samples, rate = read_wav(tmp_path / "stereo.wav")
    assert rate == RATE and samples.shape == (3200, 2) and samples.dtype == np.float32
    np.testing.assert_allclose(samples[:, 0], left, atol=1 / 32768)
    np.testing.assert_allclose(samples[:, 1], right, atol=1 / 32768)
    clips, _, _ = _all(_config(f"folder:{tmp_path}"), 4096)
    mono = (left + right) / 2
    np.testing.assert_allclose(clips[0, :3200, 0], mono / np.abs(mono).max() * audio.PEAK,
                               atol=1e-4)


def test_folder_of_only_corrupt_files(tmp_path, warnings):
    (tmp_path / "a.wav").write_bytes(b"")
    (tmp_path / "b.wav").write_text("hello")
    with pytest.raises(ZooError) as error:
        audio.describe(_config(f"folder:{tmp_path}"))
    assert str(error.value) == (
        f"all 2 WAV files in {tmp_path} are corrupt, unreadable or empty (see the warnings "
        "above); replace them with PCM WAV files (8, 16, 24 or 32-bit) that play"
    )
    assert len([m for m in warnings() if m.startswith("Skipping corrupt WAV file")]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ZooError, match=r"^no WAV files in .*empty \(looked for \.wav"):
        audio.describe(_config(f"folder:{empty}"))


def test_a_folder_has_only_the_train_split(tmp_path):
    write_wav(tmp_path / "a.wav", _tone(440, 0.1, RATE), RATE)
    with pytest.raises(ZooError) as error:
        audio.load(_config(f"folder:{tmp_path}"), 4096, split="test")
    assert str(error.value) == (
        f"unknown split 'test' for folder:{tmp_path}; valid splits: train "
        "(a folder is one split: make a second folder for evaluation data)"
    )


# --- WAV files ------------------------------------------------------------------------------


def _raw_wav(path, frames: bytes, width, channels=1, rate=8000):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)


def test_16_bit_round_trip(tmp_path):
    x = np.concatenate([_tone(440, 0.05, 22050, 0.7), [1.0, -1.0, 1.5, -1.5, 0.0]])
    path = tmp_path / "x.wav"
    write_wav(path, x, 22050)
    assert [p.name for p in tmp_path.iterdir()] == ["x.wav"]  # no temporary file left
    samples, rate = read_wav(str(path))
    assert rate == 22050 and samples.shape == (len(x), 1) and samples.dtype == np.float32
    expected = np.clip(np.round(x * 32768), -32768, 32767) / 32768
    np.testing.assert_array_equal(samples[:, 0], expected.astype(np.float32))
    assert samples[-5:, 0].tolist() == [32767 / 32768, -1.0, 32767 / 32768, -1.0, 0.0]
    again = io.BytesIO()  # 16-bit samples survive a second write and read exactly
    write_wav(again, samples, rate)
    assert again.getvalue() == path.read_bytes()
    with pytest.raises(ValueError, match="NaN"):
        write_wav(tmp_path / "nan.wav", np.array([0.0, np.nan]), 8000)
    assert not (tmp_path / "nan.wav").exists()


def test_8_24_and_32_bit_inputs(tmp_path):
    _raw_wav(tmp_path / "u8.wav", bytes([0, 64, 128, 192, 255]), 1)
    samples, rate = read_wav(tmp_path / "u8.wav")
    assert rate == 8000
    np.testing.assert_array_equal(samples[:, 0], [-1.0, -0.5, 0.0, 0.5, 127 / 128])
    values = np.array([-(2**23), -1, 0, 1, 2**22, 2**23 - 1])
    packed = b"".join(int(v).to_bytes(3, "little", signed=True) for v in values)
    _raw_wav(tmp_path / "s24.wav", packed * 2, 3, channels=2)  # stereo: frames of 2 samples
    samples, _ = read_wav(tmp_path / "s24.wav")
    assert samples.shape == (6, 2)
    np.testing.assert_array_equal(samples.reshape(-1), np.tile(values, 2) / 2.0**23)
    values32 = np.array([-(2**31), -1, 0, 2**30, 2**31 - 1], "<i4")
    _raw_wav(tmp_path / "s32.wav", values32.tobytes(), 4)
    samples, _ = read_wav(tmp_path / "s32.wav")
    np.testing.assert_allclose(samples[:, 0], values32 / 2.0**31, rtol=1e-7)
    assert samples[0, 0] == -1.0 and samples[-1, 0] <= 1.0


def test_read_wav_with_placeholder_sizes_and_errors(tmp_path):
    """`espeak-ng --stdout` writes to a pipe: the header's sizes are placeholders."""
    pcm = np.array([0, 1, -1, 32767, -32768], "<i2")
    header = (
        b"RIFF" + (0x7FFFF024).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
        + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (22050).to_bytes(4, "little")
        + (44100).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
        + b"data" + (0x7FFFF000).to_bytes(4, "little")
    )
    samples, rate = read_wav(io.BytesIO(header + pcm.tobytes() + b"\x01"))  # half a frame
    assert rate == 22050
    np.testing.assert_array_equal(samples[:, 0] * 32768, pcm)
    with pytest.raises(ValueError, match="not a readable PCM WAV"):
        read_wav(io.BytesIO(b"RIFF\x04\x00\x00\x00WAVE"))
    with pytest.raises(OSError):
        read_wav(tmp_path / "missing.wav")


def test_prepare_clip_keeps_silence_and_averages_channels():
    assert not audio.prepare_clip(np.zeros((100, 2), np.int16), 8000, RATE).any()
    assert len(audio.prepare_clip(np.zeros((100, 2), np.int16), 8000, RATE)) == 200
    clip = audio.prepare_clip(np.array([[2, 0], [0, -6], [1, 1]], np.int64), RATE, RATE)
    np.testing.assert_allclose(clip, np.array([1, -3, 1]) / 3 * audio.PEAK, rtol=1e-6)
    assert clip.dtype == np.float32
