"""KID against a direct per-subset implementation, and its behaviour on equal and shifted data."""
import numpy as np
import pytest

from tfgan_zoo import metrics


def direct_mmd2(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3, written out from Binkowski et al. 2018."""
    m, d = x.shape
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    off_diagonal = ~np.eye(m, dtype=bool)
    return k_xx[off_diagonal].mean() + k_yy[off_diagonal].mean() - 2 * k_xy.mean()


def samples(n, d, seed, shift=0.0):
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


def test_single_full_subset_matches_direct():
    real, fake = samples(200, 8, seed=0), samples(200, 8, seed=1, shift=0.5)
    mean, std_error = metrics.kernel_inception_distance(real, fake, num_subsets=1,
                                                        subset_size=200)
    # One subset of all the rows is a permutation of them, which MMD^2 does not see.
    assert mean == pytest.approx(direct_mmd2(real, fake), rel=1e-6)
    assert std_error == 0.0


def test_subsets_match_direct_with_the_same_draws():
    real, fake = samples(300, 8, seed=2), samples(250, 8, seed=3, shift=0.3)
    rng = np.random.default_rng(7)
    estimates = []
    for _ in range(5):
        real_rows = rng.choice(300, 40, replace=False)
        fake_rows = rng.choice(250, 40, replace=False)
        estimates.append(direct_mmd2(real[real_rows], fake[fake_rows]))
    mean, std_error = metrics.kernel_inception_distance(real, fake, num_subsets=5,
                                                        subset_size=40, seed=7)
    assert mean == pytest.approx(np.mean(estimates), rel=1e-6)
    assert std_error == pytest.approx(np.std(estimates, ddof=1) / np.sqrt(5), rel=1e-6)


def test_subset_size_capped_by_the_smaller_set():
    real, fake = samples(60, 4, seed=4), samples(30, 4, seed=5, shift=1.0)
    rng = np.random.default_rng(0)
    real_rows = rng.choice(60, 30, replace=False)
    fake_rows = rng.choice(30, 30, replace=False)
    mean, _ = metrics.kernel_inception_distance(real, fake, num_subsets=1, subset_size=1000)
    assert mean == pytest.approx(direct_mmd2(real[real_rows], fake[fake_rows]), rel=1e-6)


def test_same_distribution_is_near_zero():
    real, fake = samples(1000, 8, seed=6), samples(1000, 8, seed=7)
    mean, std_error = metrics.kernel_inception_distance(real, fake, num_subsets=20,
                                                        subset_size=200)
    assert std_error > 0
    assert abs(mean) < 3 * std_error or abs(mean) < 1e-3


def test_shifted_distribution_is_clearly_positive():
    real, fake = samples(1000, 8, seed=8), samples(1000, 8, seed=9, shift=1.0)
    mean, std_error = metrics.kernel_inception_distance(real, fake, num_subsets=20,
                                                        subset_size=200)
    assert mean > 0.5
    assert mean > 10 * std_error


def test_deterministic_for_a_seed():
    real, fake = samples(100, 4, seed=10), samples(100, 4, seed=11, shift=0.2)
    first = metrics.kernel_inception_distance(real, fake, num_subsets=3, subset_size=20, seed=1)
    again = metrics.kernel_inception_distance(real, fake, num_subsets=3, subset_size=20, seed=1)
    other = metrics.kernel_inception_distance(real, fake, num_subsets=3, subset_size=20, seed=2)
    assert first == again
    assert first != other


def test_rejects_too_few_rows_and_bad_arguments():
    with pytest.raises(ValueError, match="at least 2 fake rows; got 1"):
        metrics.kernel_inception_distance(samples(10, 3, 0), samples(1, 3, 1))
    with pytest.raises(ValueError, match="3 columns"):
        metrics.kernel_inception_distance(samples(10, 3, 0), samples(10, 4, 1))
    with pytest.raises(ValueError, match="num_subsets"):
        metrics.kernel_inception_distance(samples(10, 3, 0), samples(10, 3, 1), num_subsets=0)
