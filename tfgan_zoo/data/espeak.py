"""Finding and driving eSpeak NG, the speech synthesiser behind `spoken_digits_espeak`.

Two ways in, tried in this order:

1. The PyPI package `espeakng-loader` (`pip install espeakng-loader`), which ships
   `libespeak-ng.so` and its voice data. The library is driven through ctypes, no compiler or
   system package needed.
2. The `espeak-ng` program on PATH (`apt-get install espeak-ng`), run once per utterance with
   `--stdout`, whose WAV output is parsed here.

If neither works, `backend()` (and so `synthesize()`) raises `ZooError` with one line saying
what to install.

A voice is named `language+variant`, for example `en-us+f3`: the language (accent) is a file
under the data's `lang/` folder, the variant a file under `voices/!v/` that changes timbre and
pitch range. `available_languages()` and `available_variants()` list what the data holds.

Deterministic output. eSpeak NG keeps synthesis state in C statics that neither
`espeak_Terminate` nor `espeak_Initialize` resets (the pitch-flutter position, the automatic
gain control, breath-noise resonators), and it seeds its noise generator with the time. So the
same call gives different samples depending on what was spoken before in the process. The
library backend therefore loads a fresh copy of the library for every utterance (dlopen, speak,
dlclose: about 5 ms) and seeds the noise generator with `espeak_ng_SetRandSeed(1)`, which makes
every utterance a pure function of (text, voice, speed, pitch) and the eSpeak NG version and
data. The program backend gets the same from a fresh process per utterance; `-D` (fixed seed)
is passed where the program has it (1.52 and later); 1.51, Debian 12's, seeds a fixed value.
Different eSpeak NG versions do not produce identical samples.
"""
from __future__ import annotations

import _ctypes
import ctypes
import functools
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np

from tfgan_zoo.errors import ZooError

INSTALL_HINT = (
    "eSpeak NG is needed to synthesise speech and was not found: "
    "pip install espeakng-loader (or apt-get install espeak-ng)"
)
DEFAULT_SPEED = 175  # words per minute; eSpeak NG's own default
DEFAULT_PITCH = 50  # 0..99; eSpeak NG's own default
MIN_SPEED, MAX_SPEED = 80, 450  # the range eSpeak NG documents for espeakRATE
MIN_PITCH, MAX_PITCH = 0, 99

# --- speak_lib.h constants used below ------------------------------------------------------
_AUDIO_OUTPUT_SYNCHRONOUS = 2  # espeak_AUDIO_OUTPUT: no audio device, samples to the callback
_INITIALIZE_DONT_EXIT = 0x8000  # without it, missing voice data makes the library call exit()
_RATE = 1  # espeak_PARAMETER espeakRATE: speed in words per minute
_PITCH = 3  # espeak_PARAMETER espeakPITCH: base pitch, 0..99, 50 is the voice's own
_POS_CHARACTER = 1  # espeak_POSITION_TYPE: `position` counts characters (we pass 0: start)
_CHARS_UTF8 = 1  # espeakCHARS_UTF8: the text is UTF-8
_EE_OK = 0  # espeak_ERROR

# typedef int (t_espeak_callback)(short *wav, int numsamples, espeak_EVENT *events);
# The events are not read, so they stay an opaque pointer.
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _version_numbers(version: str) -> tuple[int, ...]:
    """(1, 52, 0) for "1.52.0"."""
    return tuple(int(n) for n in re.findall(r"\d+", version)[:3])


class _LibraryBackend:
    """libespeak-ng.so through ctypes: a fresh copy of the library for each utterance."""

    name = "espeakng-loader"

    def __init__(self, library_path: str, data_path: str):
        self.library_path = str(library_path)
        self.data_path = str(data_path)
        self._lock = threading.Lock()  # the library is one global state: one utterance at a time
        self._chunks: list[np.ndarray] = []
        # The callback object must outlive every call into the library that may invoke it, so it
        # is created once and kept here (ctypes does not keep it alive for the C side).
        self._callback = _SYNTH_CALLBACK(self._on_samples)
        # Load and initialise once now, so that a broken install fails here, at selection time,
        # and the version and sample rate are known before the first utterance.
        with self._lock:
            lib = self._open()
            try:
                lib.espeak_Info.restype = ctypes.c_char_p
                lib.espeak_Info.argtypes = [ctypes.c_void_p]
                self.version = lib.espeak_Info(None).decode("ascii", "replace")
                # Before 1.52 breath noise came from libc's rand(), which a reload does not reset:
                # breathy voices then depend on what was spoken before.
                self.deterministic = hasattr(lib, "espeak_ng_SetRandSeed")
            finally:
                self._close(lib)

    def _on_samples(self, wav, numsamples, events):
        del events
        # wav is NULL on the last call of an utterance; numsamples may be 0 on any call.
        if wav and numsamples > 0:
            # The buffer belongs to the library and is reused: copy it out now.
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
        return 0  # 0 = go on synthesising (1 would abort)

    def _open(self) -> ctypes.CDLL:
        """dlopen the library and initialise it; the caller must _close() it."""
        lib = ctypes.CDLL(self.library_path)
        # int espeak_Initialize(espeak_AUDIO_OUTPUT output, int buflength, const char *path,
        #                       int options): returns the sample rate, or -1 on failure.
        # buflength 0 = the default 60 ms chunks; path is the espeak-ng-data folder (or the
        # folder containing it). DONT_EXIT turns a missing-data exit() into a -1 return.
        lib.espeak_Initialize.argtypes = [
            ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int
        ]
        lib.espeak_Initialize.restype = ctypes.c_int
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, os.fsencode(self.data_path), _INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            self._close(lib, terminate=False)
            raise OSError(f"espeak_Initialize failed with data at {self.data_path}")
        self.sample_rate = rate
        # void espeak_SetSynthCallback(t_espeak_callback *cb): in synchronous mode the samples
        # reach us only through this callback, chunk by chunk, before espeak_Synth returns.
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetSynthCallback(self._callback)
        return lib

    @staticmethod
    def _close(lib: ctypes.CDLL, terminate: bool = True) -> None:
        if terminate:
            lib.espeak_Terminate()  # frees the library's buffers before it is unmapped
        handle = lib._handle
        del lib
        # dlclose drops the last reference, so the next dlopen maps a new copy whose static
        # state is as at process start (the point of reloading; see the module docstring).
        # ctypes exposes dlclose only as a private helper; where it is missing the library just
        # stays loaded, which is harmless except for determinism.
        dlclose = getattr(_ctypes, "dlclose", None)
        if dlclose is not None:
            dlclose(handle)

    def synthesize(self, text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
        with self._lock:
            lib = self._open()
            try:
                # espeak_ERROR espeak_ng_SetRandSeed(long seed), 1.52+: the seed of the noise in
                # breathy and whispered voices, otherwise seeded from the clock at initialise.
                if hasattr(lib, "espeak_ng_SetRandSeed"):
                    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
                    lib.espeak_ng_SetRandSeed(1)
                # espeak_ERROR espeak_SetVoiceByName(const char *name): "language+variant";
                # loads the language's rules and dictionary and the variant's voice settings.
                lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
                if lib.espeak_SetVoiceByName(voice.encode("utf-8")) != _EE_OK:
                    raise ValueError(f"eSpeak NG has no voice {voice!r}")
                # espeak_ERROR espeak_SetParameter(espeak_PARAMETER p, int value, int relative):
                # relative 0 = absolute values. Set after the voice, as espeak-ng's program does.
                lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
                lib.espeak_SetParameter(_RATE, int(speed), 0)
                lib.espeak_SetParameter(_PITCH, int(pitch), 0)
                # espeak_ERROR espeak_Synth(const void *text, size_t size, unsigned position,
                #     espeak_POSITION_TYPE position_type, unsigned end_position, unsigned flags,
                #     unsigned *unique_identifier, void *user_data)
                # size counts the terminating NUL; position 0 and end_position 0 = all text.
                lib.espeak_Synth.argtypes = [
                    ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                    ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
                ]
                encoded = text.encode("utf-8")
                self._chunks = []
                status = lib.espeak_Synth(
                    encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
                )
                if status != _EE_OK:
                    raise RuntimeError(f"espeak_Synth failed with status {status}")
                # Waits until all text is spoken (a no-op in synchronous mode, kept for safety).
                lib.espeak_Synchronize()
                chunks, self._chunks = self._chunks, []
            finally:
                self._close(lib)
        return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)


class _ProgramBackend:
    """The `espeak-ng` program: one process per utterance, WAV on stdout."""

    name = "espeak-ng program"

    def __init__(self, program: str):
        self.program = program
        out = subprocess.run(
            [program, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        # "eSpeak NG text-to-speech: 1.51  Data at: /usr/lib/x86_64-linux-gnu/espeak-ng-data"
        match = re.search(r"speech:\s*(\S+)\s+Data at:\s*(.+)", out)
        if not match:
            raise OSError(f"unexpected `{program} --version` output: {_one_line(out)!r}")
        self.version = match.group(1)
        self.data_path = match.group(2).strip()
        # From 1.52 the noise of breathy voices is seeded from the clock unless -D (fixed seed)
        # is given; 1.51 has no -D (it rejects it, printing nothing) and a fixed seed anyway.
        self._seed_args = ["-D"] if _version_numbers(self.version) >= (1, 52) else []
        self.deterministic = True
        self.sample_rate = None  # read from each WAV header

    def synthesize(self, text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
        command = [
            self.program, *self._seed_args, "-v", voice, "-s", str(int(speed)),
            "-p", str(int(pitch)), "-b", "1", "--stdout", "--", text,
        ]
        result = subprocess.run(command, capture_output=True, timeout=60)
        if self._seed_args and result.returncode == 0 and not result.stdout:
            # A build without -D after all: do without it (the clock then seeds breath noise).
            self._seed_args, self.deterministic = [], False
            return self.synthesize(text, voice, speed, pitch)
        stderr = _one_line(result.stderr.decode("utf-8", "replace"))
        if result.returncode != 0 or not result.stdout:
            raise RuntimeError(f"{self.program} failed for voice {voice!r}: {stderr}")
        samples, self.sample_rate = parse_wav(result.stdout)
        return samples


def parse_wav(data: bytes) -> tuple[np.ndarray, int]:
    """(int16 samples, rate) of a mono 16-bit PCM WAV, as `espeak-ng --stdout` writes it.

    Written to a pipe, the header cannot be patched afterwards, so its sizes are placeholders
    (0x7ffff000): the data chunk is taken to run to the end of the bytes.
    """
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE stream")
    offset, rate = 12, None
    while offset + 8 <= len(data):
        chunk, size = data[offset:offset + 4], int.from_bytes(data[offset + 4:offset + 8], "little")
        body = offset + 8
        if chunk == b"fmt ":
            fmt = np.frombuffer(data[body:body + 16], "<u2", count=8)
            audio_format, channels, bits = int(fmt[0]), int(fmt[1]), int(fmt[7])
            rate = int.from_bytes(data[body + 4:body + 8], "little")
            if (audio_format, channels, bits) != (1, 1, 16):
                raise ValueError(f"expected mono 16-bit PCM, got {(audio_format, channels, bits)}")
        elif chunk == b"data":
            if rate is None:
                raise ValueError("WAV data chunk before its fmt chunk")
            end = min(body + size, len(data))
            end -= (end - body) % 2
            return np.frombuffer(data[body:end], "<i2").astype(np.int16), rate
        offset = body + size + (size % 2)
    raise ValueError("WAV stream without a data chunk")


def _loader_paths() -> tuple[str, str] | None:
    """(library, data folder) from the espeakng-loader package, or None if it is absent."""
    try:
        import espeakng_loader
    except ImportError:
        return None
    return espeakng_loader.get_library_path(), espeakng_loader.get_data_path()


def _find_program() -> str | None:
    return shutil.which("espeak-ng")


_BACKEND = None
_BACKEND_LOCK = threading.Lock()


def backend():
    """The eSpeak NG backend this process uses, found and checked on first use.

    It has `name`, `version` (eSpeak NG's), `data_path` and `synthesize()`. Raises ZooError
    (one line, what to install) when neither espeakng-loader nor the espeak-ng program works.
    """
    global _BACKEND
    with _BACKEND_LOCK:
        if _BACKEND is None:
            _BACKEND = _find_backend()
        return _BACKEND


def _find_backend():
    problems = []
    paths = _loader_paths()
    if paths is not None:
        try:
            return _LibraryBackend(*paths)
        except (OSError, RuntimeError) as error:  # a broken wheel: say so, try the program
            problems.append(f"espeakng-loader failed: {_one_line(error)}")
    program = _find_program()
    if program is not None:
        try:
            return _ProgramBackend(program)
        except (OSError, subprocess.SubprocessError) as error:
            problems.append(f"{program} failed: {_one_line(error)}")
    raise ZooError("; ".join([INSTALL_HINT, *problems]))


def synthesize(
    text: str, voice: str = "en-us", speed: int = DEFAULT_SPEED, pitch: int = DEFAULT_PITCH
) -> tuple[np.ndarray, int]:
    """Speaks `text` with eSpeak NG: (mono int16 samples, sample rate), rate 22,050 Hz.

    voice: "language" or "language+variant", e.g. "en-us+f3" (see the module docstring).
    speed: words per minute, 80..450 (default 175). pitch: 0..99 (default 50, the voice's own).
    Samples include eSpeak's short leading and trailing silence. Thread-safe; the same
    arguments give the same samples (see "Deterministic output" above).
    """
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ValueError(f"speed must be {MIN_SPEED}..{MAX_SPEED} words/min, got {speed}")
    if not MIN_PITCH <= pitch <= MAX_PITCH:
        raise ValueError(f"pitch must be {MIN_PITCH}..{MAX_PITCH}, got {pitch}")
    engine = backend()
    _, _, variant = voice.partition("+")
    if variant and variant not in _variants(engine.data_path):
        # eSpeak NG silently ignores an unknown variant and speaks with the plain voice.
        raise ValueError(f"eSpeak NG has no voice variant {variant!r} in {engine.data_path}")
    samples = engine.synthesize(text, voice, speed, pitch)
    return samples, engine.sample_rate


def available_variants() -> list[str]:
    """Names of the voice variants in the eSpeak NG data (files of voices/!v), sorted.

    Names with spaces are left out: they cannot be written after "+" in a voice name.
    """
    return list(_variants(backend().data_path))


@functools.cache
def _variants(data_path: str) -> tuple[str, ...]:
    folder = Path(data_path) / "voices" / "!v"
    return tuple(sorted(p.name for p in folder.iterdir() if p.is_file() and " " not in p.name))


def available_languages() -> list[str]:
    """Voice names of the languages and accents in the eSpeak NG data, lower case, sorted.

    They are the files under lang/ (e.g. "en-us", "en-gb-scotland"); "en" is British English.
    """
    folder = Path(backend().data_path) / "lang"
    return sorted({p.name.lower() for p in folder.rglob("*") if p.is_file()})
