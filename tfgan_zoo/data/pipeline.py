"""From a data config to batches a GAN trains on.

source -> channels -> resize -> uint8 -> [cache] -> [shuffle] -> [repeat] -> batch -> [-1, 1]
-> prefetch. Images are cached as uint8 at the final resolution: a quarter of the memory of
float32, and resizing is not repeated each epoch.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from tfgan_zoo.data import folder, tfds_source
from tfgan_zoo.data.spec import DatasetSpec, Source
from tfgan_zoo.errors import ZooError

MIN_RESOLUTION = 8
FEATURE = "image"  # the key of the images in a batch (tfgan_zoo.kinds.image reads it here)

# tf.data's autotuner thread can hold up the destruction of an iterator for 30-60 s after
# `fit()` ends (seen here in about half of all runs: the iterator's destructor waits on the
# autotune model's optimisation loop). The pipeline is cheap next to a training step, so fixed
# parallelism (AUTOTUNE then means one thread per core and a small prefetch buffer) costs
# nothing measurable.
_OPTIONS = tf.data.Options()
_OPTIONS.autotune.enabled = False
CHANNEL_CHOICES = (None, 1, 3)


def load(
    data_config,
    resolution: int = 28,
    batch_size: int = 64,
    split: str = "train",
    shuffle: bool = True,
    repeat: bool = True,
    drop_remainder: bool = True,
    seed: int = 0,
    skip: int = 0,
) -> tuple[tf.data.Dataset, DatasetSpec]:
    """Builds the batched input pipeline described by `data_config` (see `tfgan_zoo.data`).

    Returns `(ds, spec)`. `ds` yields {"image": float32 [batch_size, resolution, resolution,
    spec.channels] in [-1, 1], "label": int64 [batch_size]} (labels are 0 for unlabeled data);
    a last partial batch is dropped unless `drop_remainder` is False (evaluation wants every
    example). With `repeat` it never ends, each epoch in an order fixed by `seed` and the
    epoch's number, starting `skip` examples in (see `batched`); without it, `shuffle` gives
    each pass a new order. Raises ZooError for bad arguments or a dataset that cannot be read.
    """
    if batch_size < 1:
        raise ZooError(f"batch_size must be at least 1, got {batch_size}; pass a positive one")
    if resolution < MIN_RESOLUTION:
        raise ZooError(
            f"resolution must be at least {MIN_RESOLUTION}, got {resolution}; "
            f"pass a resolution of {MIN_RESOLUTION} or more (e.g. 28, 32 or 64)"
        )
    shuffle_buffer = checked_shuffle_buffer(data_config, shuffle)
    source = _open(data_config, split)
    spec = dataclasses.replace(source.spec, resolution=resolution)
    check_full_batch(spec, batch_size, split, repeat, drop_remainder)

    def to_stored(image: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = _resize(_convert_channels(image, spec.channels), resolution)
        return _to_uint8(image), label

    ds = source.read(shuffle and not repeat).map(to_stored, num_parallel_calls=tf.data.AUTOTUNE)
    if data_config.get("cache", False):
        ds = ds.cache()
    return batched(ds, batch_size, shuffle and shuffle_buffer, repeat, drop_remainder,
                   _to_model_input, Order(seed, skip, spec.num_examples)), spec


def is_count(value) -> bool:
    """Whether `value` is a positive integer (bools are not)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


def checked_shuffle_buffer(data_config, shuffle: bool) -> int:
    """config.data.shuffle_buffer (default 10,000); a ZooError if shuffling with less than 1."""
    shuffle_buffer = data_config.get("shuffle_buffer", 10_000)
    if shuffle and shuffle_buffer < 1:
        raise ZooError(
            f"shuffle_buffer must be at least 1, got {shuffle_buffer}; set it to e.g. 10000"
        )
    return shuffle_buffer


def check_full_batch(spec, batch_size, split, repeat, drop_remainder) -> None:
    """A ZooError where a single pass that drops partial batches would yield none."""
    if not repeat and drop_remainder and batch_size > spec.num_examples:
        raise ZooError(
            f"batch_size {batch_size} is larger than the {spec.num_examples} examples of split "
            f"'{split}' of {spec.name}, so no full batch exists; pass a smaller batch size"
        )


@dataclasses.dataclass(frozen=True)
class Order:
    """Where a repeated pipeline starts: epochs shuffled by `seed` and their number, from
    example `skip` on, with `epoch_size` examples an epoch (0: unknown)."""
    seed: int = 0
    skip: int = 0
    epoch_size: int = 0


def batched(ds, batch_size, shuffle_buffer, repeat, drop_remainder, to_model_input,
            order=Order()):
    """Examples -> [repeated, each epoch shuffled (buffer > 0)] -> batches -> `to_model_input`
    -> prefetched, with the pipeline options of every zoo dataset (images and audio).

    Repeated, epoch e comes in an order that depends on `order.seed` and e alone, and the
    stream starts `order.skip` examples in: a training run resumed after k batches is given
    the batches the uninterrupted run would have had from its (k+1)-th on. (`ds` must then
    come in a fixed order: the sources' file shuffling is off for training.)
    """
    if repeat:
        ds = _epochs(ds, shuffle_buffer, order)
    elif shuffle_buffer:
        ds = ds.shuffle(shuffle_buffer, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(to_model_input, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE).with_options(_OPTIONS)


def _epochs(ds, shuffle_buffer, order):
    """`ds` repeated forever from example `order.skip`, epoch e shuffled with its own seed.
    Whole epochs before the start are not read at all; the rest of one is skipped."""
    first, offset = divmod(order.skip, order.epoch_size) if order.epoch_size else (0, order.skip)

    def epoch(number):
        if not shuffle_buffer:
            return ds
        # The epoch's number is the shuffle's op seed. Its graph seed is set here, inside the
        # traced function only: TensorFlow cannot pair a tensor op seed with a global seed of
        # 0 (its (0, 0) check would need the tensor's value).
        tf.random.set_seed(order.seed + 1)
        return ds.shuffle(shuffle_buffer, seed=number, reshuffle_each_iteration=False)

    return tf.data.Dataset.range(first, 2**62).flat_map(epoch).skip(offset)


def describe(data_config, split: str = "train") -> DatasetSpec:
    """The DatasetSpec of `split`, checked as `load` checks it, with resolution 0 (not resized).

    Like `load`, it prepares the embedded dataset, or downloads a TFDS one where the config
    allows, if it is not on disk yet.
    """
    return _open(data_config, split).spec


def _open(data_config, split: str) -> Source:
    dataset = data_config.dataset
    channels = data_config.get("channels")
    if channels not in CHANNEL_CHOICES or isinstance(channels, bool):
        raise ZooError(
            f"channels must be 1 (grayscale), 3 (RGB) or None (the dataset's own), "
            f"got {channels!r}; fix channels in the data config"
        )
    if dataset.startswith(folder.PREFIX):
        return folder.open_folder(dataset[len(folder.PREFIX):], split, channels)
    return tfds_source.open_tfds(
        dataset,
        split,
        channels,
        data_dir=data_config.get("data_dir"),
        download=data_config.get("download", False),
    )


def _convert_channels(image: tf.Tensor, channels: int) -> tf.Tensor:
    """uint8 [H, W, c] with c in 1..4 -> uint8 [H, W, channels]; any alpha channel is dropped."""
    have = image.shape[-1]
    if have in (2, 4):
        image, have = image[..., : have - 1], have - 1
    if have == channels:
        return image
    if channels == 3:
        return tf.image.grayscale_to_rgb(image)
    return tf.image.rgb_to_grayscale(image)


def _resize(image: tf.Tensor, resolution: int) -> tf.Tensor:
    # Antialiasing keeps downscaled images from aliasing; float32 out, values still 0..255.
    return tf.image.resize(image, (resolution, resolution), method="bilinear", antialias=True)


def _to_uint8(image: tf.Tensor) -> tf.Tensor:
    return tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)


def _to_model_input(images: tf.Tensor, labels: tf.Tensor) -> dict[str, tf.Tensor]:
    return {FEATURE: tf.cast(images, tf.float32) / 127.5 - 1.0, "label": labels}
