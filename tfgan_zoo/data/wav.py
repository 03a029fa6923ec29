"""WAV files through the standard library's `wave` module: PCM in, 16-bit PCM out.

`read_wav` reads uncompressed PCM of 8, 16, 24 or 32 bits, any number of channels, any rate,
as float32 in [-1, 1]: integers are divided by 2^(bits-1) (8-bit WAVs are unsigned, offset by
128), so full scale negative is exactly -1 and positive full scale is just under 1.
`write_wav` writes 16-bit PCM, scaling by 32,768 and clipping to the int16 range, so that every
16-bit sample `read_wav` returns is written back unchanged.

What `wave` does not read is refused with a ValueError: IEEE float WAVs (format 3) and, before
Python 3.12, WAVE_FORMAT_EXTENSIBLE headers (format 65534, which some tools write for 24-bit
or multichannel PCM). Convert those to plain PCM first (e.g. `sox in.wav -b 16 out.wav`).
A data chunk shorter than its header says (a file cut off, or written to a pipe, whose header
sizes are placeholders) is read up to the end of the file.
"""
from __future__ import annotations

import os
import struct
import wave

import numpy as np

from tfgan_zoo.files import atomic_write

_READ_FRAMES = 1 << 16  # frames per read: a placeholder size of 2 GB is not read in one go
_INT16_SCALE = 32768.0


def read_wav(path) -> tuple[np.ndarray, int]:
    """(samples float32 [T, C] in [-1, 1], sample rate) of the PCM WAV at `path`.

    `path` is a file name (str or os.PathLike) or a binary file object. Raises ValueError
    saying what is wrong for a file that is not a readable PCM WAV, OSError when the file
    cannot be opened. T may be 0 (a WAV without samples).
    """
    source = os.fspath(path) if isinstance(path, os.PathLike) else path
    try:
        with wave.open(source, "rb") as reader:
            channels, width = reader.getnchannels(), reader.getsampwidth()
            rate = reader.getframerate()
            blocks = []
            while block := reader.readframes(_READ_FRAMES):
                blocks.append(block)
    except (wave.Error, EOFError, struct.error, RuntimeError) as e:  # what `wave` raises
        raise ValueError(f"not a readable PCM WAV file ({_why(e)})") from e
    if channels < 1 or rate < 1:
        raise ValueError(f"bad WAV header: {channels} channels at {rate} Hz")
    data = b"".join(blocks)
    frame = width * channels
    data = data[: len(data) - len(data) % frame]  # a partial last frame is dropped
    return _to_float(data, width).reshape(-1, channels), rate


def _why(error: Exception) -> str:
    if isinstance(error, RuntimeError):  # raised bare by wave when a chunk overruns the file
        return "a chunk runs past the end of the file"
    if isinstance(error, EOFError):
        return "the file ends inside its header"
    return f"{type(error).__name__}: {error}"


def _to_float(data: bytes, width: int) -> np.ndarray:
    if width == 1:
        return (np.frombuffer(data, np.uint8).astype(np.float32) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(data, "<i2").astype(np.float32) / np.float32(2.0**15)
    if width == 3:
        b = np.frombuffer(data, np.uint8).reshape(-1, 3).astype(np.int32)
        value = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        value = (value ^ 0x800000) - 0x800000  # sign-extend 24 bits
        return value.astype(np.float32) / np.float32(2.0**23)
    if width == 4:  # float64 first: float32 cannot hold every int32
        return (np.frombuffer(data, "<i4").astype(np.float64) / 2.0**31).astype(np.float32)
    raise ValueError(f"unsupported sample width of {8 * width} bits")


def write_wav(path_or_file, samples, rate: int) -> None:
    """Writes float samples, [T] (mono) or [T, C], as a 16-bit PCM WAV at `rate` Hz.

    Values are scaled by 32,768, rounded and clipped to [-32768, 32767]. A file name is written
    whole (a temporary file renamed over it, see `tfgan_zoo.files.atomic_write`); a binary file
    object is written in place and left open.
    """
    x = np.asarray(samples, np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"expected samples of shape [T] or [T, C], got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples contain NaN or infinity")
    if int(rate) != rate or rate < 1:
        raise ValueError(f"the sample rate must be a positive integer, got {rate}")
    pcm = np.clip(np.round(x * _INT16_SCALE), -32768, 32767).astype("<i2")

    def write(f) -> None:
        with wave.open(f, "wb") as writer:
            writer.setnchannels(x.shape[1])
            writer.setsampwidth(2)
            writer.setframerate(int(rate))
            writer.setnframes(len(x))  # the header is right first time: no seek back needed
            writer.writeframes(pcm.tobytes())

    if isinstance(path_or_file, (str, os.PathLike)):
        with atomic_write(os.fspath(path_or_file), "wb") as f:
            write(f)
    else:
        write(path_or_file)
