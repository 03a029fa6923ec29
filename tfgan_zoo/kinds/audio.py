"""Audio: the kind of sample of WaveGAN.

Samples are float32 [N, L, C] in [-1, 1] (tanh) at the run's sample rate (`spec.sample_rate`).
A run writes them as WAV files (`samples/step_NNNNNNN/clip_KK.wav`, and `samples/latest/`),
a spectrogram grid beside them (`samples/step_NNNNNNN.png`, `samples/latest.png`) and
`summary.audio` + the spectrograms in TensorBoard; they are scored with a spoken-digit
classifier's features (FID, KID, inception score, precision/recall, and for a conditional
model the share of clips heard as the class asked for); a SavedModel returns float32 audio,
int16 PCM, one WAV file per clip and the sample rate; TFLite variants are checked by their
signal-to-noise ratio against Keras; `generate` and the serving client write WAV files.
"""
import io
import os

import numpy as np
import tensorflow as tf

from tfgan_zoo import files
from tfgan_zoo.data import audio as audio_data
from tfgan_zoo.data import wav
from tfgan_zoo.errors import ZooError
from tfgan_zoo.kinds import HIGHER, LOWER, Kind
from tfgan_zoo.kinds import image as image_kind
from tfgan_zoo.metrics import audio_extractors, extractors, mel

# Least signal-to-noise ratio (dB) of a LiteRT generator's clips against the Keras generator's
# on the same latents: 10 log10(sum(keras^2) / sum((litert - keras)^2)) over all clips.
# Measured (TF 2.21, ai-edge-litert 2.3, batch 1, 32 latents, 64 calibration steps) on
# random-init WaveGANs with the output kernel scaled to a trained generator's spread: d=8 at
# 4,096 samples (peak 0.75), d=16 at 8,192 conditional (peak 0.30), d=16 at 16,384 (peak 0.06):
#   float32 122-129 dB   float16 65-67 dB   dynamic 37-39 dB   int8 16-31 dB (lowest on the
#   quietest generator: int8 activations keep 8 bits of its small range)
# An all-zero output scores 0 dB and another generator's clips 0 dB or less, so each bound sits
# well below the worst measured and well above a broken conversion.
SNR_THRESHOLDS_DB = {"float32": 100.0, "float16": 50.0, "dynamic": 30.0, "int8": 12.0}
SPECTROGRAM_WINDOW, SPECTROGRAM_HOP = 256, 128  # SpecGAN's STFT: 128 frequency rows shown


def spectrogram(clip):
    """float [L] in [-1, 1] -> log-magnitude spectrogram [128, frames] in [-1, 1], low
    frequencies at the bottom (80 dB of range below the loudest bin)."""
    frames = np.lib.stride_tricks.sliding_window_view(np.asarray(clip, np.float32),
                                                      SPECTROGRAM_WINDOW)[::SPECTROGRAM_HOP]
    magnitude = np.abs(np.fft.rfft(frames * np.hanning(SPECTROGRAM_WINDOW), axis=-1))
    db = 20 * np.log10(magnitude[:, 1:].T + 1e-6)  # [128 frequencies, frames]
    db = np.clip(db - db.max(), -80.0, 0.0)
    return (db / 40.0 + 1.0)[::-1]


def with_channels(samples):
    """Clips [N, L] (a mono SavedModel's output) or [N, L, C] -> [N, L, C]."""
    samples = np.asarray(samples, np.float32)
    return samples[..., np.newaxis] if samples.ndim == 2 else samples


def spectrogram_grid(samples, rows=None):
    """[N, L(, C)] clips -> one uint8 grid picture of their first channel's spectrograms;
    `rows` (one per class) only where that leaves more than one clip per row."""
    pictures = np.stack([spectrogram(clip[:, 0]) for clip in with_channels(samples)])
    if rows and rows >= len(pictures):
        rows = None  # one clip a row would be a tall strip: lay them out near square
    return image_kind.grid(pictures[..., np.newaxis], rows=rows)


def wav_bytes(clip, sample_rate):
    """float [L, C] in [-1, 1] -> the bytes of a 16-bit PCM WAV file."""
    buffer = io.BytesIO()
    wav.write_wav(buffer, np.asarray(clip), sample_rate)
    return buffer.getvalue()


def write_wav_files(directory, blobs, prefix):
    """Writes each WAV file's bytes as <directory>/<prefix>_<i>.wav; returns the paths."""
    return files.write_numbered(directory, blobs, prefix, "wav")


class AudioKind(Kind):
    name = "audio"
    feature = audio_data.FEATURE
    unit = "clips"
    rate_label = "clips_s"
    # Directions of the summary figures only: the per-class ones (`recall/3`, ...) have none,
    # so that no single class can be made to pick the best checkpoint (`primary` does).
    metrics = {"fid": LOWER, "kid": LOWER, "classifier_score": HIGHER, "precision": HIGHER,
               "recall": HIGHER, "class_accuracy": HIGHER, "class_entropy": HIGHER,
               "class_coverage": HIGHER, "recall_worst_class": HIGHER}
    # FID, not the paper's inception score: a generator that says each digit one way only can
    # score a high inception score, and FID sees that missing variety.
    primary = "fid"
    serving_outputs = ("audio", "pcm", "wav_bytes", "sample_rate")
    float_output = "audio"
    tflite_modes = tuple(SNR_THRESHOLDS_DB)
    tflite_output = "audio"
    default_output = "samples"

    # Data: the embedded spoken digits, TFDS audio datasets, folders of WAV files.
    def load(self, config, batch_size, split="train", **options):
        return audio_data.load(config.data, config.model.slice_length, batch_size=batch_size,
                               split=split, **options)

    def describe(self, config, split="train"):
        return audio_data.describe(config.data, split)

    def model_spec(self, spec, config):
        return spec

    def describe_spec(self, spec):
        return f"{spec.num_examples} clips at {spec.sample_rate} Hz"

    def cluster_features(self, spec):
        """What self-conditioning clusters clips by: their log-mel spectrograms, flattened
        ([B, L, C] -> float32 [B, frames * mels]). k-means on the waveforms finds loudness and
        timing, not words: on the demo's training clips, 20 clusters hold 77% of one digit each
        against 15% for waveforms (the share of the clips in their cluster's commonest digit)."""
        def features(audio):
            spectra = mel.log_mel(audio, spec.sample_rate)
            return tf.reshape(spectra, [tf.shape(spectra)[0], -1])

        return features

    def labeled_batches(self, config):
        """labeled_batches(split, shuffle) -> a dataset of (clips [64, slice_length, C], labels
        [64]) batches of the config's data, each split read once: what the audio classifier
        trains and is tested on."""
        length = config.model.slice_length

        def batches(split, shuffle):
            ds, _ = audio_data.load(config.data, length, batch_size=64, split=split,
                                    shuffle=shuffle, repeat=False, drop_remainder=False)
            return ds.map(lambda b: (b[self.feature], b["label"]))

        return batches

    def make_extractor(self, config, name="classifier", weights=None, log=print):
        """The spoken-digit classifier the zoo trains on the run's real training split."""
        if name != "classifier":
            raise ZooError(f"--extractor={name} is for images; audio is scored with "
                           "--extractor=classifier, a classifier trained on the real clips")
        spec = self.describe(config)
        length = config.model.slice_length
        dataset = config.data.dataset.replace(os.sep, "_").replace(":", "_").strip("_")
        # The version in the name: a process of an older version that is still running
        # keeps its own cache rather than retraining this one's.
        stem = os.path.join(extractors.data_root(config.data), "tfgan_zoo_extractors",
                            f"{dataset}_{length}at{spec.sample_rate}_audio_"
                            f"v{audio_extractors.CLASSIFIER_VERSION}")
        members = audio_extractors.MEMBERS
        return audio_extractors.spoken_digit_classifier(
            self.labeled_batches(config), spec, length, stem, members=members,
            name=f"classifier:{spec.name}@{length}x{spec.sample_rate}Hz ({members} members)",
            log=log)

    # A run's samples.
    def sample_file(self, samples_dir, step):
        return os.path.join(samples_dir, f"step_{step:07d}.png")

    def latest_sample(self, samples_dir):
        return os.path.join(samples_dir, "latest.png")

    def write_samples(self, samples_dir, step, samples, rows, writer, spec):
        """WAV files and a spectrogram grid for the step and as latest; summary.audio and the
        grid in TensorBoard."""
        picture = spectrogram_grid(samples, rows)
        for folder, grid_path in ((f"step_{step:07d}", self.sample_file(samples_dir, step)),
                                  ("latest", self.latest_sample(samples_dir))):
            self._write_clips(os.path.join(samples_dir, folder), samples, spec.sample_rate)
            image_kind.save_png(grid_path, picture, scale=2)
        with writer.as_default(step=step):
            tf.summary.audio("samples", np.asarray(samples, np.float32), spec.sample_rate,
                             max_outputs=len(samples))
            tf.summary.image("spectrograms", picture[np.newaxis], max_outputs=1)

    def _write_clips(self, directory, samples, sample_rate, prefix="clip"):
        return write_wav_files(directory, [wav_bytes(clip, sample_rate)
                                           for clip in with_channels(samples)], prefix)

    # Deployment.
    def served_float(self, samples):
        """Mono clips [N, L, 1] -> [N, L]; several channels stay [N, L, C]."""
        return samples[..., 0] if samples.shape[-1] == 1 else samples

    def signature_outputs(self, samples, spec):
        """Clips float32 [N, L, C] -> audio float32 [N, L] (mono; [N, L, C] otherwise), pcm
        int16 of the same shape, wav_bytes string [N] (a WAV file per clip; TF Serving's REST
        API base64-encodes an output whose name ends in _bytes), sample_rate int32 [N]."""
        samples = tf.cast(samples, tf.float32)
        clipped = tf.clip_by_value(samples, -1.0, 1.0)
        # As encode_wav (and tfgan_zoo.data.wav) convert: x 32768, rounded, clamped, so the
        # pcm output and the WAV files hold the same numbers.
        pcm = tf.cast(tf.clip_by_value(tf.round(clipped * 32768.0), -32768.0, 32767.0),
                      tf.int16)
        encoded = tf.map_fn(lambda clip: tf.audio.encode_wav(clip, spec.sample_rate), clipped,
                            fn_output_signature=tf.string)
        count = tf.shape(samples)[0]
        return {"audio": self.served_float(samples), "pcm": self.served_float(pcm),
                "wav_bytes": encoded,
                "sample_rate": tf.fill([count], tf.constant(spec.sample_rate, tf.int32))}

    def compare_tflite(self, got, expected, mode):
        """Signal-to-noise ratio of a LiteRT generator's clips against Keras', at least
        SNR_THRESHOLDS_DB[mode]."""
        expected = np.asarray(expected, np.float64)
        noise = np.sum((np.asarray(got, np.float64) - expected) ** 2)
        snr = float(10 * np.log10(np.sum(expected ** 2) / max(noise, 1e-30)))
        least = SNR_THRESHOLDS_DB[mode]
        measured = {"mode": mode, "snr_db": snr, "tolerance": {"min_snr_db": least},
                    "summary": f"SNR {snr:.1f} dB vs Keras (at least {least:.0f})"}
        return snr >= least, measured, (f"signal-to-noise ratio {snr:.1f} dB; {mode} needs at "
                                         f"least {least:.0f} dB")

    def write_generated(self, path, samples, spec, rows=None, scale=4):
        """`generate`'s output: a folder of WAV files (sample_KK.wav) and spectrograms.png."""
        self._write_clips(path, samples, spec.sample_rate, prefix="sample")
        image_kind.save_png(os.path.join(path, "spectrograms.png"),
                            spectrogram_grid(samples, rows), scale=2)
        return path

    def encode_files(self, outputs):
        return [bytes(blob) for blob in outputs["wav_bytes"]]

    def save_files(self, outputs, directory, prefix="sample"):
        return write_wav_files(directory, self.encode_files(outputs), prefix)


KIND = AudioKind()
