"""Differentiable augmentation of what the discriminator sees (Zhao, Liu, Lin, Zhu and Han,
"Differentiable Augmentation for Data-Efficient GAN Training", NeurIPS 2020).

With a small training set (the embedded digits: 1,437 images) the discriminator memorises the
real images within a few thousand steps, and its gradients stop telling the generator what a
digit looks like. Augmenting every image D sees, real and generated, in D's step and in G's,
with transformations that are differentiable in the image, keeps D from memorising without
teaching G to draw augmented images (augmenting only the real ones would).

`config.gan.augment` names the policy, a comma-separated list of the transformations below
applied in that order, e.g. "translation,cutout"; "" turns it off. Images only: [B, H, W, C]
in [-1, 1]. Every draw comes from a `tf.random.Generator`, so a run is reproducible from its
seed and checkpoints carry the generator's state.
"""
import tensorflow as tf

from tfgan_zoo.errors import ZooError

KIND = "image"  # the kind of sample these transforms apply to (tfgan_zoo.kinds)

# Shift of up to 1/8 of the side, and a square of half the side cut out: the paper's values.
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def translation(images, rng):
    """Each image shifted by up to TRANSLATION_RATIO of its height and width (independently
    drawn integers), the uncovered border filled with -1 (the background of [-1, 1] images)."""
    batch, height, width = tf.shape(images)[0], images.shape[1], images.shape[2]
    pad_h, pad_w = int(height * TRANSLATION_RATIO + 0.5), int(width * TRANSLATION_RATIO + 0.5)
    padded = tf.pad(images, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]],
                    constant_values=-1.0)
    dy = rng.uniform([batch, 1], -pad_h, pad_h + 1, dtype=tf.int32)
    dx = rng.uniform([batch, 1], -pad_w, pad_w + 1, dtype=tf.int32)
    rows = tf.range(height)[None, :] + pad_h + dy  # [B, H]
    cols = tf.range(width)[None, :] + pad_w + dx  # [B, W]
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(shifted, cols, axis=2, batch_dims=1)


def cutout(images, rng):
    """Each image with a square of CUTOUT_RATIO of its side, at a random centre, set to 0 (the
    middle of [-1, 1]); the square may reach past the border."""
    batch, height, width = tf.shape(images)[0], images.shape[1], images.shape[2]
    size_h, size_w = int(height * CUTOUT_RATIO + 0.5), int(width * CUTOUT_RATIO + 0.5)
    top = rng.uniform([batch, 1, 1], 0, height + 1 - size_h % 2, dtype=tf.int32) - size_h // 2
    left = rng.uniform([batch, 1, 1], 0, width + 1 - size_w % 2, dtype=tf.int32) - size_w // 2
    rows = tf.range(height)[None, :, None]
    cols = tf.range(width)[None, None, :]
    inside = ((rows >= top) & (rows < top + size_h)) & ((cols >= left) & (cols < left + size_w))
    keep = tf.cast(~inside, images.dtype)[..., None]
    return images * keep


def color(images, rng):
    """Brightness (+U(-0.5, 0.5)), saturation (x U(0, 2) about each pixel's channel mean) and
    contrast (x U(0.5, 1.5) about each image's mean), per image."""
    batch = tf.shape(images)[0]
    draw = lambda low, high: rng.uniform([batch, 1, 1, 1], low, high, dtype=images.dtype)  # noqa: E731
    images = images + draw(-0.5, 0.5)
    channel_mean = tf.reduce_mean(images, axis=3, keepdims=True)
    images = (images - channel_mean) * draw(0.0, 2.0) + channel_mean
    image_mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - image_mean) * draw(0.5, 1.5) + image_mean


TRANSFORMS = {"translation": translation, "cutout": cutout, "color": color}


def parse(policy):
    """The transformation names of a policy string, in order; ZooError for unknown ones."""
    names = [name.strip() for name in policy.split(",") if name.strip()]
    unknown = [name for name in names if name not in TRANSFORMS]
    if unknown:
        raise ZooError(f"config.gan.augment={policy!r}: unknown {', '.join(unknown)}; valid: a "
                       f"comma-separated list of {', '.join(TRANSFORMS)}, or '' for none")
    return names


def augmenter(policy, seed):
    """fn(images [B, H, W, C]) -> augmented images, or None for an empty policy. The function
    owns its `tf.random.Generator` (`fn.rng`), to be tracked by the GAN's checkpoint."""
    names = parse(policy)
    if not names:
        return None
    rng = tf.random.Generator.from_seed(seed)

    def augment(images):
        for name in names:
            images = TRANSFORMS[name](images, rng)
        return images

    augment.rng = rng
    return augment
