"""Wrapping networks for TF-MOT and stripping them again: which layers are pruned, the prunable
forms of layers TF-MOT's registry lacks, the wrapper of layers called at several places of a
network, and the masks."""
import inspect
import threading
import weakref

import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras

# TF-MOT 0.8.1 exports neither the wrapper class nor the registry (and hides its `python`
# package from attribute access); both modules are long-standing internals.
from tensorflow_model_optimization.python.core.sparsity.keras import (
    prune_registry,
    pruning_wrapper,
)

from tfgan_zoo.errors import ZooError
from tfgan_zoo.pruning.schedule import GeneratorUpdateSchedule, validate
from tfgan_zoo.spectral_norm import SpectralNormalization

_PruneLowMagnitude = pruning_wrapper.PruneLowMagnitude
_registry = prune_registry.PruneRegistry
_RNN_LAYERS = (keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN)
_KEPT_DENSE = "kept dense by config.prune.keep_dense"


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
class PrunableSpectralNormalization(SpectralNormalization, tfmot.sparsity.keras.PrunableLayer):
    """The zoo's SpectralNormalization whose inner layer's kernel TF-MOT may prune.

    TF-MOT masks the kernel variable before each call; the layer then computes with
    kernel / sigma, and dividing by a scalar keeps zeros zero. `wrap()` turns plain
    SpectralNormalization layers around a layer with a kernel into this one, `strip()` back.
    """

    def get_prunable_weights(self):
        return [self.layer.kernel]


@keras.utils.register_keras_serializable(package="tfgan_zoo")
class PruneSharedLowMagnitude(_PruneLowMagnitude):
    """TF-MOT's wrapper for a layer that its network calls at several places of one pass, such
    as an unrolled recurrence (relgan's LSTM gates and vocabulary projection: one call per
    token): its masks are recomputed at the first call of each traced pass only.

    TF-MOT builds the mask update, a conditional top-k of the kernel, into the graph at every
    call in training mode: 20 calls a sequence, in each of the engine's critic and generator
    steps, made relgan's train step take over a minute to trace. Within one traced function
    the generator's weights and the schedule's step do not change between its calls (the
    optimizer updates it after its last), so the later calls would compute the same mask; they
    only apply it (weights x mask), as TF-MOT does on every call. Eager calls, each traced
    function and each replica's thread of a distribution strategy keep their own first call.
    The wrapper keeps TF-MOT's name, `prune_low_magnitude_<layer>`, and its variables.
    """

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self._name = f"prune_low_magnitude_{layer.name}"  # TF-MOT's, whatever the class

    # {traced graph: {(wrapper id, thread id)}}: the first calls made in each graph.
    _first_calls = weakref.WeakKeyDictionary()

    def call(self, inputs, training=None, **kwargs):
        if training is None:
            training = keras.backend.learning_phase()
        if tf.executing_eagerly() or (isinstance(training, bool | int) and not training):
            return super().call(inputs, training=training, **kwargs)
        seen = self._first_calls.setdefault(tf.compat.v1.get_default_graph(), set())
        key = (id(self), threading.get_ident())
        if key not in seen:
            seen.add(key)
            return super().call(inputs, training=training, **kwargs)
        self.add_update(self.pruning_obj.weight_mask_op())
        if "training" in inspect.getfullargspec(self.layer.call).args:
            return self.layer.call(inputs, training=training, **kwargs)
        return self.layer.call(inputs, **kwargs)


# Plain class -> its prunable subclass, which strip() maps back.
_PRUNABLE_FORMS = {
    keras.layers.Conv1DTranspose: PrunableConv1DTranspose,
    SpectralNormalization: PrunableSpectralNormalization,
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


def skip_reason(layer):
    """None if wrap() prunes `layer`, else why not ("" for layers without kernel-like weights,
    such as activations or normalisation)."""
    if isinstance(layer, _PruneLowMagnitude):
        return "already wrapped for pruning"
    if isinstance(layer, keras.Model):
        return ""  # a nested model: its own layers are planned one by one
    if isinstance(layer, tfmot.sparsity.keras.PrunableLayer) or hasattr(
            layer, "get_prunable_weights"):
        return None
    if type(layer) is SpectralNormalization:
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

def leaf_layers(model):
    """Layers of `model`, nested models opened, in model order."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from leaf_layers(layer)
        else:
            yield layer


def wrappers(model):
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


def is_wrapped(model):
    return bool(wrappers(model))


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
    if is_wrapped(model):
        return [w.layer.name for w in wrappers(model)]
    return [layer.name for layer in leaf_layers(model) if skip_reason(layer) is None]


def skipped_layers(model):
    """{layer name: why it is left dense} for the layers with kernel-like weights (kernels,
    embeddings) that `wrap()` does not prune; in a wrapped model, also the prunable layers
    that `keep_dense` left as they were."""
    wrapped = is_wrapped(model)
    skipped = {}
    for layer in leaf_layers(model):
        if isinstance(layer, _PruneLowMagnitude):
            continue
        reason = skip_reason(layer)
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
        run's `Progress.step` (tfgan_zoo.engine.progress): create it first, then wrap, then
        build the GAN on the same Progress. Under a distribution strategy, call this inside
        its scope.
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
    if is_wrapped(model):
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
        if len(layer.inbound_nodes) > 1:  # called at several places of the network
            return PruneSharedLowMagnitude(_prunable_form(layer), pruning_schedule=schedule)
        return tfmot.sparsity.keras.prune_low_magnitude(_prunable_form(layer),
                                                        pruning_schedule=schedule)

    def copy_weights(old, new):
        new.set_weights(old.get_weights())  # a wrapper sets its inner layer's weights

    wrapped = _rebuild(model, make_layer, copy_weights)
    # TF-MOT starts each wrapper at step -1 and asserts it is >= 0 when training; the schedule
    # reads `step_counter` instead, so starting at 0 here spares the caller a callback.
    for wrapper in wrappers(wrapped):
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
    for wrapper in wrappers(model):
        for weight, mask, _ in wrapper.pruning_vars:
            weight.assign(tf.cast(weight * mask, weight.dtype))
