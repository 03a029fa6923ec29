"""How the engine changes variables inside a train step, under any `tf.distribute` strategy:
an optimizer update that is skipped when its gradients are not finite, per-replica loss
scaling, and assignments that keep mirrored copies in sync."""
import tensorflow as tf


def apply_if_finite(tape, loss, variables, optimizer, statistics, on_skip, update):
    """Applies `optimizer` to `variables` with the gradients of `loss` from `tape`, unless any
    gradient holds NaN or Inf: then nothing changes but `statistics` (from `snapshot`, taken
    before the forward pass: batch norm moves its averages in the forward pass, from the same
    bad batch) are put back, and `on_skip(update)` records it (update: int64 tensor).

    The gradients are summed over replicas first, so every replica sees the same verdict, and
    gradient clipping (global_clipnorm/clipvalue on the optimizer) acts on the whole global
    batch's gradient.
    """
    pairs = [(g, v) for g, v in zip(tape.gradient(loss, variables), variables, strict=True)
             if g is not None]
    pairs = optimizer.aggregate_gradients(pairs)
    grads = [g for g, _ in pairs]
    targets = [v for _, v in pairs]

    def apply_in_replica(replica_grads):
        optimizer.apply_gradients(zip(replica_grads, targets, strict=True),
                                  skip_gradients_aggregation=True)

    def apply_or_skip(strategy, finite, grads, update, kept):
        # A cond whose branch updates mirrored variables must run in cross-replica context (as
        # Keras' LossScaleOptimizer does it).
        verdict = tf.reduce_all(tf.stack(strategy.experimental_local_results(finite)))

        def apply():
            strategy.extended.call_for_each_replica(apply_in_replica, args=(grads,))
            return tf.constant(True)

        def skip():
            on_skip(strategy.experimental_local_results(update)[0])
            for (variable, _), value in zip(statistics, kept, strict=True):
                strategy.extended.update(variable, lambda v, x: v.assign(x), args=(value,),
                                         group=False)
            return tf.constant(False)

        tf.cond(verdict, apply, skip)

    tf.distribute.get_replica_context().merge_call(
        apply_or_skip, args=(all_finite(grads), grads, update, [v for _, v in statistics]))


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
