"""`spoken_digits_espeak`: spoken digits in the SC09 style, synthesised offline with eSpeak NG.

SC09 (the digits "zero".."nine" of Speech Commands, one-second 16 kHz clips) is the usual
benchmark of audio GANs such as WaveGAN, but it is a download. This TFDS builder makes a corpus
of the same shape without network: eSpeak NG (see `tfgan_zoo.data.espeak`) speaks each word
with many voices, pitches and speeds; each utterance is resampled from 22,050 Hz to 16 kHz,
trimmed of leading and trailing silence (keeping 10 ms margins, faded to zero), peak-normalised
to 0.99 of full scale and centred in a clip of CLIP_LENGTH = 16,384 samples (1.024 s, WaveGAN's
length), zero-padded.

Features: `audio` (int16, shape (16384,), sample_rate 16000), `label` (ClassLabel zero..nine),
`voice` (the eSpeak NG voice, "language+variant"). Splits are by voice: the TEST_VOICES are
never in train, so test measures generalisation to unseen speakers.

Configs:
  full (default): 40 voices (32 train, 8 test) x pitches (30, 50, 70) x speeds (140, 175,
    210 words/min) x 10 digits = 3,600 clips (2,880 train, 720 test). On this project's 2-core
    machine it prepares in about 40 s (eSpeak about 6 ms a clip) and takes 40 MB on disk
    (zlib-compressed int16; most of a clip is padding: the median word lasts 0.37 s).
  small: 4 voices (3 train, 1 test) x pitch 50 x speed 175 x 10 digits = 40 clips (30 train,
    10 test), in about a second: for tests.
  medium: 40 voices x pitch 50 x speeds 140 and 210 x 10 digits = 800 clips (640 train, 160
    test), in a few seconds: tests that evaluate (FID needs more than 128 clips per side).

Importing this module registers the builder with TFDS, so `tfds.builder("spoken_digits_espeak")`
works after `import tfgan_zoo.data.spoken_digits`. The data are deterministic for a given eSpeak
NG version and voice data (the version and backend are recorded in `info.metadata`); different
eSpeak NG versions give slightly different samples.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from tfgan_zoo.data import espeak
from tfgan_zoo.data.embedded import EmbeddedBuilder
from tfgan_zoo.data.resample import resample

NAME = "spoken_digits_espeak"
SAMPLE_RATE = 16000
CLIP_LENGTH = 16384
PEAK = 0.99  # peak amplitude of every clip, as a fraction of int16 full scale
TRIM_THRESHOLD_DB = -40.0  # leading/trailing samples quieter than this, relative to the peak
EDGE_SAMPLES = 160  # 10 ms kept beyond the trimmed word at each end, and faded to zero
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# The voices: each eSpeak NG variant (timbre and pitch range) is used with exactly one English
# accent, so a voice is one synthetic speaker. All exist in eSpeak NG 1.51 (Debian 12) and 1.52
# (espeakng-loader). The hold-out is fixed: 8 of 40 (20%), 3 female and 5 male, across accents,
# and no variant of a test voice is in train.
TRAIN_VOICES = (
    "en-us+m1", "en+m2", "en-gb-scotland+m3", "en-029+m4", "en-gb-x-rp+m5", "en-us-nyc+m6",
    "en-gb-x-gbclan+m7", "en-us+f1", "en+f2", "en-gb-scotland+f4", "en-029+f5",
    "en-gb-x-rp+Alicia", "en-us-nyc+Andrea", "en-gb-x-gbclan+Annie", "en-gb-x-gbcwmd+anika",
    "en-us+belinda", "en+grandma", "en-gb-scotland+steph", "en-029+Alex", "en-gb-x-rp+Andy",
    "en-us-nyc+Denis", "en-gb-x-gbclan+Gene", "en-gb-x-gbcwmd+Jacky", "en-us+Michael",
    "en+Nguyen", "en-gb-scotland+antonio", "en-029+croak", "en-gb-x-rp+gustave",
    "en-us-nyc+iven", "en-gb-x-gbcwmd+klatt4", "en-us+norbert", "en+whisper",
)
TEST_VOICES = (
    "en-us+f3", "en-gb-x-gbcwmd+m8", "en+linda", "en-029+aunty", "en-gb-scotland+Lee",
    "en-us-nyc+pablo", "en-gb-x-rp+travis", "en-gb-x-gbclan+klatt2",
)


def trim_silence(
    x: np.ndarray, threshold_db: float = TRIM_THRESHOLD_DB, margin: int = EDGE_SAMPLES
) -> np.ndarray:
    """x from `margin` samples before its first to `margin` after its last sample within
    threshold_db of its peak amplitude (less where x ends sooner); empty if x is silent."""
    peak = np.max(np.abs(x)) if len(x) else 0.0
    if peak == 0:
        return x[:0]
    loud = np.flatnonzero(np.abs(x) >= peak * 10.0 ** (threshold_db / 20.0))
    return x[max(loud[0] - margin, 0):loud[-1] + 1 + margin]


def fade_edges(x: np.ndarray, length: int = EDGE_SAMPLES) -> np.ndarray:
    """x with raised-cosine fades of `length` samples in at the start and out at the end.

    The trimmed margins are faded so that a clip starts and ends at zero without a click.
    """
    x = np.array(x, np.float64)
    n = min(length, len(x) // 2)
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
        x[:n] *= ramp
        x[len(x) - n:] *= ramp[::-1]
    return x


def make_clip(samples: np.ndarray, rate: int) -> np.ndarray:
    """An eSpeak utterance (int16 at `rate`) as a dataset clip: int16, CLIP_LENGTH at 16 kHz.

    Resampled; trimmed of leading and trailing silence (keeping 10 ms margins, which are faded
    to zero); cut to CLIP_LENGTH if longer (none is, in the configs here); peak-normalised to
    PEAK; centred in the clip, zero-padded.
    """
    x = trim_silence(resample(np.asarray(samples, np.float64) / 32768.0, rate, SAMPLE_RATE))
    if len(x) == 0:
        raise ValueError("the utterance is silent")
    x = fade_edges(x[:CLIP_LENGTH])
    x *= PEAK / np.max(np.abs(x))
    clip = np.zeros(CLIP_LENGTH, np.float64)
    start = (CLIP_LENGTH - len(x)) // 2
    clip[start:start + len(x)] = x
    return np.round(clip * 32767.0).astype(np.int16)


class CompressedAudio(tfds.features.Audio):
    """tfds.features.Audio whose `encoding` (bytes or zlib) also applies to numpy arrays.

    TFDS 4.9's Audio.encode_example returns an array unchanged, skipping the encoding that its
    Tensor base applies, and serialisation then fails; without an encoding, int16 samples are
    stored as an int64 list, 10 bytes for each negative sample.
    """

    def encode_example(self, audio_or_path_or_fobj):
        if isinstance(audio_or_path_or_fobj, np.ndarray):
            return tfds.features.Tensor.encode_example(self, audio_or_path_or_fobj)
        return super().encode_example(audio_or_path_or_fobj)


@dataclasses.dataclass(eq=False)
class SpokenDigitsConfig(tfds.core.BuilderConfig):
    """Which voices, pitches (eSpeak 0..99) and speeds (words/min) a config synthesises."""

    train_voices: tuple[str, ...] = TRAIN_VOICES
    test_voices: tuple[str, ...] = TEST_VOICES
    pitches: tuple[int, ...] = (30, 50, 70)
    speeds: tuple[int, ...] = (140, 175, 210)

    def num_examples(self, split: str) -> int:
        voices = self.train_voices if split == "train" else self.test_voices
        return len(voices) * len(self.pitches) * len(self.speeds) * len(DIGITS)


_DESCRIPTION = """\
Spoken digits "zero" to "nine" in the style of SC09 (the digit subset of Speech Commands),
synthesised offline with the eSpeak NG formant synthesiser: English voices (accent + voice
variant), several pitches and speeds. Each clip is mono, 16 kHz, 16,384 samples (1.024 s),
int16, the word trimmed of silence, peak-normalised to 0.99 of full scale and centred. Train and
test are split by voice: test voices are unseen in train. Synthetic speech: far less varied
than SC09's 2,618 human speakers, but available anywhere without a download.
"""

_CITATION = """\
@misc{espeakng,
  title = {eSpeak NG: an open source speech synthesizer},
  author = {Duddington, Jonathan and Dunn, Reece H. and others},
  howpublished = {\\url{https://github.com/espeak-ng/espeak-ng}},
}
@inproceedings{donahue2019wavegan,
  title = {Adversarial Audio Synthesis},
  author = {Donahue, Chris and McAuley, Julian and Puckette, Miller},
  booktitle = {International Conference on Learning Representations},
  year = {2019},
}
@article{warden2018speech,
  title = {Speech Commands: A Dataset for Limited-Vocabulary Speech Recognition},
  author = {Warden, Pete},
  journal = {arXiv preprint arXiv:1804.03209},
  year = {2018},
}
"""


class SpokenDigitsEspeak(EmbeddedBuilder, tfds.core.GeneratorBasedBuilder):
    """Spoken digits zero..nine synthesised with eSpeak NG, 16 kHz, 16,384 samples."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: 40 voices split 32/8 by voice; full and small."}
    BUILDER_CONFIGS = [
        SpokenDigitsConfig(
            name="full",
            description="40 voices (32 train, 8 test) x 3 pitches x 3 speeds x 10 digits.",
        ),
        SpokenDigitsConfig(
            name="small",
            description="4 voices (3 train, 1 test) x 1 pitch x 1 speed x 10 digits, for tests.",
            train_voices=("en-us+m1", "en+f2", "en-gb-scotland+m3"),
            test_voices=("en-us+f3",),
            pitches=(50,),
            speeds=(175,),
        ),
        SpokenDigitsConfig(
            name="medium",
            description="40 voices (32 train, 8 test) x 1 pitch x 2 speeds x 10 digits: enough "
            "test clips (160) for FID with 128 features, in seconds; for tests.",
            pitches=(50,),
            speeds=(140, 210),
        ),
    ]
    DEFAULT_CONFIG_NAME = "full"

    def how_prepared(self) -> str:
        config = self.builder_config
        clips = config.num_examples("train") + config.num_examples("test")
        return f"by synthesising {clips:,} clips with eSpeak NG"

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=_DESCRIPTION,
            features=tfds.features.FeaturesDict(
                {
                    "audio": CompressedAudio(
                        shape=(CLIP_LENGTH,),
                        dtype=np.int16,
                        sample_rate=SAMPLE_RATE,
                        encoding=tfds.features.Encoding.ZLIB,  # half of each clip is padding
                    ),
                    "label": tfds.features.ClassLabel(names=list(DIGITS)),
                    "voice": tfds.features.Text(),
                }
            ),
            supervised_keys=("audio", "label"),
            homepage="https://github.com/espeak-ng/espeak-ng",
            citation=_CITATION,
            metadata=tfds.core.MetadataDict(),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # nothing is downloaded
        engine = espeak.backend()  # ZooError (what to install) before anything is written
        self.info.metadata.update(
            {"espeak_version": engine.version, "espeak_backend": engine.name}
        )
        config = self.builder_config
        return {
            "train": self._generate_examples(config.train_voices),
            "test": self._generate_examples(config.test_voices),
        }

    def _generate_examples(self, voices):
        config = self.builder_config
        for voice in voices:
            for pitch in config.pitches:
                for speed in config.speeds:
                    for label, word in enumerate(DIGITS):
                        samples, rate = espeak.synthesize(word, voice, speed, pitch)
                        key = f"{voice}/p{pitch}/s{speed}/{word}"
                        yield key, {
                            "audio": make_clip(samples, rate),
                            "label": label,
                            "voice": voice,
                        }
