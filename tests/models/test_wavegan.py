"""The WaveGAN family: the paper's networks, every slice length, phase shuffle and validation."""
import types

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tfgan_zoo.errors import ZooError
from tfgan_zoo.latents import Prior
from tfgan_zoo.models import wavegan

MONO = types.SimpleNamespace(channels=1, num_classes=0, name="mono")
STEREO = types.SimpleNamespace(channels=2, num_classes=0, name="stereo")
LABELED = types.SimpleNamespace(channels=1, num_classes=4, name="labeled")


def model_config(**overrides):
    cfg = wavegan.default_model_config()
    cfg.update(overrides)
    return cfg


# (length, channels in units of d; 0 stands for C) of G's reshaped Dense and of each upsampling
# stage, with the stages' strides, and the same for D's convolutions: the module docstring's table.
LAYER_TABLE = {
    4096: dict(g=[(16, 8), (64, 4), (256, 2), (1024, 1), (4096, 0)], g_strides=[4, 4, 4, 4],
               d=[(1024, 1), (256, 2), (64, 4), (16, 8)], d_strides=[4, 4, 4, 4]),
    8192: dict(g=[(16, 16), (64, 8), (256, 4), (1024, 2), (4096, 1), (8192, 0)],
               g_strides=[4, 4, 4, 4, 2],
               d=[(2048, 1), (512, 2), (128, 4), (32, 8), (16, 16)], d_strides=[4, 4, 4, 4, 2]),
    16384: dict(g=[(16, 16), (64, 8), (256, 4), (1024, 2), (4096, 1), (16384, 0)],
                g_strides=[4, 4, 4, 4, 4],
                d=[(4096, 1), (1024, 2), (256, 4), (64, 8), (16, 16)], d_strides=[4, 4, 4, 4, 4]),
    32768: dict(g=[(16, 32), (64, 16), (256, 8), (1024, 4), (4096, 2), (16384, 1), (32768, 0)],
                g_strides=[4, 4, 4, 4, 4, 2],
                d=[(8192, 1), (2048, 2), (512, 4), (128, 8), (32, 16), (16, 32)],
                d_strides=[4, 4, 4, 4, 4, 2]),
    65536: dict(g=[(16, 32), (64, 16), (256, 8), (1024, 4), (4096, 2), (16384, 1), (65536, 0)],
                g_strides=[4, 4, 4, 4, 4, 4],
                d=[(16384, 1), (4096, 2), (1024, 4), (256, 8), (64, 16), (16, 32)],
                d_strides=[4, 4, 4, 4, 4, 4]),
}


def _shapes(table, d, channels):
    return [(length, mult * d if mult else channels) for length, mult in table]


def _expected_params(table, d, channels, latent_dim=100, kernel=25):
    """Weights and biases of the table's networks, counted by hand."""
    g_shapes, d_shapes = _shapes(table["g"], d, channels), _shapes(table["d"], d, channels)
    g = latent_dim * 16 * g_shapes[0][1] + 16 * g_shapes[0][1]
    for (_, c_in), (_, c_out) in zip(g_shapes[:-1], g_shapes[1:], strict=True):
        g += kernel * c_in * c_out + c_out
    d_params, c_in = 0, channels
    for _, c_out in d_shapes:
        d_params += kernel * c_in * c_out + c_out
        c_in = c_out
    d_params += 16 * c_in + 1
    return g, d_params


def _generator_stages(g):
    names = ["project_reshape"] + [layer.name for layer in g.layers
                                   if layer.name.startswith("up") and layer.name[2:].isdigit()]
    return [g.get_layer(name) for name in names + ["to_audio"]]


def _discriminator_stages(d):
    return [layer for layer in d.layers
            if layer.name.startswith("down") and layer.name[4:].isdigit()]


# --- The paper's networks at d=64, 16384 samples ---

@pytest.fixture(scope="module")
def paper_models():
    cfg = model_config()
    return wavegan.build_generator(cfg, MONO), wavegan.build_discriminator(cfg, MONO)


def test_paper_networks_have_the_papers_parameter_counts(paper_models):
    g, d = paper_models
    assert g.count_params() == 19_065_345
    assert d.count_params() == 17_427_969


def test_paper_networks_have_the_papers_layers(paper_models):
    g, d = paper_models
    assert [layer.output_shape[1:] for layer in _generator_stages(g)] == [
        (16, 1024), (64, 512), (256, 256), (1024, 128), (4096, 64), (16384, 1)]
    assert all(isinstance(layer, keras.layers.Conv1DTranspose) and layer.kernel_size == (25,)
               and layer.strides == (4,) for layer in _generator_stages(g)[1:])
    assert [layer.output_shape[1:] for layer in _discriminator_stages(d)] == [
        (4096, 64), (1024, 128), (256, 256), (64, 512), (16, 1024)]
    # Phase shuffle after D's layers 0-3, after their LeakyReLU, not after the last one.
    assert [layer.name for layer in d.layers[1:]] == [
        "down0", "down0_lrelu", "down0_phase_shuffle", "down1", "down1_lrelu",
        "down1_phase_shuffle", "down2", "down2_lrelu", "down2_phase_shuffle", "down3",
        "down3_lrelu", "down3_phase_shuffle", "down4", "down4_lrelu", "flatten", "logit",
        "logits"]
    assert all(layer.n == 2 for layer in d.layers if isinstance(layer, wavegan.PhaseShuffle))
    assert not any(isinstance(layer, keras.layers.BatchNormalization)
                   for layer in g.layers + d.layers)
    assert g._is_graph_network and d._is_graph_network


def test_paper_networks_map_uniform_latents_to_audio_and_audio_to_logits(paper_models):
    g, d = paper_models
    z = np.random.default_rng(0).uniform(-1, 1, (2, 100)).astype("float32")
    audio = g(z, training=False)
    assert audio.shape == (2, 16384, 1) and audio.dtype == "float32"
    audio = audio.numpy()
    assert np.abs(audio).max() <= 1 and np.abs(audio[0] - audio[1]).max() > 1e-5
    logits = d(audio, training=True)
    assert logits.shape == (2, 1) and logits.dtype == "float32"


# --- Every slice length ---

@pytest.mark.parametrize("upsample", ["zeros", "nn"])
@pytest.mark.parametrize("slice_length", sorted(LAYER_TABLE))
def test_every_slice_length_builds_the_documented_layers(slice_length, upsample):
    table, d_model = LAYER_TABLE[slice_length], 4
    cfg = model_config(slice_length=slice_length, model_dim=d_model, upsample=upsample)
    g, d = wavegan.build_generator(cfg, STEREO), wavegan.build_discriminator(cfg, STEREO)

    g_stages, d_stages = _generator_stages(g), _discriminator_stages(d)
    assert [layer.output_shape[1:] for layer in g_stages] == _shapes(table["g"], d_model, 2)
    assert [layer.output_shape[1:] for layer in d_stages] == _shapes(table["d"], d_model, 2)
    assert [layer.strides[0] for layer in d_stages] == table["d_strides"]
    if upsample == "zeros":
        assert all(isinstance(layer, keras.layers.Conv1DTranspose) for layer in g_stages[1:])
        assert [layer.strides[0] for layer in g_stages[1:]] == table["g_strides"]
    else:  # nearest neighbour by the stride, then a stride-1 convolution
        assert not any(isinstance(layer, keras.layers.Conv1DTranspose) for layer in g.layers)
        assert all(type(layer) is keras.layers.Conv1D and layer.strides == (1,)
                   for layer in g_stages[1:])
        nearest = [layer.size for layer in g.layers
                   if isinstance(layer, keras.layers.UpSampling2D)]
        assert nearest == [(1, stride) for stride in table["g_strides"]]
        # The first stage repeats each of its 16 input samples `stride` times, in order.
        repeat = keras.Model(g.inputs, [g.get_layer("project_relu").output,
                                        g.get_layer("up0_repeated").output])
        before, after = (t.numpy() for t in repeat(np.ones((1, 100), "float32")))
        np.testing.assert_array_equal(after, np.repeat(before, table["g_strides"][0], axis=1))
    assert (g.count_params(), d.count_params()) == _expected_params(table, d_model, 2)

    z = np.random.default_rng(1).uniform(-1, 1, (2, 100)).astype("float32")
    audio = g(z, training=False)
    assert audio.shape == (2, slice_length, 2) and audio.dtype == "float32"
    assert np.abs(audio.numpy()).max() <= 1
    for training in (True, False):
        logits = d(audio, training=training)
        assert logits.shape == (2, 1) and logits.dtype == "float32"
    assert g._is_graph_network and d._is_graph_network


def test_phase_shuffle_makes_training_logits_random_and_inference_logits_fixed():
    cfg = model_config(slice_length=4096, model_dim=4)
    d = wavegan.build_discriminator(cfg, MONO)
    audio = np.random.default_rng(2).uniform(-1, 1, (2, 4096, 1)).astype("float32")
    inference = {d(audio, training=False).numpy().tobytes() for _ in range(4)}
    training = {d(audio, training=True).numpy().tobytes() for _ in range(6)}
    assert len(inference) == 1 and len(training) > 1

    d = wavegan.build_discriminator(model_config(slice_length=4096, model_dim=4,
                                                 phase_shuffle=0), MONO)
    assert not any(isinstance(layer, wavegan.PhaseShuffle) for layer in d.layers)
    assert len({d(audio, training=True).numpy().tobytes() for _ in range(3)}) == 1


# --- The post-processing filter ---

@pytest.mark.parametrize("spec", [MONO, STEREO])
def test_post_processing_filter_adds_taps_times_channels_squared_weights(spec):
    plain = wavegan.build_generator(model_config(slice_length=4096, model_dim=4), spec)
    filtered = wavegan.build_generator(
        model_config(slice_length=4096, model_dim=4, post_proc_filter_len=512), spec)
    layer = filtered.get_layer("post_process_filter")
    assert layer.kernel.shape == (512, spec.channels, spec.channels) and not layer.use_bias
    assert filtered.count_params() - plain.count_params() == 512 * spec.channels ** 2
    assert filtered.output_shape == (None, 4096, spec.channels)


@pytest.mark.parametrize("taps", [7, 8])
def test_post_processing_filter_is_a_linear_same_length_filter_after_the_tanh(taps):
    g = wavegan.build_generator(
        model_config(slice_length=4096, model_dim=4, post_proc_filter_len=taps), STEREO)
    kernel = np.random.default_rng(3).standard_normal((taps, 2, 2)).astype("float32")
    g.get_layer("post_process_filter").set_weights([kernel])
    z = np.random.default_rng(4).uniform(-1, 1, (2, 100)).astype("float32")
    before = keras.Model(g.inputs, g.get_layer("tanh").output)(z).numpy()
    # 'same' padding: (taps - 1) // 2 zeros before, the rest after; a cross-correlation.
    left = (taps - 1) // 2
    padded = np.pad(before, ((0, 0), (left, taps - 1 - left), (0, 0)))
    expected = np.zeros_like(before)
    for j in range(taps):
        expected += padded[:, j:j + 4096] @ kernel[j]
    np.testing.assert_allclose(g(z).numpy(), expected, rtol=1e-4, atol=1e-5)


# --- Mixed precision, serialisation ---

def test_outputs_stay_float32_under_mixed_bfloat16():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        for upsample, post_proc_filter_len in [("zeros", 0), ("nn", 16)]:
            cfg = model_config(slice_length=4096, model_dim=4, upsample=upsample,
                               post_proc_filter_len=post_proc_filter_len,
                               conditioning="projection")
            g, d = wavegan.build_generator(cfg, LABELED), wavegan.build_discriminator(cfg, LABELED)
            assert g.get_layer("up0").compute_dtype == "bfloat16"
            assert d.get_layer("down0").compute_dtype == "bfloat16"
            labels = np.arange(2, dtype="int32")
            audio = g([np.zeros((2, 100), "float32"), labels], training=False)
            assert audio.dtype == "float32"
            assert d([audio, labels], training=True).dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_networks_round_trip_through_a_keras_file(tmp_path):
    cfg = model_config(slice_length=4096, model_dim=4, post_proc_filter_len=8)
    z = np.random.default_rng(5).uniform(-1, 1, (2, 100)).astype("float32")
    for network, inputs in [(wavegan.build_generator(cfg, MONO), z),
                            (wavegan.build_discriminator(cfg, MONO),
                             np.random.default_rng(6).uniform(-1, 1, (2, 4096, 1)))]:
        path = str(tmp_path / f"{network.name}.keras")
        network.save(path)
        loaded = keras.models.load_model(path)  # no custom_objects: PhaseShuffle is registered
        assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in network.layers]
        np.testing.assert_allclose(loaded(inputs, training=False).numpy(),
                                   network(inputs, training=False).numpy(), rtol=1e-6, atol=1e-6)


# --- Phase shuffle ---

def _reflect_shift(x, k):
    """x [B, T, C] delayed by k samples (advanced if k < 0), the edges filled by reflection."""
    length = x.shape[1]
    index = np.arange(length) - k
    index = np.where(index < 0, -index, index)
    index = np.where(index > length - 1, 2 * (length - 1) - index, index)
    return x[:, index]


def _matching_shifts(output, x, n):
    return [k for k in range(-n, n + 1) if np.array_equal(output, _reflect_shift(x, k))]


def _arange(shape):
    return np.arange(np.prod(shape), dtype="float32").reshape(shape)


def test_reflect_shift_reference_on_a_small_example():
    x = np.arange(8).reshape(1, 8, 1)
    assert _reflect_shift(x, 2)[0, :, 0].tolist() == [2, 1, 0, 1, 2, 3, 4, 5]
    assert _reflect_shift(x, -2)[0, :, 0].tolist() == [2, 3, 4, 5, 6, 7, 6, 5]
    assert _reflect_shift(x, 0)[0, :, 0].tolist() == list(range(8))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_phase_shuffle_shifts_the_whole_batch_by_one_k_in_range_with_reflected_edges(n):
    layer = wavegan.PhaseShuffle(n)
    x = _arange((3, 20, 2))  # every value distinct: at most one shift can match
    shifts = []
    for _ in range(150):
        output = layer(x, training=True).numpy()
        assert output.shape == x.shape
        matching = _matching_shifts(output, x, n)
        assert len(matching) == 1, "not a reflect-padded shift of the whole batch in [-n, n]"
        shifts.append(matching[0])
    # 150 uniform draws from 2n + 1 values: every shift, each end of the range included, shows.
    assert set(shifts) == set(range(-n, n + 1))


def test_phase_shuffle_is_the_identity_at_inference_and_when_n_is_zero():
    x = _arange((2, 16, 3))
    layer = wavegan.PhaseShuffle(2)
    for _ in range(5):
        np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
        np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(wavegan.PhaseShuffle(0)(x, training=True).numpy(), x)
    with pytest.raises(ValueError, match="n >= 0"):
        wavegan.PhaseShuffle(-1)


def test_phase_shuffle_draws_a_new_shift_on_every_tf_function_call():
    layer = wavegan.PhaseShuffle(2)

    @tf.function(input_signature=[tf.TensorSpec([None, None, 2]), tf.TensorSpec([], tf.bool)])
    def shuffle(x, training):
        return layer(x, training=training)

    x = _arange((2, 24, 2))
    shifts = set()
    for _ in range(30):
        matching = _matching_shifts(shuffle(x, tf.constant(True)).numpy(), x, 2)
        assert len(matching) == 1
        shifts.update(matching)
    assert len(shifts) > 1
    np.testing.assert_array_equal(shuffle(x, tf.constant(False)).numpy(), x)
    # In a Functional model the time axis keeps its static length.
    inputs = keras.Input((24, 2))
    assert layer(inputs, training=True).shape.as_list() == [None, 24, 2]


def test_phase_shuffle_runs_on_every_replica_of_a_distribution_strategy(two_cpu_strategy):
    layer = wavegan.PhaseShuffle(2)
    x = tf.constant(_arange((2, 24, 1)))

    @tf.function
    def step():
        return two_cpu_strategy.run(lambda: layer(x, training=True))

    shifts = set()
    for _ in range(10):
        outputs = two_cpu_strategy.experimental_local_results(step())
        assert len(outputs) == 2
        for output in outputs:
            matching = _matching_shifts(output.numpy(), x.numpy(), 2)
            assert len(matching) == 1
            shifts.update(matching)
    assert len(shifts) > 1


def test_phase_shuffle_config_round_trips():
    layer = wavegan.PhaseShuffle(3, name="shuffle")
    assert keras.utils.get_registered_name(wavegan.PhaseShuffle) == "tfgan_zoo>PhaseShuffle"
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(clone, wavegan.PhaseShuffle)
    assert (clone.n, clone.name) == (3, "shuffle")


# --- Class-conditional networks ---

def test_conditional_generator_takes_labels_and_its_output_depends_on_them():
    cfg = model_config(slice_length=4096, model_dim=4, conditioning="projection")
    g = wavegan.build_generator(cfg, LABELED)
    assert [t.name for t in g.inputs] == ["z", "label"] and g.inputs[1].dtype == "int32"
    assert g.get_layer("label_embedding").embeddings.shape == (4, 100)
    z = np.repeat(np.random.default_rng(7).uniform(-1, 1, (1, 100)), 4, axis=0)
    audio = g([z.astype("float32"), np.arange(4, dtype="int32")], training=False).numpy()
    assert audio.shape == (4, 4096, 1) and np.abs(audio).max() <= 1
    for other in audio[1:]:  # the same z, another class: another clip
        assert np.abs(other - audio[0]).max() > 1e-6
    assert g._is_graph_network


def test_projection_discriminator_adds_the_inner_product_of_class_embedding_and_features():
    cfg = model_config(slice_length=4096, model_dim=4, conditioning="projection")
    d = wavegan.build_discriminator(cfg, LABELED)
    assert [t.name for t in d.inputs] == ["audio", "label"]
    audio = np.random.default_rng(8).uniform(-1, 1, (4, 4096, 1)).astype("float32")
    labels = np.array([3, 0, 1, 3], "int32")
    features = keras.Model(d.inputs, d.get_layer("logit").input)([audio, labels]).numpy()
    unconditional = keras.Model(d.inputs, d.get_layer("logit").output)([audio, labels]).numpy()
    embedding = d.get_layer("label_projection").embeddings.numpy()
    assert embedding.shape == (4, 16 * 8 * 4)
    expected = unconditional[:, 0] + (embedding[labels] * features).sum(axis=-1)
    logits = d([audio, labels], training=False)
    assert logits.shape == (4, 1) and logits.dtype == "float32"
    np.testing.assert_allclose(logits.numpy()[:, 0], expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("label_projection", [False, True])
def test_acgan_discriminator_has_a_class_head_and_projects_the_label_when_asked(
        label_projection):
    cfg = model_config(slice_length=4096, model_dim=4, conditioning="acgan",
                       label_projection=label_projection)
    d = wavegan.build_discriminator(cfg, LABELED)
    assert [t.name for t in d.inputs] == (["audio", "label"] if label_projection else ["audio"])
    audio = np.random.default_rng(9).uniform(-1, 1, (4, 4096, 1)).astype("float32")
    labels = np.array([3, 0, 1, 3], "int32")
    logits, class_logits = d([audio, labels] if label_projection else audio, training=False)
    assert logits.shape == (4, 1) and class_logits.shape == (4, 4)
    assert logits.dtype == class_logits.dtype == "float32"
    if label_projection:  # the label moves the real/fake logit, not the class logits
        other, other_classes = d([audio, (labels + 1) % 4], training=False)
        assert np.abs(other.numpy() - logits.numpy()).max() > 1e-6
        np.testing.assert_allclose(other_classes, class_logits)


def test_conditioning_on_unlabeled_data_says_what_to_do():
    cfg = model_config(slice_length=4096, model_dim=4, conditioning="projection")
    message = ("model.conditioning='projection' needs a labeled dataset .*; mono has none: "
               "use conditioning='none' or a labeled dataset")
    with pytest.raises(ZooError, match=message):
        wavegan.build_generator(cfg, MONO)
    with pytest.raises(ZooError, match=message):
        wavegan.build_discriminator(cfg, MONO)


def test_unconditional_networks_ignore_the_classes_of_labeled_data():
    cfg = model_config(slice_length=4096, model_dim=4)
    assert len(wavegan.build_generator(cfg, LABELED).inputs) == 1
    assert len(wavegan.build_discriminator(cfg, LABELED).inputs) == 1


# --- The family interface and validation ---

def test_family_interface():
    cfg = model_config()
    assert wavegan.KIND == "audio"
    assert wavegan.latent_prior(cfg) == Prior(100, "uniform")
    assert wavegan.latent_prior(model_config(latent_dim=64, latent_distribution="normal")) == \
        Prior(64, "normal")
    assert wavegan.sample_shape(cfg, MONO) == (16384, 1)
    assert wavegan.sample_shape(model_config(slice_length=65536), STEREO) == (65536, 2)


def test_default_model_config_is_the_papers_and_a_fresh_copy_each_time():
    cfg = wavegan.default_model_config()
    assert cfg.to_dict() == dict(
        slice_length=16384, model_dim=64, kernel_size=25, latent_dim=100,
        latent_distribution="uniform", upsample="zeros", post_proc_filter_len=0, phase_shuffle=2,
        conditioning="none", label_projection=False, twin_classifier=False, clusters=0)
    wavegan.validate(cfg)
    cfg.model_dim = 8
    assert wavegan.default_model_config().model_dim == 64


@pytest.mark.parametrize("slice_length", [16000, 2048, 131072, 0])
def test_unbuildable_slice_length_is_refused_with_the_valid_ones(slice_length):
    message = (rf"config\.model\.slice_length={slice_length} cannot be built by WaveGAN: "
               "use one of 4096, 8192, 16384, 32768, 65536")
    with pytest.raises(ZooError, match=message):
        wavegan.validate(model_config(slice_length=slice_length))


@pytest.mark.parametrize("key,value,message", [
    ("upsample", "linear", r"config\.model\.upsample='linear'; valid: zeros, nn"),
    ("conditioning", "concat",
     r"config\.model\.conditioning='concat'; valid: none, projection, acgan"),
    ("label_projection", True, r"config\.model\.label_projection=True is the projection term "
                               r"beside ACGAN's class head, for conditioning='acgan' only"),
    ("twin_classifier", True, r"config\.model\.twin_classifier=True is TAC-GAN's second class "
                              r"head, for conditioning='acgan' only"),
    ("latent_distribution", "cauchy",
     r"config\.model\.latent_distribution='cauchy'; valid: uniform, normal"),
    ("model_dim", 0, r"config\.model\.model_dim must be a positive integer, got 0"),
    ("latent_dim", -1, r"config\.model\.latent_dim must be a positive integer, got -1"),
    ("kernel_size", 0, r"config\.model\.kernel_size must be a positive integer, got 0"),
    ("post_proc_filter_len", -1, r"config\.model\.post_proc_filter_len must be 0 \(off\)"),
    ("phase_shuffle", -1, r"config\.model\.phase_shuffle=-1 does not fit slice_length=16384: "
                          r"use an integer in \[0, 63\]"),
    ("phase_shuffle", 64, r"config\.model\.phase_shuffle=64 does not fit slice_length=16384: "
                          r"use an integer in \[0, 63\]"),
])
def test_bad_model_values_are_refused(key, value, message):
    with pytest.raises(ZooError, match=message):
        wavegan.validate(model_config(**{key: value}))


def test_builders_refuse_what_validate_refuses():
    with pytest.raises(ZooError, match=r"config\.model\.upsample='linear'"):
        wavegan.build_generator(model_config(upsample="linear"), MONO)
    with pytest.raises(ZooError, match=r"config\.model\.conditioning='concat'"):
        wavegan.build_discriminator(model_config(conditioning="concat"), LABELED)


@pytest.mark.parametrize("slice_length,limit", [
    (4096, 63), (8192, 31), (16384, 63), (32768, 31), (65536, 63)])
def test_the_largest_phase_shuffle_each_slice_length_accepts_builds_and_runs(slice_length, limit):
    # Reflect padding needs n below the shortest phase-shuffled length: D's second-to-last stage.
    with pytest.raises(ZooError, match=rf"in \[0, {limit}\]"):
        wavegan.validate(model_config(slice_length=slice_length, phase_shuffle=limit + 1))
    if slice_length <= 8192:
        cfg = model_config(slice_length=slice_length, model_dim=2, phase_shuffle=limit)
        d = wavegan.build_discriminator(cfg, MONO)
        audio = np.random.default_rng(9).uniform(-1, 1, (1, slice_length, 1)).astype("float32")
        assert d(audio, training=True).shape == (1, 1)
