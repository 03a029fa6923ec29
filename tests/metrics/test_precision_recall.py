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


# Per class: classes 0-2 are modes 0-2 of CENTRES; mode 3 is real data of no class asked for.
def labelled_clusters(modes, per_mode, seed):
    """Rows of `clusters(modes, ...)` and their classes, the i-th mode's rows of class i."""
    return clusters(modes, per_mode, seed), np.repeat(np.arange(len(modes)), per_mode)


def test_per_class_sees_a_collapsed_class_that_the_global_recall_averages_away():
    real, real_classes = labelled_clusters(range(3), per_mode=40, seed=8)
    fake, fake_classes = labelled_clusters(range(3), per_mode=150, seed=9)
    fake[fake_classes == 2] = CENTRES[2]  # every sample asked for class 2 is one point
    figures = metrics.precision_recall_per_class(real, real_classes, fake, fake_classes)
    assert sorted(figures) == [0, 1, 2]
    for c in (0, 1):
        assert min(figures[c]) > 0.8, figures
    precision, recall = figures[2]
    assert precision == 1.0  # the point is a realistic 2...
    assert recall < 0.05  # ...but covers (almost) none of the real 2s
    # Globally, two thirds of the real data is still covered.
    assert metrics.precision_recall(real, fake)[1] > 0.55


def test_per_class_sees_a_class_drawn_as_another_that_the_global_precision_misses():
    real, real_classes = labelled_clusters(range(4), per_mode=40, seed=10)
    fake, fake_classes = labelled_clusters([0, 3, 2], per_mode=150, seed=11)  # asked 1, drew 3
    figures = metrics.precision_recall_per_class(real, real_classes, fake, fake_classes)
    assert sorted(figures) == [0, 1, 2]  # class 3 was never asked for
    assert figures[1] == (0.0, 0.0)  # no sample asked for 1 looks like a real 1
    assert min(figures[0]) > 0.8 and min(figures[2]) > 0.8, figures
    assert metrics.precision_recall(real, fake)[0] > 0.8  # every sample is realistic


def test_per_class_matches_the_global_figures_on_one_class_and_leaves_out_tiny_ones():
    rng = np.random.default_rng(12)
    real, fake = rng.normal(size=(60, 3)), 0.5 + rng.normal(size=(80, 3))
    # Class 1 has 3 real rows, too few for the 3rd-neighbour ball: it has no figures.
    real_classes = np.r_[np.zeros(57, int), np.ones(3, int)]
    fake_classes = np.r_[np.zeros(70, int), np.ones(10, int)]
    figures = metrics.precision_recall_per_class(real, real_classes, fake, fake_classes)
    assert figures == {0: metrics.precision_recall(real[:57], fake[:70])}
    with pytest.raises(ValueError, match="fake_classes must be 80 integer class ids"):
        metrics.precision_recall_per_class(real, real_classes, fake, fake_classes[:-1])
