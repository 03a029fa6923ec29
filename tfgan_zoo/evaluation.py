"""Scoring generators against real data: features from an extractor -> the metrics.

`Scorer` holds the real side (features of an evaluation split, computed once) and scores any
generator against it; `Scorer.floor()` scores the real training split the same way, the figure
a perfect generator would reach with this extractor and these sample counts.
"""
import dataclasses
import os

import numpy as np
import tensorflow as tf

from tfgan_zoo import data, files, metrics
from tfgan_zoo.errors import ZooError
from tfgan_zoo.gan import stateless_latents
from tfgan_zoo.metrics import extractors

PRIMARY = "fid"  # lower is better; the metric that picks the best checkpoint
MAX_KEPT = 10_000  # rows kept for KID and precision/recall; FID streams over all samples


@dataclasses.dataclass
class Features:
    """Streaming summary of one side: FID moments over all rows, a bounded sample of rows for
    KID and precision/recall, and the class probabilities for the classifier score."""

    stats: metrics.FeatureStats
    kept: metrics.FeatureReservoir
    probs: list

    @classmethod
    def empty(cls, dim, seed=0):
        return cls(metrics.FeatureStats(dim), metrics.FeatureReservoir(MAX_KEPT, seed), [])

    def add(self, features, probs):
        self.stats.update(features)
        self.kept.update(features)
        self.probs.append(probs)

    @property
    def count(self):
        return self.stats.count


def real_features(extractor, data_config, resolution, split, batch_size=256):
    ds, spec = data.load(data_config, resolution=resolution, batch_size=batch_size, split=split,
                         shuffle=False, repeat=False, drop_remainder=False)
    out = Features.empty(extractor.feature_dim)
    for batch in ds:
        out.add(*extractor(batch["image"]))
    return out, spec


def generated_features(gan, extractor, num_samples, batch_size=256, seed=0):
    """Features of `num_samples` samples of `gan.generate`, from fixed latents (and, for a
    conditional model, classes in turn), so two evaluations of one checkpoint agree."""
    out = Features.empty(extractor.feature_dim, seed=seed)
    latents = stateless_latents(num_samples, gan.latent_dim, gan.latent_distribution, seed)
    for start in range(0, num_samples, batch_size):
        z = latents[start:start + batch_size]
        labels = None
        if getattr(gan, "conditional", False):
            labels = tf.range(start, start + z.shape[0], dtype=tf.int32) % gan.num_classes
        out.add(*extractor(gan.generate(z, labels)))
    return out


def score(real, fake, splits=10):
    """The metrics of `fake` against `real` as a flat dict of floats."""
    fid = metrics.fid_from_stats(real.stats, fake.stats)
    kid, kid_error = metrics.kernel_inception_distance(real.kept.features, fake.kept.features)
    cs, cs_std = metrics.classifier_score(np.concatenate(fake.probs), splits=splits)
    precision, recall = metrics.precision_recall(real.kept.features, fake.kept.features)
    return {"fid": fid, "kid": kid, "kid_std_error": kid_error, "classifier_score": cs,
            "classifier_score_std": cs_std, "precision": precision, "recall": recall,
            "num_real": int(real.count), "num_generated": int(fake.count)}


def make_extractor(config, kind="classifier", inception_weights=None, log=print):
    if kind == "inception":
        channels = data.describe(config.data).channels
        return extractors.inception(inception_weights, channels)
    return extractors.domain_classifier(config.data, config.model.resolution, log=log)


class Scorer:
    """Scores generators of one run's config against its evaluation split."""

    def __init__(self, config, extractor, split="test", num_samples=0):
        self.config, self.extractor, self.split = config, extractor, split
        resolution = config.model.resolution
        self.real, spec = real_features(extractor, config.data, resolution, split)
        # As many samples as the training split has images, so that the real-vs-real floor
        # (train split against this split) is measured with the same counts.
        self.num_samples = num_samples or data.describe(config.data, "train").num_examples
        _check_enough(self.real.count, extractor.feature_dim,
                      f"the {split} split of {spec.name} has only {self.real.count} images")
        _check_enough(self.num_samples, extractor.feature_dim,
                      f"num_samples is {self.num_samples}; pass --num_samples="
                      f"{extractor.feature_dim + 1} or more")

    def __call__(self, gan):
        return score(self.real, generated_features(gan, self.extractor, self.num_samples))

    def floor(self):
        """Real training images scored like a generator: the best a model can expect."""
        train, _ = real_features(self.extractor, self.config.data, self.config.model.resolution,
                                 "train")
        return score(self.real, train)


def _check_enough(count, dim, what):
    if count < dim + 1:
        raise ZooError(f"FID with {dim}-dimensional features needs at least {dim + 1} samples "
                       f"per side (a covariance from fewer is singular): {what}")


def evaluate_run(workdir_path, which="best", *, num_samples=0, split="test",
                 extractor="classifier", inception_weights=None, data_dir=None, log=print):
    """Scores one checkpoint of a run and writes `<workdir>/eval/<checkpoint>.json`.

    Returns the report dict: checkpoint, step, extractor, split, results, floor, path.
    """
    from tfgan_zoo import runs  # runs imports training, which imports this module

    run = runs.load(workdir_path, which, data_dir=data_dir)
    config, gan, workdir, name = run.config, run.gan, run.workdir, run.name
    features = make_extractor(config, extractor, inception_weights, log=log)
    scorer = Scorer(config, features, split, num_samples)
    report = {"checkpoint": name, "step": run.step,
              "extractor": features.name, "extractor_test_accuracy": features.test_accuracy,
              "split": split, "num_generated": scorer.num_samples,
              "num_real": int(scorer.real.count), "results": scorer(gan),
              "floor": scorer.floor()}
    os.makedirs(workdir.eval_dir, exist_ok=True)
    report["path"] = os.path.join(workdir.eval_dir, f"{name}.json")
    files.write_json(report["path"], report)
    return report
