"""Evaluation during training on data without labels or a test split: a run does what the data
allows and says what in one line, or turns evaluation off saying how to turn it on."""
import dataclasses
import functools
import glob
import json
import os

import numpy as np
import pytest
from image_folders import image_folder

from tfgan_zoo import config as config_lib
from tfgan_zoo import latents
from tfgan_zoo.data import DatasetSpec
from tfgan_zoo.data.wav import write_wav
from tfgan_zoo.engine import training
from tfgan_zoo.errors import ZooError
from tfgan_zoo.evaluation import scoring
from tfgan_zoo.kinds import image as image_kind
from tfgan_zoo.metrics import extractors


def folder_config(model, folder, data_dir, every=2):
    """The model's tiny config on `folder`, evaluated every `every` steps, with no Inception
    weights anywhere (Keras' cache is redirected by the `no_keras_cache` fixture)."""
    config = config_lib.load(model, "tiny")
    config.data.dataset = f"folder:{folder}"
    config.data.data_dir = str(data_dir)  # where the feature classifier is cached
    config.eval.every = every
    return config


@pytest.fixture(autouse=True)
def no_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))


def test_a_labeled_folder_trains_and_is_scored_against_its_training_split(tmp_path,
                                                                          monkeypatch):
    folder = image_folder(tmp_path / "images", per_class=65)
    # Dark against light needs few epochs; the default 15 would be most of this test's time.
    monkeypatch.setattr(extractors, "domain_classifier",
                        functools.partial(extractors.domain_classifier, epochs=3))
    lines = []
    result = training.train(folder_config("dcgan", folder, tmp_path / "cache", every=4),
                            str(tmp_path / "run"), log=lines.append)
    assert result.end_step == 4
    said = [line for line in lines if line.startswith("Evaluating every")]
    assert said == [f"Evaluating every 4 steps: 130 generated images against the 130 of the "
                    f"training split (folder:{folder} has no 'test' split), on "
                    f"classifier:folder:{folder}@28x28x1 features"]
    best = json.load(open(tmp_path / "run" / "checkpoints" / "best" / "best.json"))
    assert best["step"] == 4 and np.isfinite(best["results"]["fid"])
    # The classifier's accuracy is measured on images it did not train on.
    assert any("every 5th image is held out" in line for line in lines)
    [record] = glob.glob(str(tmp_path / "cache" / "tfgan_zoo_extractors" / "*.json"))
    record = json.load(open(record))
    assert record["accuracy_split"] == extractors.HELD_OUT and record["test_accuracy"] > 0.5


def test_an_unlabeled_folder_trains_with_evaluation_off_saying_how_to_turn_it_on(tmp_path):
    folder = image_folder(tmp_path / "images", per_class=20, classes=())
    lines = []
    result = training.train(folder_config("dcgan", folder, tmp_path / "cache"),
                            str(tmp_path / "run"), log=lines.append)
    assert result.end_step == 4
    [off] = [line for line in lines if line.startswith("Evaluation is off")]
    assert off == (f"Evaluation is off: folder:{folder} has no class labels to train the "
                   "classifier extractor on (a folder has them when its images sit in one "
                   "subfolder per class), and no InceptionV3 weights were found; to evaluate, "
                   "pass --config.eval.extractor=inception "
                   "--config.eval.inception_weights=PATH (InceptionV3 weights with the top, "
                   "inception_v3_weights_tf_dim_ordering_tf_kernels.h5)")
    assert not os.path.exists(tmp_path / "run" / "checkpoints" / "best")


def test_an_unlabeled_tfds_dataset_has_evaluation_off(monkeypatch):
    # celeb_a as TFDS describes it (it has a test split, but no "label" feature), without the
    # 1.4 GB download.
    celeb_a = DatasetSpec("celeb_a", "train", 0, 3, 0, (), 162_770)
    monkeypatch.setattr(image_kind.ImageKind, "describe",
                        lambda self, config, split="train": dataclasses.replace(celeb_a,
                                                                                split=split))
    config = config_lib.load("dcgan")
    config.data.dataset = "celeb_a"
    lines = []
    assert scoring.for_training(config, lines.append) is None
    assert lines == ["Evaluation is off: celeb_a has no class labels to train the classifier "
                     "extractor on, and no InceptionV3 weights were found; to evaluate, pass "
                     "--config.eval.extractor=inception --config.eval.inception_weights=PATH "
                     "(InceptionV3 weights with the top, "
                     "inception_v3_weights_tf_dim_ordering_tf_kernels.h5)"]


def test_an_unlabeled_wav_folder_has_evaluation_off(tmp_path):
    # The run itself trains as the image folder's above does: only the notice differs.
    folder = tmp_path / "clips"
    folder.mkdir()
    for k in range(3):
        write_wav(folder / f"{k}.wav", 0.5 * np.sin(np.arange(4096) * (0.05 + 0.01 * k)),
                  16_000)
    lines = []
    assert scoring.for_training(folder_config("wavegan", folder, tmp_path),
                                lines.append) is None
    assert lines == [f"Evaluation is off: folder:{folder} has no class labels to train the "
                     "classifier extractor on (a folder has them when its clips sit in one "
                     "subfolder per class), and no audio extractor works without them"]


def test_unlabeled_images_are_scored_with_inception_where_its_weights_are(tmp_path,
                                                                          monkeypatch):
    folder = image_folder(tmp_path / "images", per_class=3, classes=())
    config = folder_config("dcgan", folder, tmp_path / "cache")
    config.eval.inception_weights = str(tmp_path / "inception.h5")
    (tmp_path / "inception.h5").write_bytes(b"")
    chosen = scoring.plan(config)
    assert (chosen.extractor, chosen.weights, chosen.split) == (
        "inception", str(tmp_path / "inception.h5"), "train")
    # Without the setting, Keras' own download cache is where the weights are looked for.
    config.eval.inception_weights = None
    cached = tmp_path / "keras_home" / "models" / extractors.INCEPTION_FILE
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")
    assert scoring.plan(config).weights == str(cached)


def test_too_few_real_images_for_fid_turn_evaluation_off(tmp_path, monkeypatch):
    folder = image_folder(tmp_path / "images", per_class=10)
    stub = extractors.Extractor("stub", 128, model=None)
    monkeypatch.setattr(image_kind.ImageKind, "make_extractor", lambda *a, **k: stub)
    lines = []
    assert scoring.for_training(folder_config("dcgan", folder, tmp_path), lines.append) is None
    assert lines == [f"Evaluation is off: FID on 128-dimensional stub features needs more than "
                     f"128 real images, and the training split of folder:{folder} has 20; it "
                     "turns on with more"]


def test_an_evaluation_setting_that_cannot_apply_names_the_config_key(tmp_path):
    folder = image_folder(tmp_path / "images", per_class=3)
    config = folder_config("dcgan", folder, tmp_path)
    config.eval.split = "validation"
    with pytest.raises(ZooError, match=r"^config.eval.split='validation': unknown split "
                                       r"'validation' for folder:"):
        scoring.plan(config)
    config = config_lib.load("wavegan", "tiny")
    config.eval.extractor = "inception"
    with pytest.raises(ZooError, match=r"^config.eval.extractor='inception' does not apply to "
                                       r"audio; valid: classifier"):
        scoring.plan(config)


# A bfloat16 run's evaluation (the extractor at float32): tests/engine/test_precision.py.


def features(rows, classes, asked, batches=3, seed=0):
    """Synthetic `scoring.Features` of `rows` [N, D], fed in `batches`, with `classes` [N] as
    the classes asked for (a conditional generator) or, `asked` False, as the data's labels;
    the classifier hears every row as its class. classes None: an unconditional generator."""
    out = scoring.Features.empty(rows.shape[1], seed=seed)
    probs = np.eye(4)[np.zeros(len(rows), int) if classes is None else classes]
    for part in np.array_split(np.arange(len(rows)), batches):
        labels = None if classes is None else classes[part]
        out.add(rows[part], probs[part], **{("asked" if asked else "labels"): labels})
    return out


def four_classes(per_class, seed, collapsed=None):
    """Rows [4 * per_class, 4] around four far-apart centres, one per class, and the classes;
    the rows of class `collapsed` all at its centre."""
    classes = np.repeat(np.arange(4), per_class)
    rows = 100.0 * np.eye(4)[classes] + np.random.default_rng(seed).normal(size=(len(classes), 4))
    if collapsed is not None:
        rows[classes == collapsed] = 100.0 * np.eye(4)[collapsed]
    return rows, classes


def test_a_conditional_score_has_per_class_figures_and_an_unconditional_one_none():
    real = features(*four_classes(36, seed=1), asked=False)
    rows, classes = four_classes(144, seed=2, collapsed=3)
    conditional = scoring.score(real, features(rows, classes, asked=True))
    for c in range(4):
        assert conditional[f"num_asked/{c}"] == 144 and conditional[f"num_real/{c}"] == 36
        assert conditional[f"class_accuracy/{c}"] == 1.0
    assert min(conditional["precision/0"], conditional["recall/0"]) > 0.8
    assert conditional["recall/3"] < 0.05  # the collapsed class...
    assert conditional["recall_worst_class"] == conditional["recall/3"]  # ...is the worst
    assert conditional["recall"] > 0.6  # while the global recall still looks fair

    unconditional = scoring.score(real, features(rows, None, asked=True))
    assert "recall_worst_class" not in unconditional and "class_accuracy" not in unconditional
    assert not [key for key in unconditional if "/" in key]
    assert {"class_entropy", "class_coverage"} <= set(unconditional)  # for every model


def test_the_floor_scores_real_rows_per_class_by_their_labels():
    real = features(*four_classes(36, seed=3), asked=False)
    train = features(*four_classes(144, seed=4), asked=False)
    assert not [key for key in scoring.score(real, train) if "/" in key]
    floor = scoring.score(real, train, per_class=True)
    assert min(floor[f"recall/{c}"] for c in range(4)) > 0.8
    assert floor["recall_worst_class"] == min(floor[f"recall/{c}"] for c in range(4))
    # Real samples are asked for nothing, so heard-as-asked has no floor.
    assert "class_accuracy" not in floor and "class_accuracy/0" not in floor


def test_kept_rows_keep_their_classes_when_the_reservoir_drops_rows(monkeypatch):
    monkeypatch.setattr(scoring, "MAX_KEPT", 50)
    rows, classes = four_classes(100, seed=5)
    kept = features(rows, classes, asked=True, batches=7, seed=6)
    assert len(kept.rows) == 50 and kept.count == 400
    # Each row's class is the one of the centre it lies near.
    np.testing.assert_array_equal(kept.row_classes, np.argmax(kept.rows, axis=1))
    assert len(set(kept.row_classes)) > 1
    np.testing.assert_array_equal(kept.class_counts(), [100] * 4)  # all rows, not the kept


class _RecordingGAN:
    """What `generated_batches` reads of a GAN: its prior, its classes, `generate`; it returns
    each latent's first coordinate so the draws can be compared."""

    def __init__(self, num_classes):
        self.prior = latents.Prior(dim=3, distribution="uniform")
        self.num_classes = num_classes
        self.conditional = num_classes > 0

    def generate(self, z, labels=None):
        return z[:, 0]


@pytest.mark.parametrize("num_classes", [0, 10])
def test_generated_batches_draw_the_same_samples_in_any_batch_size(num_classes):
    gan = _RecordingGAN(num_classes)

    def drawn(batch_size, seed=0):
        batches = list(scoring.generated_batches(gan, 23, batch_size, seed))
        samples = np.concatenate([s.numpy() for s, _ in batches])
        asked = [a for _, a in batches]
        return batches, samples, asked

    batches, samples, asked = drawn(10)
    assert [len(s) for s, _ in batches] == [10, 10, 3]
    np.testing.assert_array_equal(samples, drawn(23)[1])
    np.testing.assert_array_equal(samples, gan.prior.stateless(23, 0).numpy()[:, 0])
    assert not np.allclose(samples, drawn(10, seed=1)[1])
    if num_classes:  # the digits in turn across batches: 0..9, 0..9, 0..2
        np.testing.assert_array_equal(np.concatenate([a.numpy() for a in asked]),
                                      np.arange(23) % 10)
    else:
        assert asked == [None, None, None]
