"""The adversarial training engine: a Keras model that owns a generator and a discriminator.

`GAN.fit(dataset)` runs the alternating updates in `train_step`: `d_steps` discriminator
updates, each on its own slice of the real batch, then one generator update, then the EMA of
the generator's weights. Because it is an ordinary `keras.Model` trained through `fit()`,
Keras callbacks and `tf.distribute` strategies work unchanged.
"""
import tensorflow as tf
import tf_keras as keras

from tfgan_zoo import losses


class GAN(keras.Model):
    """A generator and a discriminator trained against each other.

    Args:
      generator: Functional model, latents [B, latent_dim] -> samples.
      discriminator: Functional model, samples -> logits [B, 1].
      latent_dim: size of z.
      latent_distribution: "normal" (N(0, 1)) or "uniform" (U[-1, 1]).
      d_steps: discriminator updates per generator update. Each uses 1/d_steps of the real
        batch, so a dataset batch holds `batch_size * d_steps` real examples.
      ema_decay: if > 0, keeps `ema_generator`, an exponential moving average of the
        generator's weights, which `sampler` returns for samples and export.
      seed: seed of the latent sampler (a `tf.random.Generator`: each replica of a
        distribution strategy draws its own stream).
    """

    def __init__(self, generator, discriminator, *, latent_dim, latent_distribution="normal",
                 d_steps=1, ema_decay=0.0, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.latent_distribution = latent_distribution
        self.d_steps = d_steps
        self.ema_decay = ema_decay
        self.ema_generator = None
        if ema_decay > 0:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_generator.trainable = False
        self.latent_rng = tf.random.Generator.from_seed(seed)

    def compile(self, d_optimizer, g_optimizer, *, loss="non_saturating", label_smoothing=0.0,
                gp_weight=0.0, r1_gamma=0.0, weight_clip=0.0, **kwargs):
        """One optimizer per network; the loss by name (see `losses.LOSSES`).

        gp_weight: WGAN-GP penalty weight (lambda); r1_gamma: R1 penalty gamma; weight_clip:
        WGAN weight clipping of the discriminator after each of its updates. 0 turns each off.
        """
        super().compile(**kwargs)
        self.loss_fn = losses.get_loss(loss)
        if label_smoothing and not self.loss_fn.accepts_label_smoothing:
            raise ValueError(f"label_smoothing does not apply to the {loss!r} loss")
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.label_smoothing = label_smoothing
        self.gp_weight = gp_weight
        self.r1_gamma = r1_gamma
        self.weight_clip = weight_clip
        # Built now, not at the first step, so a checkpoint restores their slots at once.
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name, on in [("d_loss", True), ("g_loss", True), ("gp", gp_weight > 0),
                             ("r1", r1_gamma > 0), ("real_logit", True), ("fake_logit", True)]
            if on
        }

    @property
    def metrics(self):
        # Listed here so that Keras resets them at each epoch.
        return list(self.trackers.values())

    @property
    def sampler(self):
        """The generator to sample and export from: the EMA copy when there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def sample_latents(self, n):
        """Fresh latents [n, latent_dim] from the model's random stream (training)."""
        shape = (n, self.latent_dim)
        if self.latent_distribution == "uniform":
            return self.latent_rng.uniform(shape, -1.0, 1.0)
        return self.latent_rng.normal(shape)

    def call(self, z, training=False):
        return self.sampler(z, training=training)

    def train_step(self, batch):
        real = batch["image"] if isinstance(batch, dict) else batch
        real_slices = tf.split(real, self.d_steps)
        for real_slice in real_slices:
            self._discriminator_step(real_slice)
        self._generator_step(real_slices[-1])
        if self.ema_generator is not None:
            self._update_ema()
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def _critic(self, x):
        return self.discriminator(x, training=True)

    def _discriminator_step(self, real):
        fake = self.generator(self.sample_latents(tf.shape(real)[0]), training=True)
        with tf.GradientTape() as tape:
            real_logits = self._critic(real)
            fake_logits = self._critic(fake)
            loss = self.loss_fn.d_loss(real_logits, fake_logits,
                                       label_smoothing=self.label_smoothing)
            total = loss
            if self.gp_weight > 0:
                gp = losses.gradient_penalty(self._critic, real, fake)
                total += self.gp_weight * gp
                self.trackers["gp"].update_state(gp)
            if self.r1_gamma > 0:
                r1 = losses.r1_penalty(self._critic, real)
                total += self.r1_gamma * r1
                self.trackers["r1"].update_state(r1)
            total = _per_replica(total)
        self._apply(tape, total, self.discriminator, self.d_optimizer)
        if self.weight_clip > 0:
            losses.clip_weights(self.discriminator.trainable_variables, self.weight_clip)
        self.trackers["d_loss"].update_state(loss)
        self.trackers["real_logit"].update_state(tf.reduce_mean(real_logits))
        self.trackers["fake_logit"].update_state(tf.reduce_mean(fake_logits))

    def _generator_step(self, real):
        z = self.sample_latents(tf.shape(real)[0])
        with tf.GradientTape() as tape:
            fake_logits = self._critic(self.generator(z, training=True))
            real_logits = self._critic(real) if self.loss_fn.g_uses_real else None
            loss = self.loss_fn.g_loss(real_logits, fake_logits)
            scaled = _per_replica(loss)
        self._apply(tape, scaled, self.generator, self.g_optimizer)
        self.trackers["g_loss"].update_state(loss)

    def _apply(self, tape, loss, network, optimizer):
        # Gradient clipping (global_clipnorm/clipvalue on the optimizer) runs after the optimizer
        # has summed the replicas' gradients, so it clips the whole global batch's gradient.
        variables = network.trainable_variables
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables, strict=True))

    def _update_ema(self):
        # Paired layer by layer: `ema_generator` is frozen, so its model-level weight lists are
        # ordered differently from the generator's.
        pairs = [(e, w) for ema_layer, layer in zip(self.ema_generator.layers,
                                                     self.generator.layers, strict=True)
                 for e, w in zip(ema_layer.weights, layer.weights, strict=True)]
        decay = self.ema_decay
        trained = [(e, w) for e, w in pairs if w.trainable]
        _update_in_sync([e for e, _ in trained],
                        lambda e, w: e.assign(decay * e + (1.0 - decay) * w),
                        [w for _, w in trained])
        # Batch-norm statistics are not trained by gradients: the EMA copy takes them as they are.
        others = [(e, w) for e, w in pairs if not w.trainable]
        _update_in_sync([e for e, _ in others], lambda e, w: e.assign(w), [w for _, w in others])


def _per_replica(loss):
    """Optimizers sum gradients over replicas: scale each replica's mean loss so that the sum
    is the global-batch mean. Must run inside the gradient tape."""
    return loss / tf.distribute.get_strategy().num_replicas_in_sync


def _update_in_sync(targets, fn, sources=None):
    """Runs `fn(target[, source])` on every target variable, from a replica context.

    Mirrored variables refuse a plain `assign` inside a replica, so the update goes through
    `merge_call`, as optimizers do; with no strategy this is an ordinary assign.
    """
    def merge(strategy):
        for i, target in enumerate(targets):
            args = (sources[i],) if sources is not None else ()
            strategy.extended.update(target, fn, args=args, group=False)

    tf.distribute.get_replica_context().merge_call(merge)


def stateless_latents(n, latent_dim, distribution="normal", seed=0):
    """Latents [n, latent_dim] that depend only on `seed`: the same grid every time."""
    shape, seed = (n, latent_dim), tf.constant([seed, 0], tf.int64)
    if distribution == "uniform":
        return tf.random.stateless_uniform(shape, seed, -1.0, 1.0)
    return tf.random.stateless_normal(shape, seed)
