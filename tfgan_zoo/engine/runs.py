"""Reopening a finished training run: its config, its data spec and a checkpoint restored into
the GAN. What evaluate, prune, export and generate start from."""
import dataclasses
import os

from ml_collections import config_dict

from tfgan_zoo import config as config_lib
from tfgan_zoo import data, models, pruning
from tfgan_zoo.engine import checkpoints, training
from tfgan_zoo.engine.workdir import Workdir
from tfgan_zoo.errors import ZooError


@dataclasses.dataclass
class Run:
    workdir: Workdir
    config: config_dict.ConfigDict
    spec: data.DatasetSpec
    gan: "training.GAN"
    checkpoint: str  # path of the restored checkpoint, or "untrained"

    @property
    def family(self):
        return models.get_family(self.config.model_name)

    @property
    def kind(self):
        """The run's kind of sample (tfgan_zoo.kinds)."""
        return models.kind_of(self.family)

    @property
    def name(self):
        """The checkpoint's file name ("ckpt-4000"), or "untrained"."""
        return os.path.basename(self.checkpoint)

    @property
    def step(self):
        """The restored checkpoint's adversarial step."""
        return int(self.gan.progress.step.numpy())

    def plain_sampler(self):
        """The generator to sample and export from, as a plain Keras copy: the EMA generator
        where the run keeps one, a pruned run's masks folded into its kernels."""
        return pruning.strip(self.gan.sampler)


def saved_config(workdir):
    """The run's config.json as a ConfigDict, completed with sections added since it was
    written; a ZooError if the directory holds no run."""
    config = config_dict.ConfigDict(workdir.run_config())
    if "prune" not in config:  # a run from before pruning existed
        config.prune = {}
    for key, value in config_lib.prune_defaults().items():
        if key not in config.prune:  # a run from before the key existed: its old behaviour
            config.prune[key] = value
    return config


def _dataset(workdir, config, kind):
    """What the run trained on: its dataset.json, so that a run copied to a machine without
    the data still exports and generates; the data's own description for older runs."""
    saved = workdir.saved_dataset()
    if saved is None:
        return kind.describe(config)
    try:
        return data.DatasetSpec.from_dict(saved)
    except (TypeError, KeyError) as e:
        raise ZooError(f"{workdir.dataset_path} does not describe a dataset ({e}); delete it, "
                       "and the run describes its dataset from the data itself again") from None


def load(workdir_path, which="best", *, config=None, data_dir=None):
    """Builds the run's GAN and restores checkpoint `which` (best, latest, a step, or
    "untrained" for fresh weights). `config` replaces the run's own where the caller has
    already read and checked it; `data_dir` overrides config.data.data_dir."""
    workdir = Workdir(workdir_path)
    config = config or saved_config(workdir)
    if data_dir:
        config.data.data_dir = data_dir
    kind = models.kind_of_config(config)
    spec = kind.model_spec(_dataset(workdir, config, kind), config)
    gan = training.build_gan(config, spec)
    path = "untrained"
    if which != "untrained":
        path = checkpoints.find(workdir, which)
        checkpoints.restore(checkpoints.make(gan), path)
    return Run(workdir, config, spec, gan, path)
