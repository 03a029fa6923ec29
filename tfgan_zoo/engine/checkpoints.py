"""Checkpoints of a run: the latest few, the best one by a metric, and finding either again.

A checkpoint holds the GAN (networks, EMA copy, optimizers, latent random state) and, beside
it, the run's `Progress` (step counters, scheduled values). `make(gan)` builds that object and
`restore(gan_checkpoint, path)` reads it back, also from checkpoints written before `Progress`
existed.
"""
import collections
import json
import os

import tensorflow as tf
from absl import logging

from tfgan_zoo import files, kinds
from tfgan_zoo.errors import ZooError
from tfgan_zoo.kinds import LOWER

_PROGRESS = "progress"
BEST_RECORD = "best.json"


def make(gan):
    """The `tf.train.Checkpoint` of a run: the GAN and its progress."""
    return tf.train.Checkpoint(gan=gan, **{_PROGRESS: gan.progress})


class BestCheckpoint:
    """`<workdir>/checkpoints/best/`: the best checkpoint so far and `best.json` describing it.

    `primary` is the metric that decides and `direction` whether lower (FID) or higher (BLEU)
    is better. `best.json` names its checkpoint, and they move together: the new checkpoint is
    written beside the old one, then `best.json` is replaced in one rename, and only then is
    the old one deleted. A crash at any point leaves `best.json` naming a whole checkpoint.

    `write_every_offer`: write the checkpoint at every offer, then keep it only if it is the
    best; for multi-worker runs, where saving is a collective step every worker must take
    whatever its own verdict.
    """

    def __init__(self, checkpoint, directory, primary="fid", direction=LOWER,
                 write_every_offer=False):
        self.checkpoint, self.directory = checkpoint, directory
        self.primary, self.direction = primary, direction
        self.write_every_offer = write_every_offer
        self.record_path = os.path.join(directory, BEST_RECORD)
        self.record = None
        if os.path.exists(self.record_path):  # a resumed run continues the comparison
            with open(self.record_path) as f:
                self.record = json.load(f)

    def offer(self, step, results):
        """Saves the checkpoint if `results[primary]` beats the best so far."""
        value = results[self.primary]
        name = f"ckpt-{step}"
        path = os.path.join(self.directory, name)
        if self.write_every_offer:
            self.checkpoint.write(path)
        if self.record is not None and not kinds.better(
                self.direction, value, self.record["results"][self.primary]):
            if self.write_every_offer and self.record.get("checkpoint") != name:
                _delete_checkpoint(self.directory, name)
            return False
        if not self.write_every_offer:
            self.checkpoint.write(path)
        self.record = {"step": step, "primary": self.primary, "results": results,
                       "checkpoint": name}
        files.write_json(self.record_path, self.record)
        _delete_checkpoints(self.directory, keep=name)
        return True


def _delete_checkpoint(directory, name):
    """Removes checkpoint `name`'s files (.index, .data-*) from `directory`."""
    for entry in os.listdir(directory):
        if entry.split(".", 1)[0] == name:
            os.remove(os.path.join(directory, entry))


def _delete_checkpoints(directory, keep):
    """Removes every checkpoint in `directory` but `keep` (its files: .index, .data-*), and the
    CheckpointManager state file that runs before `best.json` named its checkpoint had."""
    for entry in os.listdir(directory):
        stem = entry.split(".", 1)[0]
        if (stem.startswith("ckpt-") and stem != keep) or entry == "checkpoint":
            os.remove(os.path.join(directory, entry))


def best_path(directory):
    """The best checkpoint in `directory` (checkpoints/best/), or None: the one `best.json`
    names, or for runs from before it named one, the CheckpointManager's latest."""
    record_path = os.path.join(directory, BEST_RECORD)
    if os.path.exists(record_path):
        with open(record_path) as f:
            name = json.load(f).get("checkpoint")
        if name:
            return os.path.join(directory, name)
    return tf.train.latest_checkpoint(directory)


def find(workdir, which="best"):
    """The checkpoint path for `which`: "best" (falls back to latest), "latest", or a step."""
    best = best_path(workdir.best_checkpoints)
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


def restore_latest(checkpoint, manager, log):
    """Restores the newest of `manager`'s checkpoints that reads whole into `checkpoint` and
    returns its path (None if there is none). One that fails to read (truncated, corrupt) is
    skipped with a warning naming it; an older one is used."""
    # The state file lists them oldest first (`manager.checkpoints` omits those of an earlier
    # process).
    state = tf.train.get_checkpoint_state(manager.directory)
    paths = list(state.all_model_checkpoint_paths) if state else []
    for path in reversed(paths):
        problem = _unreadable(path)
        if problem:
            log(f"warning: checkpoint {path} is unreadable ({problem}); skipping it and trying "
                "the one before")
            continue
        restore(checkpoint, path)
        return path
    if paths:
        raise ZooError(f"no checkpoint in {manager.directory} reads whole; move the folder "
                       "away to train from scratch")
    return None


def _unreadable(path):
    """Why the checkpoint at `path` cannot be read in full, or "" if every value reads."""
    try:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except (tf.errors.OpError, ValueError, IndexError) as e:  # IndexError: a short data file
        return str(e).strip().splitlines()[0][:160]
    return ""


def restore(checkpoint, path):
    """Restores `path` into `checkpoint` (from `make`), or says the checkpoint is from another
    model. A checkpoint from before the run's progress was saved restores the GAN alone; the
    step is then the generator optimizer's updates, which is what it counted. One written before
    a penalty or EMA was turned on restores, and those parts start fresh (_ADDED_BY_SETTING)."""
    gan = getattr(checkpoint, "gan", None)
    try:
        legacy = gan is not None and not any(name.startswith(f"{_PROGRESS}/")
                                             for name, _ in tf.train.list_variables(path))
        target = tf.train.Checkpoint(gan=gan) if legacy else checkpoint
        target.restore(path).expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        # Everything the checkpoint holds is restored by now; what it lacks may be a part that
        # a setting turned on at resume added, which then starts fresh.
        missing = _missing_variables(target, path) if isinstance(e, AssertionError) else []
        missing = [p for p in missing
                   if not p.startswith(_ADDED_BY_ZOO) and p != _SAVE_COUNTER]
        added = _added_settings(missing, path)
        if not isinstance(e, AssertionError) or (missing and not added):
            first = (f"it holds no {missing[0]}" if missing
                     else str(e).strip().splitlines()[0][:200])
            raise ZooError(f"checkpoint {path} does not fit the model in this run's config.json "
                           f"({first}); was config.json edited or the checkpoint copied from "
                           "another run?") from None
        _start_added_parts(gan, added, path)
    if legacy:
        gan.progress.step.assign(gan.g_optimizer.iterations)


# Parts of a GAN that turning a setting on adds, by their path in a checkpoint: the setting and
# how the part starts when a checkpoint written without it is restored. A penalty's logged mean
# holds no state worth keeping; an EMA copy starts as the restored generator, as a new run's
# copy starts as its generator (the warm-up then follows the run's step).
_ADDED_BY_SETTING = {
    "gan/trackers/gp/": ("config.gan.gp_weight", "its logged mean starts at zero"),
    "gan/trackers/r1/": ("config.gan.r1_gamma", "its logged mean starts at zero"),
    "gan/trackers/mode_seeking/": ("config.gan.mode_seeking", "its logged mean starts at zero"),
    "gan/augment_rng/": ("config.gan.augment", "its random stream starts from the run's seed"),
    "gan/ema_generator/": ("config.gan.ema_decay", "the EMA copy starts as the restored "
                                                    "generator"),
    # A LossScaleOptimizer checkpoints as the optimizer it wraps plus its loss scale, so a
    # float32 checkpoint lacks only that (and a float16 one read at float32 leaves it unread).
    # "optimizer" is Keras' own of the GAN model, unused, which Keras wraps at float16 too.
    **{f"gan/{optimizer}/loss_scale/": ("config.train.precision=mixed_float16",
                                        "the loss scales start at 32768, as in a new run")
       for optimizer in ("d_optimizer", "g_optimizer", "pretrain_optimizer", "optimizer")},
}
# Counters the zoo added to every run after checkpoints without them were written: they start
# at zero (tests/fixtures/runs_v1).
# tf.train.Checkpoint creates its save counter at its first save(): a best checkpoint that
# `write()` stored before the run's first periodic save has none, and needs none.
_SAVE_COUNTER = "save_counter"
_ADDED_BY_ZOO = ("progress/nonfinite", "progress/first_nonfinite_", "progress/overflows")
_VALUE = "/.ATTRIBUTES/VARIABLE_VALUE"  # how a checkpoint names a variable's value


def _missing_variables(checkpoint, path):
    """Paths ("gan/trackers/gp/total") of the variables of `checkpoint` that `path` holds no
    value for, named as a checkpoint names them: the first path a breadth-first walk finds."""
    saved = {name for name, _ in tf.train.list_variables(path)}
    view = tf.train.TrackableView(checkpoint)
    seen, queue, missing = {id(checkpoint)}, collections.deque([(checkpoint, "")]), []
    while queue:
        obj, where = queue.popleft()
        if isinstance(obj, tf.Variable) and where + _VALUE not in saved:
            missing.append(where)
        for name, child in view.children(obj).items():
            if id(child) not in seen:
                seen.add(id(child))
                queue.append((child, f"{where}/{name}" if where else name))
    return missing


def _added_settings(missing, path):
    """The (config key, how its part starts) of the parts that account for every one of the
    `missing` variable paths, each absent from checkpoint `path` as a whole; () if anything
    else is missing."""
    prefixes = {prefix for prefix in _ADDED_BY_SETTING
                if any(p.startswith(prefix) for p in missing)}
    explained = all(any(p.startswith(prefix) for prefix in prefixes) for p in missing)
    # A part the checkpoint holds some of is a mismatch, not a part added by a setting.
    partial = any(name.startswith(prefix) for name, _ in tf.train.list_variables(path)
                  for prefix in prefixes)
    if not missing or not explained or partial:
        return ()
    # One per setting, where a setting adds several parts.
    return tuple(dict.fromkeys(_ADDED_BY_SETTING[prefix] for prefix in sorted(prefixes)))


def _start_added_parts(gan, added, path):
    """Starts the parts that `added` settings bring and checkpoint `path` lacks, saying so."""
    for key, start in added:
        if key == "config.gan.ema_decay":
            # Layer by layer: the frozen copy orders its model-level weights differently.
            for ema_layer, layer in zip(gan.ema_generator.layers, gan.generator.layers,
                                        strict=True):
                ema_layer.set_weights(layer.get_weights())
        logging.warning("%s is on, but checkpoint %s was written without it: %s", key, path,
                        start)
