"""DCGAN generator and discriminator (Radford, Metz and Chintala, ICLR 2016).

G: z -> Dense -> s x s feature map -> (ConvTranspose stride 2, norm, ReLU) x k -> tanh.
D: image -> (Conv stride 2, norm, LeakyReLU 0.2) x k -> Dense(1) logits; no norm on the first
conv, as in the paper. The same family serves WGAN-GP, LSGAN and SNGAN recipes through the
`norm` options (layer norm for a gradient-penalty critic, spectral norm for SNGAN).
"""
import math

import tf_keras as keras

from tfgan_zoo.errors import ZooError

OUTPUT_KIND = "image"
NORMS = ("batch", "layer", "none")
D_NORMS = NORMS + ("spectral",)
LATENT_DISTRIBUTIONS = ("normal", "uniform")


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


def _norm(kind, name):
    if kind == "batch":
        return keras.layers.BatchNormalization(name=name)
    if kind == "layer":
        # Over H, W and C: a per-example normalisation, so it keeps WGAN-GP's per-example
        # gradient penalty valid where batch norm would not.
        return keras.layers.LayerNormalization(axis=[1, 2, 3], name=name)
    return None


def build_generator(cfg, spec):
    """latents [B, latent_dim] -> images [B, R, R, spec.channels] in [-1, 1], float32."""
    start, ups = _start_size_and_upsamplings(cfg.resolution)
    channels = cfg.base_channels * 2 ** (ups - 1)
    z = keras.Input((cfg.latent_dim,), name="z")
    x = keras.layers.Dense(start * start * channels, use_bias=cfg.g_norm == "none",
                           name="project")(z)
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
    return keras.Model(z, images, name="generator")


def build_discriminator(cfg, spec):
    """images [B, R, R, spec.channels] in [-1, 1] -> logits [B, 1], float32."""
    _, downs = _start_size_and_upsamplings(cfg.resolution)
    images = keras.Input((cfg.resolution, cfg.resolution, spec.channels), name="images")
    x = images
    for i in range(downs):
        conv = keras.layers.Conv2D(cfg.base_channels * 2 ** i, cfg.kernel_size, strides=2,
                                   padding="same", name=f"down{i}")
        if cfg.d_norm == "spectral":
            conv = keras.layers.SpectralNormalization(conv, name=f"down{i}_sn")
        x = conv(x)
        norm = _norm(cfg.d_norm, f"down{i}_norm") if i > 0 else None
        x = norm(x) if norm else x
        x = keras.layers.LeakyReLU(0.2)(x)
        if cfg.d_dropout:
            x = keras.layers.Dropout(cfg.d_dropout)(x)
    x = keras.layers.Flatten()(x)
    dense = keras.layers.Dense(1, name="logit")
    if cfg.d_norm == "spectral":
        dense = keras.layers.SpectralNormalization(dense, name="logit_sn")
    logits = keras.layers.Activation("linear", dtype="float32", name="logits")(dense(x))
    return keras.Model(images, logits, name="discriminator")
