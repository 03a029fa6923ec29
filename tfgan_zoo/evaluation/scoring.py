"""Scoring generators against real data: features from an extractor -> the metrics.

`Scorer` holds the real side (features of an evaluation split, computed once) and scores any
generator against it; `Scorer.floor()` scores the real training split the same way, the figure
a perfect generator would reach with this extractor and these sample counts. The run's kind
(tfgan_zoo.kinds) supplies the data and the extractor.
"""
import dataclasses

import numpy as np

from tfgan_zoo import latents, metrics, models
from tfgan_zoo.errors import ZooError

MAX_KEPT = 10_000  # rows kept for KID and precision/recall; FID streams over all samples


@dataclasses.dataclass
class Features:
    """Streaming summary of one side: FID moments over all rows, a bounded sample of rows for
    KID and precision/recall, the class probabilities for the classifier score, and for a
    conditional generator the classes asked for."""

    stats: metrics.FeatureStats
    kept: metrics.FeatureReservoir
    probs: list
    asked: list = dataclasses.field(default_factory=list)

    @classmethod
    def empty(cls, dim, seed=0):
        return cls(metrics.FeatureStats(dim), metrics.FeatureReservoir(MAX_KEPT, seed), [])

    def add(self, features, probs, asked=None):
        self.stats.update(features)
        self.kept.update(features)
        self.probs.append(probs)
        if asked is not None:
            self.asked.append(np.asarray(asked))

    @property
    def count(self):
        return self.stats.count


def make_extractor(config, name="classifier", weights=None, log=print):
    """The feature extractor `name` for the config's data, as its kind builds it."""
    return models.kind_of_config(config).make_extractor(config, name, weights, log=log)


def real_features(extractor, config, split, batch_size=256):
    kind = models.kind_of_config(config)
    ds, spec = kind.load(config, batch_size, split=split, shuffle=False, repeat=False,
                         drop_remainder=False)
    out = Features.empty(extractor.feature_dim)
    for batch in ds:
        out.add(*extractor(batch[kind.feature]))
    return out, spec


def generated_features(gan, extractor, num_samples, batch_size=256, seed=0):
    """Features of `num_samples` samples of `gan.generate`, from fixed latents (and, for a
    conditional model, classes in turn), so two evaluations of one checkpoint agree."""
    out = Features.empty(extractor.feature_dim, seed=seed)
    all_z = gan.prior.stateless(num_samples, seed)
    for start in range(0, num_samples, batch_size):
        z = all_z[start:start + batch_size]
        labels = None
        if gan.conditional:
            labels = latents.classes_in_turn(z.shape[0], gan.num_classes, start)
        out.add(*extractor(gan.generate(z, labels)), asked=labels)
    return out


def score(real, fake, splits=10):
    """The metrics of `fake` against `real` as a flat dict of floats; `class_accuracy` (the
    share of samples the extractor's classifier puts in the class they were drawn for) when
    `fake` comes from a conditional generator."""
    fid = metrics.fid_from_stats(real.stats, fake.stats)
    kid, kid_error = metrics.kernel_inception_distance(real.kept.features, fake.kept.features)
    probs = np.concatenate(fake.probs)
    cs, cs_std = metrics.classifier_score(probs, splits=splits)
    precision, recall = metrics.precision_recall(real.kept.features, fake.kept.features)
    results = {"fid": fid, "kid": kid, "kid_std_error": kid_error, "classifier_score": cs,
               "classifier_score_std": cs_std, "precision": precision, "recall": recall,
               "num_real": int(real.count), "num_generated": int(fake.count)}
    if fake.asked:
        heard = np.argmax(probs, axis=-1) == np.concatenate(fake.asked)
        results["class_accuracy"] = float(np.mean(heard))
    return results


class Scorer:
    """Scores generators of one run's config against its evaluation split."""

    def __init__(self, config, extractor, split="test", num_samples=0):
        self.config, self.extractor, self.split = config, extractor, split
        self.real, spec = real_features(extractor, config, split)
        # As many samples as the training split has examples, so that the real-vs-real floor
        # (train split against this split) is measured with the same counts.
        self.num_samples = num_samples or models.kind_of_config(config).describe(
            config, "train").num_examples
        _check_enough(self.real.count, extractor.feature_dim,
                      f"the {split} split of {spec.name} has only {self.real.count} examples")
        _check_enough(self.num_samples, extractor.feature_dim,
                      f"num_samples is {self.num_samples}; pass --num_samples="
                      f"{extractor.feature_dim + 1} or more")

    def __call__(self, gan):
        return score(self.real, generated_features(gan, self.extractor, self.num_samples))

    def floor(self):
        """Real training samples scored like a generator: the best a model can expect."""
        train, _ = real_features(self.extractor, self.config, "train")
        return score(self.real, train)


def _check_enough(count, dim, what):
    if count < dim + 1:
        raise ZooError(f"FID with {dim}-dimensional features needs at least {dim + 1} samples "
                       f"per side (a covariance from fewer is singular): {what}")
