"""The hand-written loop the zoo is measured against: `HandLoop`, the zoo's GAN algorithm as a
plain `tf.function` step on fresh copies of the networks, with no finite checks, trackers or
callbacks; a step from the same weights on the same batch ends with the engine's weights, bit
for bit (tests/test_benchmark.py checks it)."""
import tfgan_zoo  # noqa: F401  # isort: skip  (must precede TensorFlow)
import tensorflow as tf
import tf_keras as keras

from tfgan_zoo import losses, models, self_conditioning, spectral_norm
from tfgan_zoo.engine import training, updates
from tfgan_zoo.engine.gan import interleaved_split
from tfgan_zoo.models._conditioning import conditioning


class HandLoop:
    """The zoo's GAN algorithm as a plain `tf.function` step (`step(batch) -> {"d_loss",
    "g_loss"}`), written without the engine.

    Fresh networks of `config`, built under the current precision policy and started from
    `weights` (generator weights, discriminator weights); the config's loss, penalties and
    weight clipping from `tfgan_zoo.losses`; Adam from `training.make_optimizer` (in a
    LossScaleOptimizer under mixed_float16, as float16 needs); each of the d_steps critic
    updates on its own slice of the batch, then one generator update, then the EMA of the
    generator with the engine's warm-up; scheduled values (RelGAN's beta) set at every step.
    Latents and labels come from a `tf.random.Generator` seeded with config.train.seed, drawn
    in the engine's order; other random ops (dropout, phase shuffle, the gradient penalty's
    interpolation) take their seeds from TensorFlow's global seed in the order a function
    creates them, which is the engine's order too. So after `tf.keras.utils.set_random_seed`,
    a step from the same weights on the same batch ends with the engine's weights, bit for bit.

    guarded: apply every update through the engine's `updates.apply_if_finite` instead (to
    measure what that costs).
    centres: a self-conditioned config's cluster centres [K, F] (the engine GAN's
    `clusters.centres`): real samples are judged with the nearest one's cluster, fakes with the
    one G read off their latents.
    """

    def __init__(self, config, spec, weights, guarded=False, centres=None):
        family = models.get_family(config.model_name)
        self.generator = family.build_generator(config.model, spec)
        self.discriminator = family.build_discriminator(config.model, spec)
        self.generator.set_weights(weights[0])
        self.discriminator.set_weights(weights[1])
        self.feature = models.kind_of(family).feature
        to_critic = getattr(family, "discriminator_input", None)
        self.to_critic = to_critic(config.model, spec) if to_critic else (lambda real: real)
        self.prior = family.latent_prior(config.model, spec)
        self.conditioning = conditioning(config.model)
        self.num_classes = spec.num_classes
        self.centroids = self.latent_cluster = None
        if centres is not None:
            self.centroids = self_conditioning.Centroids(
                *centres.shape, models.kind_of(family).cluster_features(spec)
                or self_conditioning.flattened)
            self.centroids.centres.assign(centres)
            self.latent_cluster = self_conditioning.latent_cluster_of(self.generator)
        self.gan = config.gan
        self.loss = losses.get_loss(config.gan.loss)
        self.d_optimizer = _optimizer(config.optimizer.d, self.discriminator)
        self.g_optimizer = _optimizer(config.optimizer.g, self.generator)
        self.guarded = guarded
        self.rng = tf.random.Generator.from_seed(config.train.seed)
        self.steps_done = tf.Variable(0, dtype=tf.int64, trainable=False)
        schedules = getattr(family, "schedules", None)
        self.schedules = schedules(config.model, config.train.num_steps) if schedules else {}
        self.scheduled = {name: tf.Variable(0.0, trainable=False) for name in self.schedules}
        for layer in self.generator.submodules:
            if hasattr(layer, "bind_schedule"):
                layer.bind_schedule(self.scheduled)
        self.ema = None
        if config.gan.ema_decay > 0:
            self.ema = keras.models.clone_model(self.generator)
            self.ema.set_weights(self.generator.get_weights())
            pairs = [(e, w) for ema_layer, layer in zip(self.ema.layers, self.generator.layers,
                                                        strict=True)
                     for e, w in zip(ema_layer.weights, layer.weights, strict=True)]
            self.ema_trained = [(e, w) for e, w in pairs if w.trainable]
            self.ema_copied = [(e, w) for e, w in pairs if not w.trainable]
        self.step = tf.function(self._step)

    @property
    def conditional(self):
        return self.conditioning != "none"

    def state_variables(self):
        """Everything the loop keeps between steps: networks, EMA copy, optimizer slots."""
        networks = [self.generator, self.discriminator] + ([self.ema] if self.ema else [])
        return ([v for n in networks for v in n.weights] + self.d_optimizer.variables
                + self.g_optimizer.variables)

    def _step(self, batch):
        for name, schedule in self.schedules.items():
            self.scheduled[name].assign(tf.cast(schedule(self.steps_done), tf.float32))
        # The engine's slicing, so that the critic updates see the same examples.
        reals = interleaved_split(self.to_critic(batch[self.feature]), self.gan.d_steps)
        labels = [None] * self.gan.d_steps
        if self.conditional:
            labels = interleaved_split(tf.cast(batch["label"], tf.int32), self.gan.d_steps)
        if self.centroids is not None:
            labels = interleaved_split(self.centroids.of_samples(batch[self.feature]),
                                       self.gan.d_steps)
        for real, real_labels in zip(reals, labels, strict=True):
            d_loss = self._discriminator_step(real, real_labels)
        g_loss = self._generator_step(reals[-1], labels[-1])
        self.steps_done.assign_add(1)
        if self.ema is not None:
            self._update_ema()
        return {"d_loss": d_loss, "g_loss": g_loss}

    def _fake(self, n, paired=False):
        """Fakes from G in training mode, their labels and latents: labels drawn first. With
        `paired`, the second half asks for the first half's labels or clusters."""
        labels = (self.rng.uniform((n,), 0, self.num_classes, dtype=tf.int32)
                  if self.conditional else None)
        z = self.prior.sample(self.rng, n)
        if paired:
            half = n // 2
            if labels is not None:
                labels = tf.concat([labels[:half], labels[:half], labels[2 * half:]], axis=0)
            if self.latent_cluster is not None:
                z = tf.concat([tf.concat([z[:half, :1], z[:half, :1], z[2 * half:, :1]], 0),
                               z[:, 1:]], axis=1)
        fake = self._draw(z, labels)
        if self.latent_cluster is not None:
            labels = self.latent_cluster(z)
        return fake, labels, z

    def _draw(self, z, labels):
        return self.generator([z, labels] if self.conditional else z, training=True)

    def _critic(self, x, labels):
        """D in training mode -> (logits, class logits or None, twin logits or None)."""
        takes_labels = len(self.discriminator.inputs) == 2
        outputs = self.discriminator([x, labels] if takes_labels else x, training=True)
        if self.conditioning != "acgan":
            return outputs, None, None
        return outputs[0], outputs[1], outputs[2] if len(outputs) == 3 else None

    def _discriminator_step(self, real, real_labels):
        fake, fake_labels, _ = self._fake(tf.shape(real)[0])
        spectral_norm.power_iteration(self.discriminator)
        statistics_now = updates.snapshot(self.discriminator) if self.guarded else []

        def critic(x):
            return self._critic(x, real_labels)[0]

        with tf.GradientTape() as tape:
            real_logits, real_classes, _ = self._critic(real, real_labels)
            fake_logits, fake_classes, fake_twins = self._critic(fake, fake_labels)
            loss = self.loss.d_loss(real_logits, fake_logits,
                                    label_smoothing=self.gan.label_smoothing)
            total = loss
            # Under float16 the penalties' own input gradients are taken at the loss scale too.
            scale = updates.loss_scale(self.d_optimizer)
            if self.gan.gp_weight > 0:
                total += self.gan.gp_weight * losses.gradient_penalty(critic, real, fake,
                                                                      loss_scale=scale)
            if self.gan.r1_gamma > 0:
                total += self.gan.r1_gamma * losses.r1_penalty(critic, real, loss_scale=scale)
            if self.conditioning == "acgan":
                aux = losses.class_loss(real_labels, real_classes)
                if self.gan.get("aux_fake", True):
                    aux += losses.class_loss(fake_labels, fake_classes)
                if fake_twins is not None:  # TAC-GAN's twin learns the fakes
                    aux += losses.class_loss(fake_labels, fake_twins)
                total += self.gan.aux_weight * aux
            total = self._scaled(total, self.d_optimizer)
        self._apply(tape, total, self.discriminator, self.d_optimizer, statistics_now)
        if self.gan.weight_clip > 0:
            losses.clip_weights(self.discriminator.trainable_variables, self.gan.weight_clip)
        return loss

    def _generator_step(self, real, real_labels):
        statistics_now = updates.snapshot(self.generator) if self.guarded else []
        with tf.GradientTape() as tape:
            seeking = self.gan.get("mode_seeking", 0.0)
            halves = self.gan.get("mode_seeking_pairs", "second_batch") == "batch_halves"
            fake, fake_labels, z = self._fake(tf.shape(real)[0], paired=seeking > 0 and halves)
            fake_logits, fake_classes, fake_twins = self._critic(fake, fake_labels)
            real_logits = (self._critic(real, real_labels)[0] if self.loss.g_uses_real
                           else None)
            loss = self.loss.g_loss(real_logits, fake_logits)
            total = loss
            if self.conditioning == "acgan":
                g_weight = self.gan.get("g_aux_weight")
                g_weight = self.gan.aux_weight if g_weight is None else g_weight
                aux = losses.class_loss(fake_labels, fake_classes)
                if fake_twins is not None:
                    aux -= losses.class_loss(fake_labels, fake_twins)
                total += g_weight * aux
            if seeking > 0:  # MSGAN: same labels, other latents
                if halves:
                    half = tf.shape(z)[0] // 2
                    fake, other = fake[:half], fake[half:2 * half]
                    z, z2 = z[:half], z[half:2 * half]
                else:
                    z2 = self.prior.sample(self.rng, tf.shape(z)[0])
                    if self.latent_cluster is not None:  # the same clusters
                        z2 = tf.concat([z[:, :1], z2[:, 1:]], axis=1)
                    other = self._draw(z2, fake_labels)
                spread = tf.reduce_mean(tf.abs(fake - other)) / tf.reduce_mean(tf.abs(z - z2))
                total += seeking / (spread + 1e-5)
            total = self._scaled(total, self.g_optimizer)
        self._apply(tape, total, self.generator, self.g_optimizer, statistics_now)
        return loss

    def _scaled(self, loss, optimizer):
        """The loss a float16 step differentiates, scaled so small gradients survive (the
        engine's `apply_if_finite` scales its own)."""
        if self.guarded or not isinstance(optimizer, keras.mixed_precision.LossScaleOptimizer):
            return loss
        return optimizer.get_scaled_loss(loss)

    def _apply(self, tape, loss, network, optimizer, statistics_now):
        variables = network.trainable_variables
        if self.guarded:
            updates.apply_if_finite(tape, loss, variables, optimizer, statistics_now,
                                    on_skip=lambda _: None, update=self.steps_done + 1,
                                    on_overflow=lambda: None)
            return
        grads = tape.gradient(loss, variables)
        if isinstance(optimizer, keras.mixed_precision.LossScaleOptimizer):
            grads = optimizer.get_unscaled_gradients(grads)
        optimizer.apply_gradients(
            [(g, v) for g, v in zip(grads, variables, strict=True) if g is not None])

    def _update_ema(self):
        t = tf.cast(self.steps_done, tf.float32)
        decay = tf.minimum(self.gan.ema_decay, (1.0 + t) / (10.0 + t))
        for e, w in self.ema_trained:
            e.assign(decay * e + (1.0 - decay) * w)
        for e, w in self.ema_copied:  # batch-norm statistics are copied, as the engine does
            e.assign(w)


def _optimizer(section, network):
    """Adam of a config section, built for `network`; wrapped for loss scaling under float16,
    as the engine wraps its own (`updates.loss_scaled`)."""
    optimizer = training.make_optimizer(section)
    optimizer.build(network.trainable_variables)
    return updates.loss_scaled(optimizer)
