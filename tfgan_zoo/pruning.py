"""Magnitude pruning of any zoo network with TF-MOT, on a schedule of generator updates.

    cfg = pruning.default_config()                 # goes into a model config as config.prune
    pruning.validate(cfg)                          # ZooError with what to do
    g = pruning.wrap(generator, cfg, g_optimizer.iterations)   # before building the GAN
    gan.fit(..., callbacks=[pruning.UpdatePruningStep(), ...])
    exported = pruning.strip(gan.generator)       # plain Keras model, zeros in its kernels
    pruning.report(exported), pruning.gzipped_size(exported)

Why a schedule of our own: a TF-MOT wrapper counts its own calls with `training=True`, and in
this engine the generator is called so in each of the `d_steps` critic steps and again in its
own step (the discriminator more often still), so TF-MOT's step runs ahead of the number of
updates by a factor that depends on the recipe. `GeneratorUpdateSchedule` ignores the step the
wrapper hands it and reads a shared counter instead, the generator optimizer's `iterations`,
so every wrapped layer of every network follows the same clock whatever calls it makes.

Which layers are pruned: those with a `kernel` that TF-MOT 0.8.1 can prune (Dense, Conv1D/2D/3D,
Conv2D/3DTranspose, LSTM/GRU/SimpleRNN, MultiHeadAttention), Conv1DTranspose (turned into
`PrunableConv1DTranspose`), Dense and convolutions inside `SpectralNormalization` (turned into
`PrunableSpectralNormalization`), and any layer that implements `get_prunable_weights()`.
Embeddings, normalisation layers and layers TF-MOT cannot prune are kept as they are;
`skipped_layers` says which held weights, and why they were left dense.
"""
import gzip
import itertools
import os
import tempfile
import weakref

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras

# TF-MOT 0.8.1 exports neither the wrapper class nor the registry (and hides its `python`
# package from attribute access); both modules are long-standing internals.
from tensorflow_model_optimization.python.core.sparsity.keras import (
    prune_registry,
    pruning_wrapper,
)

from tfgan_zoo import config as config_lib
from tfgan_zoo import files
from tfgan_zoo.errors import ZooError

SCHEDULES = ("polynomial", "constant")
NETWORKS = ("generator", "discriminator")

_PruneLowMagnitude = pruning_wrapper.PruneLowMagnitude
_registry = prune_registry.PruneRegistry
_RNN_LAYERS = (keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN)
_KEPT_DENSE = "kept dense by config.prune.keep_dense"


def default_config():
    """The `config.prune` section (defined TF-free in tfgan_zoo.config): pruning is off unless
    `enabled`."""
    return config_lib.prune_defaults()


def validate(cfg, num_steps=None):
    """Raises ZooError for a `config.prune` section that cannot run; `num_steps` (the run's
    generator updates), when given, must leave room for the schedule to reach its target."""
    def check(ok, message):
        if not ok:
            raise ZooError(message)

    def is_int(value):
        return isinstance(value, int) and not isinstance(value, bool)

    sparsity = cfg.target_sparsity
    check(isinstance(sparsity, (int, float)) and 0.0 < sparsity < 1.0,
          f"config.prune.target_sparsity must be in (0, 1), the fraction of zeros in each "
          f"pruned kernel (e.g. 0.8); got {sparsity!r}")
    check(cfg.schedule in SCHEDULES,
          f"config.prune.schedule={cfg.schedule!r}; valid: {', '.join(SCHEDULES)}")
    check(is_int(cfg.begin_step) and cfg.begin_step >= 0,
          f"config.prune.begin_step must be an integer >= 0 (generator updates), "
          f"got {cfg.begin_step!r}")
    check(is_int(cfg.end_step) and cfg.end_step > cfg.begin_step,
          f"config.prune.end_step must be an integer greater than begin_step={cfg.begin_step} "
          f"(generator updates), got {cfg.end_step!r}")
    check(is_int(cfg.frequency) and cfg.frequency >= 1,
          f"config.prune.frequency must be an integer >= 1 (generator updates between mask "
          f"updates), got {cfg.frequency!r}")
    networks = cfg.networks
    check(isinstance(networks, (tuple, list)) and len(networks) > 0,
          f"config.prune.networks must be a non-empty tuple of network names, e.g. "
          f"('generator',) or ('generator', 'discriminator'); got {networks!r}")
    unknown = [n for n in networks if n not in NETWORKS]
    check(not unknown, f"config.prune.networks has unknown name(s) "
                       f"{', '.join(map(repr, unknown))}; valid: {', '.join(NETWORKS)}")
    check(len(set(networks)) == len(networks),
          f"config.prune.networks lists a network twice: {tuple(networks)!r}")
    keep = cfg.get("keep_dense", ())
    check(isinstance(keep, (tuple, list)) and all(
        isinstance(k, str) and k.count("/") == 1 and k.split("/")[0] in NETWORKS for k in keep),
        f"config.prune.keep_dense must be a tuple of 'network/layer' names with network one of "
        f"{', '.join(NETWORKS)}, e.g. ('generator/to_image',); got {keep!r}")
    if num_steps is not None:
        check(cfg.end_step <= num_steps,
              f"config.prune.end_step={cfg.end_step} is after the run's last generator update "
              f"(config.train.num_steps={num_steps}): the kernels would never reach "
              f"target_sparsity; lower end_step or raise num_steps")


# --- The schedule ---

# A Keras config must be plain data, but the schedule reads a live variable. Each counter is
# registered here under a key unique in this process, and the config carries the key, so that
# clone_model (the GAN's EMA copy, strip) and to_json/from_config rebuild a schedule on the same
# counter. A wrapped model is not meant to be rebuilt from its config in another process:
# checkpoints restore variables into freshly wrapped networks, and export strips first.
# Weak values: a counter lives as long as its optimizer or a schedule that reads it.
_STEP_COUNTERS = weakref.WeakValueDictionary()
_counter_ids = itertools.count()


def _register_counter(variable):
    for key, known in _STEP_COUNTERS.items():
        if known is variable:
            return key
    key = f"{variable.name.split(':')[0]}_{next(_counter_ids)}"
    _STEP_COUNTERS[key] = variable
    return key


@keras.utils.register_keras_serializable(package="tfgan_zoo")
class GeneratorUpdateSchedule(tfmot.sparsity.keras.PruningSchedule):
    """A TF-MOT schedule evaluated at a shared counter, not at the wrapper's own step.

    TF-MOT's wrapper calls `schedule(step)` with its own `pruning_step`, which moves once per
    call with training=True; this schedule ignores that argument and evaluates
    `PolynomialDecay` (0 -> target) or `ConstantSparsity` at `step_counter + 1`: the generator
    update in progress while the networks run, since the optimizer has not yet counted it.
    Masks are updated on TF-MOT's grid (begin_step + k * frequency) and also always at
    begin_step (or 1) and end_step, so `end_step` is reached whatever the frequency. A network
    called several times within one update recomputes its masks at each call at the same
    sparsity, so the zero fraction does not depend on how many calls an update makes.

    Args:
      schedule: "polynomial" or "constant".
      target_sparsity, begin_step, end_step, frequency: as in `default_config()`.
      step_counter: int64 `tf.Variable` that grows by one per generator update (the generator
        optimizer's `iterations`), or the registry key of one (from `get_config`).
    """

    def __init__(self, schedule, target_sparsity, begin_step, end_step, frequency,
                 step_counter):
        if isinstance(step_counter, str):
            if step_counter not in _STEP_COUNTERS:
                raise ValueError(
                    f"no step counter {step_counter!r} in this process: a pruned model can be "
                    "rebuilt from its config only while its generator optimizer exists; "
                    "rebuild it with tfgan_zoo.pruning.wrap() and restore a checkpoint")
            self.counter_key, self.step_counter = step_counter, _STEP_COUNTERS[step_counter]
        else:
            if getattr(step_counter, "dtype", None) != tf.int64 or not hasattr(step_counter,
                                                                                "assign"):
                raise TypeError("step_counter must be an int64 tf.Variable that grows by one "
                                "per generator update, e.g. the generator optimizer's "
                                f"`iterations`; got {step_counter!r}")
            self.counter_key, self.step_counter = _register_counter(step_counter), step_counter
        self.schedule = schedule
        self.target_sparsity = float(target_sparsity)
        self.begin_step, self.end_step, self.frequency = begin_step, end_step, frequency
        if schedule == "polynomial":
            self._inner = tfmot.sparsity.keras.PolynomialDecay(
                0.0, self.target_sparsity, begin_step, end_step, power=3, frequency=frequency)
        elif schedule == "constant":
            self._inner = tfmot.sparsity.keras.ConstantSparsity(
                self.target_sparsity, begin_step, end_step, frequency=frequency)
        else:
            raise ValueError(f"schedule={schedule!r}; valid: {', '.join(SCHEDULES)}")

    @classmethod
    def from_prune_config(cls, cfg, step_counter):
        return cls(cfg.schedule, cfg.target_sparsity, cfg.begin_step, cfg.end_step,
                   cfg.frequency, step_counter)

    def sparsity_at(self, update):
        """The target sparsity (a Python float) for generator update `update` (1-based)."""
        return float(self._inner(tf.constant(update, tf.int64))[1])

    def __call__(self, step):
        del step  # the wrapper's own call count: see the class docstring
        update = tf.cast(tf.convert_to_tensor(self.step_counter), tf.int64) + 1
        on_grid, sparsity = self._inner(update)
        edges = tf.logical_or(tf.equal(update, max(self.begin_step, 1)),
                              tf.equal(update, self.end_step))
        return tf.logical_or(on_grid, edges), sparsity

    def get_config(self):
        # TF-MOT's wrapper stores this dict as is and deserializes it by class name, which must
        # therefore be the name this class is registered under.
        return {
            "class_name": keras.utils.get_registered_name(type(self)),
            "config": {
                "schedule": self.schedule,
                "target_sparsity": self.target_sparsity,
                "begin_step": self.begin_step,
                "end_step": self.end_step,
                "frequency": self.frequency,
                "step_counter": self.counter_key,
            },
        }


# --- Layers TF-MOT cannot prune by itself ---

@keras.utils.register_keras_serializable(package="tfgan_zoo")
class PrunableConv1DTranspose(keras.layers.Conv1DTranspose, tfmot.sparsity.keras.PrunableLayer):
    """Conv1DTranspose whose kernel TF-MOT may prune (TF-MOT 0.8.1's registry lacks the layer).

    `wrap()` turns plain Conv1DTranspose layers into this one and `strip()` turns them back, so
    model families can use either.
    """

    def get_prunable_weights(self):
        return [self.kernel]


@keras.utils.register_keras_serializable(package="tfgan_zoo")
class PrunableSpectralNormalization(keras.layers.SpectralNormalization,
                                    tfmot.sparsity.keras.PrunableLayer):
    """SpectralNormalization whose inner layer's kernel TF-MOT may prune.

    Spectral normalisation writes kernel / sigma back into the kernel variable at each training
    call; dividing by a scalar keeps zeros zero, so the mask survives it. `wrap()` turns plain
    SpectralNormalization layers around a layer with a kernel into this one, `strip()` back.
    """

    def get_prunable_weights(self):
        return [self.layer.kernel]


# Plain class -> its prunable subclass, which strip() maps back.
_PRUNABLE_FORMS = {
    keras.layers.Conv1DTranspose: PrunableConv1DTranspose,
    keras.layers.SpectralNormalization: PrunableSpectralNormalization,
}
_PLAIN_FORMS = {v: k for k, v in _PRUNABLE_FORMS.items()}


def _has_kernel(layer):
    if isinstance(layer, keras.layers.RNN):
        cell = layer.cell
        cells = cell.cells if isinstance(cell, keras.layers.StackedRNNCells) else [cell]
        return all(hasattr(c, "kernel") for c in cells)
    if isinstance(layer, keras.layers.MultiHeadAttention):
        return True
    return hasattr(layer, "kernel")


def _holds_kernel_like_weights(layer):
    return any(hasattr(layer, name) for name in
               ("kernel", "embeddings", "depthwise_kernel", "pointwise_kernel", "cell",
                "layer"))


def _skip_reason(layer):
    """None if wrap() prunes `layer`, else why not ("" for layers without kernel-like weights,
    such as activations or normalisation)."""
    if isinstance(layer, _PruneLowMagnitude):
        return "already wrapped for pruning"
    if isinstance(layer, keras.Model):
        return ""  # a nested model: its own layers are planned one by one
    if isinstance(layer, tfmot.sparsity.keras.PrunableLayer) or hasattr(
            layer, "get_prunable_weights"):
        return None
    if type(layer) is keras.layers.SpectralNormalization:
        if hasattr(layer.layer, "kernel"):
            return None
        return (f"spectral normalisation around {type(layer.layer).__name__}, which has no "
                "kernel (an embedding table, say): left dense")
    if type(layer) in _PRUNABLE_FORMS:
        return None
    if isinstance(layer, keras.layers.Embedding):
        return "Embedding: a lookup table, not a kernel; left dense"
    if _registry.supports(layer) and _has_kernel(layer):
        return None
    if not _holds_kernel_like_weights(layer) or not layer.weights:
        return ""
    return (f"{type(layer).__name__}: TF-MOT 0.8.1 cannot prune it (not in its registry, no "
            "get_prunable_weights()); left dense")


def _prunable_form(layer):
    """A fresh, unbuilt copy of `layer` in the class that TF-MOT can wrap."""
    cls = _PRUNABLE_FORMS.get(type(layer), type(layer))
    return cls.from_config(layer.get_config())


def _plain_form(layer):
    """A fresh, unbuilt copy of `layer` in its plain Keras class (no pruning subclass)."""
    cls = _PLAIN_FORMS.get(type(layer), type(layer))
    return cls.from_config(layer.get_config())


# --- Walking models ---

def _leaf_layers(model):
    """Layers of `model`, nested models opened, in model order."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


def _wrappers(model):
    """Every PruneLowMagnitude inside `model`, also inside nested models or a GAN, once."""
    found = {}

    def visit(m):
        for layer in m.layers:
            if isinstance(layer, keras.Model):
                visit(layer)
            elif isinstance(layer, _PruneLowMagnitude):
                found.setdefault(id(layer), layer)

    visit(model)
    return list(found.values())


def _is_wrapped(model):
    return bool(_wrappers(model))


def _check_graph_model(model, what):
    if not isinstance(model, keras.Model) or not getattr(model, "_is_graph_network", False):
        raise ZooError(f"pruning.{what} needs a Functional or Sequential keras.Model (TF-MOT "
                       f"clones it layer by layer); got {type(model).__name__}. Build the "
                       "network with the Functional API, as tfgan_zoo.models families do")


def _identity_index(variables, target):
    for i, v in enumerate(variables):
        if v is target:
            return i
    raise ValueError(f"{target.name} is not among the layer's weights")


def _masked_values(wrapper):
    """The inner layer's weights as numpy arrays, pruned kernels multiplied by their masks."""
    inner = wrapper.layer
    values = inner.get_weights()
    for weight, mask, _ in wrapper.pruning_vars:
        i = _identity_index(inner.weights, weight)
        values[i] = (values[i] * mask.numpy()).astype(values[i].dtype)
    return values


def _rebuild(model, make_layer, copy_weights):
    """A clone of `model` with each layer replaced by `make_layer(layer)` (a new layer), then
    `copy_weights(old, new)` for each pair, once the clone is built."""
    pairs = []

    def clone(layer):
        if isinstance(layer, keras.Model):
            return _rebuild(layer, make_layer, copy_weights)
        new = make_layer(layer)
        pairs.append((layer, new))
        return new

    rebuilt = keras.models.clone_model(model, clone_function=clone)
    for old, new in pairs:
        copy_weights(old, new)
    return rebuilt


# --- Public API ---

def prunable_layers(model):
    """Names of the layers that `wrap(model)` prunes, or, for a wrapped model, those it
    prunes (the inner layers' names, which `strip` keeps), in model order."""
    if _is_wrapped(model):
        return [w.layer.name for w in _wrappers(model)]
    return [layer.name for layer in _leaf_layers(model) if _skip_reason(layer) is None]


def skipped_layers(model):
    """{layer name: why it is left dense} for the layers with kernel-like weights (kernels,
    embeddings) that `wrap()` does not prune; in a wrapped model, also the prunable layers
    that `keep_dense` left as they were."""
    wrapped = _is_wrapped(model)
    skipped = {}
    for layer in _leaf_layers(model):
        if isinstance(layer, _PruneLowMagnitude):
            continue
        reason = _skip_reason(layer)
        if reason is None and wrapped:
            reason = _KEPT_DENSE
        if reason:
            skipped[layer.name] = reason
    return skipped


def kept_dense(cfg, role):
    """The layer names of network `role` that `cfg.keep_dense` ("network/layer") leaves dense."""
    return tuple(name.split("/")[1] for name in cfg.get("keep_dense", ())
                 if name.split("/")[0] == role)


def wrap(model, cfg, step_counter, keep_dense=()):
    """A copy of `model` whose prunable layers are TF-MOT `PruneLowMagnitude` wrappers.

    Args:
      model: a Functional (or Sequential) keras.Model, e.g. a zoo generator or discriminator.
      cfg: the `config.prune` section (see `default_config`).
      step_counter: int64 tf.Variable that grows by one per generator update, in practice the
        generator optimizer's `iterations`: create the optimizers first, then wrap, then build
        the GAN. Under a distribution strategy, call this inside its scope.
      keep_dense: names of prunable layers of `model` to leave unwrapped (see `kept_dense`).

    Returns:
      A Functional model with the same inputs, outputs and layer names (wrapped layers are
      named `prune_low_magnitude_<name>`) and the weights of `model`; its wrappers' own steps
      start at 0, so it trains without TF-MOT's UpdatePruningStep callback (though
      `UpdatePruningStep` is still wanted for the final masking). Raises ZooError when the
      config is invalid or the model has nothing to prune.
    """
    validate(cfg)
    _check_graph_model(model, "wrap")
    if _is_wrapped(model):
        raise ZooError(f"{model.name} is already wrapped for pruning; wrap the unpruned network")
    names = set(prunable_layers(model))
    unknown = sorted(set(keep_dense) - names)
    if unknown:
        raise ZooError(f"config.prune.keep_dense names {', '.join(unknown)}, which "
                       f"{model.name} has no prunable layer called; its prunable layers are: "
                       f"{', '.join(prunable_layers(model))}")
    names -= set(keep_dense)
    if not names:
        skipped = {**skipped_layers(model),
                   **{name: _KEPT_DENSE for name in keep_dense}}
        listed = "; ".join(f"{k}: {v}" for k, v in skipped.items()) or "none"
        raise ZooError(f"{model.name} has no layer left to prune (skipped: {listed}); "
                       f"remove {model.name!r} from config.prune.networks")
    schedule = GeneratorUpdateSchedule.from_prune_config(cfg, step_counter)

    def make_layer(layer):
        if layer.name not in names:
            return type(layer).from_config(layer.get_config())
        return tfmot.sparsity.keras.prune_low_magnitude(_prunable_form(layer),
                                                        pruning_schedule=schedule)

    def copy_weights(old, new):
        new.set_weights(old.get_weights())  # a wrapper sets its inner layer's weights

    wrapped = _rebuild(model, make_layer, copy_weights)
    # TF-MOT starts each wrapper at step -1 and asserts it is >= 0 when training; the schedule
    # reads `step_counter` instead, so starting at 0 here spares the caller a callback.
    for wrapper in _wrappers(wrapped):
        wrapper.pruning_step.assign(0)
    return wrapped


def wrap_networks(generator, discriminator, cfg, step_counter):
    """(generator, discriminator), each wrapped if `cfg.networks` names it."""
    validate(cfg)
    networks = (("generator", generator), ("discriminator", discriminator))
    return tuple(wrap(net, cfg, step_counter, kept_dense(cfg, role)) if role in cfg.networks
                 else net for role, net in networks)


def strip(model):
    """A plain copy of a wrapped model: the architecture of the unwrapped one (plain Keras
    classes, same layer names), kernels times their masks (so zeros where pruned, even if the
    last optimizer update wrote into pruned weights), no mask, threshold or step variables.

    The copy shares no variables with `model`, which is left untouched, and loads without
    custom objects: the Prunable* layers of this module come back as their plain Keras classes,
    also in a model without wrappers, which is otherwise copied as it is.
    """
    _check_graph_model(model, "strip")

    def make_layer(layer):
        if isinstance(layer, _PruneLowMagnitude):
            return _plain_form(layer.layer)
        return _plain_form(layer)

    def copy_weights(old, new):
        if isinstance(old, _PruneLowMagnitude):
            new.set_weights(_masked_values(old))
        else:
            new.set_weights(old.get_weights())

    return _rebuild(model, make_layer, copy_weights)


def apply_masks(model):
    """Multiplies every pruned kernel of `model` (a wrapped network, or a GAN holding some) by
    its mask once. The optimizer's last update writes into pruned weights; the next call of
    the wrapper would zero them again, so call this after training and before reading them."""
    for wrapper in _wrappers(model):
        for weight, mask, _ in wrapper.pruning_vars:
            weight.assign(tf.cast(weight * mask, weight.dtype))


def _kernels_by_layer(model):
    """[(layer name, [pruned kernel values, numpy])] as `strip` would write them."""
    if _is_wrapped(model):
        out = []
        for wrapper in _wrappers(model):
            masks = [m.numpy() for _, m, _ in wrapper.pruning_vars]
            out.append((wrapper.layer.name, [w.numpy() * m for (w, _, _), m
                                             in zip(wrapper.pruning_vars, masks, strict=True)]))
        return out
    out = []
    for layer in _leaf_layers(model):
        if _skip_reason(layer) is None:
            out.append((layer.name, [w.numpy() for w in _unwrapped_prunable_weights(layer)]))
    return out


def _unwrapped_prunable_weights(layer):
    """What a wrapper would prune in `layer`, without modifying it."""
    if isinstance(layer, keras.layers.SpectralNormalization):
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
    for wrapper in _wrappers(model):
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
        for wrapper in _wrappers(self.model):
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
    stripped.save(model_path + ".tmp.keras")  # whole, then renamed: never half-written
    os.replace(model_path + ".tmp.keras", model_path)
    summary["stripped_model"] = model_path
    files.write_json(os.path.join(directory, "pruning.json"), summary)
    return summary


class SparsityLogger(keras.callbacks.Callback):
    """Writes each pruned network's kernel sparsity to TensorBoard (`prune/*`) at epoch ends."""

    def __init__(self, writer):
        super().__init__()
        self.writer = writer

    def on_epoch_end(self, epoch, logs=None):
        step = int(self.model.g_optimizer.iterations.numpy())
        with self.writer.as_default(step=step):
            for role in ("generator", "discriminator"):
                network = getattr(self.model, role)
                if _is_wrapped(network):
                    summary = report(network)
                    tf.summary.scalar(f"prune/{role}_sparsity", summary["sparsity"])
                    for name, layer in summary["layers"].items():
                        tf.summary.scalar(f"prune/{role}/{name}", layer["sparsity"])
