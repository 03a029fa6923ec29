"""The DCGAN family: shapes, ranges and the resolutions it accepts."""
import types

import numpy as np
import pytest
import tf_keras as keras

from tfgan_zoo import config as config_lib
from tfgan_zoo.errors import ZooError
from tfgan_zoo.models import dcgan, get_family
from tfgan_zoo.spectral_norm import SpectralNormalization


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
    assert any(isinstance(layer, SpectralNormalization) for layer in d.layers)
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


# --- Class-conditional networks (model.conditioning) ---

LABELED = types.SimpleNamespace(channels=1, num_classes=4, name="labeled")


@pytest.mark.parametrize("conditioning", ["concat", "projection", "acgan"])
def test_conditional_generator_takes_labels_and_its_output_depends_on_them(conditioning):
    cfg = model_config(conditioning=conditioning)
    g = dcgan.build_generator(cfg, LABELED)
    assert [t.name for t in g.inputs] == ["z", "label"] and g.inputs[1].dtype == "int32"
    z = np.repeat(np.random.default_rng(0).standard_normal((1, cfg.latent_dim)), 4, axis=0)
    images = g([z.astype("float32"), np.arange(4, dtype="int32")], training=False).numpy()
    assert images.shape == (4, 28, 28, 1) and images.min() >= -1 and images.max() <= 1
    for other in images[1:]:  # the same z, another class: another image
        assert np.abs(other - images[0]).max() > 1e-4
    assert g._is_graph_network


@pytest.mark.parametrize("d_norm", ["batch", "spectral"])
@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_label_discriminators_take_images_and_labels(conditioning, d_norm):
    cfg = model_config(conditioning=conditioning, d_norm=d_norm)
    d = dcgan.build_discriminator(cfg, LABELED)
    assert [t.name for t in d.inputs] == ["images", "label"]
    image = np.random.default_rng(0).uniform(-1, 1, (1, 28, 28, 1)).astype("float32")
    logits = d([np.repeat(image, 4, axis=0), np.arange(4, dtype="int32")], training=False)
    assert logits.shape == (4, 1) and logits.dtype == "float32"
    # The same image under four labels: four logits.
    assert len(np.unique(np.round(logits.numpy(), 6))) == 4
    assert d._is_graph_network


def test_projection_discriminator_adds_the_inner_product_of_class_embedding_and_features():
    cfg = model_config(conditioning="projection", d_norm="none")
    d = dcgan.build_discriminator(cfg, LABELED)
    images = np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    labels = np.array([3, 0, 1, 3], "int32")
    features = keras.Model(d.inputs, d.get_layer("logit").input)([images, labels]).numpy()
    unconditional = keras.Model(d.inputs, d.get_layer("logit").output)([images, labels]).numpy()
    embedding = d.get_layer("label_projection").embeddings.numpy()
    expected = unconditional[:, 0] + (embedding[labels] * features).sum(axis=-1)
    np.testing.assert_allclose(d([images, labels]).numpy()[:, 0], expected, rtol=1e-4, atol=1e-5)


def test_spectral_projection_discriminator_normalises_the_class_embedding_too():
    d = dcgan.build_discriminator(model_config(conditioning="projection", d_norm="spectral"),
                                  LABELED)
    wrapped = [layer.layer for layer in d.layers
               if isinstance(layer, SpectralNormalization)]
    assert any(isinstance(layer, keras.layers.Embedding) for layer in wrapped)


@pytest.mark.parametrize("d_norm", ["batch", "spectral"])
def test_acgan_discriminator_returns_logits_and_class_logits(d_norm):
    d = dcgan.build_discriminator(model_config(conditioning="acgan", d_norm=d_norm), LABELED)
    assert [t.name for t in d.inputs] == ["images"]
    logits, class_logits = d(np.zeros((3, 28, 28, 1), "float32"), training=True)
    assert logits.shape == (3, 1) and class_logits.shape == (3, 4)
    assert logits.dtype == class_logits.dtype == "float32"
    assert d._is_graph_network


@pytest.mark.parametrize("conditioning", ["concat", "projection", "acgan"])
def test_conditional_networks_can_be_pruned_and_stripped(conditioning):
    import tensorflow_model_optimization as tfmot

    cfg = model_config(conditioning=conditioning)
    for network in (dcgan.build_generator(cfg, LABELED), dcgan.build_discriminator(cfg, LABELED)):
        pruned = tfmot.sparsity.keras.prune_low_magnitude(network)
        stripped = tfmot.sparsity.keras.strip_pruning(pruned)
        assert len(stripped.inputs) == len(network.inputs)
        assert len(stripped.outputs) == len(network.outputs)


@pytest.mark.parametrize("spec,name", [
    (types.SimpleNamespace(channels=1, num_classes=0, name="folder:/data/faces"),
     "folder:/data/faces"),
    (types.SimpleNamespace(channels=1, num_classes=0), "this dataset"),
])
def test_conditioning_on_unlabeled_data_says_what_to_do(spec, name):
    cfg = model_config(conditioning="projection")
    message = (f"model.conditioning='projection' needs a labeled dataset .*; {name} has none: "
               "use conditioning='none' or a labeled dataset such as sklearn_digits")
    with pytest.raises(ZooError, match=message):
        dcgan.build_generator(cfg, spec)
    with pytest.raises(ZooError, match=message):
        dcgan.build_discriminator(cfg, spec)


def test_unconditional_networks_ignore_the_classes_of_labeled_data():
    cfg = model_config()
    assert cfg.conditioning == "none"
    assert len(dcgan.build_generator(cfg, LABELED).inputs) == 1
    assert len(dcgan.build_discriminator(cfg, LABELED).inputs) == 1


def test_unknown_conditioning_is_refused_with_the_valid_ones():
    with pytest.raises(ZooError, match="conditioning='film'; valid: none, concat, projection, "
                                       "acgan"):
        dcgan.validate(model_config(conditioning="film"))
