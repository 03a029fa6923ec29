"""The log-mel front end of the audio classifier and of WaveGAN's self-conditioning clusters.

`log_mel(audio, sample_rate)` and the layer `LogMel`: clips float32 [B, L, C] in [-1, 1] ->
log-mel spectrogram float32 [B, frames, mels] (channels are averaged to mono first). Hann windows of
25 ms every 10 ms, 64 mel bands from 60 Hz to the Nyquist frequency; window and hop are in
seconds, so they scale with the rate (400/160 samples at 16 kHz, 200/80 at 8 kHz) and a clip
of a given duration has the same number of frames at any rate. The STFT is divided by the
window's sum, so a full-scale sinusoid has magnitude 0.5 in its bin at every rate; the log
is natural, of the mel power plus LOG_EPSILON (1e-6, about -54 dB below that sinusoid).
"""
from __future__ import annotations

import math

import tensorflow as tf
import tf_keras as keras

WINDOW_SECONDS = 0.025
HOP_SECONDS = 0.010
NUM_MELS = 64
LOWER_EDGE_HERTZ = 60.0
LOG_EPSILON = 1e-6


def frame_sizes(sample_rate, window_seconds=WINDOW_SECONDS, hop_seconds=HOP_SECONDS):
    """(frame_length, frame_step, fft_length) in samples at `sample_rate`: the window and hop
    rounded to whole samples, the FFT the next power of two at or above the window."""
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    frame_length = max(int(round(window_seconds * sample_rate)), 2)
    frame_step = max(int(round(hop_seconds * sample_rate)), 1)
    return frame_length, frame_step, 2 ** math.ceil(math.log2(frame_length))


def num_frames(length, sample_rate, window_seconds=WINDOW_SECONDS, hop_seconds=HOP_SECONDS):
    """How many frames `log_mel` gives for clips of `length` samples (no padding at the end)."""
    frame_length, frame_step, _ = frame_sizes(sample_rate, window_seconds, hop_seconds)
    if length < frame_length:
        raise ValueError(f"clips of {length} samples are shorter than one window "
                         f"({frame_length} samples at {sample_rate} Hz)")
    return 1 + (length - frame_length) // frame_step


def log_mel(audio, sample_rate, num_mels=NUM_MELS, window_seconds=WINDOW_SECONDS,
            hop_seconds=HOP_SECONDS, lower_edge_hertz=LOWER_EDGE_HERTZ, upper_edge_hertz=None,
            epsilon=LOG_EPSILON):
    """Log-mel spectrogram of audio [B, L, C] (or [B, L]) -> float32 [B, frames, num_mels].

    Channels are averaged to mono. Frames are `num_frames(L, sample_rate)` Hann windows of
    `window_seconds`, every `hop_seconds`, the last one ending within the clip. Mel bands are
    triangles evenly spaced on the HTK mel scale from `lower_edge_hertz` to `upper_edge_hertz`
    (default and at most sample_rate / 2), peaking at 1 at their centres (TensorFlow's
    `linear_to_mel_weight_matrix`). Result: log(mel power + epsilon), natural log.
    """
    audio = tf.convert_to_tensor(audio)
    if audio.dtype != tf.float32:
        audio = tf.cast(audio, tf.float32)
    if audio.shape.rank == 3:
        audio = tf.reduce_mean(audio, axis=-1)
    elif audio.shape.rank != 2:
        raise ValueError(f"log_mel needs audio [B, L, C] or [B, L], got shape {audio.shape}")
    frame_length, frame_step, fft_length = frame_sizes(sample_rate, window_seconds, hop_seconds)
    nyquist = sample_rate / 2.0
    upper = nyquist if upper_edge_hertz is None else min(float(upper_edge_hertz), nyquist)
    stft = tf.signal.stft(audio, frame_length, frame_step, fft_length,
                          window_fn=tf.signal.hann_window, pad_end=False)
    window_sum = tf.reduce_sum(tf.signal.hann_window(frame_length))
    power = tf.math.square(tf.abs(stft) / window_sum)  # [B, frames, fft_length // 2 + 1]
    weights = tf.signal.linear_to_mel_weight_matrix(
        num_mels, fft_length // 2 + 1, sample_rate, float(lower_edge_hertz), upper)
    mel = tf.tensordot(power, weights, 1)
    mel.set_shape(power.shape[:-1].concatenate([num_mels]))
    return tf.math.log(mel + epsilon)


@keras.utils.register_keras_serializable(package="tfgan_zoo")
class LogMel(keras.layers.Layer):
    """`log_mel` as a Keras layer: audio [B, L, C] -> log-mel [B, frames, num_mels], float32.

    It has no weights. It computes in float32 whatever the mixed-precision policy (the STFT
    needs it), unless given another dtype.
    """

    def __init__(self, sample_rate, num_mels=NUM_MELS, window_seconds=WINDOW_SECONDS,
                 hop_seconds=HOP_SECONDS, lower_edge_hertz=LOWER_EDGE_HERTZ,
                 upper_edge_hertz=None, epsilon=LOG_EPSILON, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        frame_sizes(sample_rate, window_seconds, hop_seconds)  # checks the rate
        self.sample_rate = int(sample_rate)
        self.num_mels = int(num_mels)
        self.window_seconds = float(window_seconds)
        self.hop_seconds = float(hop_seconds)
        self.lower_edge_hertz = float(lower_edge_hertz)
        self.upper_edge_hertz = None if upper_edge_hertz is None else float(upper_edge_hertz)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        return log_mel(inputs, self.sample_rate, self.num_mels, self.window_seconds,
                       self.hop_seconds, self.lower_edge_hertz, self.upper_edge_hertz,
                       self.epsilon)

    def compute_output_shape(self, input_shape):
        input_shape = tf.TensorShape(input_shape)
        length = input_shape[1]
        frames = None if length is None else num_frames(
            length, self.sample_rate, self.window_seconds, self.hop_seconds)
        return tf.TensorShape([input_shape[0], frames, self.num_mels])

    def get_config(self):
        return {**super().get_config(), "sample_rate": self.sample_rate,
                "num_mels": self.num_mels, "window_seconds": self.window_seconds,
                "hop_seconds": self.hop_seconds, "lower_edge_hertz": self.lower_edge_hertz,
                "upper_edge_hertz": self.upper_edge_hertz, "epsilon": self.epsilon}
