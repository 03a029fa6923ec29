"""tfgan_zoo.spectral_norm: Miyato et al.'s spectral normalisation, and the engine's use of it."""
import types

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tfgan_zoo import config as config_lib
from tfgan_zoo import spectral_norm
from tfgan_zoo.engine.gan import GAN
from tfgan_zoo.models import dcgan
from tfgan_zoo.spectral_norm import SpectralNormalization

SPEC = types.SimpleNamespace(channels=1, num_classes=0)


def top_singular_value(weight):
    matrix = np.reshape(weight, (-1, weight.shape[-1]))
    return np.linalg.svd(matrix, compute_uv=False)[0]


@pytest.mark.parametrize("inner,inputs", [
    (lambda: keras.layers.Conv2D(6, 3, strides=2, padding="same"),
     lambda: tf.random.normal((4, 8, 8, 3), seed=1)),
    (lambda: keras.layers.Dense(5), lambda: tf.random.normal((4, 12), seed=1)),
    (lambda: keras.layers.Embedding(10, 7), lambda: tf.constant([0, 3, 9])),
])
def test_sigma_converges_and_the_layer_computes_with_w_over_sigma(inner, inputs):
    keras.utils.set_random_seed(0)
    layer, x = inner(), inputs()
    wrapper = SpectralNormalization(layer)
    wrapper(x)
    name = "kernel" if hasattr(layer, "kernel") else "embeddings"
    weight = getattr(layer, name).numpy().copy()
    for _ in range(100):
        spectral_norm.power_iteration(types.SimpleNamespace(submodules=[wrapper]))
    sigma = float(wrapper.sigma(wrapper._matrix(), wrapper.vector_u))
    assert sigma == pytest.approx(top_singular_value(weight), rel=1e-4)
    # The variable keeps W: nothing is written into it, by calls or by the iteration.
    np.testing.assert_array_equal(getattr(layer, name).numpy(), weight)
    # The output is the inner layer's with W / sigma.
    reference = inner()
    reference(x)
    reference.set_weights([w / sigma if w.shape == weight.shape else w
                           for w in layer.get_weights()])
    np.testing.assert_allclose(wrapper(x, training=True).numpy(), reference(x).numpy(),
                               rtol=1e-4, atol=1e-6)


def test_the_gradient_flows_through_sigma():
    keras.utils.set_random_seed(1)
    layer = keras.layers.Dense(4, use_bias=False)
    wrapper = SpectralNormalization(layer)
    x = tf.random.normal((8, 6), seed=2)
    wrapper(x)
    u = tf.math.l2_normalize(wrapper.vector_u)

    def loss(kernel, sigma_is_constant):
        sigma = tf.norm(tf.matmul(u, kernel, transpose_b=True))
        if sigma_is_constant:
            sigma = tf.stop_gradient(sigma)
        return tf.reduce_sum(tf.sin(tf.matmul(x, kernel / sigma)))

    with tf.GradientTape() as tape:
        out = tf.reduce_sum(tf.sin(wrapper(x, training=True)))
    got = tape.gradient(out, layer.kernel).numpy()
    kernel = tf.constant(layer.kernel.numpy())
    for constant, matches in ((False, True), (True, False)):
        with tf.GradientTape() as tape:
            tape.watch(kernel)
            expected = tape.gradient(loss(kernel, constant), kernel).numpy()
        assert np.allclose(got, expected, rtol=1e-5, atol=1e-7) == matches


def sngan(layer_class=SpectralNormalization, monkeypatch=None):
    """The SNGAN tiny recipe's networks (optionally with another spectral-norm wrapper) in the
    engine's GAN, hinge loss."""
    cfg = config_lib.load("sngan", "tiny")
    if layer_class is not SpectralNormalization:
        monkeypatch.setattr(dcgan, "SpectralNormalization", layer_class)
    keras.utils.set_random_seed(0)
    gan = GAN(dcgan.build_generator(cfg.model, SPEC), dcgan.build_discriminator(cfg.model, SPEC),
              latent_dim=cfg.model.latent_dim)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), loss="hinge")
    return gan


def values(variables):
    return [v.numpy().copy() for v in variables]


@pytest.mark.parametrize("wrapper,d_untouched", [
    (SpectralNormalization, True),
    # tf_keras's wrapper writes W / sigma into the kernel and moves u at every training call,
    # the generator's included: what the zoo's layer fixes (the test's negative control).
    (keras.layers.SpectralNormalization, False),
])
def test_the_generator_step_leaves_every_discriminator_variable_untouched(
        wrapper, d_untouched, monkeypatch):
    gan = sngan(wrapper, monkeypatch)
    real = tf.random.uniform((16, 28, 28, 1), -1, 1, seed=3)
    gan.train_step({"image": real})  # one whole step: both networks and optimizers are built
    d_before, g_before = values(gan.discriminator.variables), values(gan.generator.variables)
    tf.function(gan._generator_step)(real, None)
    d_after, g_after = values(gan.discriminator.variables), values(gan.generator.variables)
    assert all(np.array_equal(a, b) for a, b in zip(d_before, d_after, strict=True)) == d_untouched
    assert not all(np.array_equal(a, b) for a, b in zip(g_before, g_after, strict=True))


def test_the_discriminator_step_advances_u_once_and_trains_w():
    gan = sngan()
    real = tf.random.uniform((16, 28, 28, 1), -1, 1, seed=4)
    gan.train_step({"image": real})
    layers = [m for m in gan.discriminator.submodules if isinstance(m, SpectralNormalization)]
    assert [layer.name for layer in layers] == ["down0_sn", "down1_sn", "logit_sn"]
    before = [(layer.vector_u.numpy().copy(), layer.layer.kernel.numpy().copy())
              for layer in layers]
    tf.function(gan._discriminator_step)(real, None)
    for layer, (u, kernel) in zip(layers, before, strict=True):
        matrix = kernel.reshape(-1, kernel.shape[-1])
        v = u @ matrix.T
        v /= np.linalg.norm(v)
        once = v @ matrix
        np.testing.assert_allclose(layer.vector_u.numpy(), once / np.linalg.norm(once),
                                   rtol=1e-4, atol=1e-6)
        assert not np.array_equal(layer.layer.kernel.numpy(), kernel)
