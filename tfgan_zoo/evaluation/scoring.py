"""Scoring generators against real data: features from an extractor -> the metrics.

`Scorer` holds the real side (features of an evaluation split, computed once) and scores any
generator against it; `Scorer.floor()` scores the real training split the same way, the figure
a perfect generator would reach with this extractor and these sample counts. The run's kind
(tfgan_zoo.kinds) supplies the data and the extractor.

A training run's evaluation (`for_training`) does what its data allows: without class labels
it uses an extractor that needs none (`plan`), without the config's split (a folder has only
"train") it scores against the training split, and where neither can be done it is off; one
line of the run's log says which.
"""
import dataclasses

import numpy as np

from tfgan_zoo import latents, metrics, models
from tfgan_zoo.data import folder
from tfgan_zoo.errors import ZooError
from tfgan_zoo.metrics.extractors import float32_policy

MAX_KEPT = 10_000  # rows kept for KID and precision/recall; FID streams over all samples


@dataclasses.dataclass
class Features:
    """Streaming summary of one side: FID moments over all rows, a bounded sample of rows for
    KID and precision/recall (each kept with its class, for the per-class figures), the class
    probabilities for the classifier score, and each row's class: the data's label for real
    rows, the class asked for from a conditional generator (`asked` then True)."""

    stats: metrics.FeatureStats
    kept: metrics.FeatureReservoir  # rows [features..., class]: the class column stays aligned
    probs: list
    classes: list = dataclasses.field(default_factory=list)
    asked: bool = False

    @classmethod
    def empty(cls, dim, seed=0):
        return cls(metrics.FeatureStats(dim), metrics.FeatureReservoir(MAX_KEPT, seed), [])

    def add(self, features, probs, asked=None, labels=None):
        """One batch: features [b, D], probs [b, C], and either the classes `asked` of a
        conditional generator or the data's `labels`, int [b] (neither: class -1)."""
        features = np.asarray(features)
        classes = asked if asked is not None else labels
        classes = np.full(len(features), -1) if classes is None else np.asarray(classes)
        self.stats.update(features)
        self.kept.update(np.column_stack([features, classes]))
        self.probs.append(probs)
        self.classes.append(classes)
        self.asked = self.asked or asked is not None

    @property
    def count(self):
        return self.stats.count

    @property
    def rows(self):
        """The kept feature rows, float64 [n, D] (n = min(count, MAX_KEPT))."""
        return self.kept.features[:, :-1]

    @property
    def row_classes(self):
        """The class of each kept row, int64 [n]."""
        return self.kept.features[:, -1].astype(np.int64)

    def class_counts(self, minlength=0):
        """How many rows (all, not only the kept) each class has, int [max(classes + 1,
        minlength)]; rows of no class (-1) are not counted."""
        classes = np.concatenate(self.classes)
        return np.bincount(classes[classes >= 0], minlength=minlength)


def make_extractor(config, name="classifier", weights=None, log=print):
    """The feature extractor `name` for the config's data, as its kind builds it."""
    with float32_policy():  # also inside a mixed-precision training run
        return models.kind_of_config(config).make_extractor(config, name, weights, log=log)


def real_features(extractor, config, split, batch_size=256):
    kind = models.kind_of_config(config)
    ds, spec = kind.load(config, batch_size, split=split, shuffle=False, repeat=False,
                         drop_remainder=False)
    out = Features.empty(extractor.feature_dim)
    for batch in ds:
        out.add(*extractor(batch[kind.feature]), labels=batch["label"])
    return out, spec


def generated_batches(gan, num_samples, batch_size=256, seed=0):
    """Yields (samples of `gan.generate`, the classes asked or None) in batches, from fixed
    latents (and, for a conditional model, classes in turn), so two evaluations of one
    checkpoint draw the same samples."""
    all_z = gan.prior.stateless(num_samples, seed)
    for start in range(0, num_samples, batch_size):
        z = all_z[start:start + batch_size]
        labels = None
        if gan.conditional:
            labels = latents.classes_in_turn(z.shape[0], gan.num_classes, start)
        yield gan.generate(z, labels), labels


def generated_features(gan, extractor, num_samples, batch_size=256, seed=0):
    """Features of `num_samples` samples drawn as `generated_batches` draws them."""
    out = Features.empty(extractor.feature_dim, seed=seed)
    for samples, labels in generated_batches(gan, num_samples, batch_size, seed):
        out.add(*extractor(samples), asked=labels)
    return out


def score(real, fake, splits=10, per_class=None):
    """The metrics of `fake` against `real` as a flat dict of floats; `class_accuracy` (the
    share of samples the extractor's classifier puts in the class they were drawn for) when
    `fake` comes from a conditional generator, and then also the `per_class_scores`.

    `per_class` (default: whether `fake` is a conditional generator's) adds the per-class
    precision and recall alone where `fake` is real data with labels (the floor of a
    conditional model: its labels stand for the classes asked)."""
    fid = metrics.fid_from_stats(real.stats, fake.stats)
    real_rows, fake_rows = real.rows, fake.rows
    kid, kid_error = metrics.kernel_inception_distance(real_rows, fake_rows)
    probs = np.concatenate(fake.probs)
    cs, cs_std = metrics.classifier_score(probs, splits=splits)
    precision, recall = metrics.precision_recall(real_rows, fake_rows)
    results = {"fid": fid, "kid": kid, "kid_std_error": kid_error, "classifier_score": cs,
               "classifier_score_std": cs_std, "precision": precision, "recall": recall,
               **metrics.class_histogram(probs),
               "num_real": int(real.count), "num_generated": int(fake.count)}
    heard = None
    if fake.asked:
        heard = np.argmax(probs, axis=-1) == np.concatenate(fake.classes)
        results["class_accuracy"] = float(np.mean(heard))
    if per_class is None:
        per_class = fake.asked
    if per_class:
        results.update(per_class_scores(real, fake, heard))
    return results


def per_class_scores(real, fake, heard=None):
    """Flat per-class figures `<name>/<class>` for every class of `fake` (the classes asked):
    `precision/c` and `recall/c` of the fake rows of class c against the real rows of class c
    (on the kept rows, in the global figures' feature space), `num_asked/c` and `num_real/c`
    (the rows of class c on each side), `class_accuracy/c` where `heard` (bool [N_fake], the
    classifier agrees with the class asked) is given, and `recall_worst_class`, the least
    recall of any class: the figure that shows one class collapsing while the others hold up.

    Classes with 3 rows or fewer on a side have no precision/recall (see
    metrics.precision_recall_per_class for what the counts mean for reliability)."""
    asked = fake.class_counts()
    real_counts = real.class_counts(len(asked))
    classes = np.flatnonzero(asked)
    results = {}
    for c in classes:
        results[f"num_asked/{c}"] = int(asked[c])
        results[f"num_real/{c}"] = int(real_counts[c])
    if heard is not None:
        fake_classes = np.concatenate(fake.classes)
        for c in classes:
            results[f"class_accuracy/{c}"] = float(np.mean(heard[fake_classes == c]))
    figures = metrics.precision_recall_per_class(real.rows, real.row_classes, fake.rows,
                                                 fake.row_classes)
    for c, (precision, recall) in figures.items():
        results[f"precision/{c}"], results[f"recall/{c}"] = precision, recall
    if figures:
        results["recall_worst_class"] = min(recall for _, recall in figures.values())
    return results


class Scorer:
    """Scores generators of one run's config against its evaluation split. `samples_flag` is
    how the command that runs it sets `num_samples`, for the message when it is too small."""

    def __init__(self, config, extractor, split="test", num_samples=0,
                 samples_flag="--num_samples"):
        self.config, self.extractor, self.split = config, extractor, split
        self.real, spec = real_features(extractor, config, split)
        # As many samples as the training split has examples, so that the real-vs-real floor
        # (train split against this split) is measured with the same counts.
        self.num_samples = num_samples or models.kind_of_config(config).describe(
            config, "train").num_examples
        _check_enough(self.real.count, extractor.feature_dim,
                      f"the {split} split of {spec.name} has only {self.real.count} examples")
        _check_enough(self.num_samples, extractor.feature_dim,
                      f"num_samples is {self.num_samples}; pass {samples_flag}="
                      f"{extractor.feature_dim + 1} or more")

    @property
    def name(self):
        """What the samples are compared on: the extractor's name."""
        return self.extractor.name

    @property
    def test_accuracy(self):
        """The extractor's test accuracy where it is a trained classifier, else None."""
        return self.extractor.test_accuracy

    @property
    def real_count(self):
        return int(self.real.count)

    def __call__(self, gan):
        return score(self.real, generated_features(gan, self.extractor, self.num_samples))

    def floor(self):
        """Real training samples scored like a generator: the best a model can expect. For a
        conditional model, per class too, each training sample standing for its label."""
        train, _ = real_features(self.extractor, self.config, "train")
        conditional = self.config.model.get("conditioning", "none") != "none"
        return score(self.real, train, per_class=conditional)


def make_scorer(config, split="test", num_samples=0, extractor="classifier", weights=None,
                log=print, samples_flag="--num_samples"):
    """The scorer of `config`'s generators against `split`: the kind's own (text) or feature
    statistics from `extractor`. Scorers have `num_samples`, `real_count`, `name`,
    `test_accuracy`, `__call__(gan) -> results` and `floor() -> results`."""
    kind = models.kind_of_config(config)
    if hasattr(kind, "make_scorer"):
        return kind.make_scorer(config, split, num_samples, log=log)
    return Scorer(config, make_extractor(config, extractor, weights, log=log), split,
                  num_samples, samples_flag)


def _check_enough(count, dim, what):
    if count < dim + 1:
        raise ZooError(f"FID with {dim}-dimensional features needs at least {dim + 1} samples "
                       f"per side (a covariance from fewer is singular): {what}")


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a training run's evaluation can do with its data: the `extractor` to build (None:
    none can be) from `weights`, the real `split` to score against and its DatasetSpec `real`,
    and `why`, what the run's log says of a choice that is not the config's (or why there is no
    evaluation)."""

    extractor: str | None
    weights: str | None
    split: str
    real: object = None
    why: str = ""


def plan(config):
    """The Plan of `config`'s evaluation. Raises ZooError, naming the config key, for an
    extractor or split the config asks for that cannot apply to its data."""
    kind = models.kind_of_config(config)
    name, weights = config.eval.extractor, config.eval.get("inception_weights")
    if name not in kind.extractor_names:
        raise ZooError(f"config.eval.extractor={name!r} does not apply to {kind.name}; valid: "
                       f"{', '.join(kind.extractor_names)}")
    train = kind.describe(config, "train")
    why = ""
    if name == "classifier" and train.num_classes < 2:
        label_free = kind.label_free_extractor(config)
        why = f"{train.name} has no class labels to train the classifier extractor on"
        if train.name.startswith(folder.PREFIX):
            why += f" (a folder has them when its {kind.unit} sit in one subfolder per class)"
        if label_free is None:
            advice = kind.label_free_advice or f"no {kind.name} extractor works without them"
            return Plan(None, None, config.eval.split, why=f"{why}, and {advice}")
        name, weights = label_free
    split, real, split_why = _split(kind, config, train)
    return Plan(name, weights, split, real, "; ".join(w for w in (why, split_why) if w))


def _split(kind, config, train):
    """(the real split to score against, its DatasetSpec, why it is not config.eval.split or
    "") for a config whose training split is described by `train`."""
    split = config.eval.split
    if split == "train":
        return split, train, ""
    try:
        return split, kind.describe(config, split), ""
    except ZooError as e:
        if split != "test":  # a split the user named: a typo, say so
            raise ZooError(f"config.eval.split={split!r}: {e}") from None
        return "train", train, f"{train.name} has no 'test' split"


def for_training(config, log=print):
    """The Scorer of a training run's evaluation every `config.eval.every` steps, or None where
    its data allows none. Logs one line saying what it scores against what, with which
    extractor, or why evaluation is off and how to turn it on. Builds the extractor (training
    a classifier on first use) and reads the real split, before the run writes anything."""
    kind = models.kind_of_config(config)
    if hasattr(kind, "make_scorer"):
        scorer = kind.make_scorer(config, config.eval.split, config.eval.num_samples, log=log)
        log(f"Evaluating every {config.eval.every} steps: {scorer.num_samples} generated "
            f"{kind.unit} against the {scorer.real_count} of the {config.eval.split} split, "
            f"with {scorer.name}")
        return scorer
    chosen = plan(config)
    if chosen.extractor is None:
        log(f"Evaluation is off: {chosen.why}")
        return None
    extractor = make_extractor(config, chosen.extractor, chosen.weights, log=log)
    split_name = "training split" if chosen.split == "train" else f"{chosen.split} split"
    real = chosen.real
    if real.num_examples <= extractor.feature_dim:
        log(f"Evaluation is off: FID on {extractor.feature_dim}-dimensional {extractor.name} "
            f"features needs more than {extractor.feature_dim} real {kind.unit}, and the "
            f"{split_name} of {real.name} has {real.num_examples}; it turns on with more")
        return None
    scorer = Scorer(config, extractor, chosen.split, config.eval.num_samples,
                    samples_flag="--config.eval.num_samples")
    why = f" ({chosen.why})" if chosen.why else ""
    log(f"Evaluating every {config.eval.every} steps: {scorer.num_samples} generated "
        f"{kind.unit} against the {scorer.real_count} of the {split_name}{why}, on "
        f"{extractor.name} features")
    return scorer
