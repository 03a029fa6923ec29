"""Checkpoints of a run: the latest few, the best one by a metric, and finding either again.

A checkpoint holds the GAN (networks, EMA copy, optimizers, latent random state) and, beside
it, the run's `Progress` (step counters, scheduled values). `make(gan)` builds that object and
`restore(gan_checkpoint, path)` reads it back, also from checkpoints written before `Progress`
existed.
"""
import json
import os

import tensorflow as tf

from tfgan_zoo import files, kinds
from tfgan_zoo.errors import ZooError
from tfgan_zoo.kinds import LOWER

_PROGRESS = "progress"


def make(gan):
    """The `tf.train.Checkpoint` of a run: the GAN and its progress."""
    return tf.train.Checkpoint(gan=gan, **{_PROGRESS: gan.progress})


class BestCheckpoint:
    """`<workdir>/checkpoints/best/`: the best checkpoint so far and `best.json` describing it.

    `primary` is the metric that decides and `direction` whether lower (FID) or higher (BLEU)
    is better.
    """

    def __init__(self, checkpoint, directory, primary="fid", direction=LOWER):
        self.directory = directory
        self.primary, self.direction = primary, direction
        self.manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=1)
        self.record_path = os.path.join(directory, "best.json")
        self.record = None
        if os.path.exists(self.record_path):  # a resumed run continues the comparison
            with open(self.record_path) as f:
                self.record = json.load(f)

    def offer(self, step, results):
        """Saves the checkpoint if `results[primary]` beats the best so far."""
        value = results[self.primary]
        if self.record is not None and not kinds.better(
                self.direction, value, self.record["results"][self.primary]):
            return False
        self.manager.save(checkpoint_number=step)
        self.record = {"step": step, "primary": self.primary, "results": results}
        files.write_json(self.record_path, self.record)
        return True


def find(workdir, which="best"):
    """The checkpoint path for `which`: "best" (falls back to latest), "latest", or a step."""
    best = tf.train.latest_checkpoint(os.path.join(workdir.checkpoints, "best"))
    latest = tf.train.latest_checkpoint(workdir.checkpoints)
    if which == "best" and best:
        return best
    if which in ("best", "latest"):
        if latest:
            return latest
        raise ZooError(f"{workdir.path} has no checkpoint; train it first with "
                       f"python -m tfgan_zoo.train --workdir={workdir.path}")
    path = os.path.join(workdir.checkpoints, f"ckpt-{which}")
    if not str(which).isdigit() or not tf.io.gfile.exists(path + ".index"):
        kept = sorted(int(p[len("ckpt-"):-len(".index")]) for p in os.listdir(workdir.checkpoints)
                      if p.startswith("ckpt-") and p.endswith(".index")) \
            if os.path.isdir(workdir.checkpoints) else []
        raise ZooError(f"no checkpoint {which!r} in {workdir.checkpoints}; use best, latest or "
                       f"one of the kept steps: {', '.join(map(str, kept)) or 'none'}")
    return path


def restore(checkpoint, path):
    """Restores `path` into `checkpoint` (from `make`), or says the checkpoint is from another
    model. A checkpoint from before the run's progress was saved restores the GAN alone; the
    step is then the generator optimizer's updates, which is what it counted."""
    gan = getattr(checkpoint, "gan", None)
    try:
        legacy = gan is not None and not any(name.startswith(f"{_PROGRESS}/")
                                             for name, _ in tf.train.list_variables(path))
        target = tf.train.Checkpoint(gan=gan) if legacy else checkpoint
        target.restore(path).expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        first = str(e).strip().splitlines()[0][:200]
        raise ZooError(f"checkpoint {path} does not fit the model in this run's config.json "
                       f"({first}); was config.json edited or the checkpoint copied from "
                       "another run?") from None
    if legacy:
        gan.progress.step.assign(gan.g_optimizer.iterations)
