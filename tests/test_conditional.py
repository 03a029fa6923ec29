"""Class-conditional GANs in the engine (tfgan_zoo.gan.GAN): cGAN (concat and projection
discriminators) and ACGAN, with the DCGAN family's networks at 8x8 and with tiny point networks."""
import math
import types

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tfgan_zoo import config as config_lib
from tfgan_zoo import losses
from tfgan_zoo.engine.gan import GAN
from tfgan_zoo.errors import ZooError
from tfgan_zoo.models import dcgan

CLASSES = 3
LATENT = 4


def tiny_config(conditioning, **overrides):
    """The DCGAN family at 8x8 (one up- and one downsampling): a step takes milliseconds."""
    cfg = config_lib.load("dcgan", "tiny").model
    cfg.update(dict(resolution=8, base_channels=4, latent_dim=LATENT, kernel_size=3,
                    conditioning=conditioning))
    cfg.update(overrides)
    return cfg


def make_gan(conditioning, num_classes=CLASSES, d_opt=None, compile_kwargs=None, **kwargs):
    cfg_overrides = {k: kwargs.pop(k) for k in ("d_norm", "g_norm", "twin_classifier",
                                                "label_projection") if k in kwargs}
    cfg = tiny_config(conditioning, **cfg_overrides)
    spec = types.SimpleNamespace(channels=1, num_classes=num_classes, name="tiny")
    gan = GAN(dcgan.build_generator(cfg, spec), dcgan.build_discriminator(cfg, spec),
              latent_dim=LATENT, num_classes=num_classes, conditioning=conditioning, **kwargs)
    gan.compile(d_opt or keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3),
                **(compile_kwargs or {}))
    return gan


def image_batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    images = np.tanh(rng.standard_normal((n, 8, 8, 1))).astype("float32")
    return {"image": tf.constant(images), "label": tf.constant(np.arange(n) % CLASSES, tf.int64)}


def image_batches(batch_size):
    batch = image_batch(64)
    return tf.data.Dataset.from_tensor_slices(batch).repeat().batch(batch_size,
                                                                    drop_remainder=True)


def weights_of(model):
    return [w.numpy().copy() for w in model.trainable_weights]


def changed(before, after):
    return any(not np.allclose(b, a) for b, a in zip(before, after, strict=True))


@pytest.mark.parametrize("conditioning", ["concat", "projection", "acgan"])
def test_train_steps_change_both_networks_with_finite_losses(conditioning):
    gan = make_gan(conditioning, d_steps=2)
    g_before, d_before = weights_of(gan.generator), weights_of(gan.discriminator)
    for seed in range(3):
        logs = gan.train_step(image_batch(16, seed))
    expected = {"d_loss", "g_loss", "real_logit", "fake_logit", "skipped_updates"}
    if conditioning == "acgan":
        expected |= {"d_aux", "g_aux", "aux_accuracy"}
    assert set(logs) == expected
    assert all(math.isfinite(float(v)) for v in logs.values())
    assert changed(g_before, weights_of(gan.generator))
    assert changed(d_before, weights_of(gan.discriminator))
    assert int(gan.d_optimizer.iterations) == 6 and int(gan.g_optimizer.iterations) == 3


def test_acgan_auxiliary_losses_are_cross_entropies_over_the_classes():
    gan = make_gan("acgan")
    logs = gan.train_step(image_batch(16))
    # An untrained classifier is close to uniform: each cross-entropy is about log(classes).
    assert float(logs["g_aux"]) == pytest.approx(math.log(CLASSES), rel=0.3)
    assert float(logs["d_aux"]) == pytest.approx(2 * math.log(CLASSES), rel=0.3)
    assert 0.0 <= float(logs["aux_accuracy"]) <= 1.0


@pytest.mark.parametrize("aux_weight,head_moves", [(0.0, False), (1.0, True)])
def test_aux_weight_weighs_the_auxiliary_loss(aux_weight, head_moves):
    # The class head is trained by the auxiliary loss alone: with weight 0 it gets no gradient.
    gan = make_gan("acgan", compile_kwargs=dict(aux_weight=aux_weight))
    head = gan.discriminator.get_layer("class_logit")
    before = [w.numpy().copy() for w in head.weights]
    gan.train_step(image_batch(8))
    assert changed(before, [w.numpy() for w in head.weights]) == head_moves


def test_acgan_class_head_can_learn_from_real_images_alone():
    # aux_fake=False: D's auxiliary loss is the cross-entropy of its class head on the real
    # batch only (computed before the update, as the step's tracker records it).
    gan = make_gan("acgan", compile_kwargs=dict(aux_fake=False))
    batch = image_batch(16)
    _, class_logits = gan.discriminator(batch["image"], training=True)
    expected = losses.class_loss(tf.cast(batch["label"], tf.int32), class_logits)
    logs = gan.train_step(batch)
    assert float(logs["d_aux"]) == pytest.approx(float(expected), rel=1e-5)


def test_g_aux_weight_weighs_only_the_generators_auxiliary_loss():
    def one_step(g_aux_weight):
        keras.utils.set_random_seed(0)
        gan = make_gan("acgan", compile_kwargs=dict(g_aux_weight=g_aux_weight))
        gan.train_step(image_batch(16))
        return weights_of(gan.generator), weights_of(gan.discriminator)

    (g_off, d_off), (g_on, d_on) = one_step(0.0), one_step(1.0)
    assert not changed(d_off, d_on)  # D's step comes first and does not read it
    assert changed(g_off, g_on)


def make_tac_gan(d_opt=None):
    return make_gan("acgan", d_opt=d_opt, twin_classifier=True,
                    compile_kwargs=dict(aux_fake=False))


def copy_class_head_to_twin(gan):
    d = gan.discriminator
    d.get_layer("twin_logit").set_weights(d.get_layer("class_logit").get_weights())


def test_tac_gan_twin_head_learns_generated_images_and_the_class_head_real_ones():
    gan = make_tac_gan()
    assert gan.twin
    batch = image_batch(16)
    _, class_logits, _ = gan.discriminator(batch["image"], training=True)
    real_only = losses.class_loss(tf.cast(batch["label"], tf.int32), class_logits)
    twin = gan.discriminator.get_layer("twin_logit")
    before = [w.numpy().copy() for w in twin.weights]
    logs = gan.train_step(batch)
    # D's auxiliary loss: its class head on the real batch plus the twin on the fakes.
    assert float(logs["d_aux"]) == pytest.approx(float(real_only) + float(logs["d_twin"]),
                                                 rel=1e-5)
    assert float(logs["d_twin"]) == pytest.approx(math.log(CLASSES), rel=0.3)
    assert changed(before, [w.numpy() for w in twin.weights])


def test_tac_gan_generator_class_term_is_classifier_minus_twin():
    # D frozen (learning rate 0) with the twin a copy of the class head: the two cross-entropies
    # of G's samples are equal, so G's class term is 0; ACGAN's alone would be about log(3).
    gan = make_tac_gan(d_opt=keras.optimizers.SGD(0.0))
    copy_class_head_to_twin(gan)
    assert float(gan.train_step(image_batch(16))["g_aux"]) == pytest.approx(0.0, abs=1e-6)
    gan = make_tac_gan(d_opt=keras.optimizers.SGD(0.0))
    assert abs(float(gan.train_step(image_batch(16))["g_aux"])) > 1e-3


def test_tac_gan_needs_the_class_head_on_real_images_alone():
    with pytest.raises(ValueError, match="pass aux_fake=False"):
        make_gan("acgan", twin_classifier=True)
    config = config_lib.load("acgan", "tiny")
    config.model.twin_classifier = True
    config.gan.aux_fake = True
    with pytest.raises(ZooError, match="set config.gan.aux_fake=False"):
        config_lib.validate(config)


def test_acgan_with_label_projection_judges_images_with_their_labels():
    gan = make_gan("acgan", label_projection=True)
    d = gan.discriminator
    assert [t.name.split(":")[0] for t in d.inputs] == ["images", "label"]
    assert len(d.outputs) == 2 and not gan.twin
    batch = image_batch(16)
    images = batch["image"]
    # The label moves the real/fake logit (the projection term), not the class logits.
    logits_0, classes_0 = d([images, tf.zeros(16, tf.int32)])
    logits_1, classes_1 = d([images, tf.ones(16, tf.int32)])
    assert not np.allclose(logits_0, logits_1)
    np.testing.assert_allclose(classes_0, classes_1)
    projection = d.get_layer("label_projection")
    before = [w.numpy().copy() for w in projection.weights]
    logs = gan.train_step(batch)
    assert all(math.isfinite(float(v)) for v in logs.values())
    assert changed(before, [w.numpy() for w in projection.weights])


@pytest.mark.parametrize("key, what", [
    ("twin_classifier", "TAC-GAN's second class head"),
    ("label_projection", "the projection term beside ACGAN's class head")])
def test_acgan_options_are_refused_for_other_conditionings(key, what):
    config = config_lib.load("cgan", "tiny")
    config.model[key] = True
    with pytest.raises(ZooError, match=f"config.model.{key}=True is {what}, for "
                                       "conditioning='acgan' only"):
        dcgan.validate(config.model)


def test_mode_seeking_term_is_latent_over_sample_distance():
    # A generator whose samples ignore z (its first layer's z rows zeroed) has sample distance 0
    # between two latent batches of the same labels: the term is 1 / epsilon.
    gan = make_gan("concat", compile_kwargs=dict(mode_seeking=1.0))
    project = gan.generator.get_layer("project")
    kernel = project.kernel.numpy()
    kernel[:LATENT] = 0.0
    project.kernel.assign(kernel)
    logs = gan.train_step(image_batch(16))
    assert float(logs["mode_seeking"]) == pytest.approx(1e5, rel=1e-3)
    # A generator that uses z: a finite ratio, far below.
    logs = make_gan("concat", compile_kwargs=dict(mode_seeking=1.0)).train_step(image_batch(16))
    assert 0 < float(logs["mode_seeking"]) < 1e3
    assert "mode_seeking" not in make_gan("concat").train_step(image_batch(16))


def generator_passes(gan):
    """A list that `gan` appends a generator's batch size to each time it runs the trained
    generator (eagerly)."""
    sizes, run = [], gan._run_generator

    def counted(network, z, labels, training):
        if network is gan.generator:
            sizes.append(int(z.shape[0]))
        return run(network, z, labels, training)

    object.__setattr__(gan, "_run_generator", counted)
    return sizes


@pytest.mark.parametrize("pairs, passes", [("second_batch", [16, 16, 16]),
                                           ("batch_halves", [16, 16])])
def test_mode_seeking_pairs_cost_a_second_pass_or_none(pairs, passes):
    gan = make_gan("concat", compile_kwargs=dict(mode_seeking=1.0, mode_seeking_pairs=pairs))
    sizes = generator_passes(gan)
    logs = gan.train_step(image_batch(16))
    assert sizes == passes  # D's step, G's step, and with second_batch G's second batch
    assert 0 < float(logs["mode_seeking"]) < 1e3


@pytest.mark.parametrize("n", [16, 7])
def test_batch_halves_are_drawn_for_the_same_labels(n):
    gan = make_gan("concat", compile_kwargs=dict(mode_seeking=1.0,
                                                  mode_seeking_pairs="batch_halves"))
    _, labels, z = gan._fake(n, with_latents=True, paired=True)
    half = n // 2
    np.testing.assert_array_equal(labels[:half], labels[half:2 * half])
    assert not np.allclose(z[:half], z[half:2 * half])  # other latents for the same labels
    # Over many draws every label appears in either half: the pairing keeps labels uniform.
    assert set(gan._fake(300, with_latents=True, paired=True)[1].numpy()) == set(range(CLASSES))


def test_batch_halves_term_is_latent_over_sample_distance():
    gan = make_gan("concat", compile_kwargs=dict(mode_seeking=1.0,
                                                  mode_seeking_pairs="batch_halves"))
    project = gan.generator.get_layer("project")
    kernel = project.kernel.numpy()
    kernel[:LATENT] = 0.0  # samples ignore z: equal within each pair, the term is 1 / epsilon
    project.kernel.assign(kernel)
    logs = gan.train_step(image_batch(16))
    assert float(logs["mode_seeking"]) == pytest.approx(1e5, rel=1e-3)


def test_unknown_mode_seeking_pairs_are_refused():
    with pytest.raises(ValueError, match="mode_seeking_pairs='both'; valid: second_batch"):
        make_gan("concat", compile_kwargs=dict(mode_seeking=1.0, mode_seeking_pairs="both"))
    config = config_lib.load("cgan", "tiny")
    config.gan.mode_seeking_pairs = "both"
    with pytest.raises(ZooError, match="config.gan.mode_seeking_pairs='both'"):
        config_lib.validate(config)


def test_negative_aux_weight_is_refused():
    with pytest.raises(ValueError, match="aux_weight must be >= 0"):
        make_gan("acgan", compile_kwargs=dict(aux_weight=-1.0))


def point_generator():
    z, label = keras.Input((LATENT,)), keras.Input((), dtype="int32")
    h = keras.layers.Concatenate()([z, keras.layers.Embedding(2, LATENT)(label)])
    h = keras.layers.Dense(16, activation="relu")(h)
    return keras.Model([z, label], keras.layers.Dense(2, activation="tanh")(h))


def point_acgan_discriminator():
    x = keras.Input((2,))
    h = keras.layers.Dense(16, activation="relu")(x)
    return keras.Model(x, [keras.layers.Dense(1)(h), keras.layers.Dense(2)(h)])


def labeled_points(n, seed=0):
    """Class 0 around (0.8, -0.8), class 1 around (-0.8, 0.8): the class is obvious."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    centres = np.where(labels[:, None] == 0, [0.8, -0.8], [-0.8, 0.8])
    return (centres + 0.05 * rng.standard_normal((n, 2))).astype("float32"), labels


def test_acgan_auxiliary_head_learns_to_classify_real_data():
    keras.utils.set_random_seed(0)
    gan = GAN(point_generator(), point_acgan_discriminator(), latent_dim=LATENT, num_classes=2,
              conditioning="acgan")
    gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-3))
    points, labels = labeled_points(4096)
    ds = tf.data.Dataset.from_tensor_slices({"image": points, "label": labels})
    history = gan.fit(ds.repeat().batch(64), steps_per_epoch=100, epochs=2, verbose=0).history
    assert history["aux_accuracy"][-1] > 0.95
    test_points, test_labels = labeled_points(500, seed=1)
    _, class_logits = gan.discriminator(test_points)
    assert (np.argmax(class_logits.numpy(), axis=-1) == test_labels).mean() > 0.95


def test_generate_needs_labels_exactly_when_conditional():
    gan = make_gan("projection")
    z = gan.sample_latents(4)
    with pytest.raises(ValueError, match="class-conditional.*pass labels"):
        gan.generate(z)
    assert gan.generate(z, [0, 1, 2, 0]).shape == (4, 8, 8, 1)
    assert gan.conditional and gan.num_classes == CLASSES

    plain = make_gan("none")
    assert not plain.conditional and plain.num_classes == 0
    with pytest.raises(ValueError, match="unconditional: it takes no labels"):
        plain.generate(z, tf.constant([0, 1, 2, 0]))
    assert plain.generate(z).shape == (4, 8, 8, 1)


def test_generate_and_call_sample_from_the_ema_generator():
    gan = make_gan("concat", ema_decay=0.5)
    gan.train_step(image_batch(8))
    z, labels = gan.sample_latents(4), tf.constant([2, 1, 0, 2])
    expected = gan.ema_generator([z, labels], training=False).numpy()
    np.testing.assert_allclose(gan.generate(z, labels).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(gan((z, labels)).numpy(), expected, rtol=1e-6)
    assert not np.allclose(gan.generator([z, labels], training=False).numpy(), expected)


def test_sample_labels_are_uniform_class_ids():
    gan = make_gan("acgan")
    labels = gan.sample_labels(3000).numpy()
    assert labels.dtype == np.int32 and labels.shape == (3000,)
    assert np.bincount(labels, minlength=CLASSES).tolist() == pytest.approx([1000] * CLASSES,
                                                                            rel=0.1)
    with pytest.raises(ValueError, match="unconditional"):
        make_gan("none").sample_labels(4)


@pytest.mark.parametrize("conditioning", ["concat", "projection", "acgan"])
def test_penalties_with_a_conditional_critic_are_finite(conditioning):
    gan = make_gan(conditioning, d_norm="layer", d_steps=2,
                   compile_kwargs=dict(loss="wasserstein", gp_weight=10.0, r1_gamma=1.0))
    logs = gan.train_step(image_batch(16))
    assert float(logs["gp"]) > 0 and float(logs["r1"]) >= 0
    assert all(math.isfinite(float(v)) for v in logs.values())


def test_relativistic_loss_judges_real_data_with_its_labels_in_the_generator_step():
    gan = make_gan("projection", compile_kwargs=dict(loss="relativistic_average"))
    assert all(math.isfinite(float(v)) for v in gan.train_step(image_batch(8)).values())


def test_conditional_gan_trains_under_mirrored_strategy_on_two_devices(two_cpu_strategy):
    with two_cpu_strategy.scope():
        gan = make_gan("acgan", ema_decay=0.9)
    history = gan.fit(image_batches(16), steps_per_epoch=3, epochs=1, verbose=0).history
    assert {"d_aux", "g_aux", "aux_accuracy"} <= set(history)
    assert all(math.isfinite(v[-1]) for v in history.values())
    assert gan.g_optimizer.iterations.numpy() == 3 and gan.d_optimizer.iterations.numpy() == 3
    for w in gan.discriminator.trainable_weights + gan.generator.trainable_weights:
        copies = [v.numpy() for v in w.values]
        np.testing.assert_array_equal(copies[0], copies[1])  # replicas stay in sync
    assert gan.generate(gan.sample_latents(2), [0, 2]).shape == (2, 8, 8, 1)


def test_conditional_gan_restores_from_a_checkpoint(tmp_path):
    gan = make_gan("projection", ema_decay=0.5)
    gan.train_step(image_batch(8))
    path = tf.train.Checkpoint(gan=gan).save(str(tmp_path / "ckpt"))
    restored = make_gan("projection", ema_decay=0.5)
    tf.train.Checkpoint(gan=restored).restore(path).assert_existing_objects_matched()
    z, labels = gan.sample_latents(3), [0, 1, 2]
    np.testing.assert_allclose(restored.generate(z, labels).numpy(),
                               gan.generate(z, labels).numpy(), rtol=1e-6)


def test_bad_conditioning_arguments_are_refused():
    cfg = tiny_config("projection")
    spec = types.SimpleNamespace(channels=1, num_classes=CLASSES)
    g, d = dcgan.build_generator(cfg, spec), dcgan.build_discriminator(cfg, spec)
    with pytest.raises(ValueError, match="conditioning='film'; valid: none, concat"):
        GAN(g, d, latent_dim=LATENT, num_classes=CLASSES, conditioning="film")
    with pytest.raises(ValueError, match="needs num_classes >= 2, got 0"):
        GAN(g, d, latent_dim=LATENT, conditioning="projection")
    # Networks built for a conditional config in an unconditional GAN (or the reverse).
    with pytest.raises(ValueError, match="generator has 2 inputs but conditioning='none' needs 1"):
        GAN(g, d, latent_dim=LATENT)
    # A projection D (one output) where ACGAN needs logits and class logits.
    with pytest.raises(ValueError, match="discriminator has 1 outputs but conditioning='acgan' "
                                         "needs 2 or 3"):
        GAN(g, d, latent_dim=LATENT, num_classes=CLASSES, conditioning="acgan")
    acgan_d = dcgan.build_discriminator(tiny_config("acgan"), spec)
    with pytest.raises(ValueError, match="discriminator has 2 outputs but conditioning='none'"):
        GAN(dcgan.build_generator(tiny_config("none"), spec), acgan_d, latent_dim=LATENT)


def test_conditional_batches_need_labels():
    gan = make_gan("concat")
    with pytest.raises(ValueError, match="has no 'label'"):
        gan.train_step({"image": image_batch(8)["image"]})
