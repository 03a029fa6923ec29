"""Samples from wherever a generator lives: an exported SavedModel, a .tflite file, or a run
directory. What `python -m tfgan_zoo.generate` calls.

Every source draws the same latents for the same seed (`latents.Prior.stateless`, which is
also what the SavedModel's `sample` signature runs), so the three give the same samples up to
the round-off of their format. The source's kind of sample (tfgan_zoo.kinds) says how
`generate` writes them.
"""
import dataclasses
import os

import numpy as np
import tensorflow as tf

from tfgan_zoo import kinds, latents
from tfgan_zoo.data.spec import DatasetSpec
from tfgan_zoo.deployment import exports, saved_model, tflite
from tfgan_zoo.engine import runs
from tfgan_zoo.errors import ZooError


@dataclasses.dataclass
class Samples:
    samples: np.ndarray  # float32 [N, ...], the generator's output (images: [N, H, W, C])
    labels: np.ndarray | None  # int32 [N] class ids of a conditional model
    source: str  # what produced them, for the command line
    kind: kinds.Kind  # how to write them
    spec: DatasetSpec  # what the kind needs to know of them (an audio sample rate)


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
    return latents.classes_in_turn(count, num_classes).numpy()


def _from_saved_model(version_dir, count, seed, label):
    meta = exports.read_metadata(version_dir)
    # The CLI's messages before the graph's own checks.
    _labels(count, label, meta["num_classes"])
    limit = saved_model.max_count(meta["latent_dim"])
    if count > limit:
        raise ZooError(f"--num={count} is more than one `sample` call of this export gives; ask "
                       f"for at most {limit}, or generate from the run directory or a .tflite "
                       "file of the export, which draw the same samples for the same --seed")
    signature = tf.saved_model.load(version_dir).signatures["sample"]
    inputs = {"count": tf.constant(count, tf.int32), "seed": tf.constant(seed, tf.int64)}
    if meta["num_classes"]:
        inputs["label"] = tf.constant(label, tf.int32)
    outputs = {k: v.numpy() for k, v in signature(**inputs).items()}
    kind = kinds.get(meta["kind"])
    return Samples(outputs[kind.float_output], outputs.get("label"), f"SavedModel {version_dir}",
                   kind, _spec(meta))


def _from_tflite(path, count, seed, label):
    if not os.path.exists(path):
        raise ZooError(f"{path} does not exist; export one with python -m tfgan_zoo.export "
                       "--format=tflite")
    meta = exports.read_metadata(os.path.dirname(os.path.dirname(path)))
    prior = latents.Prior(meta["latent_dim"], meta["latent_distribution"])
    z = prior.stateless(count, seed).numpy()
    labels = _labels(count, label, meta["num_classes"])
    kind = kinds.get(meta["kind"])
    return Samples(tflite.run(path, z, labels, xnnpack=tflite.xnnpack_allowed(kind)), labels,
                   f"LiteRT {path}", kind, _spec(meta))


def _from_run(path, count, seed, label, which):
    run = runs.load(path, which)
    generator = run.plain_sampler()
    z = run.gan.prior.stateless(count, seed).numpy()
    labels = _labels(count, label, run.gan.num_classes)
    # In the chunks one `sample` call of an export may take: a generator's memory grows with
    # its latents (text's are T x V values a sequence).
    chunk = saved_model.max_count(run.gan.latent_dim)
    samples = np.concatenate([
        generator(z[i:i + chunk] if labels is None else [z[i:i + chunk], labels[i:i + chunk]],
                  training=False).numpy() for i in range(0, count, chunk)])
    return Samples(samples, labels, f"{run.name} of {path}", run.kind, run.spec)


def _spec(meta):
    """The DatasetSpec an export recorded; exports written before it was recorded (images)
    describe what an image needs from the rest of their metadata."""
    if "dataset" in meta:
        saved = meta["dataset"]
        return DatasetSpec.from_dict(saved)
    return DatasetSpec(name="", split="train", resolution=meta["shape"][0],
                       channels=meta["shape"][-1], num_classes=meta["num_classes"],
                       class_names=tuple(meta["class_names"]), num_examples=0)
