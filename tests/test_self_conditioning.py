"""Self-conditioning on k-means clusters (tfgan_zoo/self_conditioning.py): the cut points on the
latent, the nearest-centre assignment, the engine's labels for D, and a run that trains,
resumes and exports with its clusters."""
import statistics
import types

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tfgan_zoo import config as config_lib
from tfgan_zoo import models, self_conditioning
from tfgan_zoo.engine import runs, training
from tfgan_zoo.engine.gan import GAN
from tfgan_zoo.errors import ZooError
from tfgan_zoo.metrics import mel
from tfgan_zoo.models import dcgan, wavegan

LATENT = 4


@pytest.mark.parametrize("distribution", ["normal", "uniform"])
def test_each_cluster_gets_its_share_of_the_prior(distribution):
    shares = np.array([0.2, 0.3, 0.1, 0.4])
    cuts = self_conditioning.latent_thresholds(shares, distribution)
    if distribution == "normal":
        normal = statistics.NormalDist()
        np.testing.assert_allclose([normal.cdf(t) for t in cuts], [0.2, 0.5, 0.6], atol=1e-6)
    else:
        np.testing.assert_allclose(cuts, [-0.6, 0.0, 0.2], atol=1e-6)
    layer = self_conditioning.LatentCluster(4)
    layer.build((None, LATENT))
    layer.thresholds.assign(cuts)
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((100_000, LATENT)) if distribution == "normal"
         else rng.uniform(-1, 1, (100_000, LATENT))).astype(np.float32)
    drawn = np.bincount(layer(z).numpy(), minlength=4) / len(z)
    np.testing.assert_allclose(drawn, shares, atol=0.01)


def test_samples_go_to_their_nearest_centre():
    rng = np.random.default_rng(1)
    centroids = self_conditioning.Centroids(5, 12)
    centroids.centres.assign(rng.standard_normal((5, 12)).astype(np.float32))
    samples = rng.standard_normal((64, 2, 2, 3)).astype(np.float32)
    flat = samples.reshape(64, -1)
    distances = ((flat[:, None, :] - centroids.centres.numpy()[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(centroids.of_samples(samples).numpy(), distances.argmin(-1))


def test_kmeans_finds_separated_groups_and_their_shares():
    rng = np.random.default_rng(2)
    centres = np.array([[-5.0, 0.0], [5.0, 0.0], [0.0, 8.0]])
    sizes = [50, 30, 20]
    samples = np.concatenate([c + 0.1 * rng.standard_normal((n, 2))
                              for c, n in zip(centres, sizes, strict=True)])
    found, shares = self_conditioning.fit(samples, 3)
    order = [int(np.argmin(((found - c) ** 2).sum(-1))) for c in centres]
    assert sorted(order) == [0, 1, 2]
    np.testing.assert_allclose(found[order], centres, atol=0.1)
    np.testing.assert_allclose(shares[order], [0.5, 0.3, 0.2])
    with pytest.raises(ZooError, match=r"config.model.clusters=3 needs at least as many "
                                       r"training samples; the data has 2: lower it, or set it"):
        self_conditioning.fit(samples[:2], 3)


def tiny_model_config(**overrides):
    cfg = config_lib.load("dcgan", "tiny").model
    cfg.update(dict(resolution=8, base_channels=4, latent_dim=LATENT, kernel_size=3, clusters=3))
    cfg.update(overrides)
    return cfg


def make_gan(**compile_kwargs):
    cfg = tiny_model_config()
    spec = types.SimpleNamespace(channels=1, num_classes=0, name="tiny")
    centroids = self_conditioning.Centroids(3, 64)
    centroids.centres.assign(np.random.default_rng(3).uniform(-1, 1, (3, 64)).astype("float32"))
    gan = GAN(dcgan.build_generator(cfg, spec), dcgan.build_discriminator(cfg, spec),
              latent_dim=LATENT, clusters=centroids)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), **compile_kwargs)
    return gan


class Spy:
    """Stands in for a GAN's discriminator (eagerly, outside Keras' attribute tracking) and
    records the [samples, labels] it is called with."""

    def __init__(self, gan):
        self.network, self.seen = gan.discriminator, []
        object.__setattr__(gan, "discriminator", self)

    def __call__(self, inputs, training=False):
        self.seen.append(inputs)
        return self.network(inputs, training=training)

    def __getattr__(self, name):
        return getattr(self.network, name)


def test_g_takes_latents_alone_and_d_judges_each_sample_with_its_cluster():
    gan = make_gan()
    assert len(gan.generator.inputs) == 1 and len(gan.discriminator.inputs) == 2
    spy = Spy(gan)
    fake, labels, z = gan._fake(16, with_latents=True)
    gan._critic(fake, labels)
    asked = self_conditioning.latent_cluster_of(gan.generator)(z)
    np.testing.assert_array_equal(spy.seen[-1][1].numpy(), asked.numpy())


def test_a_train_step_judges_real_samples_by_their_nearest_centre():
    gan = make_gan(mode_seeking=1.0)
    images = np.random.default_rng(4).uniform(-1, 1, (8, 8, 8, 1)).astype("float32")
    spy = Spy(gan)
    logs = gan.train_step({"image": tf.constant(images)})
    real_calls = [labels for x, labels in spy.seen if x.shape == images.shape
                  and np.array_equal(x.numpy(), images)]
    assert real_calls, "D never judged the real batch"
    expected = gan.clusters.of_samples(images).numpy()
    for labels in real_calls:
        np.testing.assert_array_equal(labels.numpy(), expected)
    assert np.isfinite(float(logs["d_loss"])) and np.isfinite(float(logs["mode_seeking"]))


def test_batch_halves_ask_for_the_same_clusters_with_other_latents():
    gan = make_gan(mode_seeking=1.0, mode_seeking_pairs="batch_halves")
    _, clusters, z = gan._fake(16, with_latents=True, paired=True)
    np.testing.assert_array_equal(clusters[:8], clusters[8:])
    np.testing.assert_array_equal(z[:8, 0], z[8:, 0])  # what G reads its cluster off
    assert not np.allclose(z[:8, 1:], z[8:, 1:])
    assert np.isfinite(float(gan.train_step({"image": tf.zeros((16, 8, 8, 1))})["mode_seeking"]))


@pytest.mark.parametrize("overrides, message", [
    (dict(clusters=1), "use 0 .off. or at least 2"),
    (dict(conditioning="projection"), "already conditions on labels"),
])
def test_bad_cluster_settings_are_refused(overrides, message):
    with pytest.raises(ZooError, match=message):
        dcgan.validate(tiny_model_config(**overrides))


@pytest.mark.parametrize("model, overrides, message", [
    ("wavegan", dict(clusters=1), "use 0 .off. or at least 2"),
    ("wavegan_cond", dict(clusters=3), "conditioning='acgan' already conditions on labels"),
])
def test_bad_cluster_settings_of_wavegan_are_refused(model, overrides, message):
    cfg = config_lib.load(model, "tiny").model
    cfg.update(overrides)
    with pytest.raises(ZooError, match=message):
        wavegan.validate(cfg)


def test_a_generator_without_the_cluster_layer_is_refused():
    cfg = tiny_model_config(clusters=0)
    spec = types.SimpleNamespace(channels=1, num_classes=0, name="tiny")
    with pytest.raises(ValueError, match="reads the cluster off its latents"):
        GAN(dcgan.build_generator(cfg, spec),
            dcgan.build_discriminator(tiny_model_config(), spec), latent_dim=LATENT,
            clusters=self_conditioning.Centroids(3, 64))


def run_config(data_dir, seed=0):
    config = config_lib.load("dcgan", "tiny")
    config.data.data_dir = data_dir
    config.model.clusters = 4
    config.train.seed = seed
    return config


@pytest.fixture(scope="module")
def clustered_run(tmp_path_factory, digits_data_dir):
    path = str(tmp_path_factory.mktemp("selfcond") / "run")
    lines = []
    training.train(run_config(digits_data_dir), path, log=lines.append)
    return path, lines


def test_a_run_fits_its_clusters_from_the_data_and_keeps_them(clustered_run, digits_data_dir):
    path, lines = clustered_run
    assert any("Self-conditioning on 4 k-means clusters of 1437 training samples" in line
               for line in lines)
    run = runs.load(path, "latest")
    centres = run.gan.clusters.centres.numpy()
    assert centres.shape == (4, 28 * 28) and np.abs(centres).sum() > 0
    # The cut points follow the clusters' shares, not the equal shares they start from.
    cuts = [self_conditioning.latent_cluster_of(g).thresholds.numpy()
            for g in (run.gan.generator, run.gan.ema_generator)]
    np.testing.assert_array_equal(cuts[0], cuts[1])
    fresh = runs.load(path, "untrained")
    assert not np.allclose(cuts[0],
                           self_conditioning.latent_cluster_of(fresh.gan.generator).thresholds)
    # Another run on the same data (another seed: another batch order) gets the same clusters,
    # so a pruning fine-tune of a run conditions on the clusters it was trained with.
    with tf.distribute.get_strategy().scope():
        other = training.build_gan(run_config(digits_data_dir, seed=5), run.spec)
    training.fit_clusters(other, run_config(digits_data_dir, seed=5), run.kind, log=print)
    np.testing.assert_allclose(other.clusters.centres.numpy(), centres, atol=1e-5)


def test_the_exported_generator_takes_latents_alone_and_matches_keras(clustered_run, tmp_path):
    from tfgan_zoo.deployment import exports

    meta = exports.export_run(clustered_run[0], export_dir=str(tmp_path), quantize=["none"],
                              which="latest", log=lambda _: None)
    loaded = tf.saved_model.load(meta["path"])
    z = tf.random.stateless_normal((8, 16), [0, 1])
    served = loaded.signatures["serving_default"](z=z)
    run = runs.load(clustered_run[0], "latest")
    images = served["images_float"].numpy()
    np.testing.assert_allclose(images, run.gan.generate(z).numpy(), atol=1e-5)


def test_the_recipes_without_labels_are_self_conditioned():
    for name in ("dcgan", "lsgan", "sngan", "wgan_gp"):
        assert config_lib.load(name).model.clusters == 40, name
        assert config_lib.load(name, "tiny").model.clusters == 0, name
    for name in ("cgan", "acgan"):  # cgan and acgan have labels
        assert config_lib.load(name).model.clusters == 0, name


def test_a_self_conditioned_wavegan_clusters_clips_by_their_log_mel_spectrograms(
        digits_data_dir):
    config = config_lib.load("wavegan", "tiny")
    config.data.data_dir = digits_data_dir
    config.model.clusters = 3
    kind = models.kind_of_config(config)
    dataset, spec = kind.load(config, config.train.batch_size * config.gan.d_steps)
    gan = training.build_gan(config, spec)
    assert [t.name.split(":")[0] for t in gan.generator.inputs] == ["z"]
    assert [t.name.split(":")[0] for t in gan.discriminator.inputs] == ["audio", "label"]
    frames = mel.num_frames(config.model.slice_length, spec.sample_rate)
    assert gan.clusters.centres.shape == (3, frames * mel.NUM_MELS)
    lines = []
    training.fit_clusters(gan, config, kind, lines.append)
    assert any("Self-conditioning on 3 k-means clusters" in line for line in lines)
    # Real clips go to the centre nearest their log-mel spectrogram, not their waveform.
    clips = next(iter(dataset))["audio"]
    spectra = mel.log_mel(clips, spec.sample_rate).numpy().reshape(len(clips), -1)
    centres = gan.clusters.centres.numpy()
    distances = ((spectra[:, None, :] - centres[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(gan.clusters.of_samples(clips).numpy(), distances.argmin(-1))
    assert len(np.unique(centres.round(3), axis=0)) == 3
    logs = gan.train_step(next(iter(dataset)))
    assert all(np.isfinite(float(v)) for v in logs.values())
