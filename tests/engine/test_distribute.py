"""The strategies of `config.train.distribute` through the real training path: two local
worker processes under MultiWorkerMirroredStrategy, `train()` under MirroredStrategy over the
two logical CPUs of tests/conftest.py, and one step on two replicas against one device."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tfgan_zoo import config as config_lib
from tfgan_zoo import losses, models
from tfgan_zoo.engine import training
from tfgan_zoo.errors import ZooError


@pytest.fixture
def fresh_collective_keys():
    """Each MirroredStrategy that train() makes starts its collective keys at the same base; a
    second one in this process would collide with an earlier one's (see conftest)."""
    tf.distribute.MirroredStrategy._collective_key_base += 100_000


def _train_command(workdir, data_dir, *flags):
    return [sys.executable, "-m", "tfgan_zoo.train", "--model=dcgan", "--preset=tiny",
            f"--workdir={workdir}", f"--data_dir={data_dir}", *flags]


def test_mirrored_train_runs_end_to_end_with_evaluation_and_pruning(
        tmp_path, digits_data_dir, fresh_collective_keys):
    # SNGAN: batch norm in G, spectral norm in D (its u is written from every replica's step).
    config = config_lib.load("sngan", "tiny")
    config.data.data_dir = digits_data_dir
    config.train.distribute = "mirrored"
    config.eval.every, config.eval.num_samples = 2, 160
    config.prune.enabled = True
    config.prune.begin_step, config.prune.end_step, config.prune.frequency = 0, 2, 1
    lines = []
    result = training.train(config, str(tmp_path / "run"), log=lines.append)
    assert any("on 2 replicas (mirrored)" in line for line in lines)
    assert result.end_step == 4
    assert result.pruning["sparsity"] > 0.3
    best = json.loads((tmp_path / "run" / "checkpoints" / "best" / "best.json").read_text())
    assert best["step"] >= config.prune.end_step and np.isfinite(best["results"]["fid"])
    assert (tmp_path / "run" / "samples" / "step_0000004.png").exists()


# After the mirrored test, which trains and caches the digits classifier in digits_data_dir:
# the two workers load it instead of each training its own.
def test_two_workers_train_in_lockstep_and_only_the_chief_writes_the_run(
        tmp_path, digits_data_dir, free_ports):
    workdir, scratch = tmp_path / "run", tmp_path / "worker1_tmp"
    scratch.mkdir()
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(2)]}
    command = _train_command(workdir, digits_data_dir,
                             "--config.train.distribute=multi_worker_mirrored",
                             "--config.eval.every=4", "--config.eval.num_samples=160")
    workers = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        if index == 1:
            env["TMPDIR"] = str(scratch)  # where the non-chief's scratch directory goes
        workers.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True))
    outputs = [worker.communicate(timeout=400)[0] for worker in workers]
    for worker, output in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, output[-3000:]

    prints = [re.findall(r"(worker \d) of 2: weights fingerprint (\w+)", o) for o in outputs]
    assert [p[0][0] for p in prints] == ["worker 0", "worker 1"]
    assert prints[0][0][1] == prints[1][0][1]  # the same generator weights on both
    assert "on 2 replicas (multi_worker_mirrored)" in outputs[0]
    assert "the chief wrote the run" in outputs[1]
    # One run directory, the chief's, complete; the other worker left nothing behind.
    assert sorted(os.listdir(tmp_path)) == ["run", "worker1_tmp"]
    assert os.listdir(scratch) == []
    assert tf.train.latest_checkpoint(str(workdir / "checkpoints")).endswith("ckpt-4")
    assert json.loads((workdir / "checkpoints" / "best" / "best.json").read_text())["step"] == 4
    assert {"step_0000002.png", "step_0000004.png"} <= set(os.listdir(workdir / "samples"))
    assert os.listdir(workdir / "logs")

    # One process, on one device, resumes the chief's run (here, a TensorFlow import saved).
    config = config_lib.load("dcgan", "tiny")
    config.data.data_dir = digits_data_dir
    config.train.num_steps, config.eval.every = 6, 0
    lines = []
    resumed = training.train(config, str(workdir), log=lines.append)
    assert (resumed.start_step, resumed.end_step) == (4, 6)
    assert any(line.startswith("Resuming dcgan") for line in lines), lines
    assert tf.train.latest_checkpoint(str(workdir / "checkpoints")).endswith("ckpt-6")


def _fixed_latents(z):
    """sample_latents(n) drawing replica r's n rows from block r of `z`: over two replicas the
    latents of a step are those one device draws for the whole batch."""
    def sample(n):
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        return tf.slice(z, [tf.cast(replica, tf.int32) * n, 0], [n, -1])
    return sample


def _row_alpha(real):
    """Interpolation weights that follow the example (not the device it lands on)."""
    axes = list(range(1, len(real.shape)))
    return tf.sigmoid(tf.reduce_mean(real, axis=axes, keepdims=True) * 10.0)


def _one_step(strategy, config, spec, batch, z, init_weights=None):
    """The GAN's weights after one train_step on `batch` under `strategy`, and its start."""
    with strategy.scope():
        gan = training.build_gan(config, spec, init_weights)
    start = (gan.generator.get_weights(), gan.discriminator.get_weights())
    gan.sample_latents = _fixed_latents(z)
    dataset = tf.data.Dataset.from_tensor_slices({"image": batch}).batch(len(batch)).repeat()
    gan.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0)
    return start, (gan.generator.get_weights(), gan.discriminator.get_weights())


def _smooth_relu(slope):
    """A stand-in for (leaky) ReLU with a continuous derivative. With the real kink, a
    pre-activation within rounding of 0 (one in millions, over five critic steps of penalty
    gradients) takes the other side on one device than on two, and moves that unit's weight
    gradient by 80%; this test is about how replicas split and sum, not about the kink."""
    def call(self, inputs):
        return slope * inputs + (1.0 - slope) * tf.nn.softplus(4.0 * inputs) / 4.0
    return call


@pytest.mark.parametrize("model,d_steps", [("dcgan", 1), ("wgan_gp", 5)])
def test_a_step_on_two_replicas_equals_one_device_on_the_same_global_batch(
        model, d_steps, digits_data_dir, two_cpu_strategy, monkeypatch):
    """dcgan: batch norm in both networks (statistics over the global batch); wgan_gp: the
    gradient penalty on each replica's slice, and five critic updates a step. Plain SGD, so the
    weights move by the gradients themselves (Adam's first step only sees their signs)."""
    monkeypatch.setattr(training, "make_optimizer",
                        lambda section: keras.optimizers.SGD(learning_rate=0.05))
    monkeypatch.setattr(keras.layers.ReLU, "call", _smooth_relu(0.0))
    monkeypatch.setattr(keras.layers.LeakyReLU, "call", _smooth_relu(0.2))
    keras.utils.set_random_seed(0)  # the same start whichever tests ran before in this process
    penalty = losses.gradient_penalty
    monkeypatch.setattr(losses, "gradient_penalty", lambda critic, real, fake, **kw: penalty(
        critic, real, fake, alpha=_row_alpha(real), **kw))
    config = config_lib.load(model, "tiny")
    config.data.data_dir = digits_data_dir
    config.gan.d_steps = d_steps
    spec = models.kind_of_config(config).load(config, config.train.batch_size)[1]
    rng = np.random.default_rng(0)
    batch = np.tanh(rng.normal(size=(config.train.batch_size * d_steps, 28, 28, 1))
                    ).astype(np.float32)
    z = tf.constant(rng.normal(size=(config.train.batch_size, config.model.latent_dim)),
                    tf.float32)

    start, one = _one_step(tf.distribute.get_strategy(), config, spec, batch, z)
    _, two = _one_step(two_cpu_strategy, config, spec, batch, z, init_weights=start)
    for before, a, b in zip(start, one, two, strict=True):
        for w0, w1, w2 in zip(before, a, b, strict=True):
            moved = np.abs(w1 - w0).max()
            # 0.1% of the largest move: summation order differs between one and two devices,
            # and without oneDNN (some CPUs) wgan_gp's five critic steps drift 1.5e-7 apart.
            np.testing.assert_allclose(w2 - w0, w1 - w0, atol=1e-3 * max(moved, 1e-3))


def test_tpu_without_a_tpu_says_what_to_do(tmp_path, digits_data_dir):
    config = config_lib.load("dcgan", "tiny")
    config.data.data_dir = digits_data_dir
    config.train.distribute = "tpu"
    with pytest.raises(ZooError, match=r"^config.train.distribute=tpu: no TPU at 'local' .*"
                                       r"set TPU_NAME"):
        training.train(config, str(tmp_path / "run"), log=lambda _: None)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("tf_config,message", [
    (None, r"needs TF_CONFIG, the cluster and this process's task in it"),
    ("{not json", r"TF_CONFIG is not a cluster with this task in it \(JSONDecodeError"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}',
     r"task is worker 3, but its cluster lists 1 worker address"),
])
def test_multi_worker_without_a_usable_tf_config_says_what_to_do(tf_config, message, tmp_path,
                                                                 monkeypatch):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    config = config_lib.load("dcgan", "tiny")
    config.train.distribute = "multi_worker_mirrored"
    with pytest.raises(ZooError, match=message):
        training.train(config, str(tmp_path / "run"), log=lambda _: None)
    assert not (tmp_path / "run").exists()
