"""The recurrent cores of the RelGAN generator (tfgan_zoo.models.relgan): what runs between the
previous token and the next logits. Not a model family (the leading underscore keeps it out of
`available_families`): relgan.py builds and unrolls them.
"""
from collections.abc import Callable
from typing import NamedTuple

import tensorflow as tf
import tf_keras as keras

from tfgan_zoo.errors import ZooError

# Layer names that teacher forcing finds again (also inside TF-MOT's pruning wrappers); the
# relational memory's are in _rmc_layers.
EMBEDDING, GATES, CELL, LOGITS = "token_embedding", "lstm_gates", "lstm_cell", "vocab_logits"
ZERO_STATE = "zero_state"


class Core(NamedTuple):
    """What G runs between the previous token and the next logits, as functions of a dict
    {layer name: layer}. Sampling (build_generator: Functional, unrolled T steps) and teacher
    forcing (log_likelihood: the generator's own layers found again by name, over real tokens)
    both run `step`, so the two cannot disagree. Every weight is in an Embedding, Dense or
    LayerNormalization layer: TF-MOT prunes the Dense kernels and keeps the rest dense."""

    marker: str  # the name of a layer only this core has: how teacher forcing tells cores
    layers: Callable  # (cfg, vocabulary) -> the layers: the token embedding, the vocabulary
    # logits, a weightless layer making the initial state from any [B, ...] tensor, its own
    initial_state: Callable  # (layers, batch [B, ...]) -> the state, a list of tensors
    step: Callable  # (layers, token int32 [B], state) -> (logits [B, V], new state)


# The LSTM: one Dense for its four gates (Texygen's MLE baseline and the zoo's default).

class LSTMCell(keras.layers.Layer):
    """The LSTM's state update from its gate pre-activations [B, 4H] (i, f, g, o, as Keras
    orders them) and the cell state c [B, H] -> [h, c]. It has no weights: the gates are one
    Dense layer before it, which TF-MOT can prune like any Dense kernel."""

    def call(self, inputs):
        gates, c = inputs
        i, f, g, o = tf.split(gates, 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        return [tf.sigmoid(o) * tf.tanh(c), c]


class ZeroState(keras.layers.Layer):
    """Any [B, ...] tensor -> zeros [B, units], the LSTM's initial state."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)

    def call(self, x):
        return tf.zeros(tf.stack([tf.shape(x)[0], self.units]), dtype=self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _lstm_layers(cfg, vocabulary):
    return by_name(keras.layers.Embedding(vocabulary, cfg.embedding_dim, name=EMBEDDING),
                    keras.layers.Dense(4 * cfg.hidden_dim, name=GATES),
                    LSTMCell(name=CELL),
                    keras.layers.Dense(vocabulary, name=LOGITS),
                    ZeroState(cfg.hidden_dim, name=ZERO_STATE))


def _lstm_initial_state(layers, batch):
    """[h, c], zeros [B, H] each."""
    zero = layers[ZERO_STATE]
    return [zero(batch), zero(batch)]


def _lstm_step(layers, token, state):
    """Previous token int32 [B], state [h, c] -> (logits [B, V], new state)."""
    h, c = state
    gates = layers[GATES](tf.concat([layers[EMBEDDING](token), h], axis=-1))
    h, c = layers[CELL]([gates, c])
    return layers[LOGITS](h), [h, c]


# The relational memory core (Santoro et al. 2018) as RelGAN's generator uses it: N memory
# slots of width M = heads x head size; each step the memory rows and the projected input
# attend over each other, then an MLP, each with a residual connection and a layer
# normalisation; LSTM-like gates mix the result into the memory, which is also the output.

class InitialMemory(keras.layers.Layer):
    """Any [B, ...] tensor -> the initial memory [B, N, M]: slot n is the one-hot row e_n,
    padded with zeros to the width M (cut at M if N > M), as RelGAN and Sonnet start it, so
    the slots start distinct."""

    def __init__(self, slots, width, **kwargs):
        super().__init__(**kwargs)
        self.slots, self.width = int(slots), int(width)

    def call(self, x):
        identity = tf.eye(self.slots, self.width, dtype=self.compute_dtype)
        return tf.tile(identity[tf.newaxis], tf.stack([tf.shape(x)[0], 1, 1]))

    def get_config(self):
        return {**super().get_config(), "slots": self.slots, "width": self.width}


class MemoryAttention(keras.layers.Layer):
    """Multi-head dot-product attention of every row over all rows, without weights:
    [B, R, heads (2 K + V)] -> [B, R, heads V]. Each row's features are, head by head, its
    query (K values), key (K) and value (V), made by one Dense before this layer. The heads'
    outputs are concatenated with no output projection (Santoro et al., RelGAN), and queries
    are scaled by (2 K + V)^-1/2 as RelGAN's and Sonnet's code do, not by K^-1/2."""

    def __init__(self, num_heads, key_size, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.key_size = int(num_heads), int(key_size)

    def call(self, qkv):
        rows, per_head = qkv.shape[1], qkv.shape[2] // self.num_heads  # static: R, 2 K + V
        value_size = per_head - 2 * self.key_size
        heads = tf.transpose(tf.reshape(qkv, [-1, rows, self.num_heads, per_head]), [0, 2, 1, 3])
        q, k, v = tf.split(heads, [self.key_size, self.key_size, value_size], axis=-1)
        weights = tf.nn.softmax(tf.matmul(q * per_head ** -0.5, k, transpose_b=True), axis=-1)
        attended = tf.transpose(tf.matmul(weights, v), [0, 2, 1, 3])  # [B, R, heads, V]
        return tf.reshape(attended, [-1, rows, self.num_heads * value_size])

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_size": self.key_size}


class MemoryGates(keras.layers.Layer):
    """The RMC's per-unit input and forget gates, without weights: [attended rows
    [B, N + 1, M] (the memory's, then the input's), the input's gate pre-activations [B, 2M],
    the memory's [B, N, 2M], the memory [B, N, M]] -> the next memory [B, N, M]:
    sigmoid(i) tanh(attended memory rows) + sigmoid(f + 1) memory, where (i, f) is the sum
    of the two pre-activations (from Dense layers without bias; RelGAN's gate biases are the
    constants 0 and 1)."""

    FORGET_BIAS = 1.0

    def call(self, inputs):
        attended, from_input, from_memory, memory = inputs
        i, f = tf.split(from_memory + from_input[:, tf.newaxis], 2, axis=-1)
        new = tf.tanh(attended[:, :-1])  # the memory's rows; the input's row is dropped
        return tf.sigmoid(i) * new + tf.sigmoid(f + self.FORGET_BIAS) * memory


def _rmc_layers(cfg, vocabulary):
    slots, width = cfg.mem_slots, cfg.num_heads * cfg.head_size
    qkv = cfg.num_heads * 3 * cfg.head_size  # per head: query, key and value of head_size each

    def norm(name):  # gain and bias per feature of a row; TF-MOT leaves them dense
        return keras.layers.LayerNormalization(epsilon=1e-5, name=name)

    return by_name(
        keras.layers.Embedding(vocabulary, cfg.embedding_dim, name=EMBEDDING),
        InitialMemory(slots, width, name="rmc_initial_memory"),
        keras.layers.Dense(width, name="rmc_input"),  # the embedding to the memory's width
        keras.layers.Reshape((1, width), name="rmc_input_row"),
        keras.layers.Concatenate(axis=1, name="rmc_memory_and_input"),
        keras.layers.Dense(qkv, use_bias=False, name="rmc_qkv"),
        norm("rmc_qkv_norm"),
        MemoryAttention(cfg.num_heads, cfg.head_size, name="rmc_attention"),
        keras.layers.Add(name="rmc_attention_residual"),
        norm("rmc_attention_norm"),
        keras.layers.Dense(width, activation="relu", name="rmc_mlp_hidden"),
        keras.layers.Dense(width, name="rmc_mlp_out"),
        keras.layers.Add(name="rmc_mlp_residual"),
        norm("rmc_mlp_norm"),
        keras.layers.Dense(2 * width, use_bias=False, name="rmc_input_gates"),
        keras.layers.Activation("tanh", name="rmc_memory_tanh"),
        keras.layers.Dense(2 * width, use_bias=False, name="rmc_memory_gates"),
        MemoryGates(name="rmc_gates"),
        keras.layers.Flatten(name="rmc_output"),
        keras.layers.Dense(vocabulary, name=LOGITS))


def _rmc_initial_state(layers, batch):
    """[memory [B, N, M]], identity-like."""
    return [layers["rmc_initial_memory"](batch)]


def _rmc_step(layers, token, state):
    """Previous token int32 [B], state [memory [B, N, M]] -> (logits [B, V], new state)."""
    (memory,) = state
    x = layers["rmc_input"](layers[EMBEDDING](token))  # [B, M]
    rows = layers["rmc_memory_and_input"]([memory, layers["rmc_input_row"](x)])  # [B, N + 1, M]
    attended = layers["rmc_attention"](layers["rmc_qkv_norm"](layers["rmc_qkv"](rows)))
    rows = layers["rmc_attention_norm"](layers["rmc_attention_residual"]([rows, attended]))
    mlp = layers["rmc_mlp_out"](layers["rmc_mlp_hidden"](rows))
    rows = layers["rmc_mlp_norm"](layers["rmc_mlp_residual"]([rows, mlp]))
    memory = layers["rmc_gates"]([
        rows, layers["rmc_input_gates"](x),
        layers["rmc_memory_gates"](layers["rmc_memory_tanh"](memory)), memory])
    return layers[LOGITS](layers["rmc_output"](memory)), [memory]


CORES = {"lstm": Core(GATES, _lstm_layers, _lstm_initial_state, _lstm_step),
         "rmc": Core("rmc_qkv", _rmc_layers, _rmc_initial_state, _rmc_step)}

class Layers(dict):
    """{layer name: layer}; a missing name is a ZooError a user can read."""

    def __missing__(self, name):
        raise ZooError(f"the generator has no layer {name!r}: is it a relgan generator?")


def by_name(*layers):
    return Layers((layer.name, layer) for layer in layers)




# The weightless layers the cores add, which a saved or cloned generator must find by name.
LAYERS = (LSTMCell, ZeroState, InitialMemory, MemoryAttention, MemoryGates)
