"""Checkpoints of a run: the latest few, the best one by a metric, and finding either again."""
import json
import os

import tensorflow as tf

from tfgan_zoo import files
from tfgan_zoo.errors import ZooError


class BestCheckpoint:
    """`<workdir>/checkpoints/best/`: the best checkpoint so far and `best.json` describing it."""

    def __init__(self, checkpoint, directory):
        self.directory = directory
        self.manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=1)
        self.record_path = os.path.join(directory, "best.json")
        self.record = None
        if os.path.exists(self.record_path):  # a resumed run continues the comparison
            with open(self.record_path) as f:
                self.record = json.load(f)

    def offer(self, step, results, primary):
        """Saves the checkpoint if `results[primary]` beats the best so far (lower is better)."""
        value = results[primary]
        if self.record is not None and value >= self.record["results"][primary]:
            return False
        self.manager.save(checkpoint_number=step)
        self.record = {"step": step, "primary": primary, "results": results}
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
    """Restores `path` into `checkpoint`, or says the checkpoint is from another model."""
    try:
        checkpoint.restore(path).expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        first = str(e).strip().splitlines()[0][:200]
        raise ZooError(f"checkpoint {path} does not fit the model in this run's config.json "
                       f"({first}); was config.json edited or the checkpoint copied from "
                       "another run?") from None
