"""The spoken_digits_espeak TFDS builder (small config), the eSpeak NG driver and the resampler."""
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from tfgan_zoo.data import espeak, spoken_digits
from tfgan_zoo.errors import ZooError

FULL_SCALE = 32767


@pytest.fixture(scope="module")
def builder(tmp_path_factory):
    builder = tfds.builder(
        "spoken_digits_espeak/small", data_dir=str(tmp_path_factory.mktemp("tfds"))
    )
    assert not builder.is_prepared()
    builder.download_and_prepare()  # offline: eSpeak NG synthesises every clip
    return builder


@pytest.fixture(scope="module")
def examples(builder):
    """{split: [(audio, label, voice)]}, in file order."""
    return {
        split: [
            (e["audio"], int(e["label"]), e["voice"].decode())
            for e in tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False))
        ]
        for split in ("train", "test")
    }


def test_registered_with_its_configs(builder):
    assert spoken_digits.NAME == "spoken_digits_espeak"
    assert isinstance(builder, spoken_digits.SpokenDigitsEspeak)
    assert builder.builder_config.name == "small"
    assert spoken_digits.SpokenDigitsEspeak.DEFAULT_CONFIG_NAME == "full"
    assert builder.is_prepared()
    assert builder.info.metadata["espeak_version"]  # which eSpeak NG made the data


def test_number_of_examples_per_split(builder, examples):
    config = builder.builder_config
    # 3 train voices and 1 test voice, one pitch, one speed, ten digits.
    assert config.num_examples("train") == 30 and config.num_examples("test") == 10
    assert builder.info.splits["train"].num_examples == 30
    assert builder.info.splits["test"].num_examples == 10
    assert len(examples["train"]) == 30 and len(examples["test"]) == 10
    full = spoken_digits.SpokenDigitsEspeak.builder_configs["full"]
    assert (full.num_examples("train"), full.num_examples("test")) == (2880, 720)


def test_audio_metadata(builder):
    audio = builder.info.features["audio"]
    assert audio.sample_rate == spoken_digits.SAMPLE_RATE == 16000
    assert audio.shape == (spoken_digits.CLIP_LENGTH,) == (16384,)
    assert audio.np_dtype == np.int16
    assert builder.info.features["label"].names == [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"
    ]
    assert "eSpeak NG" in builder.info.description
    assert builder.info.supervised_keys == ("audio", "label")


def test_every_clip_is_a_centred_normalised_word(examples):
    for split, items in examples.items():
        for audio, label, voice in items:
            where = f"{split} {voice} {label}"
            assert audio.dtype == np.int16 and audio.shape == (16384,), where
            peak = np.max(np.abs(audio.astype(np.int32))) / FULL_SCALE
            assert 0.9 <= peak <= 1.0, where
            assert peak == pytest.approx(spoken_digits.PEAK, abs=1e-4), where
            # Centred and zero-padded: speech in the middle, digital silence at both ends.
            middle = audio[6144:10240].astype(np.float64) / FULL_SCALE
            assert np.sqrt(np.mean(middle**2)) > 0.02, where
            assert not audio[:256].any() and not audio[-256:].any(), where


def test_labels_cover_all_digits_in_each_split(examples):
    for split, items in examples.items():
        assert sorted({label for _, label, _ in items}) == list(range(10)), split
        for voice in {voice for _, _, voice in items}:  # every voice says every digit once
            labels = sorted(label for _, label, v in items if v == voice)
            assert labels == list(range(10)), (split, voice)


def test_test_voices_are_unseen_in_train(builder, examples):
    train = {voice for _, _, voice in examples["train"]}
    test = {voice for _, _, voice in examples["test"]}
    assert train == set(builder.builder_config.train_voices)
    assert test == set(builder.builder_config.test_voices)
    assert not train & test
    # The full config's fixed hold-out: 8 of 40 voices, no variant shared with train.
    variant = lambda voice: voice.split("+")[1]  # noqa: E731
    assert len(spoken_digits.TRAIN_VOICES) == 32 and len(spoken_digits.TEST_VOICES) == 8
    assert not {variant(v) for v in spoken_digits.TRAIN_VOICES} & {
        variant(v) for v in spoken_digits.TEST_VOICES
    }
    assert set(builder.builder_config.test_voices) <= set(spoken_digits.TEST_VOICES)
    assert set(builder.builder_config.train_voices) <= set(spoken_digits.TRAIN_VOICES)
    shipped = set(espeak.available_variants())
    assert {variant(v) for v in spoken_digits.TRAIN_VOICES + spoken_digits.TEST_VOICES} <= shipped


def test_clips_are_deterministic(examples):
    """A clip does not depend on what eSpeak NG spoke before it in the process."""
    audio, label, voice = examples["test"][0]
    word = spoken_digits.DIGITS[label]
    espeak.synthesize("seven", "en+whisper", speed=210, pitch=70)  # leave state behind, if any
    again = spoken_digits.make_clip(*espeak.synthesize(word, voice, speed=175, pitch=50))
    np.testing.assert_array_equal(again, audio)


def test_missing_espeak_is_one_line_zoo_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)  # `import` now fails
    monkeypatch.setattr(espeak, "_find_program", lambda: None)  # and no espeak-ng on PATH
    monkeypatch.setattr(espeak, "_BACKEND", None)  # forget the backend found earlier
    with pytest.raises(ZooError) as error:
        espeak.synthesize("zero")
    message = str(error.value)
    assert "\n" not in message
    assert "pip install espeakng-loader" in message and "apt-get install espeak-ng" in message
    builder = tfds.builder("spoken_digits_espeak/small", data_dir=str(tmp_path))
    with pytest.raises(ZooError, match="pip install espeakng-loader"):
        builder.download_and_prepare()


def test_resampler_keeps_a_sine_and_the_length_ratio():
    rate_in, rate_out = 22050, 16000
    t = np.arange(rate_in) / rate_in  # one second
    for frequency in (440.0, 1000.0, 5000.0):
        y = spoken_digits.resample(np.sin(2 * np.pi * frequency * t), rate_in, rate_out)
        assert len(y) == 16000  # exactly 22,050 * 16,000 / 22,050
        spectrum = np.abs(np.fft.rfft(y))
        assert np.argmax(spectrum) * rate_out / len(y) == frequency  # 1 Hz bins
        expected = np.sin(2 * np.pi * frequency * np.arange(len(y)) / rate_out)
        np.testing.assert_allclose(y[200:-200], expected[200:-200], atol=1e-3)
    # Above the new Nyquist frequency a tone is filtered out instead of aliasing.
    alias = spoken_digits.resample(np.sin(2 * np.pi * 10000.0 * t), rate_in, rate_out)
    assert np.sqrt(np.mean(alias[200:-200] ** 2)) < 1e-3
    for n in (1, 441, 1000, 22051):
        assert len(spoken_digits.resample(np.zeros(n), rate_in, rate_out)) == -(-n * 16000 // 22050)


def test_parse_wav_reads_espeak_stdout_headers():
    samples = np.array([0, 1, -1, 32767, -32768], np.int16)
    header = (
        b"RIFF" + (0x7FFFF024).to_bytes(4, "little") + b"WAVEfmt "
        + (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little")
        + (22050).to_bytes(4, "little") + (44100).to_bytes(4, "little")
        + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
        + b"data" + (0x7FFFF000).to_bytes(4, "little")  # a pipe: sizes are placeholders
    )
    parsed, rate = espeak.parse_wav(header + samples.tobytes())
    assert rate == 22050 and parsed.dtype == np.int16
    np.testing.assert_array_equal(parsed, samples)


@pytest.mark.skipif(espeak._find_program() is None, reason="no espeak-ng program on PATH")
def test_espeak_ng_program_fallback():
    version = subprocess.run(
        [espeak._find_program(), "--version"], capture_output=True, text=True
    ).stdout
    program = espeak._ProgramBackend(espeak._find_program())
    assert program.version in version
    samples = program.synthesize("zero", "en-us+f3", 175, 50)
    assert program.sample_rate == 22050 and samples.dtype == np.int16
    clip = spoken_digits.make_clip(samples, program.sample_rate)
    assert np.max(np.abs(clip.astype(np.int32))) == round(spoken_digits.PEAK * FULL_SCALE)
