"""The audio kind (tfgan_zoo.kinds.audio): WAV files, spectrograms, TensorBoard audio, the
SavedModel's outputs and the TFLite check by signal-to-noise ratio."""
import io
import os
import wave

import numpy as np
import pytest
import tensorflow as tf

from tfgan_zoo import kinds
from tfgan_zoo.data.spec import DatasetSpec
from tfgan_zoo.kinds import audio

SPEC = DatasetSpec(name="spoken_digits_espeak", split="train", resolution=0, channels=1,
                   num_classes=10, class_names=tuple("0123456789"), num_examples=10,
                   sample_rate=16_000)


def tones(n=3, length=4096, rate=16_000):
    t = np.arange(length) / rate
    freqs = 500.0 * (1 + np.arange(n))
    return (0.5 * np.sin(2 * np.pi * freqs[:, None] * t))[..., None].astype(np.float32)


def read_wav(blob):
    with wave.open(io.BytesIO(blob)) as f:
        pcm = np.frombuffer(f.readframes(f.getnframes()), np.int16)
        return pcm, f.getframerate(), f.getnchannels(), f.getsampwidth()


def test_the_audio_kind_is_registered_and_found_from_its_outputs():
    kind = kinds.get("audio")
    assert kind.feature == "audio" and kind.unit == "clips"
    assert kinds.for_outputs({"audio", "pcm", "wav_bytes", "sample_rate", "z"}) is kind
    assert kind.better("fid", 1.0, 2.0) and kind.better("class_accuracy", 0.9, 0.8)


def test_a_tone_lights_the_spectrogram_row_of_its_frequency():
    clip = tones(1, 8192)[0, :, 0]
    picture = audio.spectrogram(clip)
    assert picture.shape[0] == 128 and picture.min() >= -1 and picture.max() <= 1
    # 128 rows of 62.5 Hz from the top (8 kHz) down: 500 Hz is row 128 - 8 = 120.
    assert abs(int(np.argmax(picture.mean(axis=1))) - 120) <= 1


def test_the_signature_outputs_are_audio_pcm_wav_files_and_the_rate():
    clips = tones()
    outputs = audio.KIND.signature_outputs(tf.constant(clips), SPEC)
    assert outputs["audio"].shape == (3, 4096) and outputs["audio"].dtype == tf.float32
    assert outputs["pcm"].dtype == tf.int16 and outputs["pcm"].shape == (3, 4096)
    assert list(outputs["sample_rate"].numpy()) == [16_000] * 3
    for blob, pcm in zip(outputs["wav_bytes"].numpy(), outputs["pcm"].numpy(), strict=True):
        decoded, rate, channels, width = read_wav(blob)
        assert (rate, channels, width) == (16_000, 1, 2)
        np.testing.assert_array_equal(decoded, pcm)
    assert np.abs(outputs["pcm"].numpy() / 32768 - clips[..., 0]).max() < 1e-4


def test_the_tflite_check_is_by_signal_to_noise_ratio():
    expected = tones()
    ok, measured, _ = audio.KIND.compare_tflite(expected + 1e-6, expected, "float32")
    assert ok and measured["snr_db"] > 100
    rng = np.random.default_rng(0)
    noisy = expected + 0.05 * rng.standard_normal(expected.shape).astype(np.float32)
    ok, measured, why = audio.KIND.compare_tflite(noisy, expected, "float16")
    assert not ok and 15 < measured["snr_db"] < 25
    assert "needs at least 50 dB" in why and measured["tolerance"] == {"min_snr_db": 50.0}
    ok, measured, _ = audio.KIND.compare_tflite(np.zeros_like(expected), expected, "int8")
    assert not ok and measured["snr_db"] == pytest.approx(0.0, abs=1e-6)


def test_a_runs_samples_are_wav_files_a_spectrogram_grid_and_tensorboard_audio(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path / "logs"))
    audio.KIND.write_samples(str(tmp_path / "samples"), 500, tones(), None, writer, SPEC)
    writer.flush()
    step_dir = tmp_path / "samples" / "step_0000500"
    assert sorted(os.listdir(step_dir)) == ["clip_0.wav", "clip_1.wav", "clip_2.wav"]
    assert sorted(os.listdir(tmp_path / "samples" / "latest")) == sorted(os.listdir(step_dir))
    pcm, rate, _, _ = read_wav((step_dir / "clip_1.wav").read_bytes())
    assert rate == 16_000 and len(pcm) == 4096
    np.testing.assert_allclose(pcm / 32768, tones()[1, :, 0], atol=1e-4)
    assert os.path.exists(audio.KIND.sample_file(str(tmp_path / "samples"), 500))
    tags = set()
    for event in tf.compat.v1.train.summary_iterator(
            str(next((tmp_path / "logs").iterdir()))):
        tags |= {v.tag for v in event.summary.value}
    assert {"samples", "spectrograms"} <= tags


def test_generate_writes_a_folder_of_wavs_from_a_mono_savedmodel_output(tmp_path):
    served = tones()[..., 0]  # [N, L], as the SavedModel's `audio` output holds mono clips
    out = audio.KIND.write_generated(str(tmp_path / "out"), served, SPEC)
    assert sorted(os.listdir(out)) == ["sample_0.wav", "sample_1.wav", "sample_2.wav",
                                       "spectrograms.png"]
    blobs = audio.KIND.encode_files({"wav_bytes": np.array(
        [(tmp_path / "out" / "sample_0.wav").read_bytes()], dtype=object)})
    assert read_wav(blobs[0])[1] == 16_000
