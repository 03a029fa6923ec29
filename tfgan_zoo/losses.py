"""GAN losses on discriminator logits, and the penalties that regularise the discriminator.

Losses come in pairs, ``NAME_d_loss(real_logits, fake_logits, label_smoothing=0.0)`` and
``NAME_g_loss(real_logits, fake_logits)``, for NAME in minimax, non_saturating, wasserstein, hinge,
least_squares, relativistic (RSGAN) and relativistic_average (RaSGAN). Logits have shape [B] or
[B, 1] in any float dtype (bfloat16 included); every loss is a float32 scalar, the batch mean.
Only the relativistic generator losses read ``real_logits``; the others accept None there.

``LOSSES`` and ``get_loss(name)`` look a pair up by name, as ``GANLoss`` records that also say
whether the generator loss needs D(real) and whether the discriminator loss takes label smoothing.

Penalties need the discriminator itself, so they take a callable ``critic(x) -> logits``:
``gradient_penalty`` (WGAN-GP, Gulrajani et al. 2017), ``r1_penalty`` (Mescheder et al. 2018) and
``clip_weights`` (the original WGAN's weight clipping). All are unweighted: the caller multiplies
by its lambda or gamma.

Everything here is built from TensorFlow ops, so it runs eagerly, inside ``tf.function`` and in a
``tf.distribute`` replica context.
"""
from __future__ import annotations

import typing
from collections.abc import Callable, Iterable

import tensorflow as tf

LossFn = Callable[..., tf.Tensor]


def _flat(logits) -> tf.Tensor:
    """Logits of shape [B] or [B, 1], as float32 of shape [B]."""
    return tf.reshape(tf.cast(logits, tf.float32), [-1])


def _bce(logits: tf.Tensor, target: float) -> tf.Tensor:
    """Per-example binary cross-entropy of float32 logits against a constant target."""
    # softplus(-x) = -log(sigmoid(x)) and softplus(x) = -log(1 - sigmoid(x)), without overflow.
    return target * tf.nn.softplus(-logits) + (1.0 - target) * tf.nn.softplus(logits)


def _check_smoothing(label_smoothing, loss_name: str) -> float:
    """Validate ``label_smoothing`` (a Python number) for ``loss_name``; return it as a float."""
    label_smoothing = float(label_smoothing)
    if not LOSSES[loss_name].accepts_label_smoothing:
        if label_smoothing != 0.0:
            accepting = ", ".join(n for n, loss in LOSSES.items() if loss.accepts_label_smoothing)
            raise ValueError(
                f"label_smoothing applies only to {accepting} losses; "
                f"got label_smoothing={label_smoothing} for the {loss_name} loss."
            )
        return label_smoothing
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1); got {label_smoothing}.")
    return label_smoothing


# --- Losses. Each d loss is minimised by the discriminator, each g loss by the generator. ---


def _cross_entropy_d_loss(real_logits, fake_logits, label_smoothing) -> tf.Tensor:
    return tf.reduce_mean(_bce(_flat(real_logits), 1.0 - label_smoothing)) + tf.reduce_mean(
        _bce(_flat(fake_logits), 0.0)
    )


def minimax_d_loss(real_logits, fake_logits, label_smoothing=0.0) -> tf.Tensor:
    """Cross-entropy with real target 1 - label_smoothing and fake target 0."""
    s = _check_smoothing(label_smoothing, "minimax")
    return _cross_entropy_d_loss(real_logits, fake_logits, s)


def minimax_g_loss(real_logits, fake_logits) -> tf.Tensor:
    """The original, saturating objective E[log(1 - sigmoid(fake))]; ``real_logits`` unused."""
    del real_logits
    return -tf.reduce_mean(tf.nn.softplus(_flat(fake_logits)))


def non_saturating_d_loss(real_logits, fake_logits, label_smoothing=0.0) -> tf.Tensor:
    """Same as ``minimax_d_loss``."""
    s = _check_smoothing(label_smoothing, "non_saturating")
    return _cross_entropy_d_loss(real_logits, fake_logits, s)


def non_saturating_g_loss(real_logits, fake_logits) -> tf.Tensor:
    """-E[log sigmoid(fake)]: fakes labelled real; ``real_logits`` unused."""
    del real_logits
    return tf.reduce_mean(tf.nn.softplus(-_flat(fake_logits)))


def wasserstein_d_loss(real_logits, fake_logits, label_smoothing=0.0) -> tf.Tensor:
    """E[fake] - E[real]. Needs a Lipschitz critic: add ``gradient_penalty`` or ``clip_weights``.

    ``label_smoothing`` must be 0; it exists so all d losses share one signature.
    """
    _check_smoothing(label_smoothing, "wasserstein")
    return tf.reduce_mean(_flat(fake_logits)) - tf.reduce_mean(_flat(real_logits))


def wasserstein_g_loss(real_logits, fake_logits) -> tf.Tensor:
    """-E[fake]; ``real_logits`` unused."""
    del real_logits
    return -tf.reduce_mean(_flat(fake_logits))


def hinge_d_loss(real_logits, fake_logits, label_smoothing=0.0) -> tf.Tensor:
    """E[relu(1 - real)] + E[relu(1 + fake)]. ``label_smoothing`` must be 0."""
    _check_smoothing(label_smoothing, "hinge")
    return tf.reduce_mean(tf.nn.relu(1.0 - _flat(real_logits))) + tf.reduce_mean(
        tf.nn.relu(1.0 + _flat(fake_logits))
    )


def hinge_g_loss(real_logits, fake_logits) -> tf.Tensor:
    """-E[fake]; ``real_logits`` unused."""
    del real_logits
    return -tf.reduce_mean(_flat(fake_logits))


def least_squares_d_loss(real_logits, fake_logits, label_smoothing=0.0) -> tf.Tensor:
    """LSGAN with a=0, b=1: 0.5 E[(real - (1 - label_smoothing))^2] + 0.5 E[fake^2]."""
    s = _check_smoothing(label_smoothing, "least_squares")
    return 0.5 * tf.reduce_mean(tf.square(_flat(real_logits) - (1.0 - s))) + 0.5 * tf.reduce_mean(
        tf.square(_flat(fake_logits))
    )


def least_squares_g_loss(real_logits, fake_logits) -> tf.Tensor:
    """LSGAN with c=1: 0.5 E[(fake - 1)^2]; ``real_logits`` unused."""
    del real_logits
    return 0.5 * tf.reduce_mean(tf.square(_flat(fake_logits) - 1.0))


def relativistic_d_loss(real_logits, fake_logits, label_smoothing=0.0) -> tf.Tensor:
    """RSGAN: cross-entropy of real_i - fake_i with target 1 - label_smoothing.

    Pairs are taken by index, so real and fake batches must have the same size.
    """
    s = _check_smoothing(label_smoothing, "relativistic")
    return tf.reduce_mean(_bce(_flat(real_logits) - _flat(fake_logits), 1.0 - s))


def relativistic_g_loss(real_logits, fake_logits) -> tf.Tensor:
    """RSGAN: E[softplus(-(fake_i - real_i))]; needs ``real_logits`` of the same batch size."""
    return tf.reduce_mean(tf.nn.softplus(_flat(real_logits) - _flat(fake_logits)))


def relativistic_average_d_loss(real_logits, fake_logits, label_smoothing=0.0) -> tf.Tensor:
    """RaSGAN: E[BCE(real - mean(fake), 1 - s)] + E[BCE(fake - mean(real), 0)]."""
    s = _check_smoothing(label_smoothing, "relativistic_average")
    real, fake = _flat(real_logits), _flat(fake_logits)
    return tf.reduce_mean(_bce(real - tf.reduce_mean(fake), 1.0 - s)) + tf.reduce_mean(
        _bce(fake - tf.reduce_mean(real), 0.0)
    )


def relativistic_average_g_loss(real_logits, fake_logits) -> tf.Tensor:
    """RaSGAN: E[softplus(-(fake - mean(real)))] + E[softplus(real - mean(fake))].

    Needs ``real_logits``; the batches may differ in size.
    """
    real, fake = _flat(real_logits), _flat(fake_logits)
    return tf.reduce_mean(tf.nn.softplus(tf.reduce_mean(real) - fake)) + tf.reduce_mean(
        tf.nn.softplus(real - tf.reduce_mean(fake))
    )


class GANLoss(typing.NamedTuple):
    """A pair of losses by name, with what the training step needs to know about them."""

    name: str
    d_loss: LossFn
    g_loss: LossFn
    # False lets the generator step skip evaluating D on real data.
    g_uses_real: bool
    accepts_label_smoothing: bool


LOSSES: dict[str, GANLoss] = {
    loss.name: loss
    for loss in (
        GANLoss("minimax", minimax_d_loss, minimax_g_loss, False, True),
        GANLoss("non_saturating", non_saturating_d_loss, non_saturating_g_loss, False, True),
        GANLoss("wasserstein", wasserstein_d_loss, wasserstein_g_loss, False, False),
        GANLoss("hinge", hinge_d_loss, hinge_g_loss, False, False),
        GANLoss("least_squares", least_squares_d_loss, least_squares_g_loss, False, True),
        GANLoss("relativistic", relativistic_d_loss, relativistic_g_loss, True, True),
        GANLoss(
            "relativistic_average",
            relativistic_average_d_loss,
            relativistic_average_g_loss,
            True,
            True,
        ),
    )
}


def get_loss(name: str) -> GANLoss:
    """The ``GANLoss`` called ``name``; ValueError listing the valid names if there is none."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(
            f"Unknown GAN loss {name!r}; valid names are: {', '.join(sorted(LOSSES))}."
        ) from None


# --- Penalties ---


def _input_gradient(critic: Callable[[tf.Tensor], tf.Tensor], x: tf.Tensor,
                    loss_scale=1.0) -> tf.Tensor:
    """d sum(critic(x)) / dx, as float32 of shape [B, N] (all non-batch axes flattened).

    Taken of ``loss_scale`` times the sum and divided by it in float32, so that a critic
    computing in float16 does not flush small gradients to zero on the way back to x.
    """
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(tf.cast(critic(x), tf.float32)) * loss_scale
    # A critic that ignores its input has a zero gradient, not a missing one.
    grad = tape.gradient(total, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return tf.reshape(tf.cast(grad, tf.float32) / loss_scale, [tf.shape(grad)[0], -1])


def class_loss(labels, class_logits) -> tf.Tensor:
    """ACGAN's auxiliary loss: mean sparse softmax cross-entropy of class ids int32 [B] under
    class logits [B, num_classes], in float32."""
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=tf.cast(class_logits, tf.float32)))


def gradient_penalty(
    critic: Callable[[tf.Tensor], tf.Tensor],
    real,
    fake,
    *,
    one_sided: bool = False,
    epsilon: float = 1e-10,
    alpha=None,
    loss_scale=1.0,
) -> tf.Tensor:
    """WGAN-GP penalty on points between real and fake examples; a float32 scalar, unweighted.

    Args:
      critic: maps a batch like ``real`` to logits of shape [B] or [B, 1], e.g.
        ``lambda x: disc(x, training=True)``. Call this function inside the tape that computes
        the critic's loss, so the penalty's gradient reaches the critic's weights.
      real, fake: batches of the same shape [B, ...] (rank >= 2: images [B, H, W, C], audio
        [B, T, C], ...). ``fake`` is cast to ``real``'s dtype; x_hat keeps that dtype.
      one_sided: penalise only gradient norms above 1: E[relu(norm - 1)^2].
      epsilon: added under the square root of the norm, so a zero gradient does not make the
        penalty's own gradient NaN.
      alpha: interpolation weights broadcastable to ``real``; by default one draw from U[0, 1]
        per example, shape [B, 1, ..., 1].
      loss_scale: for a critic computing in float16, the float32 loss scale its optimizer
        trains at (PyTorch AMP's recipe for penalties): the gradient of the critic is taken of
        its logits times this and divided by it after, so small gradients survive float16; an
        overflow makes the penalty Inf, which the loss scale's own overflow handling then
        lowers. 1 otherwise.

    Returns E[(||grad critic(x_hat)|| - 1)^2] with x_hat = real + alpha * (fake - real). The
    caller multiplies it by lambda (10 in the paper).
    """
    real = tf.convert_to_tensor(real)
    fake = tf.cast(fake, real.dtype)
    if alpha is None:
        shape = tf.concat(
            [tf.shape(real)[:1], tf.ones([tf.rank(real) - 1], dtype=tf.int32)], axis=0
        )
        alpha = tf.random.uniform(shape, 0.0, 1.0, dtype=tf.float32)
    alpha = tf.cast(alpha, real.dtype)
    x_hat = real + alpha * (fake - real)

    grad = _input_gradient(critic, x_hat, loss_scale)
    norm = tf.sqrt(tf.reduce_sum(tf.square(grad), axis=1) + epsilon)
    excess = norm - 1.0
    if one_sided:
        excess = tf.nn.relu(excess)
    return tf.reduce_mean(tf.square(excess))


def r1_penalty(critic: Callable[[tf.Tensor], tf.Tensor], real, *, loss_scale=1.0) -> tf.Tensor:
    """R1 penalty 0.5 * E[||grad_x critic(x)||^2] on real data; a float32 scalar.

    ``critic``, ``real`` and ``loss_scale`` are as in ``gradient_penalty``. The 0.5 is included,
    so a caller that adds ``gamma * r1_penalty(...)`` gets Mescheder et al.'s (2018)
    gamma/2 * E[||grad||^2].
    """
    grad = _input_gradient(critic, tf.convert_to_tensor(real), loss_scale)
    return 0.5 * tf.reduce_mean(tf.reduce_sum(tf.square(grad), axis=1))


def clip_weights(variables: Iterable[tf.Variable], clip_value: float) -> None:
    """Clip each variable in place to [-clip_value, clip_value] (the original WGAN critic).

    Call after each critic optimizer step, with e.g. ``disc.trainable_variables`` and 0.01.
    Works eagerly, in ``tf.function`` and in a ``tf.distribute`` replica context.
    """
    if clip_value <= 0:
        raise ValueError(f"clip_value must be > 0; got {clip_value}.")
    variables = list(variables)

    def clip(*_):
        for v in variables:
            v.assign(tf.clip_by_value(v, -clip_value, clip_value))

    replica_context = tf.distribute.get_replica_context()
    if replica_context is None:  # Cross-replica context: assign updates every copy.
        clip()
    else:
        # Mirrored variables cannot be assigned per replica; clip once for all of them.
        replica_context.merge_call(clip)
