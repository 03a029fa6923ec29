"""What pruning did: per-layer sparsity, gzipped sizes, the stripped generator on disk, and the
callbacks that keep masks applied and log sparsity during `fit()`."""
import gzip
import os
import tempfile

import numpy as np
import tensorflow as tf
import tf_keras as keras

from tfgan_zoo import files
from tfgan_zoo.pruning.layers import (
    apply_masks,
    is_wrapped,
    leaf_layers,
    skip_reason,
    skipped_layers,
    strip,
    wrappers,
)
from tfgan_zoo.spectral_norm import SpectralNormalization


def _kernels_by_layer(model):
    """[(layer name, [pruned kernel values, numpy])] as `strip` would write them."""
    if is_wrapped(model):
        out = []
        for wrapper in wrappers(model):
            masks = [m.numpy() for _, m, _ in wrapper.pruning_vars]
            out.append((wrapper.layer.name, [w.numpy() * m for (w, _, _), m
                                             in zip(wrapper.pruning_vars, masks, strict=True)]))
        return out
    out = []
    for layer in leaf_layers(model):
        if skip_reason(layer) is None:
            out.append((layer.name, [w.numpy() for w in _unwrapped_prunable_weights(layer)]))
    return out


def _unwrapped_prunable_weights(layer):
    """What a wrapper would prune in `layer`, without modifying it."""
    if isinstance(layer, SpectralNormalization):
        return [layer.layer.kernel]
    if hasattr(layer, "get_prunable_weights"):
        return layer.get_prunable_weights()
    if isinstance(layer, keras.layers.RNN):
        cell = layer.cell
        cells = cell.cells if isinstance(cell, keras.layers.StackedRNNCells) else [cell]
        return [w for c in cells for w in (c.kernel, c.recurrent_kernel)]
    if isinstance(layer, keras.layers.MultiHeadAttention):
        return [getattr(layer, f"_{n}_dense").kernel for n in ("query", "key", "value", "output")]
    return [layer.kernel]


def report(model):
    """Sparsity of a wrapped or stripped (or dense) model.

    Returns a dict:
      layers: {layer name: {"sparsity": zero fraction, "params": n, "zeros": n}} over the
        kernels that are (or, for a dense model, would be) pruned; for a wrapped model the
        kernels count as masked, as `strip` writes them.
      params: scalars in all of the model's weights (trainable or not, such as batch-norm
        statistics), pruning bookkeeping (masks, thresholds, steps) excluded.
      zeros, zero_fraction: zeros among those `params`.
      pruned_params, pruned_zeros, sparsity: the same over the pruned kernels only.
    """
    layers = {}
    for name, kernels in _kernels_by_layer(model):
        params = int(sum(k.size for k in kernels))
        zeros = int(sum(np.count_nonzero(k == 0) for k in kernels))
        layers[name] = {"sparsity": zeros / params if params else 0.0, "params": params,
                        "zeros": zeros}

    # Every weight once, bookkeeping excluded, pruned kernels as masked values.
    bookkeeping, masked = set(), {}
    for wrapper in wrappers(model):
        bookkeeping.add(id(wrapper.pruning_step))
        for weight, mask, threshold in wrapper.pruning_vars:
            bookkeeping.update((id(mask), id(threshold)))
            masked[id(weight)] = weight.numpy() * mask.numpy()
    params = zeros = 0
    seen = set()
    for weight in model.weights:
        if id(weight) in seen or id(weight) in bookkeeping:
            continue
        seen.add(id(weight))
        value = masked.get(id(weight))
        value = weight.numpy() if value is None else value
        params += value.size
        zeros += int(np.count_nonzero(value == 0))
    pruned_params = sum(v["params"] for v in layers.values())
    pruned_zeros = sum(v["zeros"] for v in layers.values())
    return {
        "layers": layers,
        "params": int(params),
        "zeros": int(zeros),
        "zero_fraction": zeros / params if params else 0.0,
        "pruned_params": pruned_params,
        "pruned_zeros": pruned_zeros,
        "sparsity": pruned_zeros / pruned_params if pruned_params else 0.0,
    }


def gzipped_size(model):
    """Bytes of `model`'s weights (every variable, via `save_weights` to HDF5) once
    gzip-compressed, as a file would be shipped: what pruning saves on disk."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "weights.h5")
        model.save_weights(path)
        with open(path, "rb") as f:
            return len(gzip.compress(f.read()))


class UpdatePruningStep(keras.callbacks.Callback):
    """The callback a `fit()` of pruned networks needs (in place of TF-MOT's).

    At train begin, moves any wrapper still at step -1 (a model rebuilt from its config rather
    than by `wrap`) to 0, which TF-MOT asserts; at each epoch end and at train end, applies the
    masks, since the last optimizer update writes into pruned weights: checkpoints, samples
    and exports then see exact zeros. Works on a GAN holding wrapped networks.
    """

    def on_train_begin(self, logs=None):
        for wrapper in wrappers(self.model):
            if int(wrapper.pruning_step.numpy()) < 0:
                wrapper.pruning_step.assign(0)

    def on_epoch_end(self, epoch, logs=None):
        apply_masks(self.model)

    def on_train_end(self, logs=None):
        apply_masks(self.model)


def write_run_report(generator, directory, dense_generator):
    """Strips `generator` (a wrapped one), saves it as `<directory>/generator_pruned.keras` (a
    plain Keras model with zeros in its kernels), and writes `<directory>/pruning.json`:
    per-layer and total sparsity, the layers left dense and why, parameter count, and gzipped
    weight sizes of the stripped generator against `dense_generator` (the same architecture
    unpruned). Returns the report dict."""
    stripped = strip(generator)
    summary = report(generator)  # the wrapped model: its layers are the pruned ones only
    summary["left_dense"] = skipped_layers(generator)
    stripped_bytes, dense_bytes = gzipped_size(stripped), gzipped_size(dense_generator)
    summary.update(gzipped_bytes={"stripped": stripped_bytes, "dense": dense_bytes},
                   compression=dense_bytes / stripped_bytes)
    model_path = os.path.join(directory, "generator_pruned.keras")
    with files.atomic_path(model_path) as tmp:  # whole, then renamed: never half-written
        stripped.save(tmp)
    summary["stripped_model"] = model_path
    files.write_json(os.path.join(directory, "pruning.json"), summary)
    return summary


class SparsityLogger(keras.callbacks.Callback):
    """Writes each pruned network's kernel sparsity to TensorBoard (`prune/*`) at epoch ends."""

    def __init__(self, writer):
        super().__init__()
        self.writer = writer

    def on_epoch_end(self, epoch, logs=None):
        step = int(self.model.progress.step.numpy())
        with self.writer.as_default(step=step):
            for role in ("generator", "discriminator"):
                network = getattr(self.model, role)
                if is_wrapped(network):
                    summary = report(network)
                    tf.summary.scalar(f"prune/{role}_sparsity", summary["sparsity"])
                    for name, layer in summary["layers"].items():
                        tf.summary.scalar(f"prune/{role}/{name}", layer["sparsity"])
