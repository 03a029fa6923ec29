"""Images from a directory tree (`dataset: "folder:/path"`), with labels from class subfolders.

Every image is opened once with PIL before training starts, so that a corrupt file is skipped
with a warning naming it instead of stopping a run hours in.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import pathlib

import tensorflow as tf
from absl import logging
from PIL import Image

from tfgan_zoo.data.spec import DatasetSpec, Source
from tfgan_zoo.errors import ZooError

PREFIX = "folder:"
EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
SPLITS = ("train",)
# What tf.io.decode_image reads, as PIL names it (MPO: multi-picture JPEG from cameras).
_DECODABLE_FORMATS = frozenset({"PNG", "JPEG", "MPO", "BMP", "GIF"})
# decode_image refuses channels=1 for these; they are decoded as RGB and converted.
_RGB_ONLY_FORMATS = frozenset({"BMP", "GIF"})
_GRAYSCALE_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})


@dataclasses.dataclass(frozen=True)
class _Image:
    path: str
    label: int
    format: str
    grayscale: bool


def open_folder(root: str, split: str, channels: int | None) -> Source:
    """Scans `root` for images, skipping corrupt ones; a folder has the one split "train"."""
    name = PREFIX + root
    if split not in SPLITS:
        raise ZooError(
            f"unknown split '{split}' for {name}; valid splits: {', '.join(SPLITS)} "
            "(a folder is one split: make a second folder for evaluation data)"
        )
    paths = find_images(root)
    class_names = class_names_of(root, paths)
    index = {class_name: i for i, class_name in enumerate(class_names)}
    labels = [index[_first_part(root, p)] if class_names else 0 for p in paths]
    images = _valid_images(root, paths, labels)
    if not images:
        raise ZooError(
            f"all {len(paths)} image files in {root} are corrupt or unreadable (see the warnings "
            "above); replace them with PNG, JPEG, BMP or GIF files that open in an image viewer"
        )
    if channels is None:
        channels = 1 if all(image.grayscale for image in images) else 3
    spec = DatasetSpec(
        name=name,
        split=split,
        resolution=0,
        channels=channels,
        num_classes=len(class_names),
        class_names=class_names,
        num_examples=len(images),
    )

    def read(shuffle_files: bool) -> tf.data.Dataset:
        del shuffle_files  # the pipeline's shuffle buffer does the shuffling
        ds = tf.data.Dataset.from_tensor_slices(
            (
                [image.path for image in images],
                tf.constant([image.label for image in images], tf.int64),
                [image.format in _RGB_ONLY_FORMATS for image in images],
            )
        )
        return ds.map(
            lambda path, label, rgb_only: (_decode(path, rgb_only, channels), label),
            num_parallel_calls=tf.data.AUTOTUNE,
        )

    return Source(spec=spec, read=read)


def find_images(root: str) -> list[str]:
    """Sorted paths of the image files under `root`, by extension in any case; hidden skipped."""
    return find_files(root, EXTENSIONS, "image", "images")


def find_files(root: str, extensions: tuple[str, ...], kind: str, plural: str) -> list[str]:
    """Sorted paths of the files under `root` with one of `extensions` (in any case), hidden
    files and folders skipped; a ZooError naming `kind` folders and `plural` files if there is
    no such folder or nothing in it."""
    if not os.path.exists(root):
        raise ZooError(f"{kind} folder {root} does not exist; pass folder:/path/to/an/existing/dir")
    if not os.path.isdir(root):
        raise ZooError(f"{root} is not a directory; pass folder:/path/to/a/dir/of/"
                       f"{plural.replace(' ', '/')}")
    paths = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
        paths.extend(
            os.path.join(directory, f)
            for f in files
            if f.lower().endswith(extensions) and not f.startswith(".")
        )
    if not paths:
        raise ZooError(
            f"no {plural} in {root} (looked for {', '.join(extensions)} in any case, in all "
            f"subfolders); put the {plural} there, one subfolder per class if they have labels"
        )
    return sorted(paths)


def class_names_of(root: str, paths: list[str]) -> tuple[str, ...]:
    """Sorted first-level subfolder names if every image lies in one, else () (unlabeled)."""
    if any(len(pathlib.PurePath(os.path.relpath(p, root)).parts) < 2 for p in paths):
        return ()
    return tuple(sorted({_first_part(root, p) for p in paths}))


def check_image(path: str) -> tuple[str, bool]:
    """(PIL format, is grayscale) of the image at `path`; raises ValueError saying why it is bad.

    verify() checks the structure but not the pixel data, so a truncated file passes it; a full
    load() after reopening (verify leaves the image unusable) catches that.
    """
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            image.load()
            image_format, grayscale = image.format, _is_grayscale(image)
    except Exception as e:  # PIL raises OSError, SyntaxError, struct.error, ... for bad files
        raise ValueError(f"{type(e).__name__}: {e}") from e
    if image_format not in _DECODABLE_FORMATS:
        raise ValueError(f"it is a {image_format} image, which TensorFlow cannot decode")
    return image_format, grayscale


def _is_grayscale(image: Image.Image) -> bool:
    """Whether a loaded PIL image is gray only; a palette of grays counts (GIFs store gray so)."""
    if image.mode in ("P", "PA"):
        palette = image.getpalette() or [0, 0, 0]
        return palette[0::3] == palette[1::3] == palette[2::3]
    return image.mode in _GRAYSCALE_MODES


def _valid_images(root: str, paths: list[str], labels: list[int]) -> list[_Image]:
    """The images that open cleanly; each other one is logged as a warning and left out."""

    def check(path: str) -> tuple[str, bool] | str:
        try:
            return check_image(path)
        except ValueError as e:
            return str(e)

    # PIL decodes with the GIL released, so threads make the scan of a large folder faster.
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = list(pool.map(check, paths))
    images = []
    for path, label, result in zip(paths, labels, results, strict=True):
        if isinstance(result, str):
            logging.warning("Skipping corrupt image %s: %s", path, result)
        else:
            images.append(_Image(path, label, *result))
    if len(images) < len(paths):
        logging.warning(
            "Skipped %d of %d image files in %s as corrupt or unreadable.",
            len(paths) - len(images),
            len(paths),
            root,
        )
    return images


def _first_part(root: str, path: str) -> str:
    return pathlib.PurePath(os.path.relpath(path, root)).parts[0]


def _decode(path: tf.Tensor, rgb_only: tf.Tensor, channels: int) -> tf.Tensor:
    """uint8 [H, W, channels] image from the file at `path` (first frame of an animation)."""
    data = tf.io.read_file(path)
    if channels == 3:
        return tf.io.decode_image(data, channels=3, expand_animations=False)
    return tf.cond(
        rgb_only,
        lambda: tf.image.rgb_to_grayscale(
            tf.io.decode_image(data, channels=3, expand_animations=False)
        ),
        lambda: tf.io.decode_image(data, channels=1, expand_animations=False),
    )
