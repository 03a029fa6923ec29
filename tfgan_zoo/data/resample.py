"""Sample-rate conversion in numpy: one polyphase windowed-sinc resampler for all audio data.

Used by `spoken_digits_espeak` (eSpeak NG's 22,050 Hz to 16 kHz) and by the audio pipeline
(`tfgan_zoo.data.audio`: any source rate to the model's rate).
"""
from __future__ import annotations

import math

import numpy as np

# Outputs computed per block: the gather below holds block x taps float64 values, so a long
# recording (minutes at 44.1 kHz) is resampled in bounded memory.
_BLOCK = 1 << 16


def resample(
    samples: np.ndarray,
    rate_in: int,
    rate_out: int,
    zero_crossings: int = 16,
    rolloff: float = 0.95,
    kaiser_beta: float = 8.6,
) -> np.ndarray:
    """Resamples a 1-D signal from rate_in to rate_out Hz with a polyphase windowed-sinc filter.

    With up/down = rate_out/rate_in in lowest terms, the signal is, in effect, upsampled by
    `up` (zeros inserted), low-pass filtered and downsampled by `down`, but only the filter
    taps that meet input samples are computed: output n sits at position n*down/up of the input
    and is a weighted sum of the 2*zero_crossings (or so) input samples around it, the weights
    taken from the phase (n*down mod up) of one Kaiser-windowed sinc. The cut-off is `rolloff`
    times the lower Nyquist frequency (7.6 kHz for 22,050 -> 16,000), so content that would
    alias is removed first. Each phase's taps are normalised to sum to 1 (unit gain at DC).

    Returns float64 of length ceil(len(samples) * rate_out / rate_in); output sample 0 is at
    input time 0.
    """
    x = np.asarray(samples, np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D signal, got shape {x.shape}")
    if int(rate_in) <= 0 or int(rate_out) <= 0:
        raise ValueError(f"sample rates must be positive, got {rate_in} and {rate_out}")
    g = math.gcd(int(rate_in), int(rate_out))
    up, down = int(rate_out) // g, int(rate_in) // g
    if up == down:
        return x.copy()
    # Prototype filter on the grid of the upsampled signal (rate_in * up), cut-off in cycles
    # per sample of that grid, half-length covering `zero_crossings` sinc zeros on each side.
    cutoff = rolloff * 0.5 / max(up, down)
    half = zero_crossings / (2.0 * cutoff)
    reach = int(math.ceil(half / up))  # input samples on each side that any phase can touch
    offsets = np.arange(-reach, reach + 1)  # j: output n uses input q_n - j
    phases = np.arange(up)[:, None]  # p = n*down mod up
    distance = phases + offsets[None, :] * up  # grid distance from output to input q - j
    inside = np.abs(distance) <= half
    window = np.where(
        inside, np.i0(kaiser_beta * np.sqrt(np.clip(1.0 - (distance / half) ** 2, 0, 1))), 0.0
    ) / np.i0(kaiser_beta)
    taps = np.sinc(2.0 * cutoff * distance) * window
    taps /= taps.sum(axis=1, keepdims=True)

    n_out = -(-len(x) * up // down)  # ceil
    padded = np.concatenate([np.zeros(reach), x, np.zeros(reach + 1)])
    out = np.empty(n_out, np.float64)
    for start in range(0, n_out, _BLOCK):
        grid = np.arange(start, min(start + _BLOCK, n_out), dtype=np.int64) * down
        q, p = grid // up, grid % up
        index = q[:, None] - offsets[None, :] + reach  # into `padded`
        out[start:start + len(grid)] = np.einsum("nj,nj->n", taps[p], padded[index])
    return out
