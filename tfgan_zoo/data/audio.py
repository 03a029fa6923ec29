"""Audio from a data config to the batches WaveGAN trains on.

`ds, spec = audio.load(config.data, slice_length, batch_size)`; `audio.describe(config.data)`.

`config.data` fields read here:
  dataset: a TFDS dataset with an "audio" feature: `spoken_digits_espeak` (embedded: prepared
    offline with eSpeak NG on first use, see `tfgan_zoo.data.spoken_digits`), `spoken_digit`
    (FSDD, 8 kHz) or any other; or "folder:/path/to/wavs", WAV files found in all subfolders,
    labelled by first-level subfolder when every file lies in one (SC09: a folder per digit).
  builder_config: the TFDS builder config (e.g. "small" of spoken_digits_espeak); None or
    absent for the dataset's default. Also accepted in `dataset` ("spoken_digits_espeak/small").
  sample_rate: the model's rate (default 16000); every clip is resampled to it.
  random_crop: False (default) cuts a long clip to its first slice_length samples; True takes
    a window at a random offset, drawn anew every time the clip is read.
  data_dir, download, cache, shuffle_buffer: as for images (see `tfgan_zoo.data`).
  channels: None or 1 only; audio is always made mono.

Each clip, in numpy (`prepare_clip`): the channels averaged to mono, resampled from the source's
rate to sample_rate (`tfgan_zoo.data.resample`), peak-normalised to PEAK (an all-zero clip stays
zero). Then, in TensorFlow, fitted to slice_length: cut as above, or zero-padded at the end (as
WaveGAN's `--data_pad_end`, which its README uses for SC09), so a clip's sample 0 is its slice's
sample 0 whether it is cut or padded.

Pipeline: read -> prepare (numpy) -> [fit] -> [cache] -> [random-crop fit] -> [shuffle] ->
[repeat] -> batch -> {"audio", "label"} -> prefetch. Resampling is the costly step; with `cache`
it runs once per clip (the cache holds float32 clips: slice_length of them, or the whole clip
with random_crop). Cropping before the shuffle keeps the shuffle buffer at slice_length a clip.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import pathlib
from collections.abc import Callable

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from absl import logging

from tfgan_zoo.data import folder, pipeline, spoken_digits, tfds_source, wav
from tfgan_zoo.data.resample import resample
from tfgan_zoo.data.spec import DatasetSpec
from tfgan_zoo.errors import ZooError

FEATURE = "audio"  # the key of the clips in a batch, and of the audio in a TFDS dataset
EXTENSIONS = (".wav",)
DEFAULT_SAMPLE_RATE = 16000
# Peak of every clip, as spoken_digits_espeak stores its clips: a generator ending in tanh can
# reach it, and the data keep a little headroom below full scale.
PEAK = 0.99
_CHOICES = (
    f"use {spoken_digits.NAME} (embedded, offline), a TFDS audio dataset such as "
    "spoken_digit, or folder:/path/to/wavs"
)


@dataclasses.dataclass(frozen=True)
class _Clips:
    """A source opened and checked: its spec, and `read(shuffle_files)`, an unbatched dataset of
    (clip float32 [T] mono at spec.sample_rate, peak PEAK; label int64 scalar)."""

    spec: DatasetSpec
    read: Callable[[bool], tf.data.Dataset]


def load(
    data_config,
    slice_length: int,
    batch_size: int = 64,
    split: str = "train",
    shuffle: bool = True,
    repeat: bool = True,
    drop_remainder: bool = True,
    seed: int = 0,
    skip: int = 0,
) -> tuple[tf.data.Dataset, DatasetSpec]:
    """Builds the batched audio pipeline described by `data_config` (see the module docstring).

    Returns `(ds, spec)`. `ds` yields {"audio": float32 [batch_size, slice_length, 1] in
    [-1, 1], "label": int64 [batch_size]} (labels are 0 for unlabeled data); a last partial
    batch is dropped unless `drop_remainder` is False. With `repeat` it never ends, each epoch
    in an order fixed by `seed` and its number, from example `skip` on (see
    `pipeline.batched`); without it, `shuffle` gives each pass a new order. `spec` has
    resolution 0, channels 1 and sample_rate = data_config.sample_rate. Raises ZooError for
    bad arguments or a dataset that cannot be read.
    """
    if not pipeline.is_count(batch_size):
        raise ZooError(f"batch_size must be at least 1, got {batch_size}; pass a positive one")
    if not pipeline.is_count(slice_length):
        raise ZooError(
            f"slice_length must be a positive number of samples, got {slice_length!r}; "
            "pass e.g. 16384 (about 1 s at 16 kHz)"
        )
    shuffle_buffer = pipeline.checked_shuffle_buffer(data_config, shuffle)
    random_crop = data_config.get("random_crop", False)
    if not isinstance(random_crop, bool):
        raise ZooError(f"random_crop must be True or False, got {random_crop!r}; fix the config")
    clips = _open(data_config, split)
    spec = clips.spec
    pipeline.check_full_batch(spec, batch_size, split, repeat, drop_remainder)

    def fit(clip: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return _fit(clip, int(slice_length), random_crop), label

    ds = clips.read(shuffle and not repeat)
    if not random_crop:
        ds = ds.map(fit, num_parallel_calls=tf.data.AUTOTUNE)
    if data_config.get("cache", False):
        ds = ds.cache()
    if random_crop:  # after the cache, so that every epoch draws new windows
        ds = ds.map(fit, num_parallel_calls=tf.data.AUTOTUNE)
    return pipeline.batched(ds, batch_size, shuffle and shuffle_buffer, repeat, drop_remainder,
                            _to_model_input, pipeline.Order(seed, skip, spec.num_examples)), spec


def describe(data_config, split: str = "train") -> DatasetSpec:
    """The DatasetSpec of `split`, checked as `load` checks it (resolution 0, channels 1).

    Like `load`, it prepares the embedded dataset, or downloads a TFDS one where the config
    allows, if it is not on disk yet; for a folder it checks every WAV file.
    """
    return _open(data_config, split).spec


def prepare_clip(samples: np.ndarray, rate: int, sample_rate: int) -> np.ndarray:
    """One clip as the models see it, before fitting: float32 [T'] mono at `sample_rate`.

    samples: [T] or [T, C] of any real or integer dtype (the scale does not matter: the clip is
    peak-normalised), at `rate` Hz. The channels are averaged, the result resampled and scaled
    so that its largest magnitude is PEAK; silence stays zero.
    """
    x = np.asarray(samples, np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if x.ndim != 1:
        raise ValueError(f"expected audio of shape [T] or [T, C], got {x.shape}")
    if rate != sample_rate and len(x):
        x = resample(x, rate, sample_rate)
    peak = np.max(np.abs(x)) if len(x) else 0.0
    if peak > 0:
        x = x * (PEAK / peak)
    return x.astype(np.float32)


def _open(data_config, split: str) -> _Clips:
    channels = data_config.get("channels")
    if channels not in (None, 1) or isinstance(channels, bool):
        raise ZooError(
            f"audio is always mono, so channels must be None or 1, got {channels!r}; "
            "remove channels from the data config"
        )
    sample_rate = data_config.get("sample_rate", DEFAULT_SAMPLE_RATE)
    if not pipeline.is_count(sample_rate):
        raise ZooError(
            f"sample_rate must be a positive number of samples per second, got "
            f"{sample_rate!r}; set data.sample_rate to the model's rate, e.g. 16000"
        )
    sample_rate = int(sample_rate)
    dataset = data_config.dataset
    if dataset.startswith(folder.PREFIX):
        return _open_folder(dataset[len(folder.PREFIX):], split, sample_rate)
    return _open_tfds(
        tfds_source.name_with_config(dataset, data_config.get("builder_config")),
        split,
        sample_rate,
        data_dir=data_config.get("data_dir"),
        download=data_config.get("download", False),
    )


# --- TFDS ----------------------------------------------------------------------------------


def _open_tfds(
    name: str, split: str, sample_rate: int, data_dir: str | None, download: bool
) -> _Clips:
    builder = tfds_source._builder(name, data_dir, choices=_CHOICES)
    features = builder.info.features
    audio = tfds_source._feature(features, FEATURE)
    if not isinstance(audio, tfds.features.Audio):
        have = ", ".join(sorted(features.keys())) if tfds_source._is_dict(features) else (
            type(features).__name__)
        raise ZooError(
            f"dataset '{name}' has no '{FEATURE}' feature (it has: {have}); choose an audio "
            f"dataset such as {spoken_digits.NAME} or spoken_digit, or folder:/path/to/wavs"
        )
    rate = audio.sample_rate
    if not rate or len(audio.shape) not in (1, 2):
        raise ZooError(
            f"dataset '{name}' does not declare the sample rate of its audio or has audio of "
            f"shape {audio.shape}; export its clips as WAV files and use folder:/path/to/them"
        )
    if builder.name == spoken_digits.NAME:
        if not builder.is_prepared():  # offline, with eSpeak NG: no download, whatever the config
            logging.info("Preparing %s in %s (once)", name, os.fspath(builder.data_dir_root))
            builder.download_and_prepare()
    else:
        tfds_source._prepare(builder, name, download)
    splits = builder.info.splits
    if split not in splits:
        raise ZooError(
            f"unknown split '{split}' for dataset '{name}'; "
            f"valid splits: {', '.join(sorted(splits))}"
        )
    num_classes, class_names = tfds_source.label_classes(features)
    spec = _spec(name, split, num_classes, class_names, splits[split].num_examples, sample_rate)

    def clip_and_label(example: dict) -> tuple[tf.Tensor, tf.Tensor]:
        label = example["label"] if num_classes else 0
        return _prepared(example[FEATURE], rate, sample_rate), tf.cast(label, tf.int64)

    def read(shuffle_files: bool) -> tf.data.Dataset:
        ds = builder.as_dataset(split=split, shuffle_files=shuffle_files)
        return ds.map(clip_and_label, num_parallel_calls=tf.data.AUTOTUNE)

    return _Clips(spec=spec, read=read)


# --- folders -------------------------------------------------------------------------------


def _open_folder(root: str, split: str, sample_rate: int) -> _Clips:
    """Scans `root` for WAV files, skipping corrupt ones; a folder has the one split "train"."""
    name = folder.PREFIX + root
    if split not in folder.SPLITS:
        raise ZooError(
            f"unknown split '{split}' for {name}; valid splits: {', '.join(folder.SPLITS)} "
            "(a folder is one split: make a second folder for evaluation data)"
        )
    paths = find_wavs(root)
    class_names = folder.class_names_of(root, paths)
    index = {class_name: i for i, class_name in enumerate(class_names)}
    labels = [index[_first_part(root, p)] if class_names else 0 for p in paths]
    good = _readable(root, paths)
    if not any(good):
        raise ZooError(
            f"all {len(paths)} WAV files in {root} are corrupt, unreadable or empty (see the "
            "warnings above); replace them with PCM WAV files (8, 16, 24 or 32-bit) that play"
        )
    paths = [p for p, ok in zip(paths, good, strict=True) if ok]
    labels = [label for label, ok in zip(labels, good, strict=True) if ok]
    spec = _spec(name, split, len(class_names), class_names, len(paths), sample_rate)

    def read_clip(path: np.bytes_) -> np.ndarray:
        samples, rate = wav.read_wav(os.fsdecode(path))
        return prepare_clip(samples, rate, sample_rate)

    def read(shuffle_files: bool) -> tf.data.Dataset:
        del shuffle_files  # the pipeline's shuffle buffer does the shuffling
        ds = tf.data.Dataset.from_tensor_slices((paths, tf.constant(labels, tf.int64)))
        return ds.map(
            lambda path, label: (_numpy_clip(read_clip, path), label),
            num_parallel_calls=tf.data.AUTOTUNE,
        )

    return _Clips(spec=spec, read=read)


def find_wavs(root: str) -> list[str]:
    """Sorted paths of the WAV files under `root`, by extension in any case; hidden skipped."""
    return folder.find_files(root, EXTENSIONS, "audio", "WAV files")


def check_wav(path: str) -> None:
    """Raises ValueError saying why the WAV at `path` cannot be trained on (unreadable, empty)."""
    try:
        samples, _ = wav.read_wav(path)
    except ValueError:
        raise
    except Exception as e:  # OSError and whatever else a damaged file makes `wave` raise
        raise ValueError(f"{type(e).__name__}: {e}") from e
    if not len(samples):
        raise ValueError("it has no samples")


def _readable(root: str, paths: list[str]) -> list[bool]:
    """Whether each file reads cleanly; each other one is logged as a warning."""

    def check(path: str) -> str | None:
        try:
            check_wav(path)
        except ValueError as e:
            return str(e)
        return None

    # File reads release the GIL, so threads make the scan of a large folder faster.
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        problems = list(pool.map(check, paths))
    for path, problem in zip(paths, problems, strict=True):
        if problem is not None:
            logging.warning("Skipping corrupt WAV file %s: %s", path, problem)
    skipped = sum(problem is not None for problem in problems)
    if skipped:
        logging.warning(
            "Skipped %d of %d WAV files in %s as corrupt, unreadable or empty.",
            skipped,
            len(paths),
            root,
        )
    return [problem is None for problem in problems]


def _first_part(root: str, path: str) -> str:
    return pathlib.PurePath(os.path.relpath(path, root)).parts[0]


# --- shared --------------------------------------------------------------------------------



def _spec(name, split, num_classes, class_names, num_examples, sample_rate) -> DatasetSpec:
    return DatasetSpec(
        name=name,
        split=split,
        resolution=0,
        channels=1,
        num_classes=num_classes,
        class_names=tuple(class_names),
        num_examples=num_examples,
        sample_rate=sample_rate,
    )


def _numpy_clip(function: Callable[..., np.ndarray], *inputs: tf.Tensor) -> tf.Tensor:
    clip = tf.numpy_function(function, list(inputs), tf.float32, stateful=False)
    clip.set_shape([None])
    return clip


def _prepared(samples: tf.Tensor, rate: int, sample_rate: int) -> tf.Tensor:
    return _numpy_clip(lambda x: prepare_clip(x, rate, sample_rate), samples)


def _fit(clip: tf.Tensor, length: int, random_crop: bool) -> tf.Tensor:
    """float32 [T] -> [length]: cut (from the start, or at a random offset) or zero-padded at the
    end."""
    start = 0
    if random_crop:
        spare = tf.maximum(tf.shape(clip)[0] - length, 0)
        start = tf.random.uniform([], 0, spare + 1, dtype=tf.int32)
    clip = clip[start:start + length]
    clip = tf.pad(clip, [[0, length - tf.shape(clip)[0]]])
    clip.set_shape([length])
    return clip


def _to_model_input(clips: tf.Tensor, labels: tf.Tensor) -> dict[str, tf.Tensor]:
    return {FEATURE: clips[..., tf.newaxis], "label": labels}
