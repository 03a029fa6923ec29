"""FID against a direct implementation of the published formula, closed forms and edge cases."""
import logging

import numpy as np
import pytest
import scipy.linalg

from tfgan_zoo import metrics


def direct_fid(a, b):
    """Heusel et al. 2017, straight from the formula: no blocking, no regularisation."""
    mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s1 @ s2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2.0 * root))


def stats_of(x, batch_sizes=(7, 100, 1)):
    """FeatureStats of x, fed in uneven batches (the rest in one final batch)."""
    stats = metrics.FeatureStats(x.shape[1])
    start = 0
    for size in batch_sizes:
        stats.update(x[start:start + size])
        start += size
    stats.update(x[start:])
    return stats


def activations(n, d, seed, shift=0.0, scale=1.0):
    """Correlated Gaussian activations [n, d], with a random mixing matrix per seed."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(d, d)) / np.sqrt(d)
    return shift + scale * rng.normal(size=(n, d)) @ mixing


@pytest.fixture
def absl_warnings(caplog):
    caplog.set_level(logging.WARNING, logger="absl")
    return caplog


def test_matches_direct_formula():
    a = activations(500, 16, seed=0)
    b = activations(500, 16, seed=1, shift=0.5, scale=1.5)
    expected = direct_fid(a, b)
    assert expected > 1.0
    assert metrics.fid_from_stats(stats_of(a), stats_of(b)) == pytest.approx(expected, rel=1e-3)
    assert metrics.frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0),
                                    np.cov(b, rowvar=False)) == pytest.approx(expected, rel=1e-3)


def test_identical_inputs_give_zero():
    a = activations(500, 16, seed=2, shift=3.0)
    assert metrics.fid_from_stats(stats_of(a), stats_of(a)) == pytest.approx(0.0, abs=1e-6)
    mu, sigma = a.mean(0), np.cov(a, rowvar=False)
    assert metrics.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-6)
    assert metrics.frechet_distance(mu, sigma, mu, sigma) >= 0.0


def test_diagonal_gaussians_closed_form():
    rng = np.random.default_rng(3)
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    var1, var2 = rng.uniform(0.1, 4.0, size=8), rng.uniform(0.1, 4.0, size=8)
    # Diagonal covariances commute, so (S1 S2)^(1/2) = diag(sqrt(a b)).
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    got = metrics.frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2))
    assert got == pytest.approx(expected, abs=1e-6)


def test_duplicated_feature_is_finite_and_matches_direct():
    a = activations(500, 16, seed=4)
    b = activations(500, 16, seed=5, shift=0.3)
    a[:, 3], b[:, 3] = a[:, 2], b[:, 2]  # Rank-deficient covariances.
    got = metrics.fid_from_stats(stats_of(a), stats_of(b))
    assert np.isfinite(got)
    assert got == pytest.approx(direct_fid(a, b), rel=1e-3)


def test_dead_features_retry_with_eps_and_log_warning(absl_warnings):
    live_a = activations(500, 12, seed=6)
    live_b = activations(500, 12, seed=7, shift=0.3)
    # Four always-zero features (dead ReLU units): the covariance product is exactly singular.
    a = np.concatenate([live_a, np.zeros((500, 4))], axis=1)
    b = np.concatenate([live_b, np.zeros((500, 4))], axis=1)
    got = metrics.fid_from_stats(stats_of(a), stats_of(b))
    assert np.isfinite(got)
    # The dead features add eps + eps - 2 sqrt(eps * eps) = 0; eps barely moves the live ones.
    assert got == pytest.approx(direct_fid(live_a, live_b), rel=1e-4)
    assert "retrying with 1e-06*I added to both covariances" in absl_warnings.text


def test_non_finite_sqrtm_retries_with_eps(monkeypatch, absl_warnings):
    a = activations(500, 16, seed=8)
    b = activations(500, 16, seed=9, shift=0.3)
    real_sqrtm = scipy.linalg.sqrtm
    calls = []

    def sqrtm_nan_first(matrix):
        calls.append(matrix)
        return np.full_like(matrix, np.nan) if len(calls) == 1 else real_sqrtm(matrix)

    monkeypatch.setattr(scipy.linalg, "sqrtm", sqrtm_nan_first)
    got = metrics.fid_from_stats(stats_of(a), stats_of(b))
    assert len(calls) == 2
    # The retry used the regularised covariances.
    s1 = np.cov(a, rowvar=False) + 1e-6 * np.eye(16)
    s2 = np.cov(b, rowvar=False) + 1e-6 * np.eye(16)
    np.testing.assert_allclose(calls[1], s1 @ s2, rtol=1e-9, atol=1e-12)
    assert got == pytest.approx(direct_fid(a, b), rel=1e-4)
    assert "the square root is not finite" in absl_warnings.text


@pytest.mark.parametrize("imag, warns", [(1e-9, False), (0.5, True)])
def test_complex_sqrtm_uses_real_part_and_reports_large_imaginary(monkeypatch, absl_warnings,
                                                                   imag, warns):
    mu, sigma = np.zeros(3), np.diag([1.0, 2.0, 3.0])
    real_sqrtm = scipy.linalg.sqrtm
    monkeypatch.setattr(scipy.linalg, "sqrtm", lambda m: real_sqrtm(m) + 1j * imag)
    assert metrics.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-6)
    assert ("imaginary components up to 0.5" in absl_warnings.text) == warns


def test_not_enough_samples_error():
    few = stats_of(activations(16, 16, seed=10))
    enough = stats_of(activations(100, 16, seed=11))
    with pytest.raises(metrics.NotEnoughSamplesError) as info:
        metrics.fid_from_stats(enough, few)
    assert isinstance(info.value, ValueError)
    assert str(info.value) == (
        "FID with 16-dimensional features needs at least 17 samples per side to have a "
        "non-singular covariance; got 16. Pass at least 17 samples (more is better: FID is "
        "biased at small N).")
    assert np.isfinite(metrics.fid_from_stats(enough, stats_of(activations(17, 16, seed=12))))


def test_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same extractor"):
        metrics.fid_from_stats(metrics.FeatureStats(4), metrics.FeatureStats(5))
    with pytest.raises(ValueError, match="sigma2 must have shape"):
        metrics.frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(4))
