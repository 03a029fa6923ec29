"""Self-conditioning on clusters of the training data, against the blurred in-between samples of
an unconditional GAN on a small dataset.

After Liu et al., "Diverse Image Generation via Self-Conditioned GANs" (CVPR 2020): the real
samples are clustered (here k-means, once, before training, on the features the run's kind
gives: pixels for images, log-mel spectrograms for audio), and both networks are
conditioned on the cluster as a class-conditional GAN is on its labels. G is told which
cluster to draw and D, a projection discriminator, judges a sample as one of that cluster, so
G splits its latent space into parts, one per cluster, instead of morphing one digit into the
next through shapes that are no digit. No labels are used: it works on any folder of images
or WAV files.

G stays a function of its latents alone, so sampling, evaluation and every export see an
unconditional generator: the cluster is read off the first latent coordinate (`LatentCluster`),
cut at thresholds that give each cluster its share of the training data under the latent
prior. D receives the cluster of each sample: for a real one, its nearest centroid
(`Centroids`); for a generated one, the cluster G was asked for.
"""
import statistics

import numpy as np
import tensorflow as tf
import tf_keras as keras

from tfgan_zoo.errors import ZooError

# Samples k-means is fitted on, at most: enough for ten clusters, seconds on a CPU.
MAX_FIT_SAMPLES = 10_000
KMEANS_RESTARTS = 10
FEATURE_BATCH = 500  # samples turned into clustering features at once (bounds the memory)


def num_clusters(cfg):
    """config.model.clusters: K for self-conditioning, 0 off (configs from before it: off)."""
    return cfg.get("clusters", 0)


def check_clusters(cfg, conditioning):
    """Raises ZooError when config.model `cfg` asks for clusters that cannot be: K of 1 or
    below 0, or clusters beside label `conditioning` (anything but "none")."""
    clusters = num_clusters(cfg)
    if clusters == 1 or clusters < 0:
        raise ZooError(f"config.model.clusters={clusters}: use 0 (off) or at least 2")
    if clusters and conditioning != "none":
        raise ZooError(f"config.model.clusters={clusters} conditions on clusters of the data "
                       f"in place of its labels; conditioning={conditioning!r} already "
                       "conditions on labels: set one of them to off (clusters=0 or "
                       "conditioning=none)")


def generator_input(cfg, z):
    """What a generator's network reads: z itself, or for a self-conditioned `cfg` z with the
    embedding of the cluster read off it (`LatentCluster`); G stays a function of z alone."""
    if not num_clusters(cfg):
        return z
    cluster = LatentCluster(num_clusters(cfg), name="latent_cluster")(z)
    embedded = keras.layers.Embedding(num_clusters(cfg), cfg.latent_dim,
                                      name="cluster_embedding")(cluster)
    return keras.layers.Concatenate(name="z_and_cluster")([z, embedded])


def flattened(samples):
    """samples [B, ...] -> float32 [B, F]: the clustering features of images, their pixels."""
    return tf.reshape(tf.cast(samples, tf.float32), [tf.shape(samples)[0], -1])


def fit(samples, num_clusters, seed=0):
    """k-means on `samples` [N, ...] (flattened) -> (centroids float32 [K, F], the share of
    the samples in each cluster float64 [K])."""
    from sklearn.cluster import KMeans  # scikit-learn ships the default dataset too

    flat = np.asarray(samples, np.float32).reshape(len(samples), -1)
    if len(flat) < num_clusters:
        raise ZooError(f"config.model.clusters={num_clusters} needs at least as many training "
                       f"samples; the data has {len(flat)}: lower it, or set it to 0")
    kmeans = KMeans(num_clusters, n_init=KMEANS_RESTARTS, random_state=seed).fit(flat)
    shares = np.bincount(kmeans.labels_, minlength=num_clusters) / len(flat)
    return kmeans.cluster_centers_.astype(np.float32), shares


def latent_thresholds(shares, distribution):
    """The K-1 cut points on the first latent coordinate that give cluster k the probability
    shares[k] under the prior: N(0, 1) ("normal") or U[-1, 1] ("uniform")."""
    cumulative = np.clip(np.cumsum(shares)[:-1], 1e-6, 1 - 1e-6)
    if distribution == "uniform":
        return (2.0 * cumulative - 1.0).astype(np.float32)
    normal = statistics.NormalDist()
    return np.array([normal.inv_cdf(p) for p in cumulative], np.float32)


@keras.utils.register_keras_serializable(package="tfgan_zoo")
class LatentCluster(keras.layers.Layer):
    """latents [B, D] -> the cluster each asks for, int32 [B]: how many thresholds the first
    coordinate exceeds. The thresholds are a weight of the generator (set by `set_thresholds`
    before training, then checkpointed and exported with it), not trained."""

    def __init__(self, num_clusters, **kwargs):
        super().__init__(**kwargs)
        self.num_clusters = num_clusters

    def build(self, input_shape):
        # Until set from the data: equal shares under N(0, 1).
        start = latent_thresholds(np.full(self.num_clusters, 1 / self.num_clusters), "normal")
        self.thresholds = self.add_weight(
            name="thresholds", shape=(self.num_clusters - 1,), dtype="float32",
            initializer=keras.initializers.Constant(start), trainable=False)
        super().build(input_shape)

    def call(self, z):
        first = tf.cast(z[:, :1], tf.float32)
        above = tf.cast(first > self.thresholds[tf.newaxis, :], tf.int32)
        return tf.reduce_sum(above, axis=-1)

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape[:1])

    def get_config(self):
        return {**super().get_config(), "num_clusters": self.num_clusters}


def latent_cluster_of(network):
    """The `LatentCluster` layer of a generator (looked for inside wrappers such as TF-MOT's),
    or None."""
    for layer in network.layers:
        inner = getattr(layer, "layer", layer)
        if isinstance(inner, LatentCluster):
            return inner
    return None


def set_thresholds(networks, thresholds):
    """Sets the cut points of every generator in `networks` (None entries skipped)."""
    for network in networks:
        if network is not None:
            latent_cluster_of(network).thresholds.assign(thresholds)


def centroids_for(count, sample_shape, features=None):
    """Centroids for `count` clusters of samples of `sample_shape` in the space of `features`
    (samples [B, ...] -> float32 [B, F]; None: `flattened`), to be fitted (`fit_gan`); None
    for 0 clusters (no self-conditioning)."""
    if not count:
        return None
    features = features or flattened
    dim = int(features(tf.zeros((1, *sample_shape))).shape[-1])
    return Centroids(count, dim, features)


class Centroids(tf.Module):
    """The cluster centres [K, F] of the real samples' `features` ([B, ...] -> [B, F]);
    `of_samples` gives each sample its nearest one. A variable, so that a resumed run, or
    another worker, assigns real samples to the clusters the run started with."""

    def __init__(self, num_clusters, num_features, features=flattened, name="centroids"):
        super().__init__(name=name)
        self.num_clusters = num_clusters
        self.features = features
        self.centres = tf.Variable(tf.zeros((num_clusters, num_features)), trainable=False,
                                   name="centres")

    def of_samples(self, samples):
        """samples [B, ...] -> the index of each one's nearest centre, int32 [B]."""
        flat = self.features(samples)
        # |x - c|^2 without the |x|^2 that every centre shares.
        distances = (tf.reduce_sum(self.centres ** 2, axis=-1)[tf.newaxis, :]
                     - 2.0 * tf.matmul(flat, self.centres, transpose_b=True))
        return tf.argmin(distances, axis=-1, output_type=tf.int32)


def first_samples(batches, feature, limit=MAX_FIT_SAMPLES):
    """NumPy samples [N <= limit, ...] from the start of `batches` ({feature: [B, ...]})."""
    taken, count = [], 0
    for batch in batches:
        taken.append(batch[feature].numpy())
        count += len(taken[-1])
        if count >= limit:
            break
    return np.concatenate(taken)[:limit]


def fit_gan(gan, batches, feature, log):
    """Fits a self-conditioned GAN's clusters on `batches` ({feature: [B, ...]}, the training
    data): the centres, and the cut points of its generators' latents."""
    samples = first_samples(batches, feature)
    features = np.concatenate([gan.clusters.features(samples[i:i + FEATURE_BATCH]).numpy()
                               for i in range(0, len(samples), FEATURE_BATCH)])
    centres, shares = fit(features, gan.clusters.num_clusters)
    gan.clusters.centres.assign(centres)
    set_thresholds([gan.generator, gan.ema_generator],
                   latent_thresholds(shares, gan.latent_distribution))
    log(f"Self-conditioning on {len(shares)} k-means clusters of {len(samples)} training "
        f"samples (shares {shares.min():.0%} to {shares.max():.0%})")
