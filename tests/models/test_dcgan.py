"""The DCGAN family: shapes, ranges and the resolutions it accepts."""
import types

import numpy as np
import pytest
import tf_keras as keras

from tfgan_zoo import config as config_lib
from tfgan_zoo.errors import ZooError
from tfgan_zoo.models import dcgan, get_family


def model_config(**overrides):
    cfg = config_lib.load("dcgan", "tiny").model
    cfg.update(overrides)
    return cfg


@pytest.mark.parametrize("resolution,channels", [(28, 1), (32, 3), (64, 1)])
@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_generator_and_discriminator_shapes(resolution, channels, norm):
    cfg = model_config(resolution=resolution, g_norm=norm, d_norm=norm)
    spec = types.SimpleNamespace(channels=channels)
    g, d = dcgan.build_generator(cfg, spec), dcgan.build_discriminator(cfg, spec)
    z = np.random.default_rng(0).standard_normal((3, cfg.latent_dim)).astype("float32")
    images = g(z, training=False).numpy()
    assert images.shape == (3, resolution, resolution, channels)
    assert images.min() >= -1 and images.max() <= 1
    assert d(images, training=False).shape == (3, 1)
    # Functional, so TF-MOT can prune and strip them.
    assert isinstance(g, keras.Model) and g._is_graph_network and d._is_graph_network


def test_spectral_norm_discriminator_builds():
    cfg = model_config(d_norm="spectral")
    d = dcgan.build_discriminator(cfg, types.SimpleNamespace(channels=1))
    assert any(isinstance(layer, keras.layers.SpectralNormalization) for layer in d.layers)
    assert d(np.zeros((2, 28, 28, 1), "float32"), training=True).shape == (2, 1)


def test_default_generator_is_the_classic_dcgan_layout():
    cfg = config_lib.load("dcgan").model
    g = dcgan.build_generator(cfg, types.SimpleNamespace(channels=1))
    shapes = [layer.output_shape[1:] for layer in g.layers
              if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert shapes == [(14, 14, 32), (28, 28, 1)]


@pytest.mark.parametrize("resolution", [30, 16 * 3, 7, 2])
def test_unbuildable_resolution_is_refused_with_the_valid_ones(resolution):
    with pytest.raises(ZooError, match=r"resolution=\d+ cannot be built.*28, 32, 64"):
        dcgan.validate(model_config(resolution=resolution))


@pytest.mark.parametrize("key,value,message", [
    ("latent_dim", 0, "latent_dim must be a positive integer"),
    ("g_norm", "group", "g_norm='group'; valid: batch, layer, none"),
    ("d_dropout", 1.0, r"d_dropout must be in \[0, 1\)"),
    ("latent_distribution", "cauchy", "valid: normal, uniform"),
])
def test_bad_model_values_are_refused(key, value, message):
    with pytest.raises(ZooError, match=message):
        dcgan.validate(model_config(**{key: value}))


def test_unknown_family_lists_the_known_ones():
    with pytest.raises(ZooError, match="unknown model family 'nope'.*dcgan"):
        get_family("nope")
