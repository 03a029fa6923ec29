"""A RelGAN-style text GAN (Nie, Narodytska and Patel, ICLR 2019): Gumbel-softmax relaxation,
a multi-representation CNN discriminator, relativistic loss, MLE pre-training.

Tokens are discrete, so D's gradient cannot reach G through a sampled token. RelGAN relaxes
the sampling: at step t the generator's logits o_t plus Gumbel noise g_t give the token
argmax(o_t + g_t), which is fed back, and D sees the soft one-hot softmax(beta (o_t + g_t)),
through which its gradient flows. beta, the inverse temperature, rises during the adversarial
phase on a schedule (`schedules`), so the soft tokens D judges approach one-hot ones.

  G: noise [B, T V] uniform in [-1, 1] -> Gumbel noise [B, T, V]; from the start token 0,
     T steps of: Embedding(token) -> recurrent core -> Dense(V) logits ->
     softmax(beta (logits + g_t)) and argmax -> soft one-hot [B, T, V]. The core
     (`config.model.generator`) is an LSTM ("lstm", its gates one Dense) or RelGAN's relational
     memory ("rmc": Santoro et al.'s multi-head attention over [memory; input], MLP and gates,
     every kernel a Dense layer), so TF-MOT prunes either.
  D: one-hot or soft tokens [B, T, V] -> Dense(E, no bias) embedding -> [B, T, E, 1]; per
     filter width k, Conv2D (k, E/R) with stride E/R: R representations of E/R values each
     (RelGAN's "multiple representations") -> ReLU -> max over time -> concatenated [B, R, F]
     -> highway -> dropout -> Dense(100) -> Dense(1) -> logits [B, R], one per representation.

All the generator's randomness is its input, the Gumbel noise, so the same input gives the same
tokens everywhere (Keras, SavedModel, TFLite); the input is large (T x V values a sequence) and
is drawn from a seed by the zoo (training, `sample(count, seed)`, `generate`). beta does not
change the argmax, so sampled tokens do not depend on it; only the soft output that D trains on
does. The generator reads beta from the run's `Progress` (see `GumbelSoftmax.bind_schedule`);
unbound (an exported generator) it uses 1.

Teacher forcing (`log_likelihood`) runs the same layers and the same step function over real
tokens: the MLE pre-training loss and NLL_gen (the generator's NLL of held-out data) are its
mean.
"""
import math
import numbers

import tensorflow as tf
import tf_keras as keras

from tfgan_zoo import latents
from tfgan_zoo.configs.relgan import model_config as default_model_config
from tfgan_zoo.errors import ZooError
from tfgan_zoo.models import _cores

KIND = "text"
START_TOKEN = 0  # fed at the first step: <eos> of real text, token 0 of the oracle
SCHEDULE = "beta"  # the name of the scheduled inverse temperature in Progress and TensorBoard
# RelGAN's temperature schedules (its get_fixed_temperature), from beta = 1 at step 0 to
# beta_max at the horizon N.
TEMPERATURE_SCHEDULES = ("exp", "lin", "log", "sigmoid", "quad", "sqrt", "no")
GENERATORS = ("lstm", "rmc")  # G's recurrent cores (config.model.generator), see _cores.CORES
_PRUNE_PREFIX = "prune_low_magnitude_"


def _setting(cfg, key):
    """cfg[key], or its default where `cfg` predates the key: a run's config.json written
    before the relational memory existed still builds the LSTM it trained."""
    return cfg[key] if key in cfg else default_model_config()[key]


def validate(cfg):
    """Raises ZooError naming the first value of `cfg` (config.model) that cannot be built."""
    generator = _setting(cfg, "generator")
    if generator not in GENERATORS:
        raise ZooError(f"config.model.generator={generator!r}; valid: {', '.join(GENERATORS)} "
                       "(an LSTM, or RelGAN's relational memory core)")
    for key in ("embedding_dim", "hidden_dim", "mem_slots", "num_heads", "head_size",
                "d_embedding_dim", "d_representations", "d_filters"):
        value = _setting(cfg, key)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ZooError(f"config.model.{key} must be a positive integer, got {value!r}")
    if cfg.d_embedding_dim % cfg.d_representations:
        raise ZooError(f"config.model.d_embedding_dim={cfg.d_embedding_dim} must be a multiple "
                       f"of d_representations={cfg.d_representations} (each representation "
                       "takes an equal share of D's embedding)")
    if not cfg.d_filter_sizes or min(cfg.d_filter_sizes) < 1:
        raise ZooError(f"config.model.d_filter_sizes={tuple(cfg.d_filter_sizes)} must be "
                       "positive widths in tokens, e.g. (2, 3, 4, 5)")
    if cfg.beta_max < 1:
        raise ZooError(f"config.model.beta_max={cfg.beta_max} must be at least 1 (beta rises "
                       "from 1 to it); RelGAN uses 1-2 on the oracle, 100-1000 on real text")
    if cfg.temperature_schedule not in TEMPERATURE_SCHEDULES:
        raise ZooError(f"config.model.temperature_schedule={cfg.temperature_schedule!r}; valid: "
                       f"{', '.join(TEMPERATURE_SCHEDULES)}")
    if not 0 <= cfg.d_dropout < 1:
        raise ZooError(f"config.model.d_dropout={cfg.d_dropout} must be in [0, 1)")


def _check_spec(cfg, spec):
    """(T, V) of the data; ZooError for data that is not text or too short for D's filters."""
    length, vocabulary = spec.sequence_length, len(spec.vocabulary)
    if not length or vocabulary < 2:
        raise ZooError(f"{spec.name} is not text (no vocabulary or sequence length): the "
                       "relgan family trains on text datasets, e.g. text_oracle, moby_dick or "
                       "textfile:/path/to/lines.txt")
    if max(cfg.d_filter_sizes) > length:
        raise ZooError(f"config.model.d_filter_sizes reach {max(cfg.d_filter_sizes)} tokens, "
                       f"longer than the sequences ({length}); lower them or raise "
                       "config.data.max_length")
    return length, vocabulary


def latent_prior(cfg, spec=None):
    """The Gumbel noise's uniforms: T x V values in [-1, 1] a sequence."""
    length, vocabulary = _check_spec(cfg, spec)
    return latents.Prior(length * vocabulary, "uniform")


def sample_shape(cfg, spec):
    """(T, V): one soft one-hot row per token."""
    return _check_spec(cfg, spec)


# --- The schedule of beta ---

def temperature(schedule, beta_max, step, horizon):
    """beta at adversarial `step` of a phase `horizon` steps long: 1 at step 0, beta_max at
    step `horizon` (RelGAN's formulas). Works on Python numbers and on tensors."""
    n = tf.cast(step, tf.float32) if tf.is_tensor(step) else float(step)
    total = float(max(horizon, 2))
    rise = beta_max - 1.0
    if schedule == "no":
        return beta_max + 0.0 * n
    if schedule == "exp":
        return beta_max ** (n / total)
    if schedule == "lin":
        return 1.0 + n / (total - 1.0) * rise
    if schedule == "log":
        log = tf.math.log if tf.is_tensor(n) else math.log
        return 1.0 + rise / math.log(total) * log(n + 1.0)
    if schedule == "sigmoid":
        exp = tf.exp if tf.is_tensor(n) else math.exp
        return 1.0 + rise / (1.0 + exp((total / 2.0 - n) * 20.0 / total))
    if schedule == "quad":
        return 1.0 + rise / (total - 1.0) ** 2 * n ** 2
    if schedule == "sqrt":
        sqrt = tf.sqrt if tf.is_tensor(n) else math.sqrt
        return 1.0 + rise / math.sqrt(total - 1.0) * sqrt(n)
    raise ValueError(f"temperature schedule {schedule!r}; valid: {TEMPERATURE_SCHEDULES}")


def schedules(cfg, num_steps):
    """{"beta": fn(step)}: the inverse temperature over an adversarial phase of `num_steps`
    steps. The horizon is the run's own length (RelGAN's code fixes it at 5,000 steps, so its
    2,000-step runs only reach beta_max^0.4)."""
    return {SCHEDULE: lambda step: temperature(cfg.temperature_schedule, cfg.beta_max, step,
                                               num_steps)}


# --- Generator: noise in, soft tokens out ---

class GumbelNoise(keras.layers.Layer):
    """Uniform noise in [-1, 1], [B, T V] -> Gumbel noise [B, T, V]: -log(-log(u)) with
    u = (z + 1) / 2 kept inside (0, 1)."""

    def __init__(self, length, vocabulary, **kwargs):
        super().__init__(**{**kwargs, "dtype": "float32"})  # also from a saved config
        self.length, self.vocabulary = int(length), int(vocabulary)

    def call(self, z):
        u = tf.clip_by_value((tf.cast(z, tf.float32) + 1.0) / 2.0, 1e-10, 1.0 - 1e-7)
        return tf.reshape(-tf.math.log(-tf.math.log(u)), [-1, self.length, self.vocabulary])

    def get_config(self):
        return {**super().get_config(), "length": self.length, "vocabulary": self.vocabulary}


class StartTokens(keras.layers.Layer):
    """Any [B, ...] tensor -> START_TOKEN int32 [B], the first input of every sequence."""

    def call(self, x):
        return tf.fill(tf.shape(x)[:1], tf.constant(START_TOKEN, tf.int32))


class TimeStep(keras.layers.Layer):
    """[B, T, V] -> [B, V] at step `index`."""

    def __init__(self, index, **kwargs):
        super().__init__(**kwargs)
        self.index = int(index)

    def call(self, x):
        return x[:, self.index]

    def get_config(self):
        return {**super().get_config(), "index": self.index}


class GumbelSoftmax(keras.layers.Layer):
    """[logits [B, V], Gumbel noise [B, V]] -> [softmax(beta (logits + noise)) float32 [B, V],
    argmax token int32 [B]].

    beta is the run's scheduled inverse temperature, a variable of its Progress that the GAN
    binds here (`bind_schedule`); without one (an exported or freshly built generator) it is 1.
    The argmax, and so every sampled token, is the same whatever beta is.
    """

    def __init__(self, **kwargs):
        super().__init__(**{**kwargs, "dtype": "float32"})  # also from a saved config
        # Not an attribute Keras tracks: beta is the Progress's variable, checkpointed there,
        # not a weight of the generator.
        object.__setattr__(self, "_beta", None)

    def bind_schedule(self, scheduled):
        """Reads beta from `scheduled[SCHEDULE]` (a float32 variable) from now on."""
        object.__setattr__(self, "_beta", scheduled.get(SCHEDULE))

    def call(self, inputs):
        logits, noise = inputs
        perturbed = tf.cast(logits, tf.float32) + noise
        beta = 1.0 if self._beta is None else tf.cast(self._beta, tf.float32)
        token = tf.argmax(perturbed, axis=-1, output_type=tf.int32)
        return [tf.nn.softmax(beta * perturbed, axis=-1), token]


class StackSteps(keras.layers.Layer):
    """T tensors [B, V] -> [B, T, V]."""

    def __init__(self, **kwargs):
        super().__init__(**{**kwargs, "dtype": "float32"})  # also from a saved config

    def call(self, steps):
        return tf.stack(steps, axis=1)


CUSTOM_OBJECTS = {cls.__name__: cls for cls in (
    GumbelNoise, StartTokens, TimeStep, GumbelSoftmax, StackSteps, *_cores.LAYERS)}
for _cls in CUSTOM_OBJECTS.values():
    keras.utils.register_keras_serializable(package="tfgan_zoo")(_cls)



def build_generator(cfg, spec):
    """Gumbel uniforms [B, T V] in [-1, 1] -> soft one-hot tokens float32 [B, T, V] (their
    argmax is the sampled token ids)."""
    validate(cfg)
    length, vocabulary = _check_spec(cfg, spec)
    core = _cores.CORES[_setting(cfg, "generator")]
    z = keras.Input((length * vocabulary,), name="z")
    noise = GumbelNoise(length, vocabulary, name="gumbel_noise")(z)
    layers = core.layers(cfg, vocabulary)
    gumbel = GumbelSoftmax(name="gumbel_softmax")
    token = StartTokens(name="start_token")(z)
    state = core.initial_state(layers, z)
    soft = []
    for t in range(length):
        logits, state = core.step(layers, token, state)
        relaxed, token = gumbel([logits, TimeStep(t, name=f"noise_{t}")(noise)])
        soft.append(relaxed)
    return keras.Model(z, StackSteps(name="tokens")(soft), name="generator")


def log_likelihood(generator, tokens):
    """Per-token mean negative log-likelihood float32 [B] of token ids int [B, T] under the
    generator, by teacher forcing (the real previous token fed at every step). `generator` is
    one that build_generator made, with either core, also wrapped for pruning."""
    # TF-MOT's wrappers are found under their inner layer's name, and run its pruned kernel.
    layers = _cores.Layers((layer.name.removeprefix(_PRUNE_PREFIX), layer)
                           for layer in generator.layers)
    core = next((core for core in _cores.CORES.values() if core.marker in layers), None)
    if core is None:
        markers = ", ".join(c.marker for c in _cores.CORES.values())
        raise ZooError(f"the generator has none of the layers {markers}: is it a relgan "
                       "generator?")
    tokens = tf.cast(tokens, tf.int32)
    state = core.initial_state(layers, tokens)
    previous = tf.fill(tf.shape(tokens)[:1], tf.constant(START_TOKEN, tf.int32))
    losses = []
    for t in range(tokens.shape[1]):
        logits, state = core.step(layers, previous, state)
        losses.append(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tokens[:, t], logits=tf.cast(logits, tf.float32)))
        previous = tokens[:, t]
    return tf.reduce_mean(tf.stack(losses, axis=1), axis=1)


def pretrain_loss(cfg, spec):
    """MLE pre-training: the mean per-token NLL of the real batch by teacher forcing."""
    del cfg, spec

    def loss(generator, real, labels):
        del labels
        return tf.reduce_mean(log_likelihood(generator, real))

    return loss


def discriminator_input(cfg, spec):
    """Real token ids int [B, T] -> one-hot float32 [B, T, V]; fakes are G's soft one-hots."""
    _, vocabulary = _check_spec(cfg, spec)
    return lambda real: tf.one_hot(tf.cast(real, tf.int32), vocabulary, dtype=tf.float32)


# --- Discriminator ---

def build_discriminator(cfg, spec):
    """One-hot or soft tokens [B, T, V] -> logits float32 [B, R], one per representation."""
    validate(cfg)
    length, vocabulary = _check_spec(cfg, spec)
    representations = cfg.d_representations
    width = cfg.d_embedding_dim // representations
    tokens = keras.Input((length, vocabulary), name="tokens")
    x = keras.layers.Dense(cfg.d_embedding_dim, use_bias=False, name="embedding")(tokens)
    x = keras.layers.Reshape((length, cfg.d_embedding_dim, 1), name="as_image")(x)
    pooled = []
    for k in cfg.d_filter_sizes:
        h = keras.layers.Conv2D(cfg.d_filters, (k, width), strides=(1, width),
                                activation="relu", name=f"conv{k}")(x)
        # [B, T - k + 1, R, F] -> the largest response over time: [B, 1, R, F]
        pooled.append(keras.layers.MaxPooling2D((length - k + 1, 1), name=f"pool{k}")(h))
    features = cfg.d_filters * len(cfg.d_filter_sizes)
    h = keras.layers.Concatenate(name="pooled")(pooled) if len(pooled) > 1 else pooled[0]
    h = keras.layers.Reshape((representations, features), name="per_representation")(h)
    h = _highway(h, features)
    h = keras.layers.Dropout(cfg.d_dropout, name="dropout")(h)
    h = keras.layers.Dense(100, activation="relu", name="hidden")(h)
    logits = keras.layers.Dense(1, name="logit")(h)
    logits = keras.layers.Reshape((representations,), name="flat_logits")(logits)
    # float32 output whatever the mixed-precision policy, so losses stay exact.
    logits = keras.layers.Activation("linear", dtype="float32", name="logits")(logits)
    return keras.Model(tokens, logits, name="discriminator")


def _highway(h, features):
    """A highway layer (as RelGAN's D): t * relu(W h) + (1 - t) * h, t = sigmoid(W_t h)."""
    transform = keras.layers.Dense(features, activation="relu", name="highway_transform")(h)
    gate = keras.layers.Dense(features, activation="sigmoid", name="highway_gate")(h)
    # t * transform + (1 - t) * h = h + t * (transform - h)
    change = keras.layers.Subtract(name="highway_change")([transform, h])
    gated = keras.layers.Multiply(name="highway_gated")([gate, change])
    return keras.layers.Add(name="highway")([h, gated])
