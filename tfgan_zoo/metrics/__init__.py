"""Sample-quality metrics on feature activations: FID, KID, classifier score, precision/recall.

Every metric takes activations, arrays of shape [N, D] from any feature extractor (Inception for
images, a digit classifier for MNIST or SC09 audio, a text encoder), so one implementation serves
image, audio and text models. Everything is NumPy/SciPy and computed in float64.

- ``frechet_distance(mu1, sigma1, mu2, sigma2)`` / ``fid_from_stats(stats_a, stats_b)``: the
  Frechet distance between Gaussians fitted to the two sets of activations (FID, Heusel et al.
  2017). Needs more samples than dimensions per side (``NotEnoughSamplesError`` otherwise).
- ``kernel_inception_distance(real, fake)``: KID (Binkowski et al. 2018), the squared MMD under a
  cubic polynomial kernel, averaged over random subsets, with its standard error.
- ``class_histogram(probs)``: the entropy and coverage of the generated classes (collapse).
- ``classifier_score(probs)``: the Inception Score formula, exp(E KL(p(y|x) || p(y))), on any
  classifier's softmax outputs; between 1 and the number of classes.
- ``precision_recall(real, fake)``: improved precision (how much of the fake data lies on the
  real manifold) and recall (how much of the real manifold the fake data covers), Kynkaanniemi
  et al. 2019. ``precision_recall_per_class(real, real_classes, fake, fake_classes)``: the same
  for each class, fake rows asked for class c against real rows of class c.
- ``FeatureStats`` (running mean and covariance) and ``FeatureReservoir`` (a bounded uniform
  sample of rows) collect activations batch by batch, for data sets too big to hold at once.

FID, KID and precision/recall figures are only comparable when measured with the same feature
extractor and the same numbers of samples. FID is biased: its expected value falls as N grows, so
a small-N FID overstates the distance. KID is unbiased, which makes it the better choice at small
N (a few thousand samples or fewer), though its estimate is noisier.

This package imports no TensorFlow (``extractors``, which does, is imported on its own).
"""
from tfgan_zoo.metrics.classifier_score import class_histogram, classifier_score
from tfgan_zoo.metrics.frechet import NotEnoughSamplesError, fid_from_stats, frechet_distance
from tfgan_zoo.metrics.kid import kernel_inception_distance
from tfgan_zoo.metrics.precision_recall import precision_recall, precision_recall_per_class
from tfgan_zoo.metrics.streaming import FeatureReservoir, FeatureStats

__all__ = [
    "FeatureReservoir",
    "FeatureStats",
    "NotEnoughSamplesError",
    "class_histogram",
    "classifier_score",
    "fid_from_stats",
    "frechet_distance",
    "kernel_inception_distance",
    "precision_recall",
    "precision_recall_per_class",
]
