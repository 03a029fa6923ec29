"""Spectral normalisation (Miyato, Kataoka, Koyama and Yoshida, ICLR 2018) for discriminators.

A wrapped layer computes with W / sigma(W), where sigma is W's largest singular value estimated
by power iteration from a persistent vector u. Three properties of the paper that tf_keras's
`SpectralNormalization` lacks, and the reason this layer exists:
- sigma is part of the graph: D's gradient flows through W / sigma(W) (u and v are constants),
  and the kernel variable keeps W itself; nothing is written into it.
- u advances only when `power_iteration(network)` is called, which the engine does once at the
  start of each discriminator update (the paper's Algorithm 1): every call of D within that
  update sees the same sigma, and the generator's step, which calls D in training mode too,
  leaves every variable of D as it found it.
- Nothing is rounded: the estimate runs in float32 whatever the mixed-precision policy, and the
  normalised kernel is cast to the wrapped layer's compute dtype only for its computation.
"""
import contextlib

import tensorflow as tf
import tf_keras as keras


def power_iteration(network):
    """Advances the u of every spectral-norm layer inside `network` (also inside nested models
    and pruning wrappers) by one power-iteration step of its current W."""
    for module in network.submodules:
        if isinstance(module, SpectralNormalization):
            module.advance()


@keras.utils.register_keras_serializable(package="tfgan_zoo")
class SpectralNormalization(keras.layers.Wrapper):
    """Wraps a layer with a `kernel` (Dense, convolutions) or `embeddings` (Embedding) matrix.

    The matrix is read as [fan_in, units]: a convolution's [h, w, in, out] kernel flattened to
    [h * w * in, out]. `vector_u` [1, units] (float32, not trained) is the estimate of the top
    right-singular vector; it keeps tf_keras's name, so checkpoints of that wrapper restore.
    """

    def build(self, input_shape=None):
        super().build(input_shape)
        self._weight_name = "kernel" if hasattr(self.layer, "kernel") else "embeddings"
        units = getattr(self.layer, self._weight_name).shape[-1]
        # All replicas compute the same u from the same W; the first one's is kept.
        self.vector_u = self.add_weight(
            name="vector_u", shape=(1, units), dtype=tf.float32, trainable=False,
            initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            synchronization=tf.VariableSynchronization.AUTO,
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    def call(self, inputs):
        weight = tf.cast(self._weight(), tf.float32)  # read once: sigma and W / sigma share it
        sigma = self.sigma(_as_matrix(weight), self.vector_u)
        normalised = tf.cast(weight / sigma, self.layer.compute_dtype)
        with _replaced(self.layer, self._weight_name, normalised):
            return self.layer(inputs)

    def advance(self):
        """One power-iteration step from u [1, units]: v = W u, u = W^T v, each normalised."""
        matrix = self._matrix()
        v = tf.math.l2_normalize(tf.matmul(self.vector_u, matrix, transpose_b=True))
        self.vector_u.assign(tf.math.l2_normalize(tf.matmul(v, matrix)))

    def _weight(self):
        return getattr(self.layer, self._weight_name)

    def _matrix(self):
        """W as float32 [fan_in, units]."""
        return _as_matrix(tf.cast(self._weight(), tf.float32))

    @staticmethod
    def sigma(matrix, u):
        """||W u|| for the unit vector u: the estimate of W's top singular value (a lower bound
        that the power iteration tightens), differentiable in W."""
        u = tf.stop_gradient(tf.math.l2_normalize(tf.convert_to_tensor(u)))
        return tf.norm(tf.matmul(u, matrix, transpose_b=True))

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)


def _as_matrix(weight):
    """A kernel [..., units] as [fan_in, units]."""
    return tf.reshape(weight, (-1, weight.shape[-1]))


@contextlib.contextmanager
def _replaced(layer, name, value):
    """`layer.<name>` reads `value` for the duration. object.__setattr__ bypasses Keras'
    attribute tracking, so the variable stays the layer's weight (saved, trained, pruned)."""
    variable = getattr(layer, name)
    object.__setattr__(layer, name, value)
    try:
        yield
    finally:
        object.__setattr__(layer, name, variable)
