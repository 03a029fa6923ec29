"""LiteRT (TFLite) export of a generator, with a numerical check against the Keras model.

Modes (`--quantize`):
  float32  no optimisation: the Keras graph as it is, weights and maths in float32.
  float16  weights stored as float16 (half the file); maths still float32 on a CPU.
  dynamic  dynamic-range quantisation: int8 weights, activations quantised on the fly.
  int8     full-integer: int8 weights and activations, ranges calibrated on latents from the
           model's own prior. An op without an int8 kernel fails the conversion loudly
           (the converter alone would silently keep it in float). Inputs and output stay
           float32 (the label int32), so callers see one interface for every mode.

Every file takes a FIXED batch: transposed convolutions with a dynamic batch pull
Shape/Pack/StridedSlice ops into the graph. `run` chunks larger inputs over that batch.

The conversion itself runs in a child process (`python -m tfgan_zoo.deployment.tflite`):
TFLiteConverter leaks about 20 MB per convert() call (tensorflow/tensorflow#122598). The child
writes into a staging folder; the files move into place only when every mode converted, so a
failure, a crash or a child stopped for taking too long (`timeout_s`) changes nothing in the
output folder.

`sparse=True` (pruned generators) adds EXPERIMENTAL_SPARSITY to the SPARSE_MODES, which stores
their kernels in a sparse encoding (see SPARSE_MODES for why not the quantised ones).

Which modes make sense for a kind of sample, what its output is called, how closely each
mode must match Keras on the same latents and whether the XNNPACK delegate may run it is the
kind's (`tfgan_zoo.kinds`: images are checked by absolute pixel error, see
tfgan_zoo.kinds.image.TOLERANCES; text by identical token ids, on the builtin kernels).

The child loads the generator with every model family imported, so that the custom layers of a
family (relgan's) are registered with Keras.

The module runs to about 450 lines because both sides of a conversion live here: what the child
writes (modes, calibration, integer-only ops) is what the parent's check and `run` read back.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

from tfgan_zoo.errors import ZooError
from tfgan_zoo.latents import Prior, classes_in_turn

MODES = ("float32", "float16", "dynamic", "int8")
# Sparse encoding where it pays. Measured on the zoo DCGAN at 80% sparsity, raw / gzipped:
# float32 3.9x / 1.08x smaller, float16 3.2x / 1.09x; but int8 and dynamic only 1.7x raw and
# 10% LARGER gzipped (gzip already squeezes their zero bytes), and XNNPACK refuses the sparse
# quantised FULLY_CONNECTED, so those would lose the fast CPU path (see `_signature_runner`).
SPARSE_MODES = ("float32", "float16")
SIGNATURE = "serving_default"
DEFAULT_CALIBRATION_STEPS = 128
# The child's time limit, per mode converted. A mode takes seconds for the zoo's generators on
# this project's 2-core machine (int8, calibrating, the longest); a converter stuck for ten
# minutes on one is not going to finish.
TIMEOUT_PER_MODE_S = 600


def filename(mode):
    return f"generator_{mode}.tflite"


# ---------------------------------------------------------------------------------------------
# Parent side: spawn the converter, read its result.


def convert(keras_path, out_dir, modes, *, batch, latent_dim, latent_distribution, num_classes,
            output_name, sparse=False, calibration_seed=0,
            calibration_steps=DEFAULT_CALIBRATION_STEPS, timeout_s=None):
    """Converts the generator saved at `keras_path` to one `generator_<mode>.tflite` per mode in
    `out_dir`, all in one child process; the signature's output is named `output_name` (the
    kind's). Returns {mode: path}. When a mode fails, ZooError names it and the op at fault,
    and no file is written. The child is stopped after `timeout_s` seconds (default
    TIMEOUT_PER_MODE_S per mode), with a ZooError and no file written."""
    modes = tuple(modes)
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ZooError(f"unknown quantize mode(s) {', '.join(unknown)}; valid: {', '.join(MODES)}")
    out_dir = os.path.abspath(out_dir)
    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    # Staged next to out_dir, on the same file system, so that os.replace is atomic.
    timeout_s = timeout_s or TIMEOUT_PER_MODE_S * len(modes)
    with tempfile.TemporaryDirectory(prefix=".tflite-", dir=os.path.dirname(out_dir)) as stage:
        _raise_on_failures(_run_child(keras_path, stage, modes, timeout_s, [
            "--batch", str(batch), "--latent_dim", str(latent_dim),
            "--latent_distribution", latent_distribution, "--num_classes", str(num_classes),
            "--output_name", output_name,
            "--calibration_seed", str(calibration_seed),
            "--calibration_steps", str(calibration_steps)] + (["--sparse"] if sparse else [])))
        os.makedirs(out_dir, exist_ok=True)
        paths = {mode: os.path.join(out_dir, filename(mode)) for mode in modes}
        for mode, path in paths.items():
            os.replace(os.path.join(stage, filename(mode)), path)
    return paths


def _run_child(keras_path, stage, modes, timeout_s, options):
    """Runs `python -m tfgan_zoo.deployment.tflite` writing into `stage`; returns its per-mode
    result. A child still running after `timeout_s` seconds is killed (ZooError)."""
    result_path = os.path.join(stage, "result.json")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", __name__, "--keras_path", os.path.abspath(keras_path),
             "--out_dir", stage, "--modes", ",".join(modes), "--result", result_path] + options,
            capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:  # subprocess.run has killed and reaped the child
        raise ZooError(
            f"the TFLite conversion of {', '.join(modes)} did not finish within "
            f"{_duration(timeout_s)} and was stopped; no .tflite file was written. What to do: "
            "on a slow or busy machine allow more time with --tflite_timeout=SECONDS, or "
            "convert fewer modes at once (--quantize=none, then the others)") from None
    if not os.path.exists(result_path):
        tail = (proc.stderr or proc.stdout)[-2000:]
        raise ZooError(f"the TFLite converter process failed (exit {proc.returncode}) before "
                       f"converting anything:\n{tail}")
    with open(result_path) as f:
        return json.load(f)


def _duration(seconds):
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _raise_on_failures(result):
    failed = {mode: r for mode, r in result.items() if not r["ok"]}
    if not failed:
        return
    lines = [f"--quantize={mode}: {_failure(mode, r)}" for mode, r in failed.items()]
    others = [m for m in MODES if m not in failed]
    if all(_no_builtin(r.get("op")) for r in failed.values()):
        advice = ("no --quantize mode helps with an op that has no TFLite builtin kernel: "
                  "build the generator from other ops")
    else:
        advice = f"pick another --quantize mode ({', '.join(others)})" if others else \
            "build the generator from ops that TFLite supports"
    raise ZooError(f"TFLite conversion failed for {', '.join(failed)}:\n" + "\n".join(lines)
                   + f"\nWhat to do: {advice}")


def _failure(mode, r):
    op, said = r.get("op"), _error_line(r["error"])
    if _no_builtin(op):
        return f"op {op} has no TFLite builtin kernel at all ({said})"
    if op:
        return f"op {op} cannot be converted to {mode} ({said})"
    return f"the converter failed: {said}"


def _no_builtin(op):
    # TensorFlow op names ("tf.Erf") survive only when no TFLite builtin replaced them.
    return bool(op) and op.startswith("tf.")


# What the converter says when an op cannot be lowered or quantised, most specific first.
_OP_PATTERNS = (
    r"'(tf\.\w+)' op is neither a custom op nor a flex op",
    r"'(tfl\.\w+)' op .*(?:not supported|not quantizable|quantiz)",
    r"[Qq]uantization (?:is )?not (?:yet )?supported for op:? '?([\w.]+)'?",
    r"[Oo]p(?:eration)? '?([\w.]+)'? (?:is )?not (?:supported|quantizable)",
    r"'((?:tf|tfl)\.\w+)' op",
)


def failing_op(error_text):
    """The op named in a converter error ('tf.Cumsum', 'tfl.cumsum', ...), or None."""
    for pattern in _OP_PATTERNS:
        match = re.search(pattern, error_text)
        if match:
            return match.group(1)
    return None


def _error_line(error_text):
    """The converter's own words, without its MLIR location prefix; at most 300 characters."""
    lines = [line for line in error_text.splitlines() if line.strip()] or ["(no message)"]
    line = next((line for line in lines if "error:" in line), lines[0])
    return line.rsplit("error: ", 1)[-1].strip()[:300]


# ---------------------------------------------------------------------------------------------
# Running and checking a converted file.


def run(tflite_path, z, labels=None, *, xnnpack=True):
    """The generator's output, float32 [N, ...], for latents z [N, latent_dim] (and labels
    int [N] for a conditional model). N may exceed the file's fixed batch: rows go through in
    chunks of that batch, the last one padded by repeating its final row. `xnnpack=False` runs
    TFLite's builtin kernels instead of the XNNPACK delegate (see `xnnpack_allowed`)."""
    runner = _signature_runner(tflite_path, xnnpack)
    batch = int(runner.get_input_details()["z"]["shape"][0])
    z = np.asarray(z, np.float32)
    labels = None if labels is None else np.asarray(labels, np.int32)
    chunks = []
    for start in range(0, len(z), batch):
        feed = {"z": _padded(z[start:start + batch], batch)}
        if labels is not None:
            feed["label"] = _padded(labels[start:start + batch], batch)
        (output,) = runner(**feed).values()  # the signature has one output, named by the kind
        chunks.append(output[:len(z) - start])
    return np.concatenate(chunks).astype(np.float32)


def xnnpack_allowed(kind):
    """Whether `kind`'s generators are checked and run with LiteRT's default XNNPACK delegate:
    yes unless the kind says `tflite_xnnpack = False` (text, whose token ids need the builtin
    kernels' float32 arithmetic; see tfgan_zoo.kinds.text)."""
    return kind.tflite_xnnpack


def _signature_runner(tflite_path, xnnpack=True):
    """The file's serving_default runner, tried once on zeros; on the builtin kernels without
    `xnnpack`.

    XNNPACK, the default CPU delegate, refuses the sparse-encoded quantised FULLY_CONNECTED that
    EXPERIMENTAL_SPARSITY writes for int8 and dynamic ("failed to delegate FULLY_CONNECTED",
    ai-edge-litert 2.3): such a file runs on the builtin kernels instead.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        if xnnpack:
            runner = Interpreter(model_path=str(tflite_path)).get_signature_runner(SIGNATURE)
            runner(**_zeros(runner))
            return runner
    except RuntimeError as error:
        if "delegate" not in str(error):
            raise
    interpreter = Interpreter(
        model_path=str(tflite_path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    return interpreter.get_signature_runner(SIGNATURE)


def _zeros(runner):
    return {name: np.zeros(d["shape"], d["dtype"])
            for name, d in runner.get_input_details().items()}


def latents_as_seen(tflite_path, z):
    """The latents z [N, latent_dim] as a full-integer file computes with them: its QUANTIZE
    op rounds them to the int8 grid of its input first, and everything after is a function of
    the rounded ones. The int8 check compares Keras at those: a generator that is not
    continuous in z (a self-conditioned one reads its cluster off z[:, 0] at cut points, see
    tfgan_zoo/self_conditioning.py) would otherwise be compared, for a latent within half a
    step of a cut point, with the sample of another cluster. z as given when no QUANTIZE op
    reads the input (a float interface)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tflite_path))
    z_index = interpreter.get_signature_runner(SIGNATURE).get_input_details()["z"]["index"]
    # ai-edge-litert 2.3 lists ops only through this private method (no public one).
    quantize = [op for op in interpreter._get_ops_details()
                if op["op_name"] == "QUANTIZE" and list(op["inputs"]) == [z_index]]
    z = np.asarray(z, np.float32)
    if not quantize:
        return z
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    scale, zero_point = tensors[int(quantize[0]["outputs"][0])]["quantization"]
    levels = np.clip(np.round(z / scale) + zero_point, -128, 127)
    return ((levels - zero_point) * scale).astype(np.float32)


def _padded(rows, batch):
    if len(rows) == batch:
        return rows
    return np.concatenate([rows, np.repeat(rows[-1:], batch - len(rows), axis=0)])


def check(tflite_path, keras_model, mode, *, kind, z, labels=None):
    """Compares the LiteRT file's output with `keras_model`'s on the same z (and labels), as
    the kind measures it (`Kind.compare_tflite`); returns the measured and allowed figures, or
    raises ZooError when outside what the kind allows for `mode`."""
    seen = latents_as_seen(tflite_path, z) if mode == "int8" else z
    inputs = seen if labels is None else [seen, np.asarray(labels, np.int32)]
    expected = np.asarray(keras_model(inputs, training=False), np.float32)
    got = run(tflite_path, z, labels, xnnpack=xnnpack_allowed(kind))
    ok, measured, summary = kind.compare_tflite(got, expected, mode)
    if not ok:
        raise ZooError(f"the {mode} TFLite generator ({os.path.basename(tflite_path)}) does not "
                       f"match the Keras generator: {summary}; nothing was exported. Leave "
                       f"{mode} out of --quantize to export the other variants")
    return measured


# ---------------------------------------------------------------------------------------------
# Child side: the conversion proper (python -m tfgan_zoo.deployment.tflite ...).


def _serving_function(model, batch, latent_dim, num_classes, output_name):
    """A concrete function with named inputs z (and label) and one output, `output_name`."""
    import tensorflow as tf

    z_spec = tf.TensorSpec([batch, latent_dim], tf.float32, name="z")
    if num_classes:
        label_spec = tf.TensorSpec([batch], tf.int32, name="label")

        @tf.function(input_signature=[z_spec, label_spec])
        def serve(z, label):
            return {output_name: model([z, label], training=False)}
    else:
        @tf.function(input_signature=[z_spec])
        def serve(z):
            return {output_name: model(z, training=False)}
    return serve.get_concrete_function()


def _calibration_data(args):
    """Representative inputs for int8: latents from the model's prior, labels cycling."""
    rng = np.random.default_rng(args.calibration_seed)
    prior = Prior(args.latent_dim, args.latent_distribution)

    def generate():
        for step in range(args.calibration_steps):
            inputs = [prior.numpy(rng, args.batch)]
            if args.num_classes:
                inputs.append(classes_in_turn(args.batch, args.num_classes,
                                              step * args.batch).numpy())
            yield inputs

    return generate


def _configure(converter, mode, args):
    import tensorflow as tf

    optimizations = [] if mode == "float32" else [tf.lite.Optimize.DEFAULT]
    if args.sparse and mode in SPARSE_MODES:
        optimizations.append(tf.lite.Optimize.EXPERIMENTAL_SPARSITY)
    converter.optimizations = optimizations
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if mode == "int8":
        converter.representative_dataset = _calibration_data(args)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]


def _convert_one(fn, module, mode, args):
    """Converts for one mode and writes the file; raises _OpError or the converter's error."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn], module)
    _configure(converter, mode, args)
    flatbuffer = converter.convert()
    if mode == "int8":
        _require_integer_ops(flatbuffer)
    # Into the parent's staging folder: convert() moves it into place only if all modes pass.
    with open(os.path.join(args.out_dir, filename(mode)), "wb") as f:
        f.write(flatbuffer)


class _OpError(Exception):
    def __init__(self, op, message):
        super().__init__(message)
        self.op = op


def _require_integer_ops(flatbuffer):
    """Raises _OpError naming the first op left in float in a full-integer model.

    TFLITE_BUILTINS_INT8 alone does not make the converter fail: its default (MLIR) quantizer
    keeps an op without an int8 kernel in float between DEQUANTIZE and QUANTIZE (seen with
    CUMSUM and NEG in TF 2.21). Only the float32 interface, QUANTIZE in and DEQUANTIZE out, may
    touch float tensors.
    """
    for op, types in _ops_and_tensor_types(flatbuffer):
        if op not in ("QUANTIZE", "DEQUANTIZE") and {"FLOAT32", "FLOAT16"} & set(types):
            raise _OpError(op, "no int8 kernel: the converter left it in float, which a "
                           "full-integer model must not")


def _ops_and_tensor_types(flatbuffer):
    """(builtin op name, [type names of its input and output tensors]) for every op."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = flatbuffer_utils.convert_bytearray_to_object(flatbuffer)
    for graph in model.subgraphs:
        for op in graph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            # Codes above 127 live in builtinCode; older ones in the deprecated field too.
            name = op_names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "CUSTOM")
            tensors = [i for i in list(op.inputs) + list(op.outputs) if i >= 0]
            yield name, [type_names[graph.tensors[i].type] for i in tensors]


def _parse_args(argv):
    parser = argparse.ArgumentParser(description="Converts a .keras generator to TFLite "
                                     "(the child process of tfgan_zoo.deployment.tflite.convert).")
    parser.add_argument("--keras_path", required=True)
    parser.add_argument("--out_dir", required=True, help="an existing folder")
    parser.add_argument("--modes", required=True, help="comma-separated, from " + str(MODES))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--latent_dim", type=int, required=True)
    parser.add_argument("--latent_distribution", default="normal")
    parser.add_argument("--num_classes", type=int, default=0)
    parser.add_argument("--output_name", required=True, help="the kind's output name")
    parser.add_argument("--sparse", action="store_true")
    parser.add_argument("--calibration_seed", type=int, default=0)
    parser.add_argument("--calibration_steps", type=int, default=DEFAULT_CALIBRATION_STEPS)
    parser.add_argument("--result", required=True, help="where to write the JSON result")
    return parser.parse_args(argv)


def _register_custom_layers():
    """Imports every model family, which registers its custom layers with Keras. Without it a
    generator's `tfgan_zoo>LSTMCell` (relgan) would not load, or worse, load as Keras' own
    layer of the same class name."""
    import importlib

    from tfgan_zoo import models

    for family in models.available_families():
        importlib.import_module(f"{models.__name__}.{family}")


def main(argv=None):
    args = _parse_args(argv)
    import tensorflow as tf
    import tf_keras as keras

    _register_custom_layers()
    model = keras.models.load_model(args.keras_path, compile=False)
    module = tf.Module()
    module.model = model  # keeps the variables alive for the converter
    fn = _serving_function(model, args.batch, args.latent_dim, args.num_classes,
                           args.output_name)
    result = {}
    for mode in args.modes.split(","):
        try:
            _convert_one(fn, module, mode, args)
            result[mode] = {"ok": True}
        except Exception as error:  # reported to the parent, mode by mode
            text = str(error) if isinstance(error, _OpError) else \
                f"{type(error).__name__}: {error}"
            result[mode] = {"ok": False, "error": text,
                            "op": getattr(error, "op", None) or failing_op(text)}
    with open(args.result, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()  # `python -m` has imported tfgan_zoo first, which switched TF to tf_keras
