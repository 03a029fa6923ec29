"""The run directory: where a training run keeps everything it writes.

  <workdir>/config.json     the resolved config of the run
  <workdir>/dataset.json    what it trained on (channels, classes, size): export and generate
                            reopen the run from it, without the data
  <workdir>/checkpoints/    TensorFlow checkpoints, the last `keep_checkpoints` of them
  <workdir>/checkpoints/best/  the best checkpoint by FID and best.json (with evaluation on)
  <workdir>/eval/           evaluate's JSON reports, one per scored checkpoint
  <workdir>/logs/           TensorBoard event files (scalars, samples)
  <workdir>/samples/        samples from fixed latents, as the run's kind writes them
                            (tfgan_zoo.kinds: image grids, audio clips, text)
"""
import dataclasses
import json
import os

from tfgan_zoo import config as config_lib
from tfgan_zoo import files
from tfgan_zoo.errors import ZooError

# What a resumed run may not change: the checkpoint would not fit the new model (a pruned run's
# also holds masks), or the run would silently switch data (audio resampled to another rate is
# other data for the same model). Training length, logging, optimizers, the GAN's losses,
# penalties and EMA (tfgan_zoo.engine.checkpoints starts new ones fresh) and data_dir may change.
FIXED_KEYS = ("model_name", "model", "data.dataset", "data.channels", "data.sample_rate",
              "prune")


class Workdir:
    def __init__(self, path):
        self.path = os.path.abspath(os.path.expanduser(path))
        self.config_path = os.path.join(self.path, "config.json")
        self.dataset_path = os.path.join(self.path, "dataset.json")
        self.checkpoints = os.path.join(self.path, "checkpoints")
        self.best_checkpoints = os.path.join(self.checkpoints, "best")
        self.eval_dir = os.path.join(self.path, "eval")
        self.logs = os.path.join(self.path, "logs")
        self.samples = os.path.join(self.path, "samples")

    def saved_config(self):
        """The config.json of an earlier run here, or None for a new workdir."""
        return _read_json(self.config_path, "use a new --workdir or move that file away")

    def run_config(self):
        """The config.json of the run here as a dict; a ZooError if the directory holds none.
        Needs no TensorFlow, so the verbs check their --workdir before loading it."""
        saved = self.saved_config()
        if saved is None:
            raise ZooError(f"{self.path} holds no training run (no config.json); pass the "
                           "--workdir that tfgan_zoo.train wrote")
        return saved

    def check(self, config):
        """Raises ZooError, before anything is written, if this run cannot use the workdir."""
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise ZooError(f"--workdir {self.path} is a file, not a directory; choose another path")
        existing = _nearest_existing(self.path)
        if not os.path.isdir(existing):
            raise ZooError(f"--workdir {self.path} cannot be created: {existing} is not a "
                           "directory; choose another path")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ZooError(f"--workdir {self.path} is not writable ({existing} refuses writes); "
                           "choose a directory you can write to")
        saved = self.saved_config()
        if saved is None:
            return
        new = json.loads(config_lib.to_json(config))
        saved = _with_values_before_keys_existed(saved, new)
        for key in FIXED_KEYS:
            old_value, new_value = _get(saved, key), _get(new, key)
            if _differs(old_value, new_value):
                raise ZooError(f"{self.path} holds a run with a different config.{key} "
                               f"({_first_difference(old_value, new_value, key)}); "
                               "use a new --workdir, or the same settings to resume")

    def saved_dataset(self):
        """The run's dataset.json as a dict, or None (a run from before the file existed)."""
        return _read_json(self.dataset_path, "delete it, and the run describes its dataset "
                                             "from the data itself again")

    def write_dataset(self, spec):
        """Records `spec` (a data.DatasetSpec) as dataset.json."""
        files.write_json(self.dataset_path, dataclasses.asdict(spec))

    def create(self, config):
        for path in (self.path, self.checkpoints, self.logs, self.samples):
            os.makedirs(path, exist_ok=True)
        files.write_text(self.config_path, config_lib.to_json(config))


def _read_json(path, advice):
    """The JSON in `path`, or None if there is no such file; ZooError with `advice` if it
    cannot be read."""
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise ZooError(f"{path} is unreadable ({e}); {advice}") from None


def _get(tree, dotted):
    for key in dotted.split("."):
        tree = tree.get(key) if isinstance(tree, dict) else None
    return tree


# Keys whose absence from a saved config does not mean the new default: a run saved before
# model.clusters existed was not self-conditioned, though the default dcgan run now is; one saved
# before model.label_projection had the Odena ACGAN D, though the acgan recipe now projects.
_BEFORE_THEY_EXISTED = {("model", "clusters"): 0, ("model", "label_projection"): False}


def _with_values_before_keys_existed(saved, new):
    """`saved` with the value of each key of _BEFORE_THEY_EXISTED it lacks and `new` has."""
    for (section, key), value in _BEFORE_THEY_EXISTED.items():
        if key in new.get(section, {}) and key not in saved.get(section, {}):
            saved = {**saved, section: {**saved.get(section, {}), key: value}}
    return saved


def _differs(saved, new):
    """Whether a saved config value differs from the new one. Keys the saved config lacks were
    added to the zoo after that run was made and are taken to be at their (new) defaults."""
    if isinstance(saved, dict) and isinstance(new, dict):
        return any(_differs(value, new.get(key)) for key, value in saved.items())
    return saved != new


def _nearest_existing(path):
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _first_difference(old, new, prefix=""):
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old):
            if _differs(old[key], new.get(key)):
                return _first_difference(old.get(key), new.get(key), f"{prefix}.{key}")
    return f"{prefix.lstrip('.') or 'value'}: saved {old!r}, now {new!r}"
