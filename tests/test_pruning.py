"""tfgan_zoo.pruning: TF-MOT magnitude pruning on a clock of generator updates, and stripping."""
import functools
import math
import types

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras

from tfgan_zoo import config as config_lib
from tfgan_zoo import pruning
from tfgan_zoo.engine.gan import GAN
from tfgan_zoo.errors import ZooError
from tfgan_zoo.models import dcgan

SPEC = types.SimpleNamespace(channels=1, num_classes=0)
LABELED = types.SimpleNamespace(channels=1, num_classes=4, name="labeled")
TARGET = 0.8


def model_config(**overrides):
    cfg = config_lib.load("dcgan", "tiny").model
    cfg.update(overrides)
    return cfg


def prune_config(**overrides):
    cfg = pruning.default_config()
    cfg.update(dict(enabled=True, target_sparsity=TARGET, **overrides))
    return cfg


def is_wrapper(layer):
    return type(layer).__name__ == "PruneLowMagnitude"


def kernel_zero_fractions(model):
    """{layer name: fraction of exact zeros in the kernel variable it holds now}, read from the
    variables themselves, for the wrapped layers of a wrapped model."""
    return {layer.layer.name: float(np.mean(layer.layer.kernel.numpy() == 0))
            for layer in model.layers if is_wrapper(layer)}


def adam():
    return keras.optimizers.Adam(2e-4, beta_1=0.5)


class Recorder(keras.callbacks.Callback):
    """After each epoch (one generator update here): the generator update count, the zero
    fraction of each pruned kernel, and the wrappers' own TF-MOT step."""

    def __init__(self, networks):
        super().__init__()
        self.networks, self.by_update = networks, {}

    def on_epoch_end(self, epoch, logs=None):
        update = int(self.model.progress.step.numpy())
        self.by_update[update] = {
            "zeros": {role: kernel_zero_fractions(net) for role, net in self.networks.items()},
            "own_step": {role: int(net.layers[1].pruning_step.numpy())
                         for role, net in self.networks.items()},
            "losses": {k: float(v) for k, v in logs.items()},
        }


@functools.cache
def pruned_run(d_steps, networks, updates, ema_decay=0.0, **prune_overrides):
    """A DCGAN (tiny config) with the networks named in `networks` pruned, trained through
    fit() for `updates` generator updates, one per epoch. Returns (gan, dense generator, the
    Recorder's record by update)."""
    keras.utils.set_random_seed(0)
    cfg = model_config()
    prune = prune_config(networks=networks, **prune_overrides)
    d_opt, g_opt = adam(), adam()  # optimizers first: the generator's counts the updates
    dense_g = dcgan.build_generator(cfg, SPEC)
    g, d = pruning.wrap_networks(dense_g, dcgan.build_discriminator(cfg, SPEC), prune,
                                 g_opt.iterations)
    gan = GAN(g, d, latent_dim=cfg.latent_dim, d_steps=d_steps, ema_decay=ema_decay)
    gan.compile(d_opt, g_opt)
    real = tf.random.uniform((16 * d_steps, 28, 28, 1), -1.0, 1.0, seed=0)
    recorder = Recorder({role: getattr(gan, role) for role in networks})
    gan.fit(tf.data.Dataset.from_tensors(real).repeat(), epochs=updates, steps_per_epoch=1,
            verbose=0, callbacks=[pruning.UpdatePruningStep(), recorder])
    return gan, dense_g, recorder.by_update


def assert_all_near(fractions, expected, tol=0.01):
    """`fractions`: {network: {layer: zero fraction}}."""
    for role, layers in fractions.items():
        for name, value in layers.items():
            assert abs(value - expected) <= tol, f"{role}/{name}: {value:.4f} != {expected:.4f}"


# --- The schedule counts generator updates ---

@pytest.mark.parametrize("d_steps,networks", [(1, ("generator", "discriminator")),
                                              (5, ("generator",))])
def test_polynomial_schedule_reaches_target_at_end_step_whatever_the_critic_steps(
        d_steps, networks):
    # Masks are updated at updates 1 (begin), 3 and 6 (the grid of 3; 6 is also end_step).
    _, _, record = pruned_run(d_steps, networks, 8, schedule="polynomial", begin_step=0,
                              end_step=6, frequency=3)
    halfway = TARGET * (1 - 0.5 ** 3)  # PolynomialDecay, power 3, at update 3 of 6: 0.7
    assert_all_near(record[3]["zeros"], halfway)
    assert_all_near(record[5]["zeros"], halfway)  # not at the target before end_step
    assert halfway < TARGET - 0.05
    for update in (6, 7, 8):  # at end_step and frozen after it
        assert_all_near(record[update]["zeros"], TARGET)
    # The wrappers' own TF-MOT steps ran ahead: G is called d_steps + 1 times per update, D
    # 2 * d_steps + 1 times (real and fake in each critic step, fake in G's step), so a stock
    # schedule would have hit end_step=6 after 1-3 updates.
    own = record[8]["own_step"]
    assert own["generator"] == 8 * (d_steps + 1)
    if "discriminator" in own:
        assert own["discriminator"] == 8 * (2 * d_steps + 1)
    assert all(math.isfinite(v) for v in record[8]["losses"].values())


# The EMA copy trains along (it cannot change G's kernels), so the EMA test needs no run of
# its own.
CONSTANT_RUN = dict(d_steps=1, networks=("generator",), updates=4, ema_decay=0.9,
                    schedule="constant", begin_step=2, end_step=6, frequency=2)


def test_constant_schedule_holds_the_target_from_begin_step():
    _, _, record = pruned_run(**CONSTANT_RUN)
    assert_all_near(record[1]["zeros"], 0.0, tol=0.0)  # before begin_step: dense
    for update in (2, 3, 4):
        assert_all_near(record[update]["zeros"], TARGET)


def test_schedule_survives_config_round_trips_on_the_same_counter():
    counter = tf.Variable(0, dtype=tf.int64)
    wrapped = pruning.wrap(dcgan.build_generator(model_config(), SPEC), prune_config(), counter)
    clone = keras.models.clone_model(wrapped)  # what the GAN's EMA copy does
    with tfmot.sparsity.keras.prune_scope():  # TF-MOT needs it to deserialize its wrapper
        from_json = keras.models.model_from_json(wrapped.to_json())
    for model in (clone, from_json):
        schedules = [layer.pruning_schedule for layer in model.layers if is_wrapper(layer)]
        assert len(schedules) == 3
        assert all(s.step_counter is counter for s in schedules)
    counter.assign(499)  # update 500 of 1000: half way, polynomial
    should_prune, sparsity = schedules[0](tf.constant(123, tf.int64))  # own step ignored
    assert bool(should_prune) and float(sparsity) == pytest.approx(0.8 * (1 - 0.5 ** 3))


def test_ema_copy_of_a_wrapped_generator_follows_its_masks():
    # The GAN clones the wrapped generator; its masks are non-trainable weights, which the EMA
    # update copies, and UpdatePruningStep masks the copy too.
    gan, _, _ = pruned_run(**CONSTANT_RUN)
    ema = [layer for layer in gan.ema_generator.layers if is_wrapper(layer)]
    trained = [layer for layer in gan.generator.layers if is_wrapper(layer)]
    for e, g in zip(ema, trained, strict=True):
        np.testing.assert_array_equal(e.pruning_vars[0][1].numpy(), g.pruning_vars[0][1].numpy())
    assert_all_near({"ema": kernel_zero_fractions(gan.ema_generator)}, TARGET)
    stripped = pruning.strip(gan.ema_generator)
    for name, layer in pruning.report(stripped)["layers"].items():
        assert abs(layer["sparsity"] - TARGET) <= 0.01, name
    z = tf.random.normal((2, 16), seed=6)
    np.testing.assert_allclose(stripped(z, training=False).numpy(), gan.generate(z).numpy(),
                               atol=1e-6)


# --- Strip and report ---

def test_strip_gives_a_plain_model_with_the_same_outputs_and_zeros():
    gan, dense, _ = pruned_run(1, ("generator", "discriminator"), 8, schedule="polynomial",
                               begin_step=0, end_step=6, frequency=3)
    for wrapped, original in ((gan.generator, dense), (gan.discriminator, None)):
        stripped = pruning.strip(wrapped)
        assert not any(is_wrapper(layer) for layer in stripped.layers)
        names = [w.name for w in stripped.weights]
        assert not [n for n in names if any(k in n for k in ("mask", "threshold", "step"))]
        if original is not None:  # the unwrapped architecture, layer for layer
            assert ([(type(layer), layer.name) for layer in stripped.layers]
                    == [(type(layer), layer.name) for layer in original.layers])
            assert names == [w.name for w in original.weights]
        x = tf.random.normal((4, *wrapped.input_shape[1:]), seed=1)
        np.testing.assert_allclose(stripped(x, training=False).numpy(),
                                   wrapped(x, training=False).numpy(), atol=1e-6)
        pruned = set(pruning.prunable_layers(wrapped))
        assert pruned == set(pruning.prunable_layers(stripped))
        for layer in stripped.layers:
            if layer.name in pruned:
                assert abs(np.mean(layer.kernel.numpy() == 0) - TARGET) <= 0.01, layer.name


def test_report_agrees_with_counting_zeros():
    gan, _, _ = pruned_run(1, ("generator", "discriminator"), 8, schedule="polynomial",
                           begin_step=0, end_step=6, frequency=3)
    stripped = pruning.strip(gan.generator)
    kernels = {layer.name: layer.kernel.numpy() for layer in stripped.layers
               if layer.name in ("project", "up0", "to_image")}
    counted = {name: (k.size, int(np.sum(k == 0))) for name, k in kernels.items()}
    values = [w.numpy() for w in stripped.weights]
    params, zeros = sum(v.size for v in values), sum(int(np.sum(v == 0)) for v in values)
    for model in (stripped, gan.generator):  # wrapped: counts the masked kernels, no masks
        rep = pruning.report(model)
        assert {k: (v["params"], v["zeros"]) for k, v in rep["layers"].items()} == counted
        for name, (n, z) in counted.items():
            assert rep["layers"][name]["sparsity"] == pytest.approx(z / n)
        assert (rep["params"], rep["zeros"]) == (params, zeros)
        assert rep["zero_fraction"] == pytest.approx(zeros / params)
        kernel_params = sum(n for n, _ in counted.values())
        assert rep["pruned_params"] == kernel_params
        assert rep["sparsity"] == pytest.approx(sum(z for _, z in counted.values())
                                                / kernel_params)
        assert abs(rep["sparsity"] - TARGET) <= 0.01


def test_stripped_weights_compress_much_better_than_dense_ones():
    gan, dense, _ = pruned_run(1, ("generator", "discriminator"), 8, schedule="polynomial",
                               begin_step=0, end_step=6, frequency=3)
    # A behaviour check, not a benchmark: the tiny generator is ~98% kernels.
    assert pruning.gzipped_size(pruning.strip(gan.generator)) < 0.6 * pruning.gzipped_size(dense)


# --- Every DCGAN variant, and other layer types ---

def prune_once(model, inputs, cfg=None):
    """Wraps `model` on a constant schedule from update 1, runs one training call (which
    computes and applies the masks), and returns (wrapped, stripped)."""
    wrapped = pruning.wrap(model, cfg or prune_config(schedule="constant"),
                           tf.Variable(0, dtype=tf.int64))
    wrapped(inputs, training=True)
    return wrapped, pruning.strip(wrapped)


@pytest.mark.parametrize("d_norm,g_norm,conditioning", [
    ("batch", "batch", "none"), ("layer", "none", "none"), ("spectral", "batch", "none"),
    ("spectral", "none", "projection"), ("batch", "batch", "concat"), ("layer", "batch", "acgan"),
])
def test_every_dcgan_variant_prunes_and_strips(d_norm, g_norm, conditioning):
    cfg = model_config(d_norm=d_norm, g_norm=g_norm, conditioning=conditioning)
    spec = LABELED if conditioning != "none" else SPEC
    z, labels = tf.random.normal((4, cfg.latent_dim), seed=2), tf.constant([0, 1, 2, 3])
    images = tf.random.uniform((4, 28, 28, 1), -1, 1, seed=3)
    g_in = [z, labels] if conditioning != "none" else z
    d_in = [images, labels] if conditioning in ("concat", "projection") else images
    sn = "_sn" if d_norm == "spectral" else ""
    expected = {
        "generator": ["project", "up0", "to_image"],
        "discriminator": [f"down0{sn}", f"down1{sn}", f"logit{sn}"]
        + ([f"class_logit{sn}"] if conditioning == "acgan" else []),
    }
    for role, model, inputs in (("generator", dcgan.build_generator(cfg, spec), g_in),
                                ("discriminator", dcgan.build_discriminator(cfg, spec), d_in)):
        assert pruning.prunable_layers(model) == expected[role]
        wrapped, stripped = prune_once(model, inputs)
        assert pruning.prunable_layers(wrapped) == expected[role]
        assert [type(layer) for layer in stripped.layers] == [type(la) for la in model.layers]
        rep = pruning.report(stripped)
        assert set(rep["layers"]) == set(expected[role])
        for name, layer in rep["layers"].items():
            assert abs(layer["sparsity"] - TARGET) <= 0.01, name
        outputs = zip(tf.nest.flatten(stripped(inputs, training=False)),
                      tf.nest.flatten(wrapped(inputs, training=False)), strict=True)
        for a, b in outputs:
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    # Embeddings (conditional models) stay dense, and say why.
    if conditioning != "none":
        g = dcgan.build_generator(cfg, spec)
        assert "lookup table" in pruning.skipped_layers(g)["label_embedding"]
    if conditioning == "projection":
        d = dcgan.build_discriminator(cfg, spec)
        assert "left dense" in pruning.skipped_layers(d)["label_projection_sn"]


def test_spectral_norm_keeps_pruned_zeros_through_its_normalisation():
    # TF-MOT masks the kernel before each call; spectral norm then computes with kernel / sigma.
    cfg = model_config(d_norm="spectral")
    images = tf.random.uniform((4, 28, 28, 1), -1, 1, seed=4)
    wrapped, _ = prune_once(dcgan.build_discriminator(cfg, SPEC), images)
    for _ in range(2):
        wrapped(images, training=True)
    sn = wrapped.get_layer("prune_low_magnitude_down1_sn").layer
    kernel, mask = sn.layer.kernel.numpy(), wrapped.get_layer(
        "prune_low_magnitude_down1_sn").pruning_vars[0][1].numpy()
    assert np.all(kernel[mask == 0] == 0) and np.all(kernel[mask == 1] != 0)


def test_conv1d_transpose_generator_prunes_trains_and_strips():
    keras.utils.set_random_seed(0)
    z = keras.Input((8,), name="z")
    x = keras.layers.Dense(16 * 8, name="project")(z)
    x = keras.layers.Reshape((16, 8))(x)
    x = keras.layers.Conv1DTranspose(8, 5, strides=2, padding="same", activation="relu",
                                     name="up0")(x)  # plain: wrap() converts it
    x = pruning.PrunableConv1DTranspose(1, 25, strides=2, padding="same", name="to_audio")(x)
    audio = keras.layers.Activation("tanh", name="tanh")(x)
    generator = keras.Model(z, audio, name="audio_generator")
    assert pruning.prunable_layers(generator) == ["project", "up0", "to_audio"]

    optimizer = keras.optimizers.Adam(1e-3)
    wrapped = pruning.wrap(generator, prune_config(end_step=4, frequency=2),
                           optimizer.iterations)
    wrapped.compile(optimizer, "mse")
    rng = np.random.default_rng(0)
    latents = rng.standard_normal((64, 8)).astype("float32")
    targets = np.tanh(rng.standard_normal((64, 64, 1))).astype("float32")
    history = wrapped.fit(latents, targets, batch_size=16, epochs=1, verbose=0,
                          callbacks=[pruning.UpdatePruningStep()])
    assert int(optimizer.iterations.numpy()) == 4 and math.isfinite(history.history["loss"][0])

    stripped = pruning.strip(wrapped)
    # Both come back as plain Conv1DTranspose: the stripped model needs no custom objects.
    assert [type(layer) for layer in stripped.layers if "up0" in layer.name
            or "to_audio" in layer.name] == [keras.layers.Conv1DTranspose] * 2
    for name in ("up0", "to_audio"):
        kernel = stripped.get_layer(name).kernel.numpy()
        assert kernel.ndim == 3 and abs(np.mean(kernel == 0) - TARGET) <= 0.01, name
    np.testing.assert_allclose(stripped(latents[:4], training=False).numpy(),
                               wrapped(latents[:4], training=False).numpy(), atol=1e-6)


def test_recurrent_text_network_prunes_its_kernels_and_keeps_its_embedding():
    tokens = keras.Input((6,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(20, 8, name="embed")(tokens)
    x = keras.layers.LSTM(12, name="lstm")(x)
    model = keras.Model(tokens, keras.layers.Dense(20, name="logits")(x))
    assert pruning.prunable_layers(model) == ["lstm", "logits"]
    assert "embed" in pruning.skipped_layers(model)
    _, stripped = prune_once(model, tf.constant(np.arange(12).reshape(2, 6) % 20))
    lstm = stripped.get_layer("lstm").cell
    for kernel in (lstm.kernel, lstm.recurrent_kernel, stripped.get_layer("logits").kernel):
        assert abs(np.mean(kernel.numpy() == 0) - TARGET) <= 0.01
    assert not np.any(stripped.get_layer("embed").embeddings.numpy() == 0)


def test_mixed_bfloat16_prunes_to_within_a_percent():
    # TF-MOT computes masks from the bfloat16 reads of the kernels; ties at the threshold are
    # kept, so a few fewer weights than the target are zeroed.
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        generator = dcgan.build_generator(model_config(), SPEC)
        _, stripped = prune_once(generator, tf.random.normal((4, 16), seed=5))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    for name, layer in pruning.report(stripped)["layers"].items():
        assert TARGET - 0.01 <= layer["sparsity"] <= TARGET, name


# --- Distribution ---

def test_pruned_networks_train_under_mirrored_strategy(two_cpu_strategy):
    strategy = two_cpu_strategy
    cfg = model_config()
    with strategy.scope():
        d_opt, g_opt = adam(), adam()
        g, d = pruning.wrap_networks(
            dcgan.build_generator(cfg, SPEC), dcgan.build_discriminator(cfg, SPEC),
            prune_config(schedule="constant", networks=("generator", "discriminator")),
            g_opt.iterations)
        gan = GAN(g, d, latent_dim=cfg.latent_dim, ema_decay=0.0)
        gan.compile(d_opt, g_opt)
    real = tf.random.uniform((32, 28, 28, 1), -1.0, 1.0)
    history = gan.fit(tf.data.Dataset.from_tensors(real).repeat(), epochs=1, steps_per_epoch=3,
                      verbose=0, callbacks=[pruning.UpdatePruningStep()])
    assert all(math.isfinite(v[-1]) for v in history.history.values())
    for network in (g, d):
        for layer in network.layers:
            if is_wrapper(layer):  # both replicas hold the same sparse kernel
                first, second = (v.numpy() for v in layer.layer.kernel.values)
                np.testing.assert_array_equal(first, second)
                assert abs(np.mean(first == 0) - TARGET) <= 0.01


# --- Errors a user reads ---

@pytest.mark.parametrize("key,value,message", [
    ("target_sparsity", 1.0, r"target_sparsity must be in \(0, 1\).*got 1.0"),
    ("target_sparsity", 0.0, r"target_sparsity must be in \(0, 1\)"),
    ("schedule", "cubic", "schedule='cubic'; valid: polynomial, constant"),
    ("begin_step", -1, "begin_step must be an integer >= 0"),
    ("end_step", 0, "end_step must be an integer greater than begin_step=0"),
    ("frequency", 0, "frequency must be an integer >= 1"),
    ("networks", ("generator", "critic"), "unknown name.*'critic'.*generator, discriminator"),
    ("networks", (), "networks must be a non-empty tuple"),
    ("networks", ("generator", "generator"), "lists a network twice"),
])
def test_bad_prune_config_is_refused_with_what_to_do(key, value, message):
    cfg = pruning.default_config()
    with cfg.unlocked():
        cfg[key] = value
    with pytest.raises(ZooError, match=message):
        pruning.validate(cfg)


def test_end_step_after_the_run_is_refused():
    pruning.validate(pruning.default_config(), num_steps=1000)
    with pytest.raises(ZooError, match="end_step=1000 is after the run's last.*num_steps=500"):
        pruning.validate(pruning.default_config(), num_steps=500)


def test_keep_dense_leaves_the_named_layers_plain_and_the_report_says_so():
    counter = tf.Variable(0, dtype=tf.int64)
    cfg = prune_config(schedule="constant", begin_step=0,
                       keep_dense=("generator/to_image", "discriminator/down0"))
    generator = dcgan.build_generator(model_config(), SPEC)
    wrapped, _ = pruning.wrap_networks(generator, dcgan.build_discriminator(model_config(), SPEC),
                                       cfg, counter)
    assert pruning.prunable_layers(wrapped) == ["project", "up0"]
    to_image = wrapped.get_layer("to_image")
    assert not is_wrapper(to_image)
    wrapped(tf.zeros((2, model_config().latent_dim)), training=True)  # masks at the target
    assert_all_near({"generator": kernel_zero_fractions(wrapped)}, TARGET)
    assert float(np.mean(to_image.kernel.numpy() == 0)) == 0.0
    assert pruning.skipped_layers(wrapped) == {
        "to_image": "kept dense by config.prune.keep_dense"}
    assert set(pruning.report(wrapped)["layers"]) == {"project", "up0"}
    np.testing.assert_array_equal(pruning.strip(wrapped).get_layer("to_image").kernel.numpy(),
                                  generator.get_layer("to_image").kernel.numpy())


def test_keep_dense_names_are_checked():
    counter = tf.Variable(0, dtype=tf.int64)
    generator = dcgan.build_generator(model_config(), SPEC)
    with pytest.raises(ZooError, match="keep_dense names to_img, which .* no prunable layer "
                                       "called; its prunable layers are: project, up0, to_image"):
        pruning.wrap(generator, prune_config(), counter, keep_dense=("to_img",))
    for bad in (("to_image",), ("critic/down0",), ("generator/up0/kernel",)):
        with pytest.raises(ZooError, match="keep_dense must be a tuple of 'network/layer'"):
            pruning.validate(prune_config(keep_dense=bad))
    everything = ("generator/project", "generator/up0", "generator/to_image")
    with pytest.raises(ZooError, match="no layer left to prune.*to_image: kept dense"):
        pruning.wrap_networks(generator, None, prune_config(keep_dense=everything), counter)


def test_models_that_cannot_be_wrapped_are_refused():
    counter = tf.Variable(0, dtype=tf.int64)
    ids = keras.Input((3,), dtype="int32")
    only_embedding = keras.Model(ids, keras.layers.Embedding(5, 2, name="table")(ids),
                                 name="lookup")
    with pytest.raises(ZooError, match="lookup has no layer left to prune.*table: "
                                       "Embedding.*remove 'lookup' from config.prune.networks"):
        pruning.wrap(only_embedding, prune_config(), counter)

    class Subclassed(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ZooError, match="needs a Functional or Sequential keras.Model"):
        pruning.wrap(Subclassed(), prune_config(), counter)
    generator = dcgan.build_generator(model_config(), SPEC)
    with pytest.raises(TypeError, match="step_counter must be an int64 tf.Variable"):
        pruning.wrap(generator, prune_config(), 0)
    wrapped = pruning.wrap(generator, prune_config(), counter)
    with pytest.raises(ZooError, match="already wrapped"):
        pruning.wrap(wrapped, prune_config(), counter)
