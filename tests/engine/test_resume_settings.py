"""Resuming a run with changed settings: a penalty or EMA turned on mid-run starts fresh and
trains on; a setting a checkpoint or the data cannot follow is refused, naming it."""
import shutil

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

from tfgan_zoo import config as config_lib
from tfgan_zoo.engine import runs, training
from tfgan_zoo.engine.workdir import Workdir
from tfgan_zoo.errors import ZooError


def _config(data_dir, num_steps, **gan):
    config = config_lib.load("dcgan", "tiny")
    config.data.data_dir = data_dir
    config.train.num_steps = num_steps
    config.gan.ema_decay = 0.0
    config.gan.update(gan)
    return config


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory, digits_data_dir):
    """A run trained to step 2 without penalties or EMA."""
    workdir = tmp_path_factory.mktemp("plain") / "run"
    training.train(_config(digits_data_dir, 2), str(workdir), log=lambda _: None)
    return workdir


def _resumed(plain_run, tmp_path, config):
    """Trains a copy of `plain_run` on to config.train.num_steps; returns (result, workdir)."""
    workdir = tmp_path / "run"
    shutil.copytree(plain_run, workdir)
    return training.train(config, str(workdir), log=lambda _: None), str(workdir)


@pytest.mark.parametrize("key, tag", [("gp_weight", "gp"), ("r1_gamma", "r1")])
def test_a_penalty_turned_on_at_resume_trains_on(plain_run, tmp_path, digits_data_dir, key,
                                                  tag):
    result, workdir = _resumed(plain_run, tmp_path,
                               _config(digits_data_dir, 4, **{key: 1.0}))
    assert (result.start_step, result.end_step) == (2, 4)
    # The penalty's tracker starts at zero in the resumed run and is logged from then on.
    acc = event_accumulator.EventAccumulator(f"{workdir}/logs", size_guidance={"tensors": 0})
    acc.Reload()
    assert [e.step for e in acc.Tensors(f"train/{tag}")] == [4]


def test_ema_turned_on_at_resume_starts_from_the_generator(plain_run, tmp_path,
                                                           digits_data_dir):
    config = _config(digits_data_dir, 4, ema_decay=0.99)
    # Read back with EMA on, the checkpoint of the run without it gives a copy equal to the
    # generator it restored, not the copy's random initial weights.
    gan = runs.load(str(plain_run), "latest", config=config).gan
    for ema, weight in zip(gan.ema_generator.get_weights(), gan.generator.get_weights(),
                           strict=True):
        np.testing.assert_array_equal(ema, weight)
    result, workdir = _resumed(plain_run, tmp_path, config)
    assert (result.start_step, result.end_step) == (2, 4)
    trained = runs.load(workdir, "latest", config=config).gan
    assert trained.sampler is trained.ema_generator


def test_a_new_sample_rate_is_refused_naming_it(tmp_path):
    saved = config_lib.load("wavegan", "tiny")
    workdir = Workdir(str(tmp_path / "run"))
    workdir.create(saved)
    changed = config_lib.load("wavegan", "tiny")
    changed.data.sample_rate = 8_000
    with pytest.raises(ZooError, match=r"different config.data.sample_rate \(data.sample_rate: "
                                       r"saved 4000, now 8000\); use a new --workdir"):
        workdir.check(changed)


def test_a_run_saved_before_self_conditioning_is_not_resumed_self_conditioned(tmp_path):
    # Keys a saved config lacks mostly mean their new defaults; not model.clusters, which the
    # default dcgan run now sets: such a run was plain, and its checkpoints hold plain networks.
    saved = config_lib.load("dcgan")
    saved.model.clusters = 0
    workdir = Workdir(str(tmp_path / "run"))
    workdir.create(saved)
    config_path = tmp_path / "run" / "config.json"
    as_saved = config_path.read_text()
    config_path.write_text(as_saved.replace('"clusters": 0,', ""))
    assert "clusters" not in config_path.read_text()
    with pytest.raises(ZooError, match=r"model.clusters: saved 0, now 40"):
        workdir.check(config_lib.load("dcgan"))
    workdir.check(saved)  # the plain settings resume it


def test_an_acgan_run_saved_before_label_projection_is_not_resumed_with_it(tmp_path):
    saved = config_lib.load("acgan", "tiny")
    saved.model.label_projection = False
    workdir = Workdir(str(tmp_path / "run"))
    workdir.create(saved)
    config_path = tmp_path / "run" / "config.json"
    config_path.write_text(config_path.read_text().replace('"label_projection": false,', ""))
    assert "label_projection" not in config_path.read_text()
    with pytest.raises(ZooError, match=r"model.label_projection: saved False, now True"):
        workdir.check(config_lib.load("acgan", "tiny"))
    workdir.check(saved)
