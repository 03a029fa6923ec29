"""Losses and penalties against values worked out by hand.

Logits used throughout: real = [2, -1], fake = [0.5, 1], so mean(real) = 0.5, mean(fake) = 0.75.
"""
import math

import numpy as np
import pytest

from tfgan_zoo import losses

# isort: split
# TensorFlow after tfgan_zoo, which sets TF_USE_LEGACY_KERAS before TensorFlow loads.
import tensorflow as tf

REAL = [2.0, -1.0]
FAKE = [0.5, 1.0]


def sp(x):
    """softplus, in plain Python."""
    return math.log(1.0 + math.exp(x))


def value(t):
    assert t.dtype == tf.float32
    assert t.shape == ()
    return float(t.numpy())


# Expected values. sp(-x) is -log(sigmoid(x)), sp(x) is -log(1 - sigmoid(x)).
EXPECTED_D = {
    # Real: -log sig(2), -log sig(-1); fake: -log(1 - sig(0.5)), -log(1 - sig(1)).
    "minimax": (sp(-2) + sp(1)) / 2 + (sp(0.5) + sp(1)) / 2,
    "non_saturating": (sp(-2) + sp(1)) / 2 + (sp(0.5) + sp(1)) / 2,
    # 0.75 - 0.5
    "wasserstein": 0.25,
    # real: relu(1 - 2) = 0, relu(1 + 1) = 2; fake: relu(1.5) = 1.5, relu(2) = 2.
    "hinge": (0 + 2) / 2 + (1.5 + 2) / 2,
    # 0.5 * mean(1, 4) + 0.5 * mean(0.25, 1)
    "least_squares": 0.5 * 2.5 + 0.5 * 0.625,
    # real - fake = [1.5, -2]
    "relativistic": (sp(-1.5) + sp(2)) / 2,
    # real - mean(fake) = [1.25, -1.75]; fake - mean(real) = [0, 0.5]
    "relativistic_average": (sp(-1.25) + sp(1.75)) / 2 + (sp(0) + sp(0.5)) / 2,
}

EXPECTED_G = {
    "minimax": -(sp(0.5) + sp(1)) / 2,
    "non_saturating": (sp(-0.5) + sp(-1)) / 2,
    "wasserstein": -0.75,
    "hinge": -0.75,
    # 0.5 * mean(0.25, 0)
    "least_squares": 0.0625,
    # fake - real = [-1.5, 2]
    "relativistic": (sp(1.5) + sp(-2)) / 2,
    # fake - mean(real) = [0, 0.5]; real - mean(fake) = [1.25, -1.75]
    "relativistic_average": (sp(0) + sp(-0.5)) / 2 + (sp(1.25) + sp(-1.75)) / 2,
}

S = 0.1
EXPECTED_D_SMOOTHED = {
    # Real targets 0.9: BCE(x, t) = t * sp(-x) + (1 - t) * sp(x).
    "minimax": (0.9 * sp(-2) + 0.1 * sp(2) + 0.9 * sp(1) + 0.1 * sp(-1)) / 2
    + (sp(0.5) + sp(1)) / 2,
    "non_saturating": (0.9 * sp(-2) + 0.1 * sp(2) + 0.9 * sp(1) + 0.1 * sp(-1)) / 2
    + (sp(0.5) + sp(1)) / 2,
    # 0.5 * mean(1.1^2, 1.9^2) + 0.5 * mean(0.25, 1)
    "least_squares": 0.5 * (1.21 + 3.61) / 2 + 0.5 * 0.625,
    "relativistic": (0.9 * sp(-1.5) + 0.1 * sp(1.5) + 0.9 * sp(2) + 0.1 * sp(-2)) / 2,
    "relativistic_average": (0.9 * sp(-1.25) + 0.1 * sp(1.25) + 0.9 * sp(1.75) + 0.1 * sp(-1.75))
    / 2
    + (sp(0) + sp(0.5)) / 2,
}

ALL = sorted(EXPECTED_D)
RELATIVISTIC = ["relativistic", "relativistic_average"]
SMOOTHABLE = sorted(EXPECTED_D_SMOOTHED)


def test_registry_lists_every_loss_with_its_flags():
    assert sorted(losses.LOSSES) == ALL
    for name, loss in losses.LOSSES.items():
        assert loss.name == name
        assert loss.d_loss is getattr(losses, f"{name}_d_loss")
        assert loss.g_loss is getattr(losses, f"{name}_g_loss")
        assert loss.g_uses_real is (name in RELATIVISTIC)
        assert loss.accepts_label_smoothing is (name in SMOOTHABLE)
        assert losses.get_loss(name) is loss


def test_unknown_loss_name_lists_valid_names():
    with pytest.raises(ValueError) as info:
        losses.get_loss("wgan")
    message = str(info.value)
    assert "'wgan'" in message
    assert ", ".join(ALL) in message


@pytest.mark.parametrize("name", ALL)
def test_d_loss_value(name):
    got = value(losses.get_loss(name).d_loss(tf.constant(REAL), tf.constant(FAKE)))
    assert got == pytest.approx(EXPECTED_D[name], rel=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_g_loss_value(name):
    real = tf.constant(REAL) if name in RELATIVISTIC else None
    got = value(losses.get_loss(name).g_loss(real, tf.constant(FAKE)))
    assert got == pytest.approx(EXPECTED_G[name], rel=1e-6)


@pytest.mark.parametrize("name", SMOOTHABLE)
def test_d_loss_with_label_smoothing(name):
    d_loss = losses.get_loss(name).d_loss
    got = value(d_loss(tf.constant(REAL), tf.constant(FAKE), label_smoothing=S))
    assert got == pytest.approx(EXPECTED_D_SMOOTHED[name], rel=1e-6)
    assert got != pytest.approx(EXPECTED_D[name], rel=1e-3)


@pytest.mark.parametrize("name", RELATIVISTIC)
def test_relativistic_g_loss_depends_on_real_logits(name):
    g_loss = losses.get_loss(name).g_loss
    fake = tf.constant(FAKE)
    a = value(g_loss(tf.constant(REAL), fake))
    b = value(g_loss(tf.constant([5.0, 3.0]), fake))
    assert abs(a - b) > 0.1


@pytest.mark.parametrize("name", ALL)
def test_column_logits_equal_flat_logits(name):
    loss = losses.get_loss(name)
    real, fake = tf.constant(REAL), tf.constant(FAKE)
    real_col, fake_col = real[:, None], fake[:, None]
    assert value(loss.d_loss(real_col, fake_col)) == pytest.approx(value(loss.d_loss(real, fake)))
    assert value(loss.g_loss(real_col, fake_col)) == pytest.approx(value(loss.g_loss(real, fake)))


def test_bfloat16_logits_in_tf_function_give_float32():
    @tf.function
    def all_losses(real, fake):
        return {
            name: (loss.d_loss(real, fake), loss.g_loss(real, fake))
            for name, loss in losses.LOSSES.items()
        }

    got = all_losses(tf.constant(REAL, tf.bfloat16), tf.constant(FAKE, tf.bfloat16))
    # 2, -1, 0.5 and 1 are exact in bfloat16, so only float32 rounding remains.
    for name in ALL:
        d, g = got[name]
        assert value(d) == pytest.approx(EXPECTED_D[name], rel=1e-6), name
        assert value(g) == pytest.approx(EXPECTED_G[name], rel=1e-6), name


@pytest.mark.parametrize("name", ["wasserstein", "hinge"])
def test_label_smoothing_rejected_where_meaningless(name):
    d_loss = losses.get_loss(name).d_loss
    with pytest.raises(ValueError) as info:
        d_loss(tf.constant(REAL), tf.constant(FAKE), label_smoothing=0.1)
    message = str(info.value)
    assert message.startswith("label_smoothing applies only to ")
    for accepting in SMOOTHABLE:
        assert accepting in message
    assert name in message.split("; got")[1]
    # Zero is the default and stays allowed.
    d_loss(tf.constant(REAL), tf.constant(FAKE), label_smoothing=0.0)


@pytest.mark.parametrize("smoothing", [-0.1, 1.0, 1.5])
def test_label_smoothing_out_of_range(smoothing):
    with pytest.raises(ValueError, match=r"must be in \[0, 1\); got"):
        losses.minimax_d_loss(tf.constant(REAL), tf.constant(FAKE), label_smoothing=smoothing)


# --- Penalties ---


def linear_critic(w):
    """f(x) = sum(w * x) per example: its input gradient is w everywhere."""
    w = tf.constant(w, tf.float32)
    axes = list(range(1, len(w.shape) + 1))
    return lambda x: tf.reduce_sum(w * x, axis=axes)


def random_batch(shape, seed):
    return tf.constant(np.random.default_rng(seed).normal(size=shape), tf.float32)


@pytest.mark.parametrize("alpha", [None, 0.0, 0.3, 1.0])
def test_gradient_penalty_on_linear_critic(alpha):
    w = [[3.0, 0.0], [0.0, 4.0]]  # ||w|| = 5
    real, fake = random_batch([4, 2, 2], 0), random_batch([4, 2, 2], 1)
    if alpha is not None:
        alpha = tf.fill([4, 1, 1], alpha)
    got = losses.gradient_penalty(linear_critic(w), real, fake, alpha=alpha)
    assert value(got) == pytest.approx((5.0 - 1.0) ** 2, rel=1e-6)


def test_gradient_penalty_one_sided():
    real, fake = random_batch([3, 2], 0), random_batch([3, 2], 1)
    small = linear_critic([0.3, 0.4])  # ||w|| = 0.5
    assert value(losses.gradient_penalty(small, real, fake)) == pytest.approx(0.25, rel=1e-5)
    assert value(losses.gradient_penalty(small, real, fake, one_sided=True)) == 0.0
    large = linear_critic([1.2, 1.6])  # ||w|| = 2
    got = losses.gradient_penalty(large, real, fake, one_sided=True)
    assert value(got) == pytest.approx(1.0, rel=1e-5)


def test_gradient_penalty_on_audio_shaped_input():
    w = np.full([8, 1], 0.25)  # ||w|| = sqrt(8 / 16)
    real, fake = random_batch([5, 8, 1], 0), random_batch([5, 8, 1], 1)
    # In a tf.function with an unknown batch size, as a training step would trace it.
    spec = tf.TensorSpec([None, 8, 1], tf.float32)
    penalty = tf.function(
        lambda r, f: losses.gradient_penalty(linear_critic(w), r, f), input_signature=[spec, spec]
    )
    assert value(penalty(real, fake)) == pytest.approx((math.sqrt(0.5) - 1.0) ** 2, rel=1e-5)


def test_default_alpha_is_uniform_with_one_value_per_example():
    seen = []

    def recording_critic(x):
        seen.append(x)
        return tf.reduce_sum(x, axis=[1, 2, 3])

    batch = 2000
    real, fake = tf.zeros([batch, 2, 3, 1]), tf.ones([batch, 2, 3, 1])
    losses.gradient_penalty(recording_critic, real, fake)
    x_hat = seen[0].numpy()  # real + alpha * (1 - 0) = alpha
    assert x_hat.min() >= 0.0 and x_hat.max() <= 1.0
    per_example = x_hat.reshape(batch, -1)
    np.testing.assert_array_equal(per_example, per_example[:, :1] * np.ones_like(per_example))
    assert len(np.unique(per_example[:, 0])) > 0.99 * batch
    assert per_example[:, 0].mean() == pytest.approx(0.5, abs=0.03)  # sd of mean is 0.0065


def test_gradient_penalty_gradient_is_finite_when_critic_gradient_is_zero():
    scale, bias = tf.Variable(0.0), tf.Variable(1.0)

    def critic(x):
        return scale * tf.reduce_sum(x, axis=1) + bias

    real, fake = random_batch([4, 3], 0), random_batch([4, 3], 1)

    def grads(epsilon):
        with tf.GradientTape() as tape:
            penalty = losses.gradient_penalty(critic, real, fake, epsilon=epsilon)
        return penalty, tape.gradient(
            penalty, [scale, bias], unconnected_gradients=tf.UnconnectedGradients.ZERO
        )

    penalty, (d_scale, d_bias) = grads(1e-10)
    assert value(penalty) == pytest.approx(1.0, rel=1e-4)  # (0 - 1)^2
    assert np.isfinite(d_scale.numpy()) and np.isfinite(d_bias.numpy())
    # Without epsilon, sqrt'(0) = inf times a zero gradient is NaN: the case epsilon exists for.
    _, (d_scale, _) = grads(0.0)
    assert np.isnan(d_scale.numpy())


def test_gradient_penalty_trains_critic_weights_through_second_derivative():
    w = tf.Variable([3.0, 4.0])
    real, fake = random_batch([4, 2], 0), random_batch([4, 2], 1)
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(lambda x: tf.reduce_sum(w * x, axis=1), real, fake)
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = 2 * 4 * [3, 4] / 5
    np.testing.assert_allclose(tape.gradient(penalty, w).numpy(), [4.8, 6.4], rtol=1e-5)


def test_r1_penalty_on_linear_critic():
    w = [[1.0, 2.0], [2.0, 0.0]]  # ||w||^2 = 9
    got = losses.r1_penalty(linear_critic(w), random_batch([3, 2, 2], 0))
    assert value(got) == pytest.approx(4.5, rel=1e-6)


def test_clip_weights_clips_in_place():
    a = tf.Variable([-0.5, 0.005, 0.2])
    b = tf.Variable([[0.001, -0.02]])
    losses.clip_weights([a, b], 0.01)
    np.testing.assert_allclose(a.numpy(), [-0.01, 0.005, 0.01])
    np.testing.assert_allclose(b.numpy(), [[0.001, -0.01]])


def test_clip_weights_in_tf_function_under_mirrored_strategy():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        v = tf.Variable([-1.0, 0.5, 2.0])

    @tf.function
    def step():
        strategy.run(lambda: losses.clip_weights([v], 0.75))

    step()
    np.testing.assert_allclose(v.numpy(), [-0.75, 0.5, 0.75])


@pytest.mark.parametrize("clip_value", [0.0, -0.01])
def test_clip_weights_rejects_non_positive_clip_value(clip_value):
    with pytest.raises(ValueError, match="clip_value must be > 0"):
        losses.clip_weights([tf.Variable([1.0])], clip_value)
