"""The RelGAN family: the temperature schedule, the Gumbel-softmax relaxation that lets D's
gradient reach G, teacher forcing, and beta read from the run's Progress; both of G's cores
(the LSTM and the relational memory) sample, pre-train, prune and save the same way."""
import functools
import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from ml_collections import config_dict

from tfgan_zoo import config as config_lib
from tfgan_zoo import pruning
from tfgan_zoo.data.spec import DatasetSpec
from tfgan_zoo.engine import training
from tfgan_zoo.engine.gan import GAN
from tfgan_zoo.errors import ZooError
from tfgan_zoo.models import _cores, relgan

V, T = 12, 6


def _spec(vocabulary=V, length=T):
    return DatasetSpec("toy", "train", 0, 1, 0, (), 100,
                       vocabulary=tuple(str(i) for i in range(vocabulary)),
                       sequence_length=length, tokenizer="word")


def _cfg(**overrides):
    cfg = config_lib.load("relgan", "tiny").model
    cfg.update(overrides)
    return cfg


# The relational memory at a test's size: 1 slot, 2 heads of 8 (the paper's are 256 wide).
RMC = dict(generator="rmc", mem_slots=1, num_heads=2, head_size=8)
# Each core's Dense kernels (TF-MOT prunes them), which D's gradient must reach.
KERNELS = {
    "lstm": ("lstm_gates", "vocab_logits"),
    "rmc": ("rmc_input", "rmc_qkv", "rmc_mlp_hidden", "rmc_mlp_out", "rmc_input_gates",
            "rmc_memory_gates", "vocab_logits"),
}


def _core(generator, **overrides):
    """The tiny config with G's core `generator`, at a test's size."""
    return _cfg(**{**(RMC if generator == "rmc" else {}), **overrides})


def _gan(cfg=None, spec=None, num_steps=10):
    cfg, spec = cfg or _cfg(), spec or _spec()
    config = config_lib.load("relgan", "tiny")
    prior = relgan.latent_prior(cfg, spec)
    gan = GAN(relgan.build_generator(cfg, spec), relgan.build_discriminator(cfg, spec),
              latent_dim=prior.dim, latent_distribution=prior.distribution, d_steps=1,
              discriminator_input=relgan.discriminator_input(cfg, spec),
              pretrain_loss=relgan.pretrain_loss(cfg, spec),
              schedules=relgan.schedules(cfg, num_steps), feature="tokens")
    gan.compile(training.make_optimizer(config.optimizer.d),
                training.make_optimizer(config.optimizer.g), loss="relativistic",
                pretrain_optimizer=training.make_optimizer(config.optimizer.pretrain))
    return gan


@functools.cache
def _built(generator):
    """A GAN with G's core `generator`, built once for the tests that only read it: building
    and tracing the unrolled relational memory takes seconds."""
    return _gan(_core(generator))


@pytest.mark.parametrize("schedule", relgan.TEMPERATURE_SCHEDULES)
def test_every_schedule_rises_from_one_to_beta_max_over_the_horizon(schedule):
    values = [relgan.temperature(schedule, 100.0, n, 1000) for n in range(0, 1001, 50)]
    if schedule == "no":
        assert values == pytest.approx([100.0] * len(values))
        return
    assert values[0] == pytest.approx(1.0, abs=0.05)
    # "lin", "quad", "sqrt" reach beta_max at N - 1 as RelGAN's formulas do; the others at N.
    assert values[-1] == pytest.approx(100.0, rel=0.11)
    assert all(b >= a - 1e-9 for a, b in zip(values, values[1:], strict=False))


def test_the_exponential_schedule_is_beta_max_to_the_share_of_the_horizon_done():
    beta = relgan.schedules(_cfg(beta_max=1000.0, temperature_schedule="exp"), 2000)["beta"]
    assert beta(0) == pytest.approx(1.0)
    assert beta(1000) == pytest.approx(math.sqrt(1000.0))
    assert beta(2000) == pytest.approx(1000.0)
    # RelGAN's code fixes the horizon at 5,000: a 2,000-step run ends at 1000^0.4 = 15.8. The
    # horizon here is the run's own length.
    assert float(beta(tf.constant(1999, tf.int64))) > 990.0


@pytest.mark.parametrize("generator", relgan.GENERATORS)
def test_d_gradient_reaches_the_generator_through_the_relaxation_and_not_through_argmax(
        generator):
    gan = _built(generator)
    z = gan.prior.stateless(8, 0)
    variables = gan.generator.trainable_variables

    def gradients(relaxed):
        with tf.GradientTape() as tape:
            soft = gan.generator(z, training=True)
            fake = soft if relaxed else tf.one_hot(tf.argmax(soft, -1), V)
            loss = tf.reduce_mean(gan.discriminator(fake, training=True))
        return tape.gradient(loss, variables)

    relaxed = gradients(True)
    by_name = {v.name: g for v, g in zip(variables, relaxed, strict=True)}
    for layer in KERNELS[generator]:
        name = f"{layer}/kernel:0"
        assert float(tf.reduce_sum(tf.abs(by_name[name]))) > 0, name
    assert all(g is None or float(tf.reduce_sum(tf.abs(g))) == 0 for g in gradients(False))


def test_beta_is_read_from_the_runs_progress_and_does_not_change_the_tokens():
    # Seeded: with other initial weights two logits of a token can lie so close that even
    # beta=1000 leaves it below 0.99 (it did once, depending on what ran before in the worker).
    keras.utils.set_random_seed(0)
    gan = _gan()
    z = gan.prior.stateless(16, 3)
    beta = gan.progress.scheduled["beta"]
    beta.assign(1.0)
    soft = gan.generate(z).numpy()
    beta.assign(1000.0)
    sharp = gan.generate(z).numpy()
    assert soft.max(axis=-1).mean() < 0.9
    assert sharp.max(axis=-1).min() > 0.99
    np.testing.assert_array_equal(soft.argmax(-1), sharp.argmax(-1))
    np.testing.assert_allclose(sharp.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("generator", relgan.GENERATORS)
def test_the_same_noise_gives_the_same_tokens_and_new_noise_others(generator):
    gan = _built(generator)
    tokens = [gan.generate(gan.prior.stateless(32, seed)).numpy().argmax(-1)
              for seed in (0, 0, 1)]
    np.testing.assert_array_equal(tokens[0], tokens[1])
    assert (tokens[0] != tokens[2]).mean() > 0.3


@pytest.mark.parametrize("generator", relgan.GENERATORS)
def test_mle_pretraining_learns_a_sequence_that_the_sampler_then_emits(generator):
    gan = _gan(_core(generator, hidden_dim=16, embedding_dim=8))
    sequence = np.array([[3, 7, 1, 7, 9, 2]], np.int32)
    batch = {"tokens": np.repeat(sequence, 16, axis=0), "label": np.zeros(16, np.int32)}
    before = float(tf.reduce_mean(relgan.log_likelihood(gan.generator, batch["tokens"])))
    gan.set_phase("pretrain")
    gan.fit(tf.data.Dataset.from_tensors(batch).repeat(), epochs=1, steps_per_epoch=150,
            verbose=0)
    after = float(tf.reduce_mean(relgan.log_likelihood(gan.generator, batch["tokens"])))
    assert before > 2.0 and after < 0.05
    # Sampling runs the same layers step by step: it emits the learned sequence as often as
    # teacher forcing says it is likely (exp(-T x per-token NLL); 256 samples, so the share is
    # within about 0.03 of it).
    sampled = gan.generate(gan.prior.stateless(256, 0)).numpy().argmax(-1)
    share = (sampled == sequence).all(axis=1).mean()
    assert share > 0.7
    assert abs(share - np.exp(-sequence.shape[1] * after)) < 0.1


def test_data_that_is_not_text_or_too_short_for_the_filters_is_refused():
    image_spec = DatasetSpec("sklearn_digits", "train", 28, 1, 10, (), 100)
    with pytest.raises(ZooError, match="not text"):
        relgan.build_generator(_cfg(), image_spec)
    with pytest.raises(ZooError, match="d_filter_sizes reach 3 tokens"):
        relgan.build_discriminator(_cfg(), _spec(length=2))
    with pytest.raises(ZooError, match="multiple of d_representations"):
        relgan.validate(_cfg(d_embedding_dim=10, d_representations=4))


# --- The relational memory core ---

def test_the_relational_memory_starts_as_one_hot_slots_padded_with_zeros():
    memory = _cores.InitialMemory(3, 5)(tf.zeros((2, 7))).numpy()
    expected = np.zeros((3, 5), np.float32)
    expected[[0, 1, 2], [0, 1, 2]] = 1.0
    np.testing.assert_array_equal(memory, np.stack([expected, expected]))


def test_the_relational_memory_keeps_every_weight_in_layers_tf_mot_knows():
    generator = _built("rmc").generator
    assert pruning.prunable_layers(generator) == list(KERNELS["rmc"])
    # The rest of the weights: the embedding, and the layer normalisations' gains and biases.
    owners = {layer.name for layer in generator.layers if layer.weights}
    assert owners - set(KERNELS["rmc"]) == {
        "token_embedding", "rmc_qkv_norm", "rmc_attention_norm", "rmc_mlp_norm"}
    memory = 2 * 8
    kernels = {w.name: tuple(w.shape) for w in generator.weights if "kernel" in w.name}
    assert kernels["rmc_qkv/kernel:0"] == (memory, 2 * 3 * 8)  # per head: query, key, value
    assert kernels["rmc_memory_gates/kernel:0"] == (memory, 2 * memory)  # input, forget
    assert kernels["vocab_logits/kernel:0"] == (memory, V)


def test_teacher_forcing_runs_a_relational_memory_pruned_by_tf_mot():
    gan = _built("rmc")
    prune = pruning.default_config()
    prune.update(dict(enabled=True, target_sparsity=0.5, schedule="constant"))
    wrapped, _ = pruning.wrap_networks(gan.generator, gan.discriminator, prune,
                                       tf.Variable(0, dtype=tf.int64))
    wrapped(gan.prior.stateless(8, 0), training=True)  # computes and applies the masks
    assert pruning.prunable_layers(wrapped) == list(KERNELS["rmc"])
    tokens = np.tile(np.arange(T, dtype=np.int32), (8, 1))
    pruned = relgan.log_likelihood(wrapped, tokens).numpy()
    # The wrappers run the masked kernels: the stripped copy's NLL, not the dense one's.
    np.testing.assert_allclose(
        pruned, relgan.log_likelihood(pruning.strip(wrapped), tokens).numpy(), rtol=1e-5)
    assert np.abs(pruned - relgan.log_likelihood(gan.generator, tokens).numpy()).max() > 1e-3
    assert np.isfinite(pruned).all()


@pytest.mark.parametrize("generator", relgan.GENERATORS)
def test_a_saved_or_cloned_generator_gives_the_same_tokens(generator, tmp_path):
    gan = _built(generator)
    z, path = gan.prior.stateless(8, 1), str(tmp_path / "generator.keras")
    gan.generator.save(path)  # as exports save it
    clone = keras.models.clone_model(gan.generator)  # as the EMA copy and pruning make it
    clone.set_weights(gan.generator.get_weights())
    expected = gan.generator(z).numpy()
    nll = relgan.log_likelihood(gan.generator, expected.argmax(-1)).numpy()
    for copy in (keras.models.load_model(path), clone):
        np.testing.assert_allclose(copy(z).numpy(), expected, atol=1e-6)
        np.testing.assert_allclose(relgan.log_likelihood(copy, expected.argmax(-1)).numpy(),
                                   nll, rtol=1e-6)


@pytest.mark.parametrize("generator", relgan.GENERATORS)
def test_teacher_forcing_runs_under_mixed_bfloat16(generator):
    # The initial state comes from the generator's own layer, so it follows the policy.
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = relgan.build_generator(_core(generator), _spec())
        nll = relgan.log_likelihood(model, np.zeros((4, T), np.int32)).numpy()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert nll.dtype == np.float32 and np.isfinite(nll).all()


def test_a_config_from_before_the_relational_memory_builds_the_lstm():
    saved = _cfg().to_dict()  # a run's config.json written before the keys existed
    for key in ("generator", "mem_slots", "num_heads", "head_size"):
        del saved[key]
    generator = relgan.build_generator(config_dict.ConfigDict(saved), _spec())
    assert "lstm_gates" in {layer.name for layer in generator.layers}


@pytest.mark.parametrize("key,value,message", [
    ("generator", "gru", r"config.model.generator='gru'; valid: lstm, rmc"),
    ("mem_slots", 0, r"config.model.mem_slots must be a positive integer, got 0"),
    ("num_heads", -2, r"config.model.num_heads must be a positive integer, got -2"),
    ("head_size", 0, r"config.model.head_size must be a positive integer"),
])
def test_bad_relational_memory_settings_are_refused(key, value, message):
    with pytest.raises(ZooError, match=message):
        relgan.validate(_cfg(**{**RMC, key: value}))
