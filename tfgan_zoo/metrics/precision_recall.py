"""Improved precision and recall (Kynkaanniemi et al. 2019) between two feature sets.

Each set's manifold is approximated by the union of balls around its samples, each ball's radius
being the distance to the sample's k-th nearest neighbour within the set (itself excluded).
Precision is the fraction of fake samples inside the real manifold (are samples realistic?);
recall the fraction of real samples inside the fake manifold (is the data covered?).

Distances are computed in blocks of ``batch_size`` query rows, so memory is O(batch_size * N)
rather than O(N^2).

``precision_recall_per_class`` scores each class's fake samples (those asked for class c)
against the real samples of class c alone: a class that collapsed (low recall) or that is drawn
as another class (low precision) shows there, while the global figures average it away or, for
a class drawn as another real class, do not see it at all.
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


def precision_recall_per_class(real, real_classes, fake, fake_classes, k: int = 3,
                               batch_size: int = 1024) -> dict[int, tuple[float, float]]:
    """``precision_recall`` of each class's fake rows against the real rows of that class.

    The balls are the class's own (k-th neighbour within the class's rows), so the cost is that
    of the global figures divided by about the number of classes.

    Reliability: with k=3 a ball needs only 4 rows, but the figures are fractions of the
    class's rows: with 36 real rows of a class (sklearn_digits' test split) recall moves in
    steps of 1/36 and its binomial standard error is up to sqrt(0.25/36) = 0.08, so classes
    differing by less than about 0.15 do not differ reliably. The ball radii also depend on the
    row counts (fewer rows, bigger balls), so compare a class's figures with the real-data floor
    measured with the same counts, not with the global figures or other sample sizes.

    Args:
        real, fake: activations [N_real, D] and [N_fake, D], in the global figures' space.
        real_classes: int [N_real], the label of each real row.
        fake_classes: int [N_fake], the class each fake row was asked for.
        k, batch_size: as in ``precision_recall``.

    Returns:
        {class: (precision, recall)} for every class in ``fake_classes`` with more than k rows
        on both sides (classes with fewer are left out: their balls are undefined).
    """
    real = _features(real, "real")
    fake = _features(fake, "fake", real.shape[1])
    real_classes = _classes(real_classes, real.shape[0], "real_classes")
    fake_classes = _classes(fake_classes, fake.shape[0], "fake_classes")
    out = {}
    for c in np.unique(fake_classes):
        real_c, fake_c = real[real_classes == c], fake[fake_classes == c]
        if min(len(real_c), len(fake_c)) > k:
            out[int(c)] = precision_recall(real_c, fake_c, k, batch_size)
    return out


def _classes(classes, rows: int, name: str) -> np.ndarray:
    """``classes`` as int64 [rows]; ValueError naming ``name`` otherwise."""
    classes = np.asarray(classes)
    if classes.shape != (rows,) or not np.all(np.round(classes) == classes):
        raise ValueError(f"{name} must be {rows} integer class ids, one per row; got "
                         f"{classes.dtype} of shape {classes.shape}.")
    return classes.astype(np.int64)
