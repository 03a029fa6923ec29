"""Collecting activations batch by batch: running mean/covariance, and a bounded uniform sample.

``FeatureStats`` keeps what FID needs (count, mean, covariance) in O(D^2) memory however many
batches pass through it. ``FeatureReservoir`` keeps a uniform random sample of at most
``max_size`` rows, for the metrics that need the rows themselves (KID, precision/recall).
Both accept any array-like of shape [b, D] (NumPy, a TensorFlow eager tensor, a list) and work in
float64.
"""
from __future__ import annotations

import numpy as np


def _features(array, name: str, dim: int | None = None) -> np.ndarray:
    """``array`` as a finite float64 matrix [N, D]; ValueError naming ``name`` otherwise."""
    x = np.asarray(array, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape [N, D]; got shape {x.shape}.")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"{name} must have {dim} columns (features); got shape {x.shape}.")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return x


class FeatureStats:
    """Running count, mean and covariance of feature rows, fed one batch at a time.

    Each batch is reduced to its own count, mean and centred scatter matrix, which are merged into
    the running totals with the pairwise update of Chan, Golub and LeVeque (1979). Centring every
    batch on its own mean keeps the result accurate when the features sit far from the origin,
    and the result does not depend (beyond rounding) on how the rows were split into batches.

    Args:
        dim: D, the number of features per row.
    """

    def __init__(self, dim: int):
        if int(dim) != dim or dim < 1:
            raise ValueError(f"dim must be a positive integer; got {dim!r}.")
        self._dim = int(dim)
        self._count = 0
        self._mean = np.zeros(self._dim)
        # Sum over rows of (x - mean)(x - mean)^T.
        self._scatter = np.zeros((self._dim, self._dim))

    @property
    def dim(self) -> int:
        """D, the number of features per row."""
        return self._dim

    @property
    def count(self) -> int:
        """Rows seen so far."""
        return self._count

    @property
    def mean(self) -> np.ndarray:
        """Mean of the rows seen so far, float64 [D] (zeros before any row)."""
        return self._mean.copy()

    def covariance(self) -> np.ndarray:
        """Unbiased (divided by N - 1) covariance of the rows seen so far, float64 [D, D]."""
        if self._count < 2:
            raise ValueError(f"covariance needs at least 2 rows; got {self._count}.")
        return self._scatter / (self._count - 1)

    def update(self, batch) -> None:
        """Add the rows of ``batch``, shape [b, D] (b may be 0)."""
        x = _features(batch, "batch", self._dim)
        if x.shape[0] == 0:
            return
        batch_mean = x.mean(axis=0)
        centred = x - batch_mean
        self._merge(x.shape[0], batch_mean, centred.T @ centred)

    def merge(self, other: FeatureStats) -> None:
        """Add everything ``other`` has seen (for example stats gathered on another worker)."""
        if other.dim != self._dim:
            raise ValueError(f"Cannot merge stats of dimension {other.dim} into {self._dim}.")
        self._merge(other.count, other._mean, other._scatter)

    def _merge(self, count: int, mean: np.ndarray, scatter: np.ndarray) -> None:
        if count == 0:
            return
        total = self._count + count
        delta = mean - self._mean
        self._mean = self._mean + delta * (count / total)
        self._scatter = self._scatter + scatter + np.outer(delta, delta) * (
            self._count * count / total)
        self._count = total


class FeatureReservoir:
    """A uniform random sample of at most ``max_size`` of the rows fed to it (Algorithm R).

    After N rows, every row has been kept with probability min(1, max_size / N). Memory grows
    with the rows kept, up to max_size * D float64 values. Row t (counting from 0) beyond the
    first max_size takes one uniform draw from ``numpy.random.default_rng(seed)`` and replaces
    slot floor(u * (t + 1)) when that is below max_size; since each row takes exactly one draw,
    the rows kept depend only on the seed and the sequence of rows, not on how it was batched.

    Args:
        max_size: the most rows kept.
        seed: seed of the NumPy Generator that picks the rows.
    """

    def __init__(self, max_size: int = 10_000, seed: int = 0):
        if int(max_size) != max_size or max_size < 1:
            raise ValueError(f"max_size must be a positive integer; got {max_size!r}.")
        self._max_size = int(max_size)
        self._rng = np.random.default_rng(seed)
        self._count = 0
        self._buffer: np.ndarray | None = None

    @property
    def max_size(self) -> int:
        return self._max_size

    @property
    def count(self) -> int:
        """Rows seen so far (kept or not)."""
        return self._count

    @property
    def features(self) -> np.ndarray:
        """A copy of the kept rows, float64 [min(count, max_size), D], in no particular order.

        Shape (0, 0) before any batch has been seen.
        """
        if self._buffer is None:
            return np.empty((0, 0))
        return self._buffer[:min(self._count, self._max_size)].copy()

    def update(self, batch) -> None:
        """Offer the rows of ``batch``, shape [b, D], to the sample."""
        dim = None if self._buffer is None else self._buffer.shape[1]
        x = _features(batch, "batch", dim)
        if self._buffer is None:
            self._buffer = np.empty((0, x.shape[1]))
        # Filling phase: the first max_size rows are all kept.
        num_fill = min(x.shape[0], max(0, self._max_size - self._count))
        if num_fill:
            self._reserve(self._count + num_fill)
            self._buffer[self._count:self._count + num_fill] = x[:num_fill]
        rest = x[num_fill:]
        if len(rest):
            t = self._count + num_fill + np.arange(len(rest))
            # floor(u * (t + 1)) is uniform on 0..t; the minimum guards against rounding to t + 1.
            slots = np.minimum(np.floor(self._rng.random(len(rest)) * (t + 1)).astype(np.int64), t)
            kept = slots < self._max_size
            slots, rows = slots[kept], rest[kept]
            # When a batch hits the same slot twice the later row wins, as in the sequential
            # algorithm; NumPy's fancy assignment does not promise an order, so drop earlier hits.
            unique_slots, first_from_end = np.unique(slots[::-1], return_index=True)
            self._buffer[unique_slots] = rows[len(rows) - 1 - first_from_end]
        self._count += x.shape[0]

    def _reserve(self, rows: int) -> None:
        """Grow the buffer (geometrically, up to max_size) so that it holds ``rows`` rows."""
        capacity = self._buffer.shape[0]
        if rows <= capacity:
            return
        new_capacity = min(self._max_size, max(rows, 2 * capacity))
        grown = np.empty((new_capacity, self._buffer.shape[1]))
        grown[:capacity] = self._buffer
        self._buffer = grown
