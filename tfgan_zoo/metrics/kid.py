"""Kernel Inception Distance: an unbiased estimate of the squared MMD between two feature sets.

Binkowski et al. 2018 ("Demystifying MMD GANs") use the cubic polynomial kernel
k(x, y) = (x . y / D + 1)^3 and average the unbiased MMD^2 estimate over random subsets. Unlike
FID the estimate is unbiased, so it can be compared across sample sizes and is usable at small N;
it is often quoted multiplied by 1000.
"""
from __future__ import annotations

import numpy as np

from tfgan_zoo.metrics.streaming import _features


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between equal-size samples x and y, [m, D] each, m >= 2."""
    m = x.shape[0]
    k_xx = _polynomial_kernel(x, x)
    k_yy = _polynomial_kernel(y, y)
    k_xy = _polynomial_kernel(x, y)
    # Off-diagonal means: k(x_i, x_i) terms would bias the estimate upwards.
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within_x + within_y - 2.0 * k_xy.mean())


def kernel_inception_distance(real, fake, num_subsets: int = 100, subset_size: int = 1000,
                              seed: int = 0) -> tuple[float, float]:
    """KID between two feature sets, with its standard error over subsets.

    Each of ``num_subsets`` subsets takes m = min(subset_size, len(real), len(fake)) rows of each
    set without replacement: ``rng.choice(len(real), m, replace=False)`` then the same for fake,
    from one ``numpy.random.default_rng(seed)``, so the result is deterministic for a seed.

    Args:
        real, fake: activations [N_real, D] and [N_fake, D], at least 2 rows each.
        num_subsets: subsets to average over (>= 1).
        subset_size: rows per subset and side, at most (>= 2).
        seed: seed of the subset draws.

    Returns:
        (mean, standard error): the mean MMD^2 estimate over subsets, and the std (ddof=1) of the
        estimates over sqrt(num_subsets) (0 when num_subsets is 1). The mean can be slightly
        negative when the two sets come from the same distribution.
    """
    real = _features(real, "real")
    fake = _features(fake, "fake", real.shape[1])
    for name, rows in (("real", real), ("fake", fake)):
        if rows.shape[0] < 2:
            raise ValueError(f"KID needs at least 2 {name} rows; got {rows.shape[0]}.")
    if int(num_subsets) != num_subsets or num_subsets < 1:
        raise ValueError(f"num_subsets must be a positive integer; got {num_subsets!r}.")
    if int(subset_size) != subset_size or subset_size < 2:
        raise ValueError(f"subset_size must be an integer >= 2; got {subset_size!r}.")
    num_subsets = int(num_subsets)

    m = min(int(subset_size), real.shape[0], fake.shape[0])
    rng = np.random.default_rng(seed)
    estimates = np.empty(num_subsets)
    for i in range(num_subsets):
        real_rows = rng.choice(real.shape[0], m, replace=False)
        fake_rows = rng.choice(fake.shape[0], m, replace=False)
        estimates[i] = _mmd2_unbiased(real[real_rows], fake[fake_rows])
    if num_subsets == 1:
        return float(estimates[0]), 0.0
    return float(estimates.mean()), float(estimates.std(ddof=1) / np.sqrt(num_subsets))
