"""The adversarial training engine: a Keras model that owns a generator and a discriminator.

`GAN.fit(dataset)` runs the alternating updates in `train_step`: `d_steps` discriminator
updates, each on its own slice of the real batch (rows k, k + d_steps, ...), then one generator
update, then the EMA of the generator's weights. Because it is an ordinary `keras.Model`
trained through `fit()`, Keras callbacks and `tf.distribute` strategies work unchanged.

Nothing here depends on the kind of sample. A batch is {feature: real samples, "label": class
ids}; `discriminator_input` turns real samples into what D takes (text: token ids -> one-hot);
a family with a pre-training phase supplies `pretrain_loss`, run by `train_step` while
`phase` is "pretrain"; `schedules` are values set at every adversarial step from the run's own
step counter (`progress`, see tfgan_zoo.engine.progress), which EMA warm-up and the pruning
schedule read too.

Class-conditional GANs (`conditioning` other than "none") train on the batch's labels: real
examples are judged with their own labels, fakes are drawn for uniformly sampled labels. ACGAN's
discriminator also classifies, and both networks add `aux_weight` times its cross-entropy.
A self-conditioned GAN (`clusters`) has an unconditional G whose D judges every sample with its
cluster: a real one's nearest centre, a fake's the cluster G read off its latents.

The module runs to about 450 lines because the train step is one piece: its phases, the critic
and generator updates, penalties, loss scales and EMA all read the same GAN state.
"""
import tensorflow as tf
import tf_keras as keras

from tfgan_zoo import latents, losses, self_conditioning, spectral_norm
from tfgan_zoo.config import MODE_SEEKING_PAIRS
from tfgan_zoo.engine import updates
from tfgan_zoo.engine.progress import ADVERSARIAL, PHASES, PRETRAIN, Progress

CONDITIONINGS = ("none", "concat", "projection", "acgan")
# Keeps the mode-seeking term finite when two batches of samples coincide (MSGAN's value).
MODE_SEEKING_EPSILON = 1e-5


class GAN(keras.Model):
    """A generator and a discriminator trained against each other.

    Args:
      generator: Functional model, latents [B, latent_dim] -> samples; conditional models take
        [latents, labels int32 [B]].
      discriminator: Functional model, samples -> logits [B, 1]; "concat" and "projection" take
        [samples, labels], "acgan" returns [logits [B, 1], class logits [B, num_classes]],
        and TAC-GAN's (an "acgan" D with a twin classifier) also [twin logits [B, num_classes]].
        An "acgan" D may also take [samples, labels] (a projection term in its logits).
      latent_dim: size of z.
      latent_distribution: "normal" (N(0, 1)) or "uniform" (U[-1, 1]).
      d_steps: discriminator updates per generator update. Each uses 1/d_steps of the real
        batch, so a dataset batch holds `batch_size * d_steps` real examples.
      ema_decay: if > 0, keeps `ema_generator`, an exponential moving average of the
        generator's weights, which `sampler` returns for samples and export. The decay used at
        generator update t is min(ema_decay, (1 + t) / (10 + t)), so early copies are not
        dominated by the random initial weights.
      seed: seed of the latent sampler (a `tf.random.Generator`: each replica of a
        distribution strategy draws its own stream).
      num_classes: number of classes of a conditional model (at least 2); ignored (the
        attribute is 0) when `conditioning` is "none".
      conditioning: "none", "concat", "projection" or "acgan" (see `tfgan_zoo.models.dcgan`).
      feature: the key of the real samples in a batch dict; None takes the one key that is
        not "label".
      discriminator_input: fn(real) -> D's input for real samples; None passes them as they
        are. Fakes are G's output, already in D's input space.
      pretrain_loss: fn(generator, real, labels) -> scalar, the loss of the pre-training
        phase (see `set_phase`); None if the family has none.
      schedules: {name: fn(step int64 tensor) -> float}: values kept in
        `progress.scheduled[name]`, set at the start of every adversarial step.
      progress: the run's `Progress` (counters and scheduled values); a new one if None.
        Create both in the distribution strategy's scope.
      clusters: `self_conditioning.Centroids` of a self-conditioned GAN (its G built with a
        `LatentCluster` layer, its D taking [samples, cluster ids]); None otherwise.
      augment: fn(samples) -> samples applied to everything D sees in training, real and
        generated, with its `tf.random.Generator` as `augment.rng` (`tfgan_zoo.augment`);
        None for no augmentation.
    """

    def __init__(self, generator, discriminator, *, latent_dim, latent_distribution="normal",
                 d_steps=1, ema_decay=0.0, seed=0, num_classes=0, conditioning="none",
                 feature=None, discriminator_input=None, pretrain_loss=None, schedules=None,
                 progress=None, augment=None, clusters=None, **kwargs):
        super().__init__(**kwargs)
        if conditioning not in CONDITIONINGS:
            raise ValueError(f"conditioning={conditioning!r}; valid: {', '.join(CONDITIONINGS)}")
        if conditioning != "none" and num_classes < 2:
            raise ValueError(f"conditioning={conditioning!r} needs num_classes >= 2, "
                             f"got {num_classes}")
        self.num_classes = num_classes if conditioning != "none" else 0
        self.conditioning = conditioning
        _check_arity(generator, "generator", conditioning, "inputs",
                     2 if self.conditional else 1)
        # Self-conditioning: the clusters' centres, which real samples are assigned to; G reads
        # the cluster of a fake off its latents (see tfgan_zoo/self_conditioning.py).
        self.clusters = clusters
        latent_cluster = None
        if clusters is not None:
            if self.conditional:
                raise ValueError("clusters replace class labels: pass conditioning='none'")
            latent_cluster = self_conditioning.latent_cluster_of(generator)
            if latent_cluster is None:
                raise ValueError("a self-conditioned GAN's generator reads the cluster off its "
                                 "latents: build it with config.model.clusters set")
        object.__setattr__(self, "_latent_cluster", latent_cluster)  # G's layer, not tracked twice
        # An ACGAN D that also projects the label (config.model.label_projection) takes it.
        self._acgan_takes_labels = (conditioning == "acgan"
                                    and len(getattr(discriminator, "inputs", None) or ()) == 2)
        _check_arity(discriminator, "discriminator", conditioning, "inputs",
                     (1, 2) if conditioning == "acgan" else 2 if self._d_takes_labels else 1)
        _check_arity(discriminator, "discriminator", conditioning, "outputs",
                     (2, 3) if conditioning == "acgan" else (1,))
        # TAC-GAN (Gong et al. 2019): the twin classifier is D's third output.
        self.twin = (conditioning == "acgan"
                     and len(getattr(discriminator, "outputs", None) or ()) == 3)
        self.generator = generator
        self.discriminator = discriminator
        self.prior = latents.Prior(latent_dim, latent_distribution)
        self.latent_dim = latent_dim
        self.latent_distribution = latent_distribution
        self.feature = feature
        self.discriminator_input = discriminator_input or (lambda real: real)
        self.pretrain_loss = pretrain_loss
        self.schedules = dict(schedules or {})
        # Set without Keras' attribute tracking: the checkpoint holds `progress` beside the GAN,
        # so that checkpoints written before it existed still restore the GAN.
        object.__setattr__(self, "progress", progress or Progress(tuple(self.schedules)))
        self.phase = ADVERSARIAL
        self.d_steps = d_steps
        self.ema_decay = ema_decay
        self.ema_generator = None
        if ema_decay > 0:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_generator.trainable = False
        self.latent_rng = tf.random.Generator.from_seed(seed)
        self.augment = augment
        if augment is not None:
            self.augment_rng = augment.rng  # tracked: a resumed run continues its draws
        # Scheduled values start at their step's value (a restored checkpoint then brings back
        # its own), so a generator sampled before the first step sees a real temperature.
        self._set_schedules()
        for network in (generator, self.ema_generator):
            _bind_schedules(network, self.progress.scheduled)

    def compile(self, d_optimizer, g_optimizer, *, loss="non_saturating", label_smoothing=0.0,
                gp_weight=0.0, r1_gamma=0.0, weight_clip=0.0, aux_weight=1.0,
                aux_fake=True, g_aux_weight=None, mode_seeking=0.0,
                mode_seeking_pairs="second_batch", pretrain_optimizer=None, **kwargs):
        """One optimizer per network; the loss by name (see `losses.LOSSES`).

        pretrain_optimizer: the generator's optimizer in the pre-training phase (its own, so
        that its moments and learning rate do not carry into the adversarial phase).

        Where the global Keras policy computes in float16 (mixed_float16), each optimizer is
        wrapped in a dynamic `keras.mixed_precision.LossScaleOptimizer`, and `train_step` also
        returns each one's loss scale (`d_loss_scale`, `g_loss_scale`, `pretrain_loss_scale`)
        and the updates skipped because it overflowed (`overflows`).

        gp_weight: WGAN-GP penalty weight (lambda); r1_gamma: R1 penalty gamma; weight_clip:
        WGAN weight clipping of the discriminator after each of its updates. 0 turns each off.
        ACGAN only: aux_weight, the weight of D's auxiliary classification loss (>= 0);
        aux_fake, whether D's class head also learns from generated images (Odena et al.) or
        from real ones alone; g_aux_weight, the weight of G's (None: aux_weight). With a twin
        classifier (TAC-GAN), D's loss adds the twin's cross-entropy on generated images and
        G's class term is the classifier's cross-entropy minus the twin's; aux_fake must then
        be False (the classifier learns real images, the twin generated ones).
        mode_seeking: weight of MSGAN's mode-seeking term in G's loss (0: off).
        mode_seeking_pairs: which samples the term compares. "second_batch": G's batch with a
        second batch of other latents for the same labels, which costs a second generator pass
        per G update. "batch_halves": the first half of G's batch with its second half, drawn
        for the same labels; no extra pass.
        """
        super().compile(**kwargs)
        # Under a float16 policy each optimizer scales its network's loss (see
        # updates.loss_scaled); the wrapper is what is checkpointed, under the optimizer's name.
        d_optimizer, g_optimizer, pretrain_optimizer = (
            updates.loss_scaled(o) for o in (d_optimizer, g_optimizer, pretrain_optimizer))
        self.loss_fn = losses.get_loss(loss)
        if label_smoothing and not self.loss_fn.accepts_label_smoothing:
            raise ValueError(f"label_smoothing does not apply to the {loss!r} loss")
        g_aux_weight = aux_weight if g_aux_weight is None else g_aux_weight
        if min(aux_weight, g_aux_weight) < 0:
            raise ValueError(f"aux_weight and g_aux_weight must be >= 0, got {aux_weight}, "
                             f"{g_aux_weight}")
        if self.twin and aux_fake:
            raise ValueError("a twin classifier (TAC-GAN) learns the generated images; D's "
                             "class head must learn real ones alone: pass aux_fake=False")
        self.aux_weight, self.aux_fake, self.g_aux_weight = aux_weight, aux_fake, g_aux_weight
        if mode_seeking < 0:
            raise ValueError(f"mode_seeking must be >= 0, got {mode_seeking}")
        if mode_seeking_pairs not in MODE_SEEKING_PAIRS:
            raise ValueError(f"mode_seeking_pairs={mode_seeking_pairs!r}; valid: "
                             f"{', '.join(MODE_SEEKING_PAIRS)}")
        self.mode_seeking = mode_seeking
        self.mode_seeking_pairs = mode_seeking_pairs
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.label_smoothing = label_smoothing
        self.gp_weight = gp_weight
        self.r1_gamma = r1_gamma
        self.weight_clip = weight_clip
        # Built now, not at the first step, so a checkpoint restores their slots at once.
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)
        self.pretrain_optimizer = pretrain_optimizer
        self.pretrain_tracker = None
        if pretrain_optimizer is not None:
            pretrain_optimizer.build(self.generator.trainable_variables)
            # Only where there is a pre-training phase: a tracker is checkpointed, and
            # checkpoints of GANs without one must keep restoring.
            self.pretrain_tracker = keras.metrics.Mean(name="pretrain_loss")
        acgan = self.conditioning == "acgan"
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name, on in [("d_loss", True), ("g_loss", True), ("gp", gp_weight > 0),
                             ("r1", r1_gamma > 0), ("real_logit", True), ("fake_logit", True),
                             ("d_aux", acgan), ("g_aux", acgan), ("aux_accuracy", acgan),
                             ("d_twin", self.twin), ("mode_seeking", mode_seeking > 0)]
            if on
        }

    @property
    def metrics(self):
        # Listed here so that Keras resets them at each epoch.
        extra = [self.pretrain_tracker] if self.pretrain_tracker is not None else []
        return [*self.trackers.values(), *extra]

    def set_phase(self, phase):
        """Switches `train_step` between "pretrain" and "adversarial"; the next `fit()` traces
        the new step."""
        if phase not in PHASES:
            raise ValueError(f"phase {phase!r}; valid: {', '.join(PHASES)}")
        if phase == PRETRAIN and (self.pretrain_loss is None or self.pretrain_optimizer is None):
            raise ValueError("a pre-training phase needs pretrain_loss (from the family) and "
                             "compile(pretrain_optimizer=...)")
        self.phase = phase
        self.train_function = None  # Keras caches the traced step: make it trace again

    @property
    def sampler(self):
        """The generator to sample and export from: the EMA copy when there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def sample_latents(self, n):
        """Fresh latents [n, latent_dim] from the model's random stream (training)."""
        return self.prior.sample(self.latent_rng, n)

    @property
    def conditional(self):
        """Whether the networks take class labels."""
        return self.conditioning != "none"

    @property
    def _d_takes_labels(self):
        """Whether D takes [samples, class or cluster ids]."""
        return (self.conditioning in ("concat", "projection") or self.clusters is not None
                or self._acgan_takes_labels)

    def sample_labels(self, n):
        """Uniformly random class ids int32 [n] from the model's random stream (training)."""
        if not self.conditional:
            raise ValueError("sample_labels: this GAN is unconditional and has no classes")
        return self.latent_rng.uniform((n,), 0, self.num_classes, dtype=tf.int32)

    def generate(self, z, labels=None, training=False):
        """Samples from `sampler` (the EMA generator when there is one) for latents z
        [B, latent_dim]; a conditional model needs `labels`, class ids int [B] in
        [0, num_classes), and an unconditional one takes none. Returns G's output, e.g. images
        [B, H, W, C] in [-1, 1]."""
        return self._run_generator(self.sampler, z, labels, training)

    def call(self, inputs, training=False):
        """`inputs`: z, or (z, labels) for a conditional model; see `generate`."""
        if self.conditional and isinstance(inputs, (list, tuple)):
            return self.generate(*inputs, training=training)
        return self.generate(inputs, training=training)

    def _run_generator(self, network, z, labels, training):
        if not self.conditional:
            if labels is not None:
                raise ValueError("this GAN is unconditional: it takes no labels; "
                                 "call generate(z) without them")
            return network(z, training=training)
        if labels is None:
            raise ValueError(f"this GAN is class-conditional (conditioning="
                             f"{self.conditioning!r}): pass labels, class ids int [B] in "
                             f"[0, {self.num_classes}), e.g. from sample_labels(B)")
        return network([z, tf.cast(labels, tf.int32)], training=training)

    def train_step(self, batch):
        real, labels = self._unpack(batch)
        if self.phase == PRETRAIN:
            return self._pretrain_step(real, labels)
        self._set_schedules()
        real_slices = interleaved_split(self.discriminator_input(real), self.d_steps)
        if self.clusters is not None:
            labels = self.clusters.of_samples(real)
        if self.conditional or self.clusters is not None:
            label_slices = interleaved_split(labels, self.d_steps)
        else:
            label_slices = [None] * self.d_steps
        for real_slice, label_slice in zip(real_slices, label_slices, strict=True):
            self._discriminator_step(real_slice, label_slice)
        self._generator_step(real_slices[-1], label_slices[-1])
        # Counted before the EMA, whose warm-up reads it as the updates done so far.
        self.progress.step.assign_add(1)
        if self.ema_generator is not None:
            self._update_ema()
        return {**{name: tracker.result() for name, tracker in self.trackers.items()},
                **updates.read_once({
                    **{name: self.progress.scheduled[name].read_value
                       for name in self.schedules},
                    "skipped_updates": self.progress.nonfinite.read_value,
                    **self._loss_scales(d=self.d_optimizer, g=self.g_optimizer)})}

    def _set_schedules(self):
        """Each scheduled value at the run's current step."""
        for name, schedule in self.schedules.items():
            self.progress.scheduled[name].assign(
                tf.cast(schedule(self.progress.step), tf.float32))

    def _unpack(self, batch):
        """(real samples, class ids int32 or None) of a batch {feature: ..., "label": ...}."""
        if not isinstance(batch, dict):
            if self.conditional:
                raise ValueError("a class-conditional GAN trains on batches {feature: samples, "
                                 "'label': class ids}; this one is a bare tensor")
            return batch, None
        feature = self.feature or _only_feature(batch)
        labels = None
        if self.conditional or self.pretrain_loss is not None:
            if self.conditional and "label" not in batch:
                raise ValueError(f"a class-conditional GAN trains on batches {{{feature!r}: ...,"
                                 " 'label': ...}; this one has no 'label'")
            labels = tf.cast(batch["label"], tf.int32) if "label" in batch else None
        return batch[feature], labels

    def _pretrain_step(self, real, labels):
        """One update of the generator alone on the family's pre-training loss."""
        statistics = updates.snapshot(self.generator)
        with tf.GradientTape() as tape:
            loss = self.pretrain_loss(self.generator, real, labels)
            scaled = updates.per_replica(loss)
        self._apply(tape, scaled, self.generator, self.pretrain_optimizer, statistics)
        self.progress.pretrain_step.assign_add(1)
        if self.ema_generator is not None:
            # The copy follows the pre-trained weights exactly; its warm-up starts with the
            # adversarial phase.
            updates.update_in_sync(self.ema_generator.weights, lambda e, w: e.assign(w),
                            _paired_weights(self.ema_generator, self.generator))
        self.pretrain_tracker.update_state(loss)
        return {"pretrain_loss": self.pretrain_tracker.result(),
                **updates.read_once(self._loss_scales(pretrain=self.pretrain_optimizer))}

    def _loss_scales(self, **optimizers):
        """{<name>_loss_scale: reads its loss scale} for the loss-scaled ones of `optimizers`
        (by name), and {"overflows": reads the updates their overflows skipped}; {} under
        other precisions."""
        scaled = {name: optimizer for name, optimizer in optimizers.items()
                  if isinstance(optimizer, keras.mixed_precision.LossScaleOptimizer)}
        if not scaled:
            return {}
        return {**{f"{name}_loss_scale": lambda o=optimizer: o.loss_scale
                   for name, optimizer in scaled.items()},
                "overflows": self.progress.overflows.read_value}

    def _critic(self, x, labels=None):
        """D in training mode -> (logits [B, 1], class logits [B, num_classes] or None, twin
        logits [B, num_classes] or None), on `x` augmented first when the GAN has an
        augmentation (every sample D is trained on or judges for G, real or generated)."""
        if self.augment is not None:
            x = self.augment(x)
        outputs = self.discriminator([x, labels] if self._d_takes_labels else x, training=True)
        if self.conditioning != "acgan":
            return outputs, None, None
        return outputs[0], outputs[1], outputs[2] if self.twin else None

    def _fake(self, n, with_latents=False, paired=False):
        """n fakes from the trained generator, and their labels (None if unconditional); with
        `with_latents`, their latents too. `paired`: the second half of the batch is drawn for
        the labels (or clusters) of the first (see `_paired_halves`)."""
        labels = self.sample_labels(n) if self.conditional else None
        z = self.sample_latents(n)
        if paired:
            z, labels = self._paired_halves(z, labels)
        fake = self._run_generator(self.generator, z, labels, True)
        if self._latent_cluster is not None:
            labels = self._latent_cluster(z)  # the cluster G was asked for, D's label for it
        return (fake, labels, z) if with_latents else (fake, labels)

    def _paired_halves(self, z, labels):
        """Latents and labels whose second half asks for what the first half does: the same
        class labels, or the same z[:, 0] that a self-conditioned G reads its cluster off. With
        an odd batch the last sample keeps its own."""
        half = tf.shape(z)[0] // 2
        if labels is not None:
            labels = tf.concat([labels[:half], labels[:half], labels[2 * half:]], axis=0)
        if self._latent_cluster is not None:
            read = tf.concat([z[:half, :1], z[:half, :1], z[2 * half:, :1]], axis=0)
            z = tf.concat([read, z[:, 1:]], axis=1)
        return z, labels

    def _mode_seeking(self, fake, labels, z):
        """MSGAN's term (Mao et al. 2019): the mean distance of paired latents over the mean
        distance of their samples, each pair drawn for the same labels. G minimises it, so
        samples must move when z moves: a conditional generator cannot ignore z and draw one
        image a class. Pairs as `mode_seeking_pairs` says (see `compile`)."""
        if self.mode_seeking_pairs == "batch_halves":  # `fake` was drawn with paired=True
            half = tf.shape(z)[0] // 2
            fake, fake2 = fake[:half], fake[half:2 * half]
            z, z2 = z[:half], z[half:2 * half]
        else:
            z2 = self.sample_latents(tf.shape(z)[0])
            if self._latent_cluster is not None:  # the same clusters: keep what G reads them off
                z2 = tf.concat([z[:, :1], z2[:, 1:]], axis=1)
                labels = None  # G's input is z alone
            fake2 = self._run_generator(self.generator, z2, labels, True)
        ratio = tf.reduce_mean(tf.abs(fake - fake2)) / tf.reduce_mean(tf.abs(z - z2))
        return 1.0 / (ratio + MODE_SEEKING_EPSILON)

    def _discriminator_step(self, real, real_labels):
        fake, fake_labels = self._fake(tf.shape(real)[0])
        # Spectral norm's sigma estimates move here only, once per update of D (Miyato et al.'s
        # Algorithm 1), so G's step sees D as it is and leaves it so.
        spectral_norm.power_iteration(self.discriminator)
        statistics = updates.snapshot(self.discriminator)

        # The penalties see D as a function of its input alone. Both take it at real labels: R1
        # is a penalty on real data, and WGAN-GP's interpolates are judged as the real class.
        def critic(x):
            return self._critic(x, real_labels)[0]

        with tf.GradientTape() as tape:
            real_logits, real_class_logits, _ = self._critic(real, real_labels)
            fake_logits, fake_class_logits, fake_twin_logits = self._critic(fake, fake_labels)
            loss = self.loss_fn.d_loss(real_logits, fake_logits,
                                       label_smoothing=self.label_smoothing)
            total = loss
            # The penalties' own gradient of D is taken at the loss scale too (float16).
            scale = updates.loss_scale(self.d_optimizer)
            if self.gp_weight > 0:
                gp = losses.gradient_penalty(critic, real, fake, loss_scale=scale)
                total += self.gp_weight * gp
                self.trackers["gp"].update_state(gp)
            if self.r1_gamma > 0:
                r1 = losses.r1_penalty(critic, real, loss_scale=scale)
                total += self.r1_gamma * r1
                self.trackers["r1"].update_state(r1)
            if self.conditioning == "acgan":
                aux = losses.class_loss(real_labels, real_class_logits)
                if self.aux_fake:
                    aux += losses.class_loss(fake_labels, fake_class_logits)
                if self.twin:
                    twin = losses.class_loss(fake_labels, fake_twin_logits)
                    aux += twin
                    self.trackers["d_twin"].update_state(twin)
                total += self.aux_weight * aux
            total = updates.per_replica(total)
        self._apply(tape, total, self.discriminator, self.d_optimizer, statistics)
        if self.weight_clip > 0:
            losses.clip_weights(self.discriminator.trainable_variables, self.weight_clip)
        self.trackers["d_loss"].update_state(loss)
        self.trackers["real_logit"].update_state(tf.reduce_mean(real_logits))
        self.trackers["fake_logit"].update_state(tf.reduce_mean(fake_logits))
        if self.conditioning == "acgan":
            self.trackers["d_aux"].update_state(aux)
            hits = tf.equal(tf.argmax(real_class_logits, axis=-1, output_type=tf.int32),
                            real_labels)
            self.trackers["aux_accuracy"].update_state(tf.reduce_mean(tf.cast(hits, tf.float32)))

    def _generator_step(self, real, real_labels):
        statistics = updates.snapshot(self.generator)
        with tf.GradientTape() as tape:
            paired = self.mode_seeking > 0 and self.mode_seeking_pairs == "batch_halves"
            fake, fake_labels, z = self._fake(tf.shape(real)[0], with_latents=True,
                                              paired=paired)
            fake_logits, fake_class_logits, fake_twin_logits = self._critic(fake, fake_labels)
            real_logits = (self._critic(real, real_labels)[0] if self.loss_fn.g_uses_real
                           else None)
            loss = self.loss_fn.g_loss(real_logits, fake_logits)
            total = loss
            if self.conditioning == "acgan":
                aux = losses.class_loss(fake_labels, fake_class_logits)
                if self.twin:
                    # TAC-GAN: minus what the twin, which learns G's own samples, finds of the
                    # class. ACGAN's term alone pushes samples to where D's classifier is
                    # surest, away from the class boundary, narrowing each class.
                    aux -= losses.class_loss(fake_labels, fake_twin_logits)
                total += self.g_aux_weight * aux
            if self.mode_seeking > 0:
                seeking = self._mode_seeking(fake, fake_labels, z)
                total += self.mode_seeking * seeking
            scaled = updates.per_replica(total)
        self._apply(tape, scaled, self.generator, self.g_optimizer, statistics)
        self.trackers["g_loss"].update_state(loss)
        if self.conditioning == "acgan":
            self.trackers["g_aux"].update_state(aux)
        if self.mode_seeking > 0:
            self.trackers["mode_seeking"].update_state(seeking)

    def _apply(self, tape, loss, network, optimizer, statistics=()):
        """`network`'s update from `tape`, or none if its gradients are not finite (counted in
        `progress` under the network's name, or as a loss-scale overflow); see
        `updates.apply_if_finite`."""
        role = (2 if self.phase == PRETRAIN else 0 if network is self.discriminator else 1)
        update = self.progress.counter(self.phase) + 1
        updates.apply_if_finite(
            tape, loss, network.trainable_variables, optimizer, statistics,
            on_skip=lambda number: self.progress.record_nonfinite(role, number), update=update,
            on_overflow=self.progress.record_overflow)

    def _update_ema(self):
        pairs = list(zip(self.ema_generator.weights,
                         _paired_weights(self.ema_generator, self.generator), strict=True))
        # Warm-up as in tf.train.ExponentialMovingAverage(num_updates=t): with a fixed 0.999 the
        # copy would still be 37% initial weights after 1,000 steps and sample noise.
        t = tf.cast(self.progress.step, tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + t) / (10.0 + t))
        trained = [(e, w) for e, w in pairs if w.trainable]
        updates.update_in_sync([e for e, _ in trained],
                        lambda e, w: e.assign(decay * e + (1.0 - decay) * w),
                        [w for _, w in trained])
        # Batch-norm statistics are not trained by gradients: the EMA copy takes them as they are.
        others = [(e, w) for e, w in pairs if not w.trainable]
        updates.update_in_sync([e for e, _ in others], lambda e, w: e.assign(w),
                               [w for _, w in others])


def interleaved_split(x, parts):
    """`x`'s rows in `parts` slices, slice k holding rows k, k + parts, k + 2 parts, ...

    A distribution strategy hands each replica a block of the global batch; interleaved
    slices of the blocks together make the same slices as of the whole batch, so the
    discriminator's d_steps updates see the same examples on any number of replicas.
    """
    inner = [tf.shape(x)[i] if size is None else size for i, size in enumerate(x.shape)][1:]
    grouped = tf.reshape(x, [-1, parts, *inner])
    return tf.unstack(grouped, num=parts, axis=1)


def _paired_weights(ema_generator, generator):
    """The generator's weights in the order of `ema_generator.weights`. Paired layer by layer:
    the EMA copy is frozen, so its model-level weight lists are ordered differently."""
    by_ema = {}
    for ema_layer, layer in zip(ema_generator.layers, generator.layers, strict=True):
        for e, w in zip(ema_layer.weights, layer.weights, strict=True):
            by_ema[id(e)] = w
    return [by_ema[id(e)] for e in ema_generator.weights]


def _bind_schedules(network, scheduled):
    """Hands `scheduled` ({name: variable} of the run's Progress) to every layer of `network`
    that reads a scheduled value (text: the Gumbel-softmax's inverse temperature)."""
    if network is None or not scheduled:
        return
    for layer in network.layers:
        if isinstance(layer, keras.Model):
            _bind_schedules(layer, scheduled)
        elif hasattr(layer, "bind_schedule"):
            layer.bind_schedule(scheduled)


def _only_feature(batch):
    keys = [k for k in batch if k != "label"]
    if len(keys) != 1:
        raise ValueError(f"a batch holds samples under one key besides 'label'; this one has "
                         f"{keys}: pass GAN(feature=...)")
    return keys[0]


def _check_arity(network, role, conditioning, kind, expected):
    """A clear error for networks built for another conditioning than the GAN's."""
    tensors = getattr(network, kind, None)  # None for a subclassed network not yet built
    expected = (expected,) if isinstance(expected, int) else expected
    if tensors is not None and len(tensors) not in expected:
        needs = " or ".join(str(n) for n in expected)
        raise ValueError(f"the {role} has {len(tensors)} {kind} but conditioning="
                         f"{conditioning!r} needs {needs}: build both networks and the GAN "
                         "from the same config.model.conditioning")
