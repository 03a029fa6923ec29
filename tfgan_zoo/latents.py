"""The latent prior and the class ids that go with latents: the one place they are drawn.

Three consumers need the same prior: training draws fresh latents from a `tf.random.Generator`
(`Prior.sample`), sample grids, evaluation, exported signatures and `generate` draw them from a
seed alone (`Prior.stateless`, so every source gives the same latents for the same seed), and
the TFLite int8 calibration draws them with NumPy in its child process (`Prior.numpy`).
Conditional models take class ids beside the latents, "in turn" (0, 1, ..., K-1, 0, 1, ...)
wherever no class is asked for (`classes_in_turn`).
"""
import dataclasses

import numpy as np
import tensorflow as tf

DISTRIBUTIONS = ("normal", "uniform")


@dataclasses.dataclass(frozen=True)
class Prior:
    """z [n, dim]: "normal" is N(0, 1), "uniform" is U[-1, 1] (WaveGAN's)."""

    dim: int
    distribution: str = "normal"

    def __post_init__(self):
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(f"latent distribution {self.distribution!r}; "
                             f"valid: {', '.join(DISTRIBUTIONS)}")

    def sample(self, rng, n):
        """Fresh latents [n, dim] from `rng`, a `tf.random.Generator` (training)."""
        shape = (n, self.dim)
        if self.distribution == "uniform":
            return rng.uniform(shape, -1.0, 1.0)
        return rng.normal(shape)

    def stateless(self, n, seed=0):
        """Latents [n, dim] that depend only on `seed` (a Python int or an int64 tensor): the
        same grid every time, also inside exported signatures."""
        shape = tf.stack([tf.cast(n, tf.int32), self.dim])
        seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
        if self.distribution == "uniform":
            return tf.random.stateless_uniform(shape, seed, -1.0, 1.0)
        return tf.random.stateless_normal(shape, seed)

    def numpy(self, rng, n):
        """Latents float32 [n, dim] from a NumPy `Generator` (where no TF random op is wanted)."""
        if self.distribution == "uniform":
            z = rng.uniform(-1.0, 1.0, (n, self.dim))
        else:
            z = rng.standard_normal((n, self.dim))
        return z.astype(np.float32)


def classes_in_turn(count, num_classes, start=0):
    """Class ids int32 [count]: start, start + 1, ... modulo `num_classes`. `count` and `start`
    may be tensors (inside a signature); call `.numpy()` on the result for NumPy."""
    return (tf.range(count, dtype=tf.int32) + tf.cast(start, tf.int32)) % num_classes
