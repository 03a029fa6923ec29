"""DCGAN generator and discriminator (Radford, Metz and Chintala, ICLR 2016).

G: z -> Dense -> s x s feature map -> (ConvTranspose stride 2, norm, ReLU) x k -> tanh.
D: image -> (Conv stride 2, norm, LeakyReLU 0.2) x k -> Dense(1) logits; no norm on the first
conv, as in the paper. The same family serves WGAN-GP, LSGAN and SNGAN recipes through the
`norm` options (layer norm for a gradient-penalty critic, spectral norm for SNGAN).

Class-conditional variants (`conditioning`, for labeled data with `spec.num_classes` classes):
  G (every mode): [z, label] -> Embedding(label) concatenated with z -> the same network.
  "concat" D (cGAN, Mirza and Osindero 2014): [images, label] -> the one-hot label broadcast
    over the image and concatenated to its channels -> the same network.
  "projection" D (Miyato and Koyama 2018): [images, label] -> features h ->
    Dense(1)(h) + <Embedding(label), h>.
  "acgan" D (Odena et al. 2017): images -> [logits [B, 1], class logits [B, num_classes]];
    with `twin_classifier` (TAC-GAN, Gong et al. 2019) also [twin logits [B, num_classes]], a
    second class head of the same features that the engine trains on generated images; with
    `label_projection`, [images, label] in and the projection term added to the logits, so D
    matches class-conditional data as the projection D does and labels as ACGAN's head does
    (the two together, as in Han et al.'s P2GAN, 2021).

Self-conditioned (`clusters` K > 0, unconditional data or not; tfgan_zoo/self_conditioning.py):
  G: z -> the cluster read off z (LatentCluster) -> Embedding concatenated with z -> the same
    network; still a function of z alone. D: [images, cluster] -> the projection D over K.
"""
import functools
import math

import tensorflow as tf
import tf_keras as keras

from tfgan_zoo import latents, self_conditioning
from tfgan_zoo.errors import ZooError
from tfgan_zoo.models import _conditioning as _conditioning_lib
from tfgan_zoo.models import _heads
from tfgan_zoo.models._conditioning import conditioning as _conditioning
from tfgan_zoo.self_conditioning import num_clusters  # also the engine's hook
from tfgan_zoo.spectral_norm import SpectralNormalization

# What the error for a conditional config on unlabeled data suggests.
LABELED = "sklearn_digits, mnist_5k, mnist or a folder with one subfolder per class"
KIND = "image"
NORMS = ("batch", "layer", "none")
D_NORMS = NORMS + ("spectral",)
LATENT_DISTRIBUTIONS = latents.DISTRIBUTIONS
CONDITIONINGS = ("none", "concat", "projection", "acgan")


def _start_size_and_upsamplings(resolution):
    """28 -> (7, 2), 32 -> (4, 3), 64 -> (4, 4); None where no 4*2^k or 7*2^k fits."""
    for start in (7, 4):
        if resolution % start == 0:
            k = math.log2(resolution // start)
            if k >= 1 and k == int(k):
                return start, int(k)
    return None


def validate(cfg):
    if _start_size_and_upsamplings(cfg.resolution) is None:
        raise ZooError(f"config.model.resolution={cfg.resolution} cannot be built by DCGAN: "
                       "use 7*2^k or 4*2^k, e.g. 28, 32, 64 or 128")
    for key in ("latent_dim", "base_channels", "kernel_size"):
        if cfg[key] < 1:
            raise ZooError(f"config.model.{key} must be a positive integer, got {cfg[key]}")
    if cfg.g_norm not in NORMS:
        raise ZooError(f"config.model.g_norm={cfg.g_norm!r}; valid: {', '.join(NORMS)}")
    if cfg.d_norm not in D_NORMS:
        raise ZooError(f"config.model.d_norm={cfg.d_norm!r}; valid: {', '.join(D_NORMS)}")
    if not 0.0 <= cfg.d_dropout < 1.0:
        raise ZooError(f"config.model.d_dropout must be in [0, 1), got {cfg.d_dropout}")
    if cfg.latent_distribution not in LATENT_DISTRIBUTIONS:
        raise ZooError(f"config.model.latent_distribution={cfg.latent_distribution!r}; "
                       f"valid: {', '.join(LATENT_DISTRIBUTIONS)}")
    if _conditioning(cfg) not in CONDITIONINGS:
        raise ZooError(f"config.model.conditioning={_conditioning(cfg)!r}; "
                       f"valid: {', '.join(CONDITIONINGS)}")
    self_conditioning.check_clusters(cfg, _conditioning(cfg))
    _conditioning_lib.check_acgan_options(cfg)


def latent_prior(cfg, spec=None):
    return latents.Prior(cfg.latent_dim, cfg.latent_distribution)


def sample_shape(cfg, spec):
    """(resolution, resolution, channels): one image."""
    return (cfg.resolution, cfg.resolution, spec.channels)


def _num_classes(cfg, spec):
    """spec.num_classes for a conditional config (ZooError if the data has no classes), else 0."""
    return _conditioning_lib.num_classes(cfg, spec, LABELED)


def _norm(kind, name):
    if kind == "batch":
        # Statistics over the global batch when it is split over replicas, so a step means the
        # same on any number of devices (and one device keeps the fused kernel).
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return keras.layers.BatchNormalization(synchronized=replicas > 1, name=name)
    if kind == "layer":
        # Over H, W and C: a per-example normalisation, so it keeps WGAN-GP's per-example
        # gradient penalty valid where batch norm would not.
        return keras.layers.LayerNormalization(axis=[1, 2, 3], name=name)
    return None


def build_generator(cfg, spec):
    """latents [B, latent_dim] -> images [B, R, R, spec.channels] in [-1, 1], float32.

    Conditional configs take [z [B, latent_dim], label int32 [B]] instead; raises ZooError when
    the data has no classes.
    """
    num_classes = _num_classes(cfg, spec)
    start, ups = _start_size_and_upsamplings(cfg.resolution)
    channels = cfg.base_channels * 2 ** (ups - 1)
    z = keras.Input((cfg.latent_dim,), name="z")
    inputs, x = z, self_conditioning.generator_input(cfg, z)
    if num_classes:
        label = keras.Input((), dtype="int32", name="label")
        embedded = keras.layers.Embedding(num_classes, cfg.latent_dim, name="label_embedding")
        inputs, x = [z, label], keras.layers.Concatenate(name="z_and_label")([z, embedded(label)])
    x = keras.layers.Dense(start * start * channels, use_bias=cfg.g_norm == "none",
                           name="project")(x)
    x = keras.layers.Reshape((start, start, channels))(x)
    norm = _norm(cfg.g_norm, "project_norm")
    x = norm(x) if norm else x
    x = keras.layers.ReLU()(x)
    for i in range(ups - 1):
        channels //= 2
        x = keras.layers.Conv2DTranspose(channels, cfg.kernel_size, strides=2, padding="same",
                                         use_bias=cfg.g_norm == "none", name=f"up{i}")(x)
        norm = _norm(cfg.g_norm, f"up{i}_norm")
        x = norm(x) if norm else x
        x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2DTranspose(spec.channels, cfg.kernel_size, strides=2, padding="same",
                                     name="to_image")(x)
    # float32 output whatever the mixed-precision policy, so samples and losses stay exact.
    images = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(inputs, images, name="generator")


def build_discriminator(cfg, spec):
    """images [B, R, R, spec.channels] in [-1, 1] -> logits [B, 1], float32.

    "concat" and "projection" take [images, label int32 [B]]; "acgan" takes images (with
    `label_projection`, [images, label]) and returns [logits [B, 1], class logits
    [B, spec.num_classes]] (with `twin_classifier`, also twin logits), all float32. A
    self-conditioned one (`clusters`) is the projection D over the clusters: [images, cluster
    int32 [B]].
    """
    conditioning, num_classes = _conditioning(cfg), _num_classes(cfg, spec)
    if num_clusters(cfg):
        conditioning, num_classes = "projection", num_clusters(cfg)
    _, downs = _start_size_and_upsamplings(cfg.resolution)
    images = keras.Input((cfg.resolution, cfg.resolution, spec.channels), name="images")
    inputs, x = images, images
    projects = conditioning == "projection" or _conditioning_lib.projects_label(cfg)
    if conditioning == "concat" or projects:
        label = keras.Input((), dtype="int32", name="label")
        inputs = [images, label]
    if conditioning == "concat":
        # Lambda, not a bare tf.one_hot (a TFOpLambda): TF-MOT's prune registry knows Lambda.
        one_hot = keras.layers.Lambda(lambda y: tf.one_hot(y, num_classes),
                                      name="label_one_hot")(label)
        one_hot = keras.layers.Reshape((1, 1, num_classes))(one_hot)
        planes = keras.layers.UpSampling2D(cfg.resolution, name="label_planes")(one_hot)
        x = keras.layers.Concatenate(name="images_and_label")([images, planes])
    for i in range(downs):
        conv = keras.layers.Conv2D(cfg.base_channels * 2 ** i, cfg.kernel_size, strides=2,
                                   padding="same", name=f"down{i}")
        x = _spectral(cfg, conv)(x)
        norm = _norm(cfg.d_norm, f"down{i}_norm") if i > 0 else None
        x = norm(x) if norm else x
        x = keras.layers.LeakyReLU(0.2)(x)
        if cfg.d_dropout:
            x = keras.layers.Dropout(cfg.d_dropout)(x)
    h = keras.layers.Flatten()(x)
    heads = 0 if num_clusters(cfg) else _conditioning_lib.class_heads(cfg)
    outputs = _heads.discriminator_outputs(
        h, num_classes, label if projects else None, heads, wrap=functools.partial(_spectral, cfg))
    return keras.Model(inputs, outputs, name="discriminator")


def _spectral(cfg, layer):
    """`layer`, wrapped in spectral normalisation when D's norm is spectral."""
    if cfg.d_norm != "spectral":
        return layer
    # The wrapper estimates sigma in float32; the wrapped layer computes in the policy's dtype.
    return SpectralNormalization(layer, name=f"{layer.name}_sn", dtype="float32")
