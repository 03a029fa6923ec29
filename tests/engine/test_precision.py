"""Mixed precision: mixed_float16 with dynamic loss scaling inside the GAN's own train step,
mixed_bfloat16 without; float32 where numbers must hold (outputs, losses, exported generators).

A float16 overflow at a loss scale above 1 skips the update and halves the scale, and the run
goes on; only at a scale of 1 is a non-finite gradient a divergence for the guard.
"""
import json
import math
import types

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from tensorboard.backend.event_processing import event_accumulator

from tfgan_zoo import config as config_lib
from tfgan_zoo import losses, spectral_norm
from tfgan_zoo.engine import checkpoints, guard, runs, training
from tfgan_zoo.engine.gan import GAN
from tfgan_zoo.models import dcgan
from tfgan_zoo.spectral_norm import SpectralNormalization

# One image recipe per distinct code path (lsgan differs from dcgan by its loss alone, cgan from
# acgan by the discriminator's conditioning): each costs two short runs with evaluation.
# Each image recipe under one of the two mixed precisions, each precision twice; float16, the
# one with a loss scale, takes the penalty (wgan_gp) and the spectral norm (sngan).
IMAGE_RECIPES = [("dcgan", "mixed_bfloat16"), ("sngan", "mixed_float16"),
                 ("wgan_gp", "mixed_float16"), ("acgan", "mixed_bfloat16")]
LATENT = 4
INITIAL_SCALE = 2.0 ** 15  # Keras' dynamic loss scale starts there


@pytest.fixture
def float16():
    """The mixed_float16 policy for the networks a test builds; float32 again afterwards."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def point_generator():
    z = keras.Input((LATENT,))
    h = keras.layers.Dense(16, activation="relu")(z)
    return keras.Model(z, keras.layers.Dense(2, activation="tanh")(h))


def linear_critic():
    """D(x) = w (x1 + x2), w = 2^-6. Under the Wasserstein loss the gradient of its kernel is
    mean(fakes) - mean(reals) whatever w. Reals at (3, 3) add -3 per coordinate (fakes are in
    (-1, 1)): times the initial loss scale 2^15 that overflows float16 (max 65504), times 2^14
    it fits. w is small so that the generator's gradients fit at the initial scale."""
    x = keras.Input((2,))
    logits = keras.layers.Dense(1, use_bias=False,
                                kernel_initializer=keras.initializers.Constant(2.0 ** -6))(x)
    return keras.Model(x, keras.layers.Activation("linear", dtype="float32")(logits))


def linear_gan(d_optimizer=None, pretrain_optimizer=None, **kwargs):
    gan = GAN(point_generator(), linear_critic(), latent_dim=LATENT, **kwargs)
    gan.compile(d_optimizer or keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3),
                loss="wasserstein", pretrain_optimizer=pretrain_optimizer)
    return gan


def points(value, n=32, nan_at=None):
    """A batch of n reals at (value, value), with a NaN in row `nan_at` if given."""
    batch = np.full((n, 2), value, np.float32)
    if nan_at is not None:
        batch[nan_at, 0] = np.nan
    return {"image": tf.constant(batch)}


def weights_of(model):
    return [w.numpy().copy() for w in model.trainable_weights]


def same(before, model):
    return all(np.array_equal(b, a) for b, a in zip(before, weights_of(model), strict=True))


def test_an_overflow_skips_the_update_and_halves_the_loss_scale(float16):
    gan = linear_gan()
    d_before, g_before = weights_of(gan.discriminator), weights_of(gan.generator)
    logs = gan.train_step(points(3.0))
    assert same(d_before, gan.discriminator)  # the overflowing update never reached D
    assert not same(g_before, gan.generator)  # G's gradients fit: it trained
    assert float(logs["d_loss_scale"]) == INITIAL_SCALE / 2
    assert float(logs["g_loss_scale"]) == INITIAL_SCALE
    assert int(logs["overflows"]) == 1
    # Not a divergence: nothing for the guard, and Adam's moments untouched.
    assert int(logs["skipped_updates"]) == 0 and gan.progress.first_nonfinite() is None
    assert int(gan.d_optimizer.iterations) == 0
    logs = gan.train_step(points(3.0))  # the same gradients fit at half the scale
    assert not same(d_before, gan.discriminator)
    assert float(logs["d_loss_scale"]) == INITIAL_SCALE / 2 and int(logs["overflows"]) == 1
    assert int(gan.d_optimizer.iterations) == 1


def test_finite_updates_apply_unscaled_gradients_and_grow_the_scale(float16):
    """One SGD step at float16 moves D as the float32 step does: the gradients were divided by
    the loss scale again. With growth after every finite update, the scale doubles."""
    scaled = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.1),
                                                      dynamic_growth_steps=1)
    gan = linear_gan(scaled, seed=3)
    keras.mixed_precision.set_global_policy("float32")
    reference = linear_gan(keras.optimizers.SGD(0.1), seed=3)
    reference.generator.set_weights(gan.generator.get_weights())
    logs = gan.train_step(points(0.5))
    reference.train_step(points(0.5))
    assert float(logs["d_loss_scale"]) == 2 * INITIAL_SCALE
    np.testing.assert_allclose(weights_of(gan.discriminator)[0],
                               weights_of(reference.discriminator)[0], atol=1e-3)
    assert not np.allclose(weights_of(gan.discriminator)[0], 2.0 ** -6)  # it did move


def test_a_fixed_loss_scale_is_refused(float16):
    fixed = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.Adam(1e-3),
                                                     dynamic=False, initial_scale=8)
    with pytest.raises(ValueError, match="fixed loss scale is not supported"):
        linear_gan(fixed)


def test_the_guard_lets_overflows_pass_and_stops_at_a_nan_at_loss_scale_1(float16):
    overflowing = linear_gan()
    run_guard = guard.Guard("stop")
    overflowing.fit(tf.data.Dataset.from_tensors(points(3.0)).repeat(), epochs=3,
                    steps_per_epoch=1, callbacks=[run_guard], verbose=0)
    assert not run_guard.stopped and int(overflowing.progress.step) == 3
    assert int(overflowing.progress.overflows) == 1

    # At the floor of the scale, nothing is left to lower: a NaN is a divergence.
    at_floor = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.Adam(1e-3),
                                                        initial_scale=1)
    diverging = linear_gan(at_floor)
    run_guard = guard.Guard("stop")
    diverging.fit(tf.data.Dataset.from_tensors(points(0.5, nan_at=0)).repeat(), epochs=3,
                  steps_per_epoch=1, callbacks=[run_guard], verbose=0)
    assert run_guard.diverged == (1, "discriminator") and int(diverging.progress.step) == 1
    assert int(diverging.progress.overflows) == 0
    assert float(diverging.d_optimizer.loss_scale) == 1.0


def test_a_nan_on_one_replica_is_an_overflow_on_both(two_cpu_strategy, float16):
    with two_cpu_strategy.scope():
        gan = linear_gan()
    d_before = weights_of(gan.discriminator)
    # One batch of 32: the first replica's half holds the NaN, the second's is clean.
    history = gan.fit(tf.data.Dataset.from_tensors(points(0.5, nan_at=0)), verbose=0).history
    for before, w in zip(d_before, gan.discriminator.trainable_weights, strict=True):
        for copy in w.values:
            np.testing.assert_array_equal(copy.numpy(), before)
    scales = two_cpu_strategy.run(lambda: gan.d_optimizer.loss_scale)
    assert [float(s) for s in two_cpu_strategy.experimental_local_results(scales)] == [
        INITIAL_SCALE / 2] * 2
    assert int(gan.progress.overflows.numpy()) == 1 and gan.progress.first_nonfinite() is None
    # Logged once, not summed over the replicas as Keras sums what each returns.
    assert history["overflows"] == [1] and history["d_loss_scale"] == [INITIAL_SCALE / 2]

    gan.fit(tf.data.Dataset.from_tensors(points(0.5)), verbose=0)
    for before, w in zip(d_before, gan.discriminator.trainable_weights, strict=True):
        copies = [copy.numpy() for copy in w.values]
        np.testing.assert_array_equal(copies[0], copies[1])
        assert not np.array_equal(copies[0], before)


def underflowing_critic():
    """D(x) = 2^13 2^13 2^-13 2^-13 x, one float16 Dense(1) per factor. Its gradient is 1, but
    on the way back 2^-13 2^-13 = 2^-26 falls below float16's smallest number (2^-24): without
    scaling, the gradient reaching x is 0. Inputs near 1e-4 keep the forward pass in range."""
    x = keras.Input((1,))
    h = x
    for factor in (2.0 ** 13, 2.0 ** 13, 2.0 ** -13, 2.0 ** -13):
        h = keras.layers.Dense(1, use_bias=False,
                               kernel_initializer=keras.initializers.Constant(factor))(h)
    return keras.Model(x, keras.layers.Activation("linear", dtype="float32")(h))


def test_penalties_take_the_critics_float16_gradient_at_the_loss_scale(float16):
    critic = underflowing_critic()
    real, fake = tf.fill([4, 1], 1e-4), tf.fill([4, 1], 2e-4)
    # R1 = 0.5 |grad|^2 = 0.5; WGAN-GP = (|grad| - 1)^2 = 0.
    assert losses.r1_penalty(critic, real, loss_scale=INITIAL_SCALE).numpy() == pytest.approx(
        0.5, rel=1e-3)
    assert losses.gradient_penalty(critic, real, fake, loss_scale=INITIAL_SCALE).numpy() \
        == pytest.approx(0.0, abs=1e-6)
    # What the scale prevents: the gradient flushed to zero.
    assert losses.r1_penalty(critic, real).numpy() == 0.0
    assert losses.gradient_penalty(critic, real, fake).numpy() == pytest.approx(1.0, abs=1e-4)


def point_gan():
    """A GAN with a pre-training optimizer too: at float16 all three are loss-scaled."""
    return linear_gan(pretrain_optimizer=keras.optimizers.Adam(1e-3))


def test_checkpoints_resume_across_float32_and_float16(tmp_path, caplog):
    written = point_gan()
    written.train_step(points(0.5))
    float32_path = checkpoints.make(written).save(str(tmp_path / "float32"))

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        resumed = point_gan()
        checkpoints.restore(checkpoints.make(resumed), float32_path)
        resumed.train_step(points(3.0))  # an overflow: D's scale halves
        float16_path = checkpoints.make(resumed).save(str(tmp_path / "float16"))
        again = point_gan()
        checkpoints.restore(checkpoints.make(again), float16_path)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert caplog.text.count("the loss scales start at 32768, as in a new run") == 1
    assert int(resumed.progress.step) == 2 and int(resumed.g_optimizer.iterations) == 2
    assert float(again.d_optimizer.loss_scale) == INITIAL_SCALE / 2  # a float16 run keeps it
    assert float(again.g_optimizer.loss_scale) == INITIAL_SCALE

    back = point_gan()  # float32 again: the loss scales are left unread
    checkpoints.restore(checkpoints.make(back), float16_path)
    for restored, saved in zip(back.weights, resumed.weights, strict=True):
        np.testing.assert_array_equal(restored.numpy(), saved.numpy())
    assert int(back.progress.overflows) == 1


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_spectral_norm_keeps_the_kernels_and_its_vectors_in_float32(policy):
    """Spectral norm's estimate and the kernels stay float32 under a mixed policy: tf_keras's
    wrapper wrote W / sigma into the kernel at the policy's dtype, rounding every kernel to
    float16/bfloat16, and kept vectors that a float32 rebuild (export) could not restore."""
    keras.mixed_precision.set_global_policy(policy)
    try:
        cfg = config_lib.load("sngan", "tiny").model
        discriminator = dcgan.build_discriminator(cfg, types.SimpleNamespace(channels=1))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    spectral_norm.power_iteration(discriminator)
    discriminator(tf.random.uniform([2, 28, 28, 1], -1, 1), training=True)
    wrappers = [layer for layer in discriminator.layers
                if isinstance(layer, SpectralNormalization)]
    compute = keras.mixed_precision.Policy(policy).compute_dtype
    for wrapper in wrappers:
        assert wrapper.vector_u.dtype == tf.float32
        kernel = wrapper.layer.kernel.numpy()
        assert not np.array_equal(kernel, tf.cast(tf.cast(kernel, compute), tf.float32))
    assert len(wrappers) == 3  # two convolutions and the logit


def _scalars(workdir, tag):
    acc = event_accumulator.EventAccumulator(f"{workdir}/logs", size_guidance={"tensors": 0})
    acc.Reload()
    if tag not in acc.Tags()["tensors"]:
        return []
    return [float(tf.make_ndarray(event.tensor_proto)) for event in acc.Tensors(tag)]


@pytest.mark.parametrize("model,precision", IMAGE_RECIPES)
def test_each_image_recipe_trains_and_evaluates_under_a_mixed_precision(
        model, precision, tmp_path, digits_data_dir):
    config = config_lib.load(model, "tiny")
    config.data.data_dir = digits_data_dir
    config.train.update(dict(precision=precision, num_steps=2, log_every=2,
                             sample_every=2, checkpoint_every=2))
    # FID on the 128 classifier features needs more than 128 samples.
    config.eval.update(dict(every=2, num_samples=129))
    workdir = tmp_path / precision
    training.train(config, str(workdir), log=lambda _: None)

    for tag in ("train/d_loss", "train/g_loss"):
        assert _scalars(workdir, tag) and all(map(math.isfinite, _scalars(workdir, tag)))
    record = json.loads((workdir / "checkpoints" / "best" / "best.json").read_text())
    assert all(map(math.isfinite, record["results"].values())), record
    # The extractor runs at float32 whatever the run's policy: a bfloat16 classifier's softmax
    # rows once summed too far from 1 for the classifier score, and the first evaluation crashed.
    assert 1.0 <= record["results"]["classifier_score"] <= 10.0
    # Only float16 scales its losses; bfloat16 has float32's range.
    scales = _scalars(workdir, "train/d_loss_scale")
    if precision == "mixed_float16":
        assert scales and all(1.0 <= scale <= INITIAL_SCALE for scale in scales)
    else:
        assert scales == []

    # Export and generate rebuild the run at float32, whatever it trained at.
    run = runs.load(str(workdir), "latest")
    assert {layer.dtype_policy.name for layer in run.plain_sampler().layers
            if not isinstance(layer, keras.layers.InputLayer)} == {"float32"}
    assert all(np.isfinite(w).all() for w in run.gan.sampler.get_weights())
    labels = tf.zeros([2], tf.int32) if run.gan.conditional else None
    samples = run.gan.generate(run.gan.prior.stateless(2, 0), labels)
    assert samples.dtype == tf.float32 and np.isfinite(samples.numpy()).all()
