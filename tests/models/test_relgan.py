"""The RelGAN family: the temperature schedule, the Gumbel-softmax relaxation that lets D's
gradient reach G, teacher forcing, and beta read from the run's Progress."""
import math

import numpy as np
import pytest
import tensorflow as tf

from tfgan_zoo import config as config_lib
from tfgan_zoo.data.spec import DatasetSpec
from tfgan_zoo.engine import training
from tfgan_zoo.engine.gan import GAN
from tfgan_zoo.errors import ZooError
from tfgan_zoo.models import relgan

V, T = 12, 6


def _spec(vocabulary=V, length=T):
    return DatasetSpec("toy", "train", 0, 1, 0, (), 100,
                       vocabulary=tuple(str(i) for i in range(vocabulary)),
                       sequence_length=length, tokenizer="word")


def _cfg(**overrides):
    cfg = config_lib.load("relgan", "tiny").model
    cfg.update(overrides)
    return cfg


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


def test_d_gradient_reaches_the_generator_through_the_relaxation_and_not_through_argmax():
    gan = _gan()
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
    for name in ("lstm_gates/kernel:0", "vocab_logits/kernel:0"):
        assert float(tf.reduce_sum(tf.abs(by_name[name]))) > 0, name
    assert all(g is None or float(tf.reduce_sum(tf.abs(g))) == 0 for g in gradients(False))


def test_beta_is_read_from_the_runs_progress_and_does_not_change_the_tokens():
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


def test_the_same_noise_gives_the_same_tokens_and_new_noise_others():
    gan = _gan()
    tokens = [gan.generate(gan.prior.stateless(32, seed)).numpy().argmax(-1)
              for seed in (0, 0, 1)]
    np.testing.assert_array_equal(tokens[0], tokens[1])
    assert (tokens[0] != tokens[2]).mean() > 0.3


def test_mle_pretraining_learns_a_sequence_that_the_sampler_then_emits():
    gan = _gan(_cfg(hidden_dim=16, embedding_dim=8))
    sequence = np.array([[3, 7, 1, 7, 9, 2]], np.int32)
    batch = {"tokens": np.repeat(sequence, 16, axis=0), "label": np.zeros(16, np.int32)}
    before = float(tf.reduce_mean(relgan.log_likelihood(gan.generator, batch["tokens"])))
    gan.set_phase("pretrain")
    gan.fit(tf.data.Dataset.from_tensors(batch).repeat(), epochs=1, steps_per_epoch=150,
            verbose=0)
    after = float(tf.reduce_mean(relgan.log_likelihood(gan.generator, batch["tokens"])))
    assert before > 2.0 and after < 0.05
    # Sampling runs the same layers step by step: it now emits the learned sequence.
    sampled = gan.generate(gan.prior.stateless(64, 0)).numpy().argmax(-1)
    assert (sampled == sequence).all(axis=1).mean() > 0.9


def test_data_that_is_not_text_or_too_short_for_the_filters_is_refused():
    image_spec = DatasetSpec("sklearn_digits", "train", 28, 1, 10, (), 100)
    with pytest.raises(ZooError, match="not text"):
        relgan.build_generator(_cfg(), image_spec)
    with pytest.raises(ZooError, match="d_filter_sizes reach 3 tokens"):
        relgan.build_discriminator(_cfg(), _spec(length=2))
    with pytest.raises(ZooError, match="multiple of d_representations"):
        relgan.validate(_cfg(d_embedding_dim=10, d_representations=4))
