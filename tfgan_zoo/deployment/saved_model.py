"""A generator as a SavedModel for TF Serving: named signatures a client can call without the zoo.

Signatures (`saved_model_cli show --dir DIR --all` prints them); the outputs are the kind's
(`Kind.signature_outputs`: for images, `images` uint8 [N, H, W, C] and `images_float` float32
in [-1, 1]):

  serving_default   z float32 [N, latent_dim]           -> the kind's outputs
                    (+ label int32 [N], conditional)
  sample            count int32 [], seed int64 []       -> the same outputs for `count` latents
                    (+ label int32 [], conditional:         drawn from the prior with stateless
                    a class id, or -1 for classes in turn)  ops, plus z (where the kind serves
                                                            latents: not text) and label used

`sample` with the same count and seed returns identical output on every call, so a client needs
no latent code. Inputs the graph cannot take fail with an InvalidArgument error that says what
was expected (a negative or too large count, a label outside the classes, z of the wrong width).
How many samples one `sample` call may ask for depends on the latent size (`max_count`).
"""
import os

import tensorflow as tf

from tfgan_zoo import latents

# The most samples one `sample` call may ask for: a larger request could exhaust a server's
# memory. Clients wanting more call it several times with different seeds.
MAX_COUNT = 1024
# ... and the most latent values (count x latent_dim) it may draw: 2^24, 64 MB of float32
# noise. A generator's memory grows with its latent, and text's is T x V Gumbel uniforms a
# sequence (100,000 on the oracle), its activations [count, T, V] with it: `sample` of the
# default relgan took 1.3 GB at its peak and 12 s for 1,024 oracle sequences, 204 MB and 0.6 s
# for the 167 this allows (TF 2.21, 2 cores). Image and audio latents (about 100 values) stay
# at MAX_COUNT.
MAX_LATENT_VALUES = 2 ** 24


def max_count(latent_dim):
    """The most samples one `sample` call gives for latents of `latent_dim` values: MAX_COUNT,
    or fewer where count x latent_dim would pass MAX_LATENT_VALUES (at least 1)."""
    return max(1, min(MAX_COUNT, MAX_LATENT_VALUES // int(latent_dim)))


def count_limit_message(latent_dim):
    """What `sample` says to a count above max_count(latent_dim)."""
    limit = max_count(latent_dim)
    why = "" if limit == MAX_COUNT else (
        f" for this generator (latents of {latent_dim:,} values; a call draws at most "
        f"{MAX_LATENT_VALUES:,})")
    return (f"count must be at most {limit} per call{why}; call sample again with another "
            "seed for more")
WARMUP_FILE = "tf_serving_warmup_requests"  # the name TF Serving looks for in assets.extra/


class GeneratorModule(tf.Module):
    """Holds a plain Keras generator and the signatures that serve it; `kind` (a
    tfgan_zoo.kinds.Kind) names and encodes the outputs, for data described by `spec`."""

    def __init__(self, generator, *, kind, spec, latent_dim, latent_distribution,
                 num_classes=0):
        super().__init__(name="tfgan_zoo_generator")
        # The signatures need the generator's variables, not its Keras object graph: tracking
        # the model would have the saver serialise every layer (a text generator has about
        # 150), which took over half of a relgan export's time. Untracked, it is only called;
        # its variables are saved under their own names ("vocab_logits/kernel").
        object.__setattr__(self, "generator", generator)
        self.generator_weights = {}
        for weight in generator.weights:
            name = weight.name.split(":")[0]
            while name in self.generator_weights:
                name += "_"
            self.generator_weights[name] = weight
        self._kind, self._spec = kind, spec
        self.latent_dim = latent_dim
        self._latent_prior = latents.Prior(latent_dim, latent_distribution)
        self.num_classes = num_classes

    def _generate(self, z, labels=None):
        # Sizes, not static shapes: TF Serving does not enforce the signature's shapes, and
        # a check on a shape known at tracing time would be folded away.
        message = (f"z must be float32 [batch, {self.latent_dim}] (latent_dim "
                   f"{self.latent_dim}); got another shape")
        z = _after(z, tf.debugging.assert_equal(tf.shape(z)[-1], self.latent_dim,
                                                message=message),
                   tf.debugging.assert_equal(tf.size(z), tf.shape(z)[0] * self.latent_dim,
                                             message=message))
        if not self.num_classes:
            return self._outputs(self.generator(z, training=False))
        message = f"label must be a class id in [0, {self.num_classes})"
        labels = _after(labels, tf.debugging.assert_equal(
            tf.size(labels), tf.shape(z)[0],
            message="label must hold one class id per row of z"),
            tf.debugging.assert_non_negative(labels, message=message),
            tf.debugging.assert_less(labels, self.num_classes, message=message))
        return self._outputs(self.generator([z, labels], training=False))

    def _outputs(self, samples):
        return self._kind.signature_outputs(samples, self._spec)

    def _prior(self, count, seed):
        count = _after(count, tf.debugging.assert_non_negative(
            count, message="count must be >= 0"), tf.debugging.assert_less_equal(
            count, max_count(self.latent_dim), message=count_limit_message(self.latent_dim)))
        return self._latent_prior.stateless(count, seed)

    def signatures(self):
        """{"serving_default": fn, "sample": fn}: concrete functions for tf.saved_model.save."""
        z_spec = tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")
        count = tf.TensorSpec([], tf.int32, name="count")
        seed = tf.TensorSpec([], tf.int64, name="seed")
        if not self.num_classes:
            default = tf.function(lambda z: self._generate(z), input_signature=[z_spec])
            sample = tf.function(self._sample, input_signature=[count, seed])
        else:
            default = tf.function(self._generate, input_signature=[
                z_spec, tf.TensorSpec([None], tf.int32, name="label")])
            sample = tf.function(self._sample_class, input_signature=[
                count, seed, tf.TensorSpec([], tf.int32, name="label")])
        return {"serving_default": default.get_concrete_function(),
                "sample": sample.get_concrete_function()}

    def _sample(self, count, seed):
        z = self._prior(count, seed)
        return {**self._generate(z), **self._latents(z)}

    def _latents(self, z):
        # Text's latents are T x V Gumbel uniforms a sequence (100,000 on the oracle): returned,
        # they would be nearly all of an answer, and count and seed reproduce them anyway.
        return {"z": z} if self._kind.serves_latents else {}

    def _sample_class(self, count, seed, label):
        z = self._prior(count, seed)
        label = _after(label, tf.debugging.assert_greater_equal(
            label, -1, message=f"label must be -1 (classes in turn) or a class id in "
                               f"[0, {self.num_classes})"))
        in_turn = latents.classes_in_turn(count, self.num_classes)
        labels = tf.where(label < 0, in_turn, tf.fill([count], label))
        return {**self._generate(z, labels), **self._latents(z), "label": labels}


def _after(tensor, *checks):
    """`tensor`, computed only once `checks` have passed: without the dependency TensorFlow may
    run the op that fails obscurely (a MatMul, a random op) before the check that explains."""
    with tf.control_dependencies([check for check in checks if check is not None]):
        return tf.identity(tensor)


def save(module, path):
    """Writes `module` as a SavedModel at `path` (a directory that must not exist yet)."""
    tf.saved_model.save(module, path, signatures=module.signatures())


def write_warmup(path, latent_dim, num_classes=0):
    """`<path>/assets.extra/tf_serving_warmup_requests`: one request per signature, which TF
    Serving replays when it loads the version, so the first client does not pay for tracing
    and memory allocation."""
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    requests = {"serving_default": {"z": tf.zeros([1, latent_dim])},
                "sample": {"count": tf.constant(1), "seed": tf.constant(0, tf.int64)}}
    if num_classes:
        requests["serving_default"]["label"] = tf.zeros([1], tf.int32)
        requests["sample"]["label"] = tf.constant(-1)
    os.makedirs(os.path.join(path, "assets.extra"), exist_ok=True)
    with tf.io.TFRecordWriter(os.path.join(path, "assets.extra", WARMUP_FILE)) as writer:
        for signature, inputs in requests.items():
            request = predict_pb2.PredictRequest()
            request.model_spec.signature_name = signature
            for name, value in inputs.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
