"""Frechet distance between Gaussians fitted to two sets of activations (FID with Inception's).

    d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))        (Heusel et al. 2017)

Numerical handling, all reported through absl logging:

- If ``scipy.linalg.sqrtm(S1 @ S2)`` is not finite, or SciPy reports the product singular or
  ill-conditioned (SciPy >= 1.16 warns and returns a finite but inaccurate root instead of
  NaNs), ``eps * I`` (eps = 1e-6) is added to both covariances and the distance is that between
  the two regularised Gaussians: a change of order eps * D, far below any difference that matters.
- The root of a real non-symmetric product can come back complex from rounding. The real part is
  used; a warning gives the largest imaginary component when it exceeds 1e-3 times the feature
  scale (the mean per-feature variance, or 1 if that is smaller).
- A negative result within rounding (above -1e-6 times ||mu1 - mu2||^2 + Tr S1 + Tr S2) is
  returned as 0. A more negative one is returned as it is, with a warning, so that a numerical
  failure is never hidden.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
from absl import logging

from tfgan_zoo.metrics.streaming import FeatureStats

EPS = 1e-6
_IMAG_TOLERANCE = 1e-3
_NEGATIVE_TOLERANCE = 1e-6


class NotEnoughSamplesError(ValueError):
    """Too few samples for a non-singular covariance (FID needs more than D per side)."""


def _mean_and_cov(mu, sigma, name: str, dim: int | None = None):
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    if mu.ndim != 1 or (dim is not None and mu.shape[0] != dim):
        expected = "[D]" if dim is None else f"[{dim}]"
        raise ValueError(f"mu{name} must have shape {expected}; got {mu.shape}.")
    if sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(f"sigma{name} must have shape [{mu.shape[0]}, {mu.shape[0]}] to match "
                         f"mu{name}; got {sigma.shape}.")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise ValueError(f"mu{name} and sigma{name} must be finite.")
    return mu, sigma


def _sqrtm_of_product(sigma1: np.ndarray, sigma2: np.ndarray):
    """(sigma1 @ sigma2)^(1/2), and SciPy's complaint about the product (None if it had none)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(sigma1 @ sigma2)
    complaint = None
    for w in caught:
        if issubclass(w.category, scipy.linalg.LinAlgWarning):
            complaint = str(w.message)
        else:  # Not ours to swallow.
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if complaint is None and not np.isfinite(root).all():
        complaint = "the square root is not finite."
    return root, complaint


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2).

    Args:
        mu1, mu2: means, shape [D].
        sigma1, sigma2: covariances, shape [D, D] (symmetric positive semi-definite).

    Returns:
        The squared Frechet distance (what is reported as FID), a float >= 0 except after a
        numerical failure, which is logged. 0 for identical inputs.
    """
    mu1, sigma1 = _mean_and_cov(mu1, sigma1, "1")
    mu2, sigma2 = _mean_and_cov(mu2, sigma2, "2", dim=mu1.shape[0])
    dim = mu1.shape[0]

    root, complaint = _sqrtm_of_product(sigma1, sigma2)
    if complaint is not None:
        logging.warning(
            "Frechet distance: sqrtm(sigma1 @ sigma2) is unreliable (SciPy: %s) The product is "
            "near-singular, typically from fewer samples than feature dimensions or from dead or "
            "duplicated features; retrying with %g*I added to both covariances.", complaint, EPS)
        offset = EPS * np.eye(dim)
        sigma1, sigma2 = sigma1 + offset, sigma2 + offset
        root, _ = _sqrtm_of_product(sigma1, sigma2)
        if not np.isfinite(root).all():
            raise FloatingPointError(
                "Frechet distance: sqrtm(sigma1 @ sigma2) is not finite even with "
                f"{EPS}*I added to both covariances; check the features for huge values.")

    if np.iscomplexobj(root):
        max_imag = float(np.max(np.abs(root.imag)))
        feature_scale = max(1.0, float(np.trace(sigma1) + np.trace(sigma2)) / (2 * dim))
        if max_imag > _IMAG_TOLERANCE * feature_scale:
            logging.warning(
                "Frechet distance: sqrtm(sigma1 @ sigma2) has imaginary components up to %g "
                "(feature scale %g); using the real part, but the result may be inaccurate.",
                max_imag, feature_scale)
        root = root.real

    mean_term = float(np.sum((mu1 - mu2) ** 2))
    trace1, trace2 = float(np.trace(sigma1)), float(np.trace(sigma2))
    distance = mean_term + trace1 + trace2 - 2.0 * float(np.trace(root))
    if distance < 0:
        scale = mean_term + trace1 + trace2
        if distance >= -_NEGATIVE_TOLERANCE * scale:
            distance = 0.0  # Rounding: the exact value is >= 0.
        else:
            logging.warning("Frechet distance came out negative (%g, scale %g): the covariance "
                            "square root is inaccurate.", distance, scale)
    return distance


def fid_from_stats(stats_a: FeatureStats, stats_b: FeatureStats) -> float:
    """Frechet distance between the Gaussians fitted to two ``FeatureStats``.

    Raises:
        NotEnoughSamplesError: either side has seen fewer than D + 1 rows.
        ValueError: the two have different dimensions.
    """
    if stats_a.dim != stats_b.dim:
        raise ValueError(f"Cannot compare {stats_a.dim}-dimensional features with "
                         f"{stats_b.dim}-dimensional ones: use the same extractor for both.")
    dim = stats_a.dim
    fewest = min(stats_a.count, stats_b.count)
    if fewest < dim + 1:
        raise NotEnoughSamplesError(
            f"FID with {dim}-dimensional features needs at least {dim + 1} samples per side to "
            f"have a non-singular covariance; got {fewest}. Pass at least {dim + 1} samples "
            "(more is better: FID is biased at small N).")
    return frechet_distance(stats_a.mean, stats_a.covariance(), stats_b.mean, stats_b.covariance())
