"""Samples from wherever a generator lives: an exported SavedModel, a .tflite file, or a run
directory. What `python -m tfgan_zoo.generate` calls.

Every source draws the same latents for the same seed (`gan.stateless_latents`, which is also
what the SavedModel's `sample` signature runs), so the three give the same pictures up to the
round-off of their format.
"""
import dataclasses
import os

import numpy as np
import tensorflow as tf

from tfgan_zoo import exports, runs, saved_model, tflite
from tfgan_zoo.errors import ZooError
from tfgan_zoo.gan import stateless_latents


@dataclasses.dataclass
class Samples:
    images: np.ndarray  # float32 [N, H, W, C] in [-1, 1]
    labels: np.ndarray | None  # int32 [N] class ids of a conditional model
    source: str  # what produced them, for the command line


def generate(path, count, *, seed=0, label=-1, which="best"):
    """`count` samples from `path`: an export version directory, an export model directory
    (its highest version), a .tflite file inside an export, or a training run directory.
    `label`: the class of a conditional model, or -1 for classes in turn."""
    if count < 1:
        raise ZooError(f"--num must be at least 1, got {count}")
    path = os.path.abspath(path)
    if path.endswith(".tflite"):
        return _from_tflite(path, count, seed, label)
    if os.path.exists(os.path.join(path, "config.json")):
        return _from_run(path, count, seed, label, which)
    version_dir = _version_dir(path)
    if version_dir:
        return _from_saved_model(version_dir, count, seed, label)
    raise ZooError(f"{path} is neither an export (export/<name>[/<version>] with "
                   "saved_model.pb), a .tflite file, nor a training run (config.json); pass one "
                   "of those")


def _version_dir(path):
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        return path
    versions = exports.versions(path, servable=True)
    return os.path.join(path, str(versions[-1])) if versions else None


def _labels(count, label, num_classes):
    if not num_classes:
        if label != -1:
            raise ZooError(f"--label={label}: this generator is unconditional and takes no "
                           "class; leave --label out")
        return None
    if not -1 <= label < num_classes:
        raise ZooError(f"--label must be -1 (classes in turn) or a class id in "
                       f"[0, {num_classes}), got {label}")
    if label >= 0:
        return np.full([count], label, np.int32)
    return np.arange(count, dtype=np.int32) % num_classes


def _from_saved_model(version_dir, count, seed, label):
    meta = exports.read_metadata(version_dir)
    # The CLI's messages before the graph's own checks.
    _labels(count, label, meta["num_classes"])
    if count > saved_model.MAX_COUNT:
        raise ZooError(f"--num={count} is more than one `sample` call of an export gives; ask "
                       f"for at most {saved_model.MAX_COUNT}, or generate from the run directory")
    signature = tf.saved_model.load(version_dir).signatures["sample"]
    inputs = {"count": tf.constant(count, tf.int32), "seed": tf.constant(seed, tf.int64)}
    if meta["num_classes"]:
        inputs["label"] = tf.constant(label, tf.int32)
    outputs = {k: v.numpy() for k, v in signature(**inputs).items()}
    return Samples(outputs["images_float"], outputs.get("label"), f"SavedModel {version_dir}")


def _from_tflite(path, count, seed, label):
    if not os.path.exists(path):
        raise ZooError(f"{path} does not exist; export one with python -m tfgan_zoo.export "
                       "--format=tflite")
    meta = exports.read_metadata(os.path.dirname(os.path.dirname(path)))
    z = stateless_latents(count, meta["latent_dim"], meta["latent_distribution"], seed).numpy()
    labels = _labels(count, label, meta["num_classes"])
    return Samples(tflite.run(path, z, labels), labels, f"LiteRT {path}")


def _from_run(path, count, seed, label, which):
    run = runs.load(path, which)
    generator = run.plain_sampler()
    model = run.config.model
    z = stateless_latents(count, model.latent_dim, model.latent_distribution, seed).numpy()
    labels = _labels(count, label, run.gan.num_classes)
    images = generator(z if labels is None else [z, labels], training=False).numpy()
    return Samples(images, labels, f"{run.name} of {path}")
