"""Images: the kind of sample of the DCGAN family and its relatives.

Samples are float32 [N, H, W, C] in [-1, 1] (tanh). A run writes them as PNG grids
(`samples/step_NNNNNNN.png`, `samples/latest.png`) and `summary.image`; they are scored by FID,
KID, classifier score and precision/recall on a feature extractor (lower FID picks the best
checkpoint); a SavedModel returns them as uint8 pixels and as floats; every TFLite variant
makes sense for them, checked by absolute pixel error; `generate` and the serving client write
PNG files.
"""
import dataclasses
import io
import math
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from tfgan_zoo import data, files
from tfgan_zoo.errors import ZooError
from tfgan_zoo.kinds import HIGHER, LOWER, Kind
from tfgan_zoo.metrics import extractors

# Worst |LiteRT - Keras| measured over 2,000 latents per model (TF 2.21, ai-edge-litert 2.3,
# x86 CPU, batch 1): the trained zoo DCGAN (runs/zoo/dcgan, 100-d, 28x28, 128 calibration
# steps), and tiny random-init DCGANs with their last kernel scaled x30 to a trained output
# spread (16-d and 64-d unconditional, 16-d conditional with uniform latents, 64-d 80% pruned
# and sparse-encoded; 32 and 128 calibration steps). Worst max / worst mean:
#   float32  3.1e-6 / 1.3e-7    float16  4.9e-3 / 1.9e-4
#   dynamic  9.7e-2 / 4.7e-3    int8     0.93   / 1.4e-2  (trained DCGAN: 0.26 / 6.5e-3)
# Bounds are about 2x those. The int8 max is heavy-tailed (a few pixels in 1.5 million sit on
# the steep part of tanh), so its bound only rules out inverted pixels; the int8 mean is what
# catches a broken conversion: an all-zero output is 0.57-0.72 from these generators, another
# generator's about 0.8.
TOLERANCES = {
    "float32": {"max_abs": 1e-5, "mean_abs": 1e-6},
    "float16": {"max_abs": 1e-2, "mean_abs": 5e-4},
    "dynamic": {"max_abs": 0.2, "mean_abs": 0.01},
    "int8": {"max_abs": 1.5, "mean_abs": 0.03},
}


# --- Pictures: samples in [-1, 1] -> uint8 -> grids and PNG files ---

def to_uint8(images):
    """[..., C] floats in [-1, 1] -> uint8 in [0, 255]."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def grid(images, rows=None, pad=2):
    """[N, H, W, C] images in [-1, 1] -> one uint8 [rows*(H+pad)+pad, cols*(W+pad)+pad, C] grid.

    Rows default to a near-square layout; padding is black.
    """
    images = to_uint8(images)
    n, h, w, c = images.shape
    rows = rows or max(1, int(math.floor(math.sqrt(n))))
    cols = math.ceil(n / rows)
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), np.uint8)
    for i, image in enumerate(images):
        r, k = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        out[top:top + h, left:left + w] = image
    return out


def save_png(path, picture, scale=1):
    """Writes a uint8 [H, W, C] picture as PNG, whole (see tfgan_zoo.files). `scale` enlarges it
    (nearest neighbour) so small images are readable."""
    picture = picture[..., 0] if picture.shape[-1] == 1 else picture
    image = Image.fromarray(picture)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    with files.atomic_write(path, "wb") as f:
        image.save(f, format="PNG")


def _check_pixels(images):
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ZooError(f"images must be uint8 [N, H, W, C] with C 1 or 3 (the `images` output); "
                       f"got {images.dtype} {list(images.shape)}")
    return images


def png_bytes(images):
    """uint8 [N, H, W, C] (C 1 or 3) -> a list with one PNG file's bytes per image."""
    encoded = []
    for image in _check_pixels(images):
        buffer = io.BytesIO()
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, "PNG")
        encoded.append(buffer.getvalue())
    return encoded


def save_pngs(images, directory, prefix="sample"):
    """Writes each uint8 image as <directory>/<prefix>_<i>.png (numbers zero-padded so that they
    sort); returns the paths."""
    images = _check_pixels(images)
    os.makedirs(directory, exist_ok=True)
    width = len(str(max(len(images) - 1, 0)))
    paths = []
    for i, image in enumerate(images):
        paths.append(os.path.join(directory, f"{prefix}_{i:0{width}d}.png"))
        save_png(paths[-1], image)
    return paths


# --- The adapter ---

class ImageKind(Kind):
    name = "image"
    feature = data.FEATURE
    unit = "images"
    rate_label = "img_s"
    # Directions of the summary figures only: the per-class ones (`recall/3`, ...) have none,
    # so that no single class can be made to pick the best checkpoint (`primary` does).
    metrics = {"fid": LOWER, "kid": LOWER, "classifier_score": HIGHER, "precision": HIGHER,
               "recall": HIGHER, "class_accuracy": HIGHER, "class_entropy": HIGHER,
               "class_coverage": HIGHER, "recall_worst_class": HIGHER}
    primary = "fid"
    serving_outputs = ("images", "images_float")
    float_output = "images_float"
    tflite_modes = tuple(TOLERANCES)
    tflite_output = "images"
    default_output = "samples.png"
    extractor_names = ("classifier", "inception")
    label_free_advice = (
        "no InceptionV3 weights were found; to evaluate, pass --config.eval.extractor=inception "
        "--config.eval.inception_weights=PATH (InceptionV3 weights with the top, "
        f"{extractors.INCEPTION_FILE})")

    # Data: TFDS image datasets, folders of images, the embedded digits.
    def load(self, config, batch_size, split="train", **options):
        return data.load(config.data, resolution=config.model.resolution,
                         batch_size=batch_size, split=split, **options)

    def describe(self, config, split="train"):
        return data.describe(config.data, split)

    def model_spec(self, spec, config):
        """`spec` as the model sees it: resized to the config's resolution."""
        return dataclasses.replace(spec, resolution=config.model.resolution)

    def describe_spec(self, spec):
        return (f"{spec.num_examples} images, {spec.resolution}x{spec.resolution}x"
                f"{spec.channels}")

    def make_extractor(self, config, name="classifier", weights=None, log=print):
        """A classifier trained on the dataset (default) or InceptionV3 from `weights`."""
        if name == "inception":
            return extractors.inception(weights, self.describe(config).channels)
        return extractors.domain_classifier(config.data, config.model.resolution, log=log)

    def label_free_extractor(self, config):
        """InceptionV3, from config.eval.inception_weights or Keras' download cache."""
        weights = extractors.find_inception_weights(config.eval.get("inception_weights"))
        return ("inception", weights) if weights else None

    # A run's samples.
    def sample_file(self, samples_dir, step):
        return os.path.join(samples_dir, f"step_{step:07d}.png")

    def latest_sample(self, samples_dir):
        return os.path.join(samples_dir, "latest.png")

    def write_samples(self, samples_dir, step, samples, rows, writer, spec, scale=4):
        """A PNG grid (one row per class for a conditional model) and the same TensorBoard
        image."""
        picture = grid(samples, rows=rows)
        save_png(self.sample_file(samples_dir, step), picture, scale)
        save_png(self.latest_sample(samples_dir), picture, scale)
        with writer.as_default(step=step):
            tf.summary.image("samples", picture[np.newaxis], max_outputs=1)

    # Deployment.
    def signature_outputs(self, samples, spec):
        """Generator images float [-1, 1] -> the named outputs of a SavedModel signature."""
        pixels = tf.cast(tf.clip_by_value(tf.round((samples + 1.0) * 127.5), 0.0, 255.0),
                         tf.uint8)
        return {"images": pixels, "images_float": tf.cast(samples, tf.float32)}

    def compare_tflite(self, got, expected, mode):
        """Absolute pixel error of a LiteRT generator against Keras, within TOLERANCES[mode].
        Returns (ok, figures for the export's record with a one-line "summary", what to say
        when not ok)."""
        diff = np.abs(np.asarray(got, np.float32) - np.asarray(expected, np.float32))
        measured = {"max_abs": float(diff.max()), "mean_abs": float(diff.mean())}
        allowed = TOLERANCES[mode]
        ok = all(measured[k] <= allowed[k] for k in allowed)
        summary = (f"max |diff| {measured['max_abs']:.4g}, mean |diff| "
                   f"{measured['mean_abs']:.4g}; allowed for {mode}: max {allowed['max_abs']}, "
                   f"mean {allowed['mean_abs']}")
        measured["summary"] = (f"max |error| {measured['max_abs']:.4f} vs Keras (allowed "
                               f"{allowed['max_abs']})")
        return ok, {"mode": mode, **measured, "tolerance": dict(allowed)}, summary

    def write_generated(self, path, samples, spec, rows=None, scale=4):
        """`generate`'s output: one PNG grid of all samples."""
        save_png(path, grid(samples, rows=rows), scale=scale)
        return path

    def encode_files(self, outputs):
        return png_bytes(outputs["images"])

    def save_files(self, outputs, directory, prefix="sample"):
        return save_pngs(outputs["images"], directory, prefix)


KIND = ImageKind()
