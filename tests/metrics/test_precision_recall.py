"""Improved precision and recall on sets whose answer is known exactly."""
import importlib

import numpy as np
import pytest

from tfgan_zoo import metrics

# The package exports the function under the module's name, so fetch the module itself.
pr_module = importlib.import_module("tfgan_zoo.metrics.precision_recall")

# Four modes 100 apart; each has spread 1, so every k-NN ball stays inside its own mode.
CENTRES = 100.0 * np.eye(4)


def clusters(modes, per_mode, seed):
    rng = np.random.default_rng(seed)
    return np.concatenate([CENTRES[m] + rng.normal(size=(per_mode, 4)) for m in modes])


def test_identical_sets_score_one():
    x = np.random.default_rng(0).normal(size=(200, 5))
    assert metrics.precision_recall(x, x.copy()) == (1.0, 1.0)


def test_far_apart_sets_score_zero():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(100, 5))
    fake = 1000.0 + rng.normal(size=(120, 5))
    assert metrics.precision_recall(real, fake) == (0.0, 0.0)


def test_fake_covering_half_the_modes_exactly():
    real = clusters(range(4), per_mode=50, seed=2)
    # The fake set is the real samples of modes 0 and 1, shuffled: every fake sample lies on a
    # real one (precision 1); modes 2 and 3 are 100 away from any fake ball (recall 1/2).
    fake = np.random.default_rng(3).permutation(real[:100])
    assert metrics.precision_recall(real, fake) == (1.0, 0.5)


def test_fake_covering_half_the_modes_with_fresh_samples():
    real = clusters(range(4), per_mode=200, seed=4)
    fake = clusters([0, 1], per_mode=400, seed=5)
    precision, recall = metrics.precision_recall(real, fake)
    assert precision > 0.9
    assert 0.4 < recall <= 0.5  # Only modes 0 and 1 of the real data can be covered.


def test_block_size_does_not_change_the_result(monkeypatch):
    rng = np.random.default_rng(6)
    real = rng.normal(size=(150, 6))
    fake = 0.5 + 1.2 * rng.normal(size=(130, 6))
    whole = metrics.precision_recall(real, fake, k=3, batch_size=1024)
    assert 0.0 < whole[0] < 1.0 and 0.0 < whole[1] < 1.0

    rows_per_block = []
    original = pr_module._squared_distances

    def recording(queries, points, points_sq):
        rows_per_block.append(len(queries))
        return original(queries, points, points_sq)

    monkeypatch.setattr(pr_module, "_squared_distances", recording)
    for batch_size in (1, 7, 64):
        rows_per_block.clear()
        assert metrics.precision_recall(real, fake, k=3, batch_size=batch_size) == whole
        assert max(rows_per_block) == batch_size  # Memory is O(batch_size * N).


def test_k_changes_the_radius():
    rng = np.random.default_rng(7)
    real, fake = rng.normal(size=(100, 3)), 0.8 + rng.normal(size=(100, 3))
    p1, r1 = metrics.precision_recall(real, fake, k=1)
    p5, r5 = metrics.precision_recall(real, fake, k=5)
    assert p1 <= p5 and r1 <= r5  # Bigger k, bigger balls.


def test_rejects_too_few_rows():
    with pytest.raises(ValueError, match="more than 3 fake rows; got 3"):
        metrics.precision_recall(np.zeros((10, 2)), np.ones((3, 2)))
