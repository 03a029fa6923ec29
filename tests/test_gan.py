"""The adversarial engine: tfgan_zoo.gan.GAN's train_step on small problems."""
import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from ml_collections import config_dict

from tfgan_zoo.engine import training
from tfgan_zoo.engine.gan import GAN

LATENT = 4


def point_generator():
    z = keras.Input((LATENT,))
    h = keras.layers.Dense(16, activation="relu")(z)
    return keras.Model(z, keras.layers.Dense(2, activation="tanh")(h))


def point_discriminator():
    x = keras.Input((2,))
    h = keras.layers.Dense(16, activation="relu")(x)
    return keras.Model(x, keras.layers.Dense(1)(h))


def constant_discriminator(logit):
    """D(x) = logit for every x: its losses are known in closed form."""
    x = keras.Input((2,))
    dense = keras.layers.Dense(1, kernel_initializer="zeros",
                               bias_initializer=keras.initializers.Constant(logit))
    return keras.Model(x, dense(x))


def real_points(n, seed=0):
    """A tight cluster at (0.8, -0.8): easy for D to tell from an untrained generator."""
    rng = np.random.default_rng(seed)
    return (np.array([0.8, -0.8]) + 0.03 * rng.standard_normal((n, 2))).astype("float32")


def make_gan(d=None, g=None, d_opt=None, g_opt=None, **kwargs):
    compile_keys = ("loss", "label_smoothing", "gp_weight", "r1_gamma", "weight_clip")
    compile_kwargs = {k: kwargs.pop(k) for k in compile_keys if k in kwargs}
    gan = GAN(g or point_generator(), d or point_discriminator(), latent_dim=LATENT, **kwargs)
    gan.compile(d_opt or keras.optimizers.Adam(1e-3), g_opt or keras.optimizers.Adam(1e-3),
                **compile_kwargs)
    return gan


def batches(batch_size, seed=0):
    return tf.data.Dataset.from_tensor_slices({"image": real_points(4096, seed)}).repeat().batch(
        batch_size, drop_remainder=True)


def weights_of(model):
    return [w.numpy().copy() for w in model.trainable_weights]


def test_one_step_updates_both_networks_with_finite_losses():
    gan = make_gan()
    g_before, d_before = weights_of(gan.generator), weights_of(gan.discriminator)
    logs = gan.train_step({"image": tf.constant(real_points(32))})
    assert set(logs) == {"d_loss", "g_loss", "real_logit", "fake_logit", "skipped_updates"}
    assert all(math.isfinite(float(v)) for v in logs.values())
    for before, after in [(g_before, weights_of(gan.generator)),
                          (d_before, weights_of(gan.discriminator))]:
        assert any(not np.allclose(b, a) for b, a in zip(before, after, strict=True))


def test_discriminator_learns_to_separate_real_from_generated():
    # G's learning rate is negligible, so D faces a fixed generator it must learn to reject.
    keras.utils.set_random_seed(0)
    gan = make_gan(g_opt=keras.optimizers.Adam(1e-12), d_opt=keras.optimizers.Adam(1e-2))
    gan.fit(batches(64), steps_per_epoch=150, epochs=1, verbose=0)
    real_logits = gan.discriminator(real_points(500, seed=1)).numpy()
    fake_logits = gan.discriminator(gan.generator(gan.sample_latents(500))).numpy()
    accuracy = ((real_logits > 0).mean() + (fake_logits < 0).mean()) / 2
    assert accuracy > 0.95


@pytest.mark.parametrize("d_steps", [1, 3, 5])
def test_d_steps_runs_that_many_discriminator_updates_per_generator_update(d_steps):
    gan = make_gan(d_steps=d_steps)
    gan.fit(batches(8 * d_steps), steps_per_epoch=4, epochs=1, verbose=0)
    assert int(gan.g_optimizer.iterations) == 4
    assert int(gan.d_optimizer.iterations) == 4 * d_steps


def test_label_smoothing_changes_the_discriminator_loss_as_defined():
    c, s = 0.7, 0.2
    gan = make_gan(d=constant_discriminator(c), label_smoothing=s)
    logs = gan.train_step({"image": tf.constant(real_points(16))})

    def softplus(x):
        return math.log1p(math.exp(x))

    expected = (1 - s) * softplus(-c) + s * softplus(c) + softplus(c)
    assert float(logs["d_loss"]) == pytest.approx(expected, rel=1e-6)


def test_label_smoothing_is_refused_for_losses_it_does_not_apply_to():
    with pytest.raises(ValueError, match="label_smoothing"):
        make_gan(loss="wasserstein", label_smoothing=0.1)


def discriminator_update_norm(clip_norm=None, clip_value=None):
    gan = make_gan(d_opt=keras.optimizers.SGD(1.0, global_clipnorm=clip_norm,
                                              clipvalue=clip_value))
    before = weights_of(gan.discriminator)
    gan.train_step({"image": tf.constant(real_points(32) * 100)})  # large inputs, large grads
    deltas = [a - b for a, b in zip(weights_of(gan.discriminator), before, strict=True)]
    return (math.sqrt(sum(float((d ** 2).sum()) for d in deltas)),
            max(float(np.abs(d).max()) for d in deltas))


def test_global_norm_clipping_bounds_the_discriminator_update():
    unclipped, _ = discriminator_update_norm()
    clipped, _ = discriminator_update_norm(clip_norm=1e-3)
    assert unclipped > 0.1
    assert clipped <= 1e-3 + 1e-5


def test_value_clipping_bounds_each_gradient_element():
    _, unclipped = discriminator_update_norm()
    _, clipped = discriminator_update_norm(clip_value=1e-4)
    assert unclipped > 1e-2
    assert clipped <= 1e-4 + 1e-6  # float32 rounding of weight - previous weight


def test_optimizers_built_from_config_carry_the_clipping():
    opt = config_dict.ConfigDict(dict(name="adam", learning_rate=1e-4, beta_1=0.5, beta_2=0.9,
                                      clip_norm=2.0, clip_value=0.0))
    adam = training.make_optimizer(opt)
    assert adam.global_clipnorm == 2.0 and adam.clipvalue is None
    opt.clip_norm, opt.clip_value = 0.0, 0.5
    adam = training.make_optimizer(opt)
    assert adam.global_clipnorm is None and adam.clipvalue == 0.5


@pytest.mark.parametrize("ema_decay,steps", [(0.5, 30), (0.999, 3)])
def test_ema_generator_is_the_moving_average_of_the_generator(ema_decay, steps):
    gan = make_gan(ema_decay=ema_decay, g_opt=keras.optimizers.SGD(0.1))
    # The point generator has no batch norm: all its weights are trainable, in the same order.
    expected = weights_of(gan.generator)
    for t in range(1, steps + 1):
        gan.train_step({"image": tf.constant(real_points(16))})
        decay = min(ema_decay, (1 + t) / (10 + t))  # the warm-up: t generator updates so far
        expected = [decay * e + (1 - decay) * w
                    for e, w in zip(expected, weights_of(gan.generator), strict=True)]
    ema = [w.numpy() for w in gan.ema_generator.weights]
    for e, x in zip(ema, expected, strict=True):
        np.testing.assert_allclose(e, x, rtol=1e-4, atol=1e-6)
    assert not np.allclose(ema[0], weights_of(gan.generator)[0])
    assert gan.sampler is gan.ema_generator


def test_sampler_is_the_generator_without_ema():
    gan = make_gan()
    assert gan.ema_generator is None and gan.sampler is gan.generator


def test_generate_and_call_sample_from_the_sampler_without_labels():
    gan = make_gan(ema_decay=0.5)
    gan.train_step({"image": tf.constant(real_points(16))})
    z = gan.sample_latents(5)
    expected = gan.ema_generator(z, training=False).numpy()
    np.testing.assert_allclose(gan.generate(z).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(gan(z).numpy(), expected, rtol=1e-6)
    assert not gan.conditional and gan.num_classes == 0


@pytest.mark.parametrize("loss", ["wasserstein", "hinge", "least_squares", "minimax",
                                  "relativistic", "relativistic_average"])
def test_every_loss_trains_with_finite_values(loss):
    gan = make_gan(loss=loss)
    history = gan.fit(batches(16), steps_per_epoch=3, epochs=1, verbose=0).history
    assert all(math.isfinite(v[-1]) for v in history.values())


def test_penalties_are_tracked_and_weight_clipping_holds():
    gan = make_gan(loss="wasserstein", gp_weight=10.0, r1_gamma=1.0, weight_clip=0.01,
                   d_steps=5)
    history = gan.fit(batches(40), steps_per_epoch=2, epochs=1, verbose=0).history
    assert {"gp", "r1"} <= set(history)
    assert history["gp"][-1] > 0 and history["r1"][-1] >= 0
    assert max(float(np.abs(w).max()) for w in weights_of(gan.discriminator)) <= 0.01 + 1e-7


def test_trains_under_mirrored_strategy_on_two_devices(two_cpu_strategy):
    with two_cpu_strategy.scope():
        gan = make_gan(ema_decay=0.9, weight_clip=0.05, d_steps=2)
    history = gan.fit(batches(32), steps_per_epoch=3, epochs=1, verbose=0).history
    assert all(math.isfinite(v[-1]) for v in history.values())
    assert gan.g_optimizer.iterations.numpy() == 3 and gan.d_optimizer.iterations.numpy() == 6
    for w in gan.discriminator.trainable_weights:
        copies = [v.numpy() for v in w.values]
        np.testing.assert_array_equal(copies[0], copies[1])  # replicas stay in sync
        assert np.abs(copies[0]).max() <= 0.05 + 1e-7
    assert any(not np.allclose(e, g) for e, g in zip(
        [w.numpy() for w in gan.ema_generator.weights], weights_of(gan.generator), strict=True))


def nan_batch(n):
    """Real points whose first one is NaN: D's gradients go NaN, G's (fakes only) stay finite
    under a loss whose generator step does not read the real batch."""
    points = real_points(n)
    points[0, 0] = np.nan
    return {"image": tf.constant(points)}


def test_a_non_finite_update_is_skipped_and_counted_where_it_happened():
    gan = make_gan()
    gan.train_step({"image": tf.constant(real_points(32))})
    d_before, g_before = weights_of(gan.discriminator), weights_of(gan.generator)
    gan.train_step(nan_batch(32))
    for before, after in zip(d_before, weights_of(gan.discriminator), strict=True):
        np.testing.assert_array_equal(before, after)  # the NaN update never reached D
    assert any(not np.allclose(b, a) for b, a in zip(g_before, weights_of(gan.generator),
                                                     strict=True))
    assert all(np.isfinite(w).all() for w in weights_of(gan.discriminator))
    assert gan.progress.first_nonfinite() == (2, "discriminator")
    assert int(gan.progress.nonfinite.numpy()) == 1
    assert gan.d_optimizer.iterations.numpy() == 1  # the skipped update left Adam untouched
    gan.train_step({"image": tf.constant(real_points(32))})
    assert gan.progress.first_nonfinite() == (2, "discriminator")  # the first one is kept


def test_a_nan_on_one_replica_skips_the_update_on_both(two_cpu_strategy):
    with two_cpu_strategy.scope():
        gan = make_gan()
    d_before = weights_of(gan.discriminator)
    # One batch of 32: the first replica's half holds the NaN, the second's is clean.
    gan.fit(tf.data.Dataset.from_tensors(nan_batch(32)), epochs=1, verbose=0)
    for before, w in zip(d_before, gan.discriminator.trainable_weights, strict=True):
        copies = [v.numpy() for v in w.values]
        np.testing.assert_array_equal(copies[0], before)
        np.testing.assert_array_equal(copies[1], before)
    assert gan.progress.first_nonfinite() == (1, "discriminator")


def test_a_skipped_update_also_puts_back_the_batch_norm_statistics_it_moved():
    x = keras.Input((2,))
    h = keras.layers.BatchNormalization()(keras.layers.Dense(8)(x))
    gan = make_gan(d=keras.Model(x, keras.layers.Dense(1)(h)))
    gan.train_step({"image": tf.constant(real_points(32))})
    before = [v.numpy().copy() for v in gan.discriminator.non_trainable_variables]
    gan.train_step(nan_batch(32))
    # G's step sees only fakes: D's statistics move there, finitely; none is NaN.
    assert all(np.isfinite(v.numpy()).all() for v in gan.discriminator.non_trainable_variables)
    assert any(not np.allclose(b, v.numpy()) for b, v in
               zip(before, gan.discriminator.non_trainable_variables, strict=True))
