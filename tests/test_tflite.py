"""LiteRT export: every mode converts and matches the Keras generator, failures are loud.

Conversions are the slow part (one child process each, a few seconds), so the models and files
are built once per module and shared.
"""
import tfgan_zoo  # noqa: F401  # isort: skip  (must precede TensorFlow)
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tfgan_zoo import config as config_lib
from tfgan_zoo import data
from tfgan_zoo.deployment import tflite
from tfgan_zoo.errors import ZooError
from tfgan_zoo.kinds import image as image_kind
from tfgan_zoo.models import dcgan

NUM_CLASSES = 10
CALIBRATION_STEPS = 32  # enough for a tiny model; keeps int8 conversion quick


def _generator(seed, *, latent_dim, conditioning="none", latent_distribution="normal"):
    """A tiny DCGAN generator whose outputs span [-1, 1] like a trained one's.

    At random init the tanh sees values of about +-0.03, against which any absolute tolerance
    passes; scaling the last kernel brings the output to a trained generator's spread, so the
    checks can tell a right conversion from a wrong one.
    """
    keras.utils.set_random_seed(seed)
    cfg = config_lib.load("dcgan", "tiny").model
    cfg.latent_dim, cfg.conditioning = latent_dim, conditioning
    cfg.latent_distribution = latent_distribution
    spec = data.DatasetSpec(name="t", split="train", resolution=cfg.resolution, channels=1,
                            num_classes=NUM_CLASSES, class_names=tuple("0123456789"),
                            num_examples=10)
    g = dcgan.build_generator(cfg, spec)
    kernel = g.get_layer("to_image").kernel
    kernel.assign(kernel * 30.0)
    return g


def _prune(g, sparsity=0.8):
    """Zeros the smallest-magnitude `sparsity` of each Dense and Conv2DTranspose kernel."""
    for layer in g.layers:
        if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2DTranspose)):
            kernel = layer.kernel.numpy()
            threshold = np.quantile(np.abs(kernel), sparsity)
            layer.kernel.assign(np.where(np.abs(kernel) <= threshold, 0.0, kernel))
    return g


def _save(g, directory, name):
    path = os.path.join(directory, f"{name}.keras")
    g.save(path)
    return path


def _latents(n, dim, distribution="normal", seed=1):
    rng = np.random.default_rng(seed)
    if distribution == "uniform":
        return rng.uniform(-1.0, 1.0, (n, dim)).astype(np.float32)
    return rng.standard_normal((n, dim)).astype(np.float32)


@pytest.fixture(scope="module")
def unconditional(tmp_path_factory):
    """latent_dim 64, so weights outweigh the per-channel quantisation parameters in int8."""
    directory = str(tmp_path_factory.mktemp("unconditional"))
    g = _generator(0, latent_dim=64)
    paths = tflite.convert(_save(g, directory, "g"), directory, tflite.MODES,
                           output_name="images", batch=1,
                           latent_dim=64, latent_distribution="normal", num_classes=0,
                           calibration_steps=CALIBRATION_STEPS)
    return g, paths


@pytest.fixture(scope="module")
def conditional(tmp_path_factory):
    """Uniform latents and a batch of 2, so calibration and padding paths are covered too."""
    directory = str(tmp_path_factory.mktemp("conditional"))
    g = _generator(1, latent_dim=16, conditioning="projection", latent_distribution="uniform")
    paths = tflite.convert(_save(g, directory, "g"), directory, ("float32", "int8"),
                           output_name="images", batch=2,
                           latent_dim=16, latent_distribution="uniform",
                           num_classes=NUM_CLASSES, calibration_steps=CALIBRATION_STEPS)
    return g, paths


@pytest.mark.parametrize("mode", tflite.MODES)
def test_unconditional_modes_match_keras(unconditional, mode):
    g, paths = unconditional
    assert os.path.basename(paths[mode]) == f"generator_{mode}.tflite"
    result = tflite.check(paths[mode], g, mode, kind=image_kind.KIND, z=_latents(16, 64))
    assert result["max_abs"] <= image_kind.TOLERANCES[mode]["max_abs"]


@pytest.mark.parametrize("mode", ["float32", "int8"])
def test_conditional_modes_match_keras(conditional, mode):
    g, paths = conditional
    labels = np.arange(16) % NUM_CLASSES
    tflite.check(paths[mode], g, mode, kind=image_kind.KIND, z=_latents(16, 16, "uniform"),
                 labels=labels)


def test_no_staging_left(unconditional):
    _, paths = unconditional
    directory = os.path.dirname(paths["float32"])
    assert sorted(f for f in os.listdir(directory) if f.endswith(".tflite")) == \
        sorted(tflite.filename(m) for m in tflite.MODES)
    assert not [f for f in os.listdir(os.path.dirname(directory)) if f.startswith(".tflite-")]


@pytest.mark.parametrize("mode", ["float32", "int8"])
def test_check_fails_against_another_generator(unconditional, mode):
    _, paths = unconditional
    other = _generator(5, latent_dim=64)
    with pytest.raises(ZooError, match=f"{mode}.*does not match"):
        tflite.check(paths[mode], other, mode, kind=image_kind.KIND, z=_latents(8, 64))


def test_int8_check_fails_on_all_zero_output(unconditional):
    _, paths = unconditional

    def zeros(z, training):
        return np.zeros((len(z), 28, 28, 1), np.float32)

    with pytest.raises(ZooError, match="allowed for int8"):
        tflite.check(paths["int8"], zeros, "int8", kind=image_kind.KIND, z=_latents(8, 64))


def test_int8_is_compared_at_the_latents_its_input_rounds_to(unconditional):
    # The file rounds float latents to its input's int8 grid; at the rounded latents it gives
    # exactly what it gives at the raw ones, and those are what Keras is compared at (a
    # generator with cut points in z, tfgan_zoo/self_conditioning.py, needs it).
    _, paths = unconditional
    z = _latents(8, 64)
    seen = tflite.latents_as_seen(paths["int8"], z)
    step = np.abs(seen - z).max()
    assert 0 < step < 0.05  # rounded, by at most half a step of the int8 grid of about N(0, 1)
    gaps = np.diff(np.unique(seen)) / np.diff(np.unique(seen)).min()
    np.testing.assert_allclose(gaps, np.round(gaps), atol=1e-3)  # all on one even grid
    np.testing.assert_array_equal(tflite.run(paths["int8"], seen), tflite.run(paths["int8"], z))
    np.testing.assert_array_equal(tflite.latents_as_seen(paths["float32"], z), z)


def test_run_chunks_over_the_fixed_batch(unconditional, conditional):
    _, paths = unconditional
    z = _latents(3, 64)
    images = tflite.run(paths["float32"], z)
    rows = np.concatenate([tflite.run(paths["float32"], z[i:i + 1]) for i in range(3)])
    assert images.shape == (3, 28, 28, 1) and images.dtype == np.float32
    np.testing.assert_array_equal(images, rows)
    # Batch 2 with 5 rows: the last chunk is padded, and the padding does not come back.
    _, paths = conditional
    z, labels = _latents(5, 16, "uniform"), np.array([0, 3, 9, 1, 7])
    images = tflite.run(paths["float32"], z, labels)
    rows = np.concatenate([tflite.run(paths["float32"], z[i:i + 1], labels[i:i + 1])
                           for i in range(5)])
    assert images.shape == (5, 28, 28, 1)
    np.testing.assert_allclose(images, rows, atol=1e-6)


def test_quantized_files_are_smaller(unconditional):
    _, paths = unconditional
    size = {mode: os.path.getsize(path) for mode, path in paths.items()}
    assert size["int8"] < 0.35 * size["float32"]
    assert size["dynamic"] < 0.35 * size["float32"]
    assert size["float16"] < 0.6 * size["float32"]


def test_signature_names_the_inputs_and_output(conditional):
    from ai_edge_litert.interpreter import Interpreter

    _, paths = conditional
    runner = Interpreter(model_path=paths["int8"]).get_signature_runner("serving_default")
    inputs = runner.get_input_details()
    assert set(inputs) == {"z", "label"}
    assert list(inputs["z"]["shape"]) == [2, 16] and inputs["z"]["dtype"] == np.float32
    assert list(inputs["label"]["shape"]) == [2] and inputs["label"]["dtype"] == np.int32
    assert runner.get_output_details()["images"]["dtype"] == np.float32


def test_op_without_int8_kernel_fails_loudly(tmp_path):
    # CUMSUM has a float kernel but no int8 one; the converter's default quantizer would keep
    # it in float silently.
    z = keras.Input((8,), name="z")
    model = keras.Model(z, tf.math.cumsum(keras.layers.Dense(8)(z), axis=1))
    with pytest.raises(ZooError, match=r"(?s)int8: op CUMSUM .*pick another --quantize"):
        tflite.convert(_save(model, str(tmp_path), "cumsum"), str(tmp_path),
                       ("float32", "int8"),
                           output_name="images", batch=1, latent_dim=8,
                       latent_distribution="normal", num_classes=0, calibration_steps=4)
    # All or nothing: float32 did convert, but no file is written when a mode fails.
    assert os.listdir(tmp_path) == ["cumsum.keras"]
    assert not [f for f in os.listdir(tmp_path.parent) if f.startswith(".tflite-")]


def test_op_name_is_read_from_converter_errors():
    text = ("ConverterError: Could not translate MLIR to FlatBuffer.<frozen runpy>:198:1: "
            "error: 'tf.Erf' op is neither a custom op nor a flex op")
    assert tflite.failing_op(text) == "tf.Erf"
    assert tflite.failing_op("Quantization not yet supported for op: 'CUMSUM'.") == "CUMSUM"


def test_unknown_mode_is_refused_before_converting(tmp_path):
    with pytest.raises(ZooError, match="valid: float32, float16, dynamic, int8"):
        tflite.convert("g.keras", str(tmp_path), ["int4"],
                           output_name="images", batch=1, latent_dim=8,
                       latent_distribution="normal", num_classes=0)


def test_sparse_conversion_matches_and_shrinks(tmp_path, unconditional):
    g = _prune(_generator(0, latent_dim=64))
    paths = tflite.convert(_save(g, str(tmp_path), "pruned"), str(tmp_path),
                           ("float32", "dynamic", "int8"),
                           output_name="images", batch=1, latent_dim=64,
                           latent_distribution="normal", num_classes=0, sparse=True,
                           calibration_steps=CALIBRATION_STEPS)
    for mode, path in paths.items():
        tflite.check(path, g, mode, kind=image_kind.KIND, z=_latents(8, 64))
    _, dense = unconditional
    assert os.path.getsize(paths["float32"]) < 0.5 * os.path.getsize(dense["float32"])


def test_a_conversion_that_takes_too_long_is_stopped_and_writes_nothing(tmp_path):
    out_dir = tmp_path / "tflite"
    g = keras.Sequential([keras.Input((8,), name="z"), keras.layers.Dense(4)])
    # A second is not enough for the child even to import TensorFlow.
    with pytest.raises(ZooError) as error:
        tflite.convert(_save(g, str(tmp_path), "g"), str(out_dir), ("float32", "int8"),
                       output_name="images", batch=1, latent_dim=8,
                       latent_distribution="normal", num_classes=0, timeout_s=1)
    assert str(error.value) == (
        "the TFLite conversion of float32, int8 did not finish within 1 s and was stopped; no "
        ".tflite file was written. What to do: on a slow or busy machine allow more time with "
        "--tflite_timeout=SECONDS, or convert fewer modes at once (--quantize=none, then the "
        "others)")
    assert sorted(os.listdir(tmp_path)) == ["g.keras"]  # no output folder, no staging folder
    if os.path.isdir("/proc"):  # and the child is gone
        assert not [pid for pid in os.listdir("/proc") if pid.isdigit()
                    and str(tmp_path) in _cmdline(pid)]


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def test_the_default_time_limit_grows_with_the_modes(tmp_path, monkeypatch):
    limits = []

    def child(keras_path, stage, modes, timeout_s, options):
        limits.append(timeout_s)
        return {mode: {"ok": False, "error": "stop here"} for mode in modes}

    monkeypatch.setattr(tflite, "_run_child", child)
    for modes in (("float32",), tflite.MODES):
        with pytest.raises(ZooError):
            tflite.convert("g.keras", str(tmp_path), modes, output_name="images", batch=1,
                           latent_dim=8, latent_distribution="normal", num_classes=0)
    assert limits == [tflite.TIMEOUT_PER_MODE_S, 4 * tflite.TIMEOUT_PER_MODE_S]
