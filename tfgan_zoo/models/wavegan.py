"""WaveGAN generator and discriminator (Donahue, McAuley and Puckette, ICLR 2019).

Raw audio, one 1-D transposed-convolution network each way, no batch norm:
  G: z [B, latent_dim] -> Dense -> (16, 2^(n-1) d) -> ReLU -> (ConvT k25, ReLU) x (n - 1)
     -> ConvT to C channels -> tanh [-> learned post-processing filter] -> [B, L, C] float32.
  D: audio [B, L, C] -> (Conv k25, LeakyReLU 0.2, phase shuffle) x (n - 1) -> Conv, LeakyReLU
     -> flatten -> Dense(1) -> logits [B, 1] float32.

d is `model_dim` (the paper: 64) and C is `spec.channels` (1 for mono). Every stage has stride 4
except that lengths of 16 * 4^k * 2 samples end on a stride-2 stage (the last of G, the last of
D), which is the reference implementation's layout for 32768. The 16-sample feature map at G's
input and D's output is the same at every length, and the channels halve (G) or double (D) at
each stage. Lengths and channels of each stage's output, per `slice_length`:

  slice_length  n  G: Dense, then each ConvT                        D: each Conv, then Dense
  4096          4  (16, 8d) (64, 4d) (256, 2d) (1024, d)            (1024, d) (256, 2d) (64, 4d)
                   s4 (4096, C)                                     (16, 8d)
  8192          5  (16, 16d) (64, 8d) (256, 4d) (1024, 2d)          (2048, d) (512, 2d) (128, 4d)
                   (4096, d) s2 (8192, C)                           (32, 8d) s2 (16, 16d)
  16384 (paper) 5  (16, 16d) (64, 8d) (256, 4d) (1024, 2d)          (4096, d) (1024, 2d) (256, 4d)
                   (4096, d) s4 (16384, C)                          (64, 8d) (16, 16d)
  32768         6  (16, 32d) (64, 16d) (256, 8d) (1024, 4d)         (8192, d) (2048, 2d) (512, 4d)
                   (4096, 2d) (16384, d) s2 (32768, C)              (128, 8d) (32, 16d) s2 (16, 32d)
  65536         6  (16, 32d) (64, 16d) (256, 8d) (1024, 4d)         (16384, d) (4096, 2d)
                   (4096, 2d) (16384, d) s4 (65536, C)              (1024, 4d) (256, 8d) (64, 16d)
                                                                    (16, 32d)

Phase shuffle (`phase_shuffle` = n, the paper's 2) follows every D stage but the last. Parameter
counts do not depend on the strides, so 8192 has the paper's counts at d=64 (G 19,065,345 and D
17,427,969, no post-processing filter, unconditional), 4096 has G 5,130,241 and D 4,311,553,
32768 and 65536 have G 73,149,953 and D 69,875,201.

`upsample`: "zeros" is a transposed convolution (the paper's default); "nn" is nearest-neighbour
upsampling by the stride followed by a stride-1 convolution, which the paper proposes against
checkerboard artefacts. Both have the same weights' shapes up to a transpose, and the same count.

`post_proc_filter_len` > 0 adds the paper's optional learned post-processing filter: a linear
Conv1D of that many taps, C -> C channels, stride 1, 'same' padding, no bias, after the tanh (as
in the reference). Its output is then no longer bounded to [-1, 1].

Class-conditional variants (`conditioning`, labeled data with `spec.num_classes` classes):
  G: [z, label int32 [B]] -> Embedding(label) concatenated with z -> the same network.
  "projection" D (Miyato and Koyama 2018): [audio, label] -> features h ->
    Dense(1)(h) + <Embedding(label), h>.
  "acgan" D (Odena et al. 2017): audio -> [logits [B, 1], class logits [B, num_classes]]; with
    `label_projection`, [audio, label] in and the projection term in the logits as well; with
    `twin_classifier` (TAC-GAN, Gong et al. 2019), also [twin logits [B, num_classes]], a head
    that learns generated clips. The image family's `acgan` has the same options; see
    tfgan_zoo/models/dcgan.py.

Self-conditioned (`clusters` K > 0, no labels used; tfgan_zoo/self_conditioning.py), as the
image family's: G reads a cluster off its first latent and concatenates its embedding with z
(still a function of z alone); D is the projection D over the K clusters, [audio, cluster]. The
clusters are k-means clusters of the training clips' log-mel spectrograms (the audio kind's
`cluster_features`).
"""
import tensorflow as tf
import tf_keras as keras

from tfgan_zoo import latents, self_conditioning
from tfgan_zoo.configs.wavegan import (  # noqa: F401  (re-exported: the family's defaults)
    model_config as default_model_config,
)
from tfgan_zoo.errors import ZooError
from tfgan_zoo.models import _conditioning as _conditioning_lib
from tfgan_zoo.models import _heads
from tfgan_zoo.models._conditioning import conditioning as _conditioning
from tfgan_zoo.self_conditioning import num_clusters  # also the engine's hook

# What the error for a conditional config on unlabeled data suggests.
LABELED = ("spoken_digits_espeak or a folder of clips with one subfolder per class "
           "(SC09's digits)")
KIND = "audio"
SLICE_LENGTHS = (4096, 8192, 16384, 32768, 65536)
UPSAMPLES = ("zeros", "nn")
LATENT_DISTRIBUTIONS = ("uniform", "normal")
CONDITIONINGS = ("none", "projection", "acgan")
# Length of G's first feature map and of D's last one, at every slice length.
_BOTTLENECK = 16


def _strides(slice_length):
    """Strides of G's upsampling stages in order, which are also D's: 16384 -> [4, 4, 4, 4, 4],
    32768 -> [4, 4, 4, 4, 4, 2]; None for a length that is not 16 * 4^k or 16 * 4^k * 2."""
    ratio, strides = slice_length // _BOTTLENECK, []
    if slice_length % _BOTTLENECK:
        return None
    while ratio >= 4 and ratio % 4 == 0:
        strides.append(4)
        ratio //= 4
    if ratio == 2:
        strides.append(2)
    elif ratio != 1:
        return None
    return strides or None


def _max_phase_shuffle(slice_length):
    """The largest shift reflect padding allows: below the shortest phase-shuffled length."""
    length, shortest = slice_length, slice_length
    for stride in _strides(slice_length)[:-1]:
        length //= stride
        shortest = min(shortest, length)
    return shortest - 1


def _post_proc_filter_len(cfg):
    return cfg.get("post_proc_filter_len", 0)


def validate(cfg):
    """Raises ZooError naming the first value of `cfg` (config.model) that cannot be built."""
    if cfg.slice_length not in SLICE_LENGTHS:
        raise ZooError(f"config.model.slice_length={cfg.slice_length} cannot be built by WaveGAN: "
                       f"use one of {', '.join(map(str, SLICE_LENGTHS))} samples (the paper: "
                       "16384, about 1 s at 16 kHz)")
    for key in ("latent_dim", "model_dim", "kernel_size"):
        if cfg[key] < 1:
            raise ZooError(f"config.model.{key} must be a positive integer, got {cfg[key]}")
    if cfg.latent_distribution not in LATENT_DISTRIBUTIONS:
        raise ZooError(f"config.model.latent_distribution={cfg.latent_distribution!r}; "
                       f"valid: {', '.join(LATENT_DISTRIBUTIONS)}")
    if cfg.upsample not in UPSAMPLES:
        raise ZooError(f"config.model.upsample={cfg.upsample!r}; valid: {', '.join(UPSAMPLES)} "
                       "(zeros: transposed convolution, nn: nearest neighbour then convolution)")
    if _post_proc_filter_len(cfg) < 0:
        raise ZooError("config.model.post_proc_filter_len must be 0 (off) or a positive number "
                       f"of taps (the paper: 512), got {_post_proc_filter_len(cfg)}")
    limit = _max_phase_shuffle(cfg.slice_length)
    if not 0 <= cfg.phase_shuffle <= limit:
        raise ZooError(f"config.model.phase_shuffle={cfg.phase_shuffle} does not fit "
                       f"slice_length={cfg.slice_length}: use an integer in [0, {limit}] "
                       "(the paper: 2; 0 turns it off)")
    if _conditioning(cfg) not in CONDITIONINGS:
        raise ZooError(f"config.model.conditioning={_conditioning(cfg)!r}; "
                       f"valid: {', '.join(CONDITIONINGS)} (WaveGAN has no other conditioning)")
    self_conditioning.check_clusters(cfg, _conditioning(cfg))
    _conditioning_lib.check_acgan_options(cfg)


def latent_prior(cfg, spec=None):
    """z has latent_dim values, "uniform" in [-1, 1] (the paper) or "normal"."""
    return latents.Prior(cfg.latent_dim, cfg.latent_distribution)


def sample_shape(cfg, spec):
    """(slice_length, channels) of one sample, e.g. (16384, 1) for mono."""
    return cfg.slice_length, spec.channels


def _num_classes(cfg, spec):
    """spec.num_classes for a conditional config (ZooError if the data has no classes), else 0."""
    return _conditioning_lib.num_classes(cfg, spec, LABELED)


@keras.utils.register_keras_serializable(package="tfgan_zoo")
class PhaseShuffle(keras.layers.Layer):
    """Shifts [B, T, C] features by one random k in [-n, n] samples along T (training only).

    One k is drawn per call for the whole batch, as in the reference implementation; the
    samples shifted in at an edge are its reflection (k = 2: x2 x1 x0 x1 ... x[T-3]), so T is
    kept. Identity when `training` is false or None, and when n == 0. Needs n < T.
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if n < 0:
            raise ValueError(f"PhaseShuffle needs n >= 0, got {n}")
        self.n = int(n)

    def call(self, inputs, training=None):
        if self.n == 0 or training is None:
            return inputs
        if tf.is_tensor(training):  # a symbolic learning phase
            return tf.cond(tf.cast(training, tf.bool), lambda: self._shuffle(inputs),
                           lambda: tf.identity(inputs))
        return self._shuffle(inputs) if training else inputs

    def _shuffle(self, inputs):
        n = self.n
        shift = tf.random.uniform([], -n, n + 1, dtype=tf.int32)
        # Reflect n samples on both sides, then take T samples starting n - shift in: output
        # sample t is input sample t - shift, reflected at the edges.
        padded = tf.pad(inputs, [[0, 0], [n, n], [0, 0]], mode="REFLECT")
        shuffled = tf.slice(padded, tf.stack([0, n - shift, 0]), tf.shape(inputs))
        shuffled.set_shape(inputs.shape)
        return shuffled

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "n": self.n}


def _upsample(cfg, x, filters, stride, name):
    """One of G's upsampling stages: [B, T, C] -> [B, stride * T, filters], the conv `name`."""
    if cfg.upsample == "nn":
        # Nearest neighbour through a [B, T, 1, C] image: UpSampling1D repeats by splitting the
        # time axis into T slices (backend.repeat_elements), thousands of ops per stage, while
        # UpSampling2D resizes in one op; both are built-in layers that TF-MOT and TFLite know.
        length, channels = x.shape[1], x.shape[2]
        x = keras.layers.Reshape((length, 1, channels), name=f"{name}_as_image")(x)
        x = keras.layers.UpSampling2D((1, stride), name=f"{name}_nearest")(x)
        x = keras.layers.Reshape((length * stride, channels), name=f"{name}_repeated")(x)
        return keras.layers.Conv1D(filters, cfg.kernel_size, padding="same", name=name)(x)
    return keras.layers.Conv1DTranspose(filters, cfg.kernel_size, strides=stride, padding="same",
                                        name=name)(x)


def build_generator(cfg, spec):
    """latents [B, latent_dim] -> audio [B, slice_length, spec.channels], float32.

    In [-1, 1] (tanh) unless the post-processing filter is on. Conditional configs take
    [z [B, latent_dim], label int32 [B]] instead; raises ZooError when the data has no classes.
    """
    validate(cfg)
    num_classes = _num_classes(cfg, spec)
    strides = _strides(cfg.slice_length)
    channels = cfg.model_dim * 2 ** (len(strides) - 1)
    z = keras.Input((cfg.latent_dim,), name="z")
    inputs, x = z, self_conditioning.generator_input(cfg, z)
    if num_classes:
        label = keras.Input((), dtype="int32", name="label")
        embedded = keras.layers.Embedding(num_classes, cfg.latent_dim, name="label_embedding")
        inputs, x = [z, label], keras.layers.Concatenate(name="z_and_label")([z, embedded(label)])
    x = keras.layers.Dense(_BOTTLENECK * channels, name="project")(x)
    x = keras.layers.Reshape((_BOTTLENECK, channels), name="project_reshape")(x)
    x = keras.layers.ReLU(name="project_relu")(x)
    for i, stride in enumerate(strides[:-1]):
        channels //= 2
        x = _upsample(cfg, x, channels, stride, name=f"up{i}")
        x = keras.layers.ReLU(name=f"up{i}_relu")(x)
    x = _upsample(cfg, x, spec.channels, strides[-1], name="to_audio")
    # float32 output whatever the mixed-precision policy, so samples and losses stay exact.
    audio = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
    if _post_proc_filter_len(cfg):
        audio = keras.layers.Conv1D(spec.channels, _post_proc_filter_len(cfg), padding="same",
                                    use_bias=False, dtype="float32",
                                    name="post_process_filter")(audio)
    return keras.Model(inputs, audio, name="generator")


def build_discriminator(cfg, spec):
    """audio [B, slice_length, spec.channels] -> logits [B, 1], float32.

    "projection" takes [audio, label int32 [B]]; "acgan" returns [logits, class logits
    [B, num_classes]] (and twin logits with `twin_classifier`) and takes the label too with
    `label_projection`. Raises ZooError when a conditional config meets data without classes.
    Call it with `training=True` in D's updates: phase shuffle is only active then.
    """
    validate(cfg)
    num_classes = _num_classes(cfg, spec)
    projects = _conditioning_lib.projects_label(cfg)
    heads = _conditioning_lib.class_heads(cfg)
    if num_clusters(cfg):
        num_classes, projects, heads = num_clusters(cfg), True, 0
    strides = _strides(cfg.slice_length)
    audio = keras.Input((cfg.slice_length, spec.channels), name="audio")
    inputs, x = audio, audio
    if projects:
        label = keras.Input((), dtype="int32", name="label")
        inputs = [audio, label]
    for i, stride in enumerate(strides):
        x = keras.layers.Conv1D(cfg.model_dim * 2 ** i, cfg.kernel_size, strides=stride,
                                padding="same", name=f"down{i}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"down{i}_lrelu")(x)
        if cfg.phase_shuffle and i < len(strides) - 1:
            x = PhaseShuffle(cfg.phase_shuffle, name=f"down{i}_phase_shuffle")(x)
    h = keras.layers.Flatten(name="flatten")(x)
    outputs = _heads.discriminator_outputs(h, num_classes, label if projects else None, heads)
    return keras.Model(inputs, outputs, name="discriminator")
