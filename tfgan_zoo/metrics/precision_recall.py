"""Improved precision and recall (Kynkaanniemi et al. 2019) between two feature sets.

Each set's manifold is approximated by the union of balls around its samples, each ball's radius
being the distance to the sample's k-th nearest neighbour within the set (itself excluded).
Precision is the fraction of fake samples inside the real manifold (are samples realistic?);
recall the fraction of real samples inside the fake manifold (is the data covered?).

Distances are computed in blocks of ``batch_size`` query rows, so memory is O(batch_size * N)
rather than O(N^2).
"""
from __future__ import annotations

import numpy as np

from tfgan_zoo.metrics.streaming import _features


def _squared_distances(queries: np.ndarray, points: np.ndarray,
                       points_sq: np.ndarray) -> np.ndarray:
    """||q - p||^2 for every pair, [len(queries), len(points)], via |q|^2 + |p|^2 - 2 q.p."""
    d2 = np.sum(queries**2, axis=1)[:, None] + points_sq[None, :] - 2.0 * (queries @ points.T)
    return np.maximum(d2, 0.0, out=d2)


def _knn_radii_squared(points: np.ndarray, k: int, batch_size: int) -> np.ndarray:
    """Squared distance from each point to its k-th nearest other point, [N]."""
    points_sq = np.sum(points**2, axis=1)
    radii = np.empty(points.shape[0])
    for start in range(0, points.shape[0], batch_size):
        d2 = _squared_distances(points[start:start + batch_size], points, points_sq)
        rows = np.arange(d2.shape[0])
        d2[rows, start + rows] = np.inf  # A point is not its own neighbour.
        radii[start:start + batch_size] = np.partition(d2, k - 1, axis=1)[:, k - 1]
    return radii


def _fraction_covered(queries: np.ndarray, centres: np.ndarray, radii_sq: np.ndarray,
                      batch_size: int) -> float:
    """Fraction of queries within distance radius of at least one centre (boundary included)."""
    centres_sq = np.sum(centres**2, axis=1)
    covered = 0
    for start in range(0, queries.shape[0], batch_size):
        d2 = _squared_distances(queries[start:start + batch_size], centres, centres_sq)
        covered += int(np.count_nonzero(np.any(d2 <= radii_sq[None, :], axis=1)))
    return covered / queries.shape[0]


def precision_recall(real, fake, k: int = 3, batch_size: int = 1024) -> tuple[float, float]:
    """Improved precision and recall of ``fake`` against ``real``.

    Args:
        real, fake: activations [N_real, D] and [N_fake, D], more than k rows each.
        k: which nearest neighbour sets a ball's radius (the paper uses 3).
        batch_size: rows per block of distances; changes memory use, not the result.

    Returns:
        (precision, recall), each in [0, 1].
    """
    real = _features(real, "real")
    fake = _features(fake, "fake", real.shape[1])
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}.")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    k, batch_size = int(k), int(batch_size)
    for name, rows in (("real", real), ("fake", fake)):
        if rows.shape[0] <= k:
            raise ValueError(f"precision_recall with k={k} needs more than {k} {name} rows; "
                             f"got {rows.shape[0]}.")
    # Distances do not change under translation; centring reduces the cancellation in
    # |q|^2 + |p|^2 - 2 q.p when the features sit far from the origin.
    centre = real.mean(axis=0)
    real, fake = real - centre, fake - centre

    real_radii = _knn_radii_squared(real, k, batch_size)
    fake_radii = _knn_radii_squared(fake, k, batch_size)
    precision = _fraction_covered(fake, real, real_radii, batch_size)
    recall = _fraction_covered(real, fake, fake_radii, batch_size)
    return precision, recall
