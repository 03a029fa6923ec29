"""Streaming statistics and the reservoir sample, against NumPy on the concatenated data."""
import numpy as np
import pytest

from tfgan_zoo import metrics

UNEVEN = (1, 7, 0, 300, 2, 190)  # 500 rows in all, an empty batch included.


def feed(collector, x, sizes):
    start = 0
    for size in sizes:
        collector.update(x[start:start + size])
        start += size
    assert start == len(x)
    return collector


@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_stats_match_numpy_whatever_the_batching(offset):
    rng = np.random.default_rng(0)
    x = offset + rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    for sizes in (UNEVEN, (500,), (1,) * 500):
        stats = feed(metrics.FeatureStats(6), x, sizes)
        assert stats.count == 500
        np.testing.assert_allclose(stats.mean, x.mean(axis=0), rtol=1e-12, atol=1e-10)
        np.testing.assert_allclose(stats.covariance(), np.cov(x, rowvar=False), rtol=0, atol=1e-10)


def test_large_offset_does_not_cost_accuracy():
    # Centring each batch on its own mean: the covariance of data sitting at 1e4 is as accurate as
    # that of the same data at 0 (a sum-of-squares formula would lose about 8 digits here).
    x = np.random.default_rng(1).normal(size=(400, 3))
    at_zero = feed(metrics.FeatureStats(3), x, (13, 200, 187)).covariance()
    shifted = feed(metrics.FeatureStats(3), x + 1e4, (13, 200, 187)).covariance()
    np.testing.assert_allclose(shifted, at_zero, rtol=0, atol=1e-10)


def test_merge_equals_one_pass():
    x = np.random.default_rng(2).normal(size=(90, 4)) + 5.0
    left = feed(metrics.FeatureStats(4), x[:30], (30,))
    right = feed(metrics.FeatureStats(4), x[30:], (20, 40))
    left.merge(right)
    assert left.count == 90
    np.testing.assert_allclose(left.mean, x.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(left.covariance(), np.cov(x, rowvar=False), atol=1e-12)


def test_stats_reject_bad_input():
    stats = metrics.FeatureStats(3)
    with pytest.raises(ValueError, match="3 columns"):
        stats.update(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="2-D"):
        stats.update(np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        stats.update(np.full((2, 3), np.nan))
    stats.update(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="at least 2 rows; got 1"):
        stats.covariance()


def indexed_rows(n):
    """Rows [i, -i]: the first column says which input row was kept."""
    i = np.arange(n, dtype=np.float64)
    return np.stack([i, -i], axis=1)


def test_reservoir_keeps_everything_below_max_size():
    x = indexed_rows(50)
    res = feed(metrics.FeatureReservoir(max_size=100, seed=0), x, (3, 0, 47))
    assert res.count == 50
    np.testing.assert_array_equal(res.features, x)


def test_reservoir_keeps_exactly_max_size_distinct_input_rows():
    x = indexed_rows(1000)
    res = feed(metrics.FeatureReservoir(max_size=100, seed=0), x, (64,) * 15 + (40,))
    kept = res.features
    assert res.count == 1000
    assert kept.shape == (100, 2)
    np.testing.assert_array_equal(kept[:, 1], -kept[:, 0])  # Whole rows, not mixed ones.
    assert len(np.unique(kept[:, 0])) == 100


def test_reservoir_is_deterministic_and_independent_of_batching():
    x = indexed_rows(1000)
    one = feed(metrics.FeatureReservoir(max_size=100, seed=3), x, (1000,)).features
    many = feed(metrics.FeatureReservoir(max_size=100, seed=3), x, (1, 99, 5, 395, 500)).features
    other = feed(metrics.FeatureReservoir(max_size=100, seed=4), x, (1000,)).features
    np.testing.assert_array_equal(one, many)
    assert not np.array_equal(np.sort(one[:, 0]), np.sort(other[:, 0]))


def test_reservoir_is_roughly_uniform():
    n, size = 10_000, 1000
    batches = (128,) * 78 + (16,)
    res = feed(metrics.FeatureReservoir(max_size=size, seed=0), indexed_rows(n), batches)
    kept = res.features[:, 0]
    # Mean of 1000 indices drawn uniformly from 0..9999: 4999.5, standard deviation about 90.
    assert abs(kept.mean() - (n - 1) / 2) < 400
    # Each quarter of the input holds about a quarter of the sample (standard deviation ~13).
    per_quarter = np.bincount((kept // (n // 4)).astype(int), minlength=4)
    assert np.all(np.abs(per_quarter - size / 4) < 60), per_quarter


def test_reservoir_before_any_row():
    res = metrics.FeatureReservoir(max_size=5)
    assert res.count == 0
    assert res.features.shape == (0, 0)
