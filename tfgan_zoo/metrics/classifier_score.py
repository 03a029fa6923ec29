"""Classifier score: the Inception Score formula applied to any classifier's softmax outputs.

    score = exp( E_x KL(p(y|x) || p(y)) )          (Salimans et al. 2016)

It is high when each sample is classified confidently (low-entropy p(y|x)) and the samples cover
the classes evenly (high-entropy p(y)); it ranges from 1 to the number of classes C. With
Inception on ImageNet it is the Inception Score; with an MNIST or SC09 digit classifier it is
what TF-GAN's MNIST example and WaveGAN report.
"""
from __future__ import annotations

import numpy as np
import scipy.special

from tfgan_zoo.metrics.streaming import _features

_SUM_TOLERANCE = 1e-3


def classifier_score(probs, splits: int = 10) -> tuple[float, float]:
    """Classifier score of predicted class probabilities, as a mean and std over splits.

    The rows are cut into ``splits`` consecutive parts of (nearly) equal size with
    ``np.array_split``; each part gets the score with its own marginal p(y).

    Args:
        probs: softmax outputs, shape [N, C]: rows non-negative and summing to 1 (within 1e-3).
        splits: number of parts, 1 <= splits <= N (the original used 10).

    Returns:
        (mean, std) of the per-split scores; std is the population std (ddof=0), as in the
        original Inception Score code.
    """
    probs = _features(probs, "probs")
    if probs.shape[0] == 0:
        raise ValueError("classifier_score needs at least one row of probabilities.")
    row_sums = probs.sum(axis=1)
    if probs.min() < 0 or np.max(np.abs(row_sums - 1.0)) > _SUM_TOLERANCE:
        raise ValueError(
            "classifier_score needs class probabilities: every row of probs must be non-negative "
            f"and sum to 1 (within {_SUM_TOLERANCE}); got values down to {probs.min():.4g} and row "
            f"sums from {row_sums.min():.4g} to {row_sums.max():.4g}. Pass the classifier's "
            "softmax outputs, not its logits.")
    if int(splits) != splits or not 1 <= splits <= probs.shape[0]:
        raise ValueError(f"splits must be an integer in [1, N={probs.shape[0]}]; got {splits!r}.")

    scores = []
    for part in np.array_split(probs, int(splits)):
        marginal = part.mean(axis=0, keepdims=True)
        # rel_entr(p, q) = p log(p / q), and exactly 0 where p = 0: log(0) never arises, because
        # q, the mean of the part's rows, is positive wherever any p in the part is.
        kl = scipy.special.rel_entr(part, marginal).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    scores = np.asarray(scores)
    return float(scores.mean()), float(scores.std())


def class_histogram(probs) -> dict[str, float]:
    """How evenly the samples fall into the classifier's classes: the collapse a score hides.

    Returns `class_entropy`, the entropy of the histogram of argmax classes divided by log C
    (1: every class equally often, 0: one class only), and `class_coverage`, the share of the
    C classes given at least half of an even share (1/(2C)) of the samples.
    """
    probs = _features(probs, "probs")
    classes = probs.shape[1]
    counts = np.bincount(np.argmax(probs, axis=1), minlength=classes)
    share = counts / counts.sum()
    entropy = float(scipy.special.entr(share).sum() / np.log(classes))
    coverage = float(np.mean(share >= 0.5 / classes))
    return {"class_entropy": entropy, "class_coverage": coverage}
