"""Feature extractors: the digits classifier trains, reports its accuracy and is reused; the
InceptionV3 extractor loads a weights file from disk and says clearly when there is none."""
import os

import numpy as np
import pytest
import tf_keras as keras
from image_folders import image_folder

from tfgan_zoo import config as config_lib
from tfgan_zoo.errors import ZooError
from tfgan_zoo.metrics import extractors


@pytest.fixture(scope="module")
def digits_extractor(digits_data_dir):
    config = config_lib.load("dcgan", "tiny")
    config.data.data_dir = digits_data_dir
    return config, extractors.domain_classifier(config.data, 28, log=lambda _: None)


def test_digits_classifier_is_accurate_on_the_test_split(digits_extractor):
    _, extractor = digits_extractor
    assert extractor.test_accuracy > 0.93
    assert extractor.name == "classifier:sklearn_digits@28x28x1"


def test_classifier_outputs_features_and_probabilities(digits_extractor):
    _, extractor = digits_extractor
    features, probs = extractor(np.zeros((5, 28, 28, 1), np.float32))
    assert features.shape == (5, extractor.feature_dim) and probs.shape == (5, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_classifier_is_cached_and_reloaded_unchanged(digits_extractor):
    config, first = digits_extractor
    stem = extractors._cache_stem(config.data, 28, 1)
    assert os.path.exists(stem + ".weights.h5") and os.path.exists(stem + ".json")
    again = extractors.domain_classifier(config.data, 28, log=pytest.fail)  # no training
    images = np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(again(images)[0], first(images)[0], rtol=1e-5, atol=1e-6)
    assert again.test_accuracy == first.test_accuracy


def test_the_classifier_trains_from_its_seed_whatever_the_callers(tmp_path):
    """Two fresh caches, two callers' seeds: the same network (see seeded())."""
    folder = image_folder(tmp_path / "images", per_class=10)
    config = config_lib.load("dcgan", "tiny")
    config.data.dataset = f"folder:{folder}"
    trained = []
    for seed in (1, 2):
        keras.utils.set_random_seed(seed)
        config.data.data_dir = str(tmp_path / f"cache{seed}")
        trained.append(extractors.domain_classifier(config.data, 28, epochs=1,
                                                    log=lambda _: None).model.get_weights())
    for first, second in zip(*trained, strict=True):
        np.testing.assert_array_equal(first, second)


def test_unlabeled_dataset_needs_another_extractor(tmp_path):
    from PIL import Image

    for i in range(3):
        Image.fromarray(np.full((8, 8), i * 40, np.uint8)).save(tmp_path / f"{i}.png")
    config = config_lib.load("dcgan", "tiny")
    config.data.dataset = f"folder:{tmp_path}"
    with pytest.raises(ZooError, match="no class labels.*--extractor=inception"):
        extractors.domain_classifier(config.data, 28)


def test_inception_needs_its_weights_file(tmp_path):
    with pytest.raises(ZooError, match="InceptionV3 weights not found.*--inception_weights"):
        extractors.inception(str(tmp_path / "missing.h5"))
    (tmp_path / "bad.h5").write_bytes(b"not hdf5")
    with pytest.raises(ZooError, match="is not InceptionV3 weights"):
        extractors.inception(str(tmp_path / "bad.h5"))


def test_inception_loads_weights_from_a_local_file(tmp_path):
    # Random weights saved where the real ImageNet file would be: the loading path is the same.
    path = str(tmp_path / "inception_v3.h5")
    reference = keras.applications.InceptionV3(weights=None, include_top=True)
    reference.save_weights(path)
    extractor = extractors.inception(path, channels=1)
    features, probs = extractor(np.zeros((2, 28, 28, 1), np.float32))
    assert features.shape == (2, 2048) and probs.shape == (2, 1000)
    assert extractor.name == "inception_v3:pool3"


def test_hold_out_keeps_every_fifth_example_out_of_training():
    import tensorflow as tf

    samples = tf.data.Dataset.from_tensor_slices((tf.range(12), tf.range(12) % 2)).batch(5)
    train, held = extractors.hold_out(samples, batch_size=4, shuffle_buffer=100)
    trained = sorted(int(x) for batch, _ in train for x in batch)
    assert [int(x) for batch, _ in held for x in batch] == [0, 5, 10]
    assert trained == [1, 2, 3, 4, 6, 7, 8, 9, 11]
