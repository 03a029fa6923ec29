"""How the engine changes variables inside a train step, under any `tf.distribute` strategy:
an optimizer update that is skipped when its gradients are not finite, loss scaling for float16,
per-replica loss scaling, and assignments that keep mirrored copies in sync."""
import tensorflow as tf
import tf_keras as keras


def apply_if_finite(tape, loss, variables, optimizer, statistics, on_skip, update,
                    on_overflow):
    """Applies `optimizer` to `variables` with the gradients of `loss` from `tape`, unless any
    gradient holds NaN or Inf: then nothing changes but `statistics` (from `snapshot`, taken
    before the forward pass: batch norm moves its averages in the forward pass, from the same
    bad batch) are put back, and `on_skip(update)` records it (update: int64 tensor).

    The gradients are summed over replicas first, so every replica sees the same verdict, and
    gradient clipping (global_clipnorm/clipvalue on the optimizer) acts on the whole global
    batch's gradient.

    A LossScaleOptimizer (float16 compute, see `loss_scaled`) has the gradients taken of the
    loss times its loss scale, so that small ones do not underflow in float16, and divided by
    it once summed over replicas. Non-finite gradients while that scale is above 1 are the scale
    overflowing float16, not a divergence: the update is skipped as above, the scale halves,
    and `on_overflow()` counts it instead of `on_skip`. Finite ones count towards the scale's
    doubling (after 2,000 in a row); the wrapped optimizer applies them, so the
    LossScaleOptimizer does not check them a second time.
    """
    scale = _dynamic_scale(optimizer)
    inner = optimizer.inner_optimizer if scale is not None else optimizer
    # The scale enters as the loss's own gradient: the same as differentiating scale * loss.
    seed = tf.cast(scale(), loss.dtype) if scale is not None else None
    pairs = [(g, v) for g, v in zip(tape.gradient(loss, variables, output_gradients=seed),
                                    variables, strict=True)
             if g is not None]
    pairs = inner.aggregate_gradients(pairs)
    grads = [g for g, _ in pairs]
    if scale is not None:
        grads = optimizer.get_unscaled_gradients(grads)
    targets = [v for _, v in pairs]

    def apply_in_replica(replica_grads):
        inner.apply_gradients(zip(replica_grads, targets, strict=True),
                              skip_gradients_aggregation=True)

    def apply_or_skip(strategy, grads, update, kept):
        # A cond whose branch updates mirrored variables must run in cross-replica context (as
        # Keras' LossScaleOptimizer does it). The scale is read before the verdict moves it.
        above_floor = scale.current_loss_scale > 1 if scale is not None else None
        finite = _verdict(strategy, grads, scale)

        def apply():
            strategy.extended.call_for_each_replica(apply_in_replica, args=(grads,))
            return tf.constant(True)

        def skip():
            number = strategy.experimental_local_results(update)[0]
            if above_floor is None:
                on_skip(number)
            else:
                tf.cond(above_floor, lambda: _done(on_overflow),
                        lambda: _done(on_skip, number))
            for (variable, _), value in zip(statistics, kept, strict=True):
                strategy.extended.update(variable, lambda v, x: v.assign(x), args=(value,),
                                         group=False)
            return tf.constant(False)

        tf.cond(finite, apply, skip)

    tf.distribute.get_replica_context().merge_call(
        apply_or_skip, args=(grads, update, [v for _, v in statistics]))


def _verdict(strategy, grads, scale):
    """Whether every summed gradient is finite, from cross-replica context (the sums are the
    same on every replica). A dynamic loss scale follows it: halved (not below 1) if not, one
    step nearer doubling if so."""
    if scale is not None:
        return scale.update(grads)[1]
    finite = strategy.extended.call_for_each_replica(all_finite, args=(grads,))
    return strategy.experimental_local_results(finite)[0]


def _done(fn, *args):
    """Runs `fn(*args)` for its effect, as a `tf.cond` branch (which must return a value)."""
    fn(*args)
    return tf.constant(True)


def loss_scaled(optimizer):
    """`optimizer` wrapped in a dynamic `LossScaleOptimizer` where the global Keras policy
    computes in float16, whose gradients underflow without one (Keras' `Model.compile` wraps
    the same way); as it is otherwise, and None stays None. A LossScaleOptimizer passed in is
    kept if its scale is dynamic (ValueError if fixed: the engine moves the scale itself)."""
    if isinstance(optimizer, keras.mixed_precision.LossScaleOptimizer):
        if not optimizer.dynamic:
            raise ValueError("a LossScaleOptimizer with a fixed loss scale is not supported; "
                             "pass the optimizer unwrapped (it is wrapped with a dynamic "
                             "scale under mixed_float16) or a dynamic one")
        return optimizer
    if optimizer is None or keras.mixed_precision.global_policy().compute_dtype != "float16":
        return optimizer
    return keras.mixed_precision.LossScaleOptimizer(optimizer)


def loss_scale(optimizer):
    """The float32 loss scale `optimizer` trains at now: 1 unless it is a LossScaleOptimizer."""
    if isinstance(optimizer, keras.mixed_precision.LossScaleOptimizer):
        return optimizer.loss_scale
    return tf.constant(1.0)


def _dynamic_scale(optimizer):
    """The dynamic loss scale of a LossScaleOptimizer, or None. Keras keeps it private; its
    `update(grads)` is what `LossScaleOptimizer.apply_gradients` calls, and the engine calls it
    in its own cond instead, to tell an overflow from a divergence."""
    if isinstance(optimizer, keras.mixed_precision.LossScaleOptimizer):
        return optimizer._loss_scale
    return None


def snapshot(network):
    """[(variable, its value now)] of the network's non-trainable variables (batch-norm
    statistics), for `apply_if_finite` to put back when it skips an update."""
    return [(v, tf.identity(v)) for v in network.non_trainable_variables]


def all_finite(grads):
    """Whether every gradient (dense or IndexedSlices) holds only finite values."""
    values = [g.values if isinstance(g, tf.IndexedSlices) else g for g in grads]
    if not values:
        return tf.constant(True)
    return tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in values])


def per_replica(loss):
    """Optimizers sum gradients over replicas: scale each replica's mean loss so that the sum
    is the global-batch mean. Must run inside the gradient tape."""
    return loss / tf.distribute.get_strategy().num_replicas_in_sync


def update_in_sync(targets, fn, sources=None):
    """Runs `fn(target[, source])` on every target variable, from a replica context.

    Mirrored variables refuse a plain `assign` inside a replica, so the update goes through
    `merge_call`, as optimizers do; with no strategy this is an ordinary assign.
    """
    def merge(strategy):
        for i, target in enumerate(targets):
            args = (sources[i],) if sources is not None else ()
            strategy.extended.update(target, fn, args=args, group=False)

    tf.distribute.get_replica_context().merge_call(merge)


def read_once(reads):
    """{name: fn()} for `reads` ({name: fn() -> tensor}, e.g. a variable's `read_value`), called
    once in cross-replica context: what a train step returns for Keras to log. Keras sums what
    each replica of a MirroredStrategy returns, which would multiply a counter by the replicas;
    a value all replicas share passes as it is."""
    if not reads:
        return {}
    return tf.distribute.get_replica_context().merge_call(
        lambda strategy: {name: read() for name, read in reads.items()})
