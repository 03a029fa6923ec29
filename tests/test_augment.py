"""tfgan_zoo.augment: differentiable augmentation of D's inputs, and the engine's use of it."""
import numpy as np
import pytest
import tensorflow as tf

from tfgan_zoo import augment
from tfgan_zoo import config as config_lib
from tfgan_zoo.engine import training
from tfgan_zoo.errors import ZooError


def dots(n=64, size=28):
    """n images of background -1 with one bright pixel at the centre."""
    images = -np.ones((n, size, size, 1), np.float32)
    images[:, size // 2, size // 2, 0] = 1.0
    return tf.constant(images)


def test_translation_shifts_each_image_by_at_most_an_eighth_and_fills_with_background():
    out = augment.translation(dots(), tf.random.Generator.from_seed(0)).numpy()
    assert out.shape == (64, 28, 28, 1)
    shifts = []
    for image in out:
        (row, col), = np.argwhere(image[..., 0] == 1.0)
        shifts.append((row - 14, col - 14))
        assert np.count_nonzero(image == -1.0) == 28 * 28 - 1  # nothing but the shifted dot
    shifts = np.array(shifts)
    assert np.abs(shifts).max() <= 4  # 28 / 8 = 3.5, rounded to 4
    assert len({tuple(s) for s in shifts}) > 10  # drawn per image, not once per batch


def test_translation_pads_with_background_where_the_image_moved_away():
    images = tf.ones((32, 16, 16, 1))
    out = augment.translation(images, tf.random.Generator.from_seed(1)).numpy()
    assert set(np.unique(out)) == {-1.0, 1.0}
    assert (out == -1.0).any()


def test_cutout_zeroes_one_square_of_half_the_side_per_image():
    images = tf.ones((64, 28, 28, 1))
    out = augment.cutout(images, tf.random.Generator.from_seed(2)).numpy()
    for image in out[..., 0]:
        rows, cols = np.nonzero(image == 0.0)
        assert rows.max() - rows.min() < 14 and cols.max() - cols.min() < 14
        # A whole 14x14 square, cut by the border at most.
        assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert np.all(image[image != 0.0] == 1.0)
    assert len({float(np.mean(image)) for image in out}) > 5


def test_color_moves_brightness_and_contrast_per_image():
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(-1, 1, (16, 8, 8, 1)).astype(np.float32))
    out = augment.color(images, tf.random.Generator.from_seed(3)).numpy()
    means = out.mean(axis=(1, 2, 3)) - images.numpy().mean(axis=(1, 2, 3))
    assert np.all(np.abs(means) <= 0.5 + 1e-5) and np.std(means) > 0.05


def test_the_gradient_reaches_the_images_through_every_transform():
    images = tf.Variable(tf.random.uniform((4, 28, 28, 1), -1, 1, seed=4))
    fn = augment.augmenter("translation,cutout,color", seed=0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(fn(images) ** 2)
    grad = tape.gradient(loss, images)
    assert grad is not None and np.count_nonzero(grad.numpy()) > 0.3 * grad.numpy().size


def test_same_seed_same_draws_and_an_empty_policy_is_none():
    a = augment.augmenter("translation,cutout", seed=5)(dots(8)).numpy()
    b = augment.augmenter("translation,cutout", seed=5)(dots(8)).numpy()
    np.testing.assert_array_equal(a, b)
    assert augment.augmenter("", seed=5) is None


def test_an_unknown_transform_says_which_and_what_is_valid():
    with pytest.raises(ZooError, match=r"unknown flip; valid: .*translation, cutout, color"):
        augment.parse("translation,flip")


def test_augmentation_turned_on_when_a_run_resumes(tmp_path, digits_data_dir, caplog):
    # The checkpoint lacks the augmentation's random stream: it starts from the run's seed.
    config = config_lib.load("dcgan", "tiny")
    config.data.data_dir = digits_data_dir
    training.train(config, str(tmp_path / "run"), log=lambda _: None)
    config.gan.augment = "translation,cutout"
    config.train.num_steps = 6
    result = training.train(config, str(tmp_path / "run"), log=lambda _: None)
    assert (result.start_step, result.end_step) == (4, 6)
    assert "config.gan.augment is on, but checkpoint" in caplog.text


def test_augmentation_is_refused_for_audio():
    config = config_lib.load("wavegan", "tiny")
    config.gan.augment = "cutout"
    kind = type("Kind", (), {"name": "audio"})
    with pytest.raises(ZooError, match=r"transforms images; wavegan generates audio"):
        training._augmenter(config, kind)
