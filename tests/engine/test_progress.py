"""The run's own step (tfgan_zoo.engine.progress): what EMA warm-up and the pruning schedule
read, how a pre-training phase counts apart from it, and how both resume from checkpoints."""
import sys
import types

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tfgan_zoo import config as config_lib
from tfgan_zoo import models, pruning
from tfgan_zoo.engine import callbacks, checkpoints, training
from tfgan_zoo.engine.gan import GAN
from tfgan_zoo.errors import ZooError
from tfgan_zoo.models import dcgan

LATENT = 4


def point_generator():
    z = keras.Input((LATENT,))
    h = keras.layers.Dense(16, activation="relu", name="hidden")(z)
    return keras.Model(z, keras.layers.Dense(2, activation="tanh", name="out")(h))


def point_discriminator():
    x = keras.Input((2,))
    h = keras.layers.Dense(16, activation="relu")(x)
    return keras.Model(x, keras.layers.Dense(1)(h))


def batch(n=16):
    rng = np.random.default_rng(0)
    return {"points": tf.constant(rng.normal(0.5, 0.1, (n, 2)).astype("float32"))}


def test_ema_warm_up_reads_the_runs_step_not_the_optimizers():
    gan = GAN(point_generator(), point_discriminator(), latent_dim=LATENT, ema_decay=0.999)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    gan.progress.step.assign(5000)  # a run far along; this optimizer has made no update
    before = [w.numpy() for w in gan.ema_generator.weights]
    gan.train_step(batch())
    assert int(gan.progress.step.numpy()) == 5001 and int(gan.g_optimizer.iterations) == 1
    # The decay at t = 5001 is min(0.999, 5002/5011) = 0.998...; at the optimizer's t = 1 it
    # would be 2/11, and the copy would jump most of the way to the new weights.
    decay = min(0.999, 5002 / 5011)
    for e_old, e_new, w in zip(before, gan.ema_generator.weights, gan.generator.weights,
                               strict=True):
        np.testing.assert_allclose(e_new.numpy(), decay * e_old + (1 - decay) * w.numpy(),
                                   rtol=1e-5, atol=1e-7)


def test_the_pruning_schedule_reads_the_runs_step():
    cfg = pruning.default_config()
    cfg.update(enabled=True, target_sparsity=0.5, begin_step=0, end_step=100, frequency=10)
    progress_owner = GAN(point_generator(), point_discriminator(), latent_dim=LATENT)
    progress = progress_owner.progress
    g = pruning.wrap(point_generator(), cfg, progress.step)
    gan = GAN(g, point_discriminator(), latent_dim=LATENT, progress=progress)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    pruning.UpdatePruningStep().set_model(gan)
    for wrapper in pruning.layers.wrappers(g):
        wrapper.pruning_step.assign(0)
    progress.step.assign(99)  # the next update is the schedule's last: target sparsity
    gan.train_step(batch())
    pruning.apply_masks(g)
    kernel = g.get_layer("prune_low_magnitude_hidden").layer.kernel.numpy()
    assert np.mean(kernel == 0) == pytest.approx(0.5, abs=0.02)
    assert int(gan.g_optimizer.iterations) == 1  # the optimizer would have said "update 1"


# --- Phases: a family with a pre-training loss and a schedule, trained through train() ---

def _pretrain_loss(model_config, spec):
    """Pulls G's images towards the real batch's mean image (a stand-in for text's MLE)."""
    def loss(generator, real, labels):
        z = tf.random.normal([tf.shape(real)[0], model_config.latent_dim])
        target = tf.reduce_mean(real, axis=0, keepdims=True)
        return tf.reduce_mean(tf.square(generator(z, training=True) - target))
    return loss


def _schedules(model_config, num_steps):
    return {"temperature": lambda step: 1.0 + tf.cast(step, tf.float32) / num_steps}


@pytest.fixture
def pretrained_family(monkeypatch):
    """`tfgan_zoo.models.pretrained_dcgan`: DCGAN's networks plus a pre-training phase."""
    family = types.ModuleType("tfgan_zoo.models.pretrained_dcgan")
    for name in ("KIND", "validate", "latent_prior", "sample_shape", "build_generator",
                 "build_discriminator"):
        setattr(family, name, getattr(dcgan, name))
    family.pretrain_loss, family.schedules = _pretrain_loss, _schedules
    monkeypatch.setitem(sys.modules, family.__name__, family)
    available = models.available_families()
    monkeypatch.setattr(models, "available_families", lambda: [*available, "pretrained_dcgan"])
    return family


def _config(data_dir, pretrain_steps, num_steps):
    config = config_lib.load("dcgan", "tiny")
    config.model_name = "pretrained_dcgan"
    config.data.data_dir = data_dir
    config.train.pretrain_steps = pretrain_steps
    config.train.num_steps = num_steps
    config.optimizer.pretrain = config_lib.load("dcgan").optimizer.g
    return config


class Interrupted(Exception):
    pass


def _interrupt_after_checkpoint(monkeypatch, total):
    """Makes training stop (as a kill would) right after the checkpoint numbered `total`."""
    act = callbacks.Checkpointer.act

    def act_then_stop(self, step):
        act(self, step)
        if self.model.progress.total() == total:
            raise Interrupted(total)
    monkeypatch.setattr(callbacks.Checkpointer, "act", act_then_stop)


def _restored(config, workdir):
    from tfgan_zoo.engine import runs
    return runs.load(workdir, "latest", config=config).gan


def test_a_run_resumes_in_either_phase(pretrained_family, digits_data_dir, tmp_path,
                                       monkeypatch):
    config = _config(digits_data_dir, pretrain_steps=6, num_steps=4)
    workdir = str(tmp_path / "run")
    with monkeypatch.context() as m:
        _interrupt_after_checkpoint(m, 4)  # killed in pre-training, after update 4
        with pytest.raises(Interrupted):
            training.train(config, workdir, log=lambda _: None)
    gan = _restored(config, workdir)
    assert (int(gan.progress.pretrain_step.numpy()), int(gan.progress.step.numpy())) == (4, 0)

    with monkeypatch.context() as m:
        _interrupt_after_checkpoint(m, 8)  # killed in the adversarial phase, after its step 2
        with pytest.raises(Interrupted):
            training.train(config, workdir, log=lambda _: None)
    gan = _restored(config, workdir)
    assert (int(gan.progress.pretrain_step.numpy()), int(gan.progress.step.numpy())) == (6, 2)
    assert int(gan.pretrain_optimizer.iterations.numpy()) == 6

    result = training.train(config, workdir, log=lambda _: None)
    assert (result.start_step, result.end_step) == (2, 4)
    gan = _restored(config, workdir)
    # Pre-training was not repeated, and the adversarial schedules started at its end: the
    # temperature of the last step (step 3 of 4) is 1 + 3/4.
    assert (int(gan.progress.pretrain_step.numpy()), int(gan.progress.step.numpy())) == (6, 4)
    assert int(gan.pretrain_optimizer.iterations.numpy()) == 6
    assert int(gan.g_optimizer.iterations.numpy()) == 4
    assert float(gan.progress.scheduled["temperature"].numpy()) == pytest.approx(1.75)
    # Checkpoints are numbered by all updates of the run, so the phases never share a name.
    assert tf.train.latest_checkpoint(f"{workdir}/checkpoints").endswith("ckpt-10")


def test_more_pretraining_after_the_adversarial_phase_began_is_refused(
        pretrained_family, digits_data_dir, tmp_path):
    workdir = str(tmp_path / "run")
    training.train(_config(digits_data_dir, pretrain_steps=2, num_steps=2), workdir,
                   log=lambda _: None)
    more = _config(digits_data_dir, pretrain_steps=4, num_steps=4)
    with pytest.raises(ZooError, match="is at adversarial step 2, after 2 pre-training "
                                       "updates: config.train.pretrain_steps=4 would pre-train "
                                       "again"):
        training.train(more, workdir, log=lambda _: None)


def test_pretraining_is_refused_for_a_family_without_it(digits_data_dir):
    config = _config(digits_data_dir, pretrain_steps=4, num_steps=4)
    config.model_name = "dcgan"
    with pytest.raises(ZooError, match="has no pre-training phase; set it to 0"):
        training.validate(config)


def test_a_checkpoint_from_before_progress_existed_takes_its_step_from_the_optimizer(tmp_path):
    gan = GAN(point_generator(), point_discriminator(), latent_dim=LATENT)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    for _ in range(3):
        gan.train_step(batch())
    old_style = tf.train.Checkpoint(gan=gan).save(str(tmp_path / "old"))
    fresh = GAN(point_generator(), point_discriminator(), latent_dim=LATENT)
    fresh.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    checkpoints.restore(checkpoints.make(fresh), old_style)
    assert int(fresh.progress.step.numpy()) == 3
