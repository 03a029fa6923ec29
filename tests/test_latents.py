"""The latent prior (tfgan_zoo.latents): one module draws z for training, grids, signatures and
TFLite calibration, and the classes in turn."""
import numpy as np
import pytest
import tensorflow as tf

from tfgan_zoo.latents import Prior, classes_in_turn


def test_stateless_latents_depend_only_on_the_seed():
    prior = Prior(5)
    a = prior.stateless(8, seed=3).numpy()
    np.testing.assert_array_equal(a, prior.stateless(8, seed=3).numpy())
    assert not np.allclose(a, prior.stateless(8, seed=4).numpy())
    u = Prior(5, "uniform").stateless(1000, seed=0).numpy()
    assert u.min() >= -1 and u.max() <= 1 and abs(u.mean()) < 0.05


def test_each_form_draws_the_prior_it_names():
    for prior in (Prior(64), Prior(64, "uniform")):
        drawn = [prior.sample(tf.random.Generator.from_seed(0), 2000).numpy(),
                 prior.stateless(2000, 1).numpy(),
                 prior.numpy(np.random.default_rng(0), 2000)]
        for z in drawn:
            assert z.shape == (2000, 64) and z.dtype == np.float32
            if prior.distribution == "uniform":
                assert z.min() >= -1 and z.max() <= 1 and abs(z.std() - 1 / np.sqrt(3)) < 0.01
            else:
                assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01


def test_an_unknown_distribution_is_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="valid: normal, uniform"):
        Prior(4, "cauchy")


def test_classes_in_turn_cycle_from_any_start():
    np.testing.assert_array_equal(classes_in_turn(7, 3).numpy(), [0, 1, 2, 0, 1, 2, 0])
    np.testing.assert_array_equal(classes_in_turn(4, 10, start=8).numpy(), [8, 9, 0, 1])
    assert classes_in_turn(5, 2).dtype == tf.int32
