"""The classifier (Inception) score on predictions whose score is known in closed form."""
import numpy as np
import pytest

from tfgan_zoo import metrics


def one_hot_evenly(n, num_classes):
    """Confident predictions cycling through the classes, so every split of a multiple of
    num_classes rows sees each class equally often."""
    return np.eye(num_classes)[np.arange(n) % num_classes]


def direct_score(probs):
    """exp(mean_x KL(p(y|x) || p(y))) for one split, with explicit loops."""
    marginal = probs.mean(axis=0)
    kls = [sum(p * np.log(p / q) for p, q in zip(row, marginal, strict=True) if p > 0)
           for row in probs]
    return np.exp(np.mean(kls))


def test_uniform_predictions_score_one():
    mean, std = metrics.classifier_score(np.full((100, 10), 0.1), splits=10)
    assert mean == pytest.approx(1.0, abs=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_confident_even_predictions_score_num_classes():
    mean, std = metrics.classifier_score(one_hot_evenly(1000, 10), splits=10)
    assert mean == pytest.approx(10.0, abs=1e-6)
    assert std == pytest.approx(0.0, abs=1e-6)


def test_std_over_splits_is_population_std():
    # Split 1 scores 1 (uniform), split 2 scores 4 (confident over 4 classes): mean 2.5, std 1.5.
    probs = np.concatenate([np.full((8, 4), 0.25), one_hot_evenly(8, 4)])
    mean, std = metrics.classifier_score(probs, splits=2)
    assert mean == pytest.approx(2.5, abs=1e-9)
    assert std == pytest.approx(1.5, abs=1e-9)


def test_matches_direct_formula_with_uneven_splits():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(5, 0.3), size=103)
    probs[0] = [1.0, 0.0, 0.0, 0.0, 0.0]  # Exact zeros, as float32 softmax can give.
    scores = [direct_score(part) for part in np.array_split(probs, 4)]
    mean, std = metrics.classifier_score(probs, splits=4)
    assert mean == pytest.approx(np.mean(scores), rel=1e-9)
    assert std == pytest.approx(np.std(scores), rel=1e-9)
    assert 1.0 < mean < 5.0


def test_rejects_non_probabilities():
    logits = np.random.default_rng(1).normal(size=(20, 10))
    with pytest.raises(ValueError, match="Pass the classifier's softmax outputs, not its logits"):
        metrics.classifier_score(logits, splits=2)
    with pytest.raises(ValueError, match="non-negative"):
        metrics.classifier_score(np.tile([1.5, -0.5], (4, 1)), splits=2)
    with pytest.raises(ValueError, match="splits"):
        metrics.classifier_score(np.full((4, 2), 0.5), splits=5)
    # Rows summing to 1 within 1e-3 are accepted.
    assert metrics.classifier_score(np.full((4, 2), 0.5004), splits=2)[0] == pytest.approx(1.0)


def test_class_histogram_of_even_collapsed_and_half_covered_samples():
    even = np.eye(10)[np.arange(1000) % 10]
    assert metrics.class_histogram(even) == pytest.approx(
        {"class_entropy": 1.0, "class_coverage": 1.0})
    collapsed = np.eye(10)[np.zeros(1000, dtype=int)]
    assert metrics.class_histogram(collapsed) == pytest.approx(
        {"class_entropy": 0.0, "class_coverage": 0.1})
    # Five classes equally often: entropy log 5 / log 10, half the classes covered.
    half = np.eye(10)[np.arange(1000) % 5]
    assert metrics.class_histogram(half) == pytest.approx(
        {"class_entropy": np.log(5) / np.log(10), "class_coverage": 0.5})
