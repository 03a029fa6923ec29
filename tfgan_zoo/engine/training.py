"""Training a zoo model from its config: data -> GAN -> `fit()` with callbacks -> run directory.

`train(config, workdir)` is what `python -m tfgan_zoo.train` calls once it has parsed flags. A
run has up to two phases, each resumable: pre-training of the generator alone
(`config.train.pretrain_steps` updates, for families that define `pretrain_loss`), then the
adversarial phase (`config.train.num_steps` updates).
"""
import dataclasses
import hashlib
import shutil
import tempfile
import time

import tensorflow as tf
import tf_keras as keras
from absl import logging

from tfgan_zoo import augment, losses, models, pruning, self_conditioning
from tfgan_zoo import config as config_lib
from tfgan_zoo.engine import callbacks, checkpoints, cluster, guard
from tfgan_zoo.engine.gan import GAN
from tfgan_zoo.engine.progress import ADVERSARIAL, PRETRAIN, Progress
from tfgan_zoo.engine.workdir import Workdir
from tfgan_zoo.errors import ZooError
from tfgan_zoo.evaluation import scoring
from tfgan_zoo.models._conditioning import conditioning

# The augmentation's random stream is seeded apart from the latents' (seed + this).
AUGMENT_SEED_OFFSET = 7919


@dataclasses.dataclass
class RunResult:
    """What a finished `train()` call did, for the CLI's summary and for tests."""
    workdir: Workdir
    start_step: int
    end_step: int
    seconds: float
    spec: object  # the data's DatasetSpec
    latest_sample: str = ""
    pruning: dict | None = None
    stopped_by: str = ""  # the signal that stopped the run early ("SIGTERM"), if one did
    worker: str = ""  # "worker 1 of 2" in a multi-worker run (see tfgan_zoo.engine.cluster)
    is_chief: bool = True  # whether this process wrote `workdir`
    fingerprint: str = ""  # multi-worker runs: a hash of the generator's weights at the end


def make_optimizer(opt_config):
    """Adam from an `optimizer.g` / `optimizer.d` section; clipping acts on summed gradients."""
    if opt_config.name != "adam":
        raise ZooError(f"optimizer {opt_config.name!r} is not supported; use adam")
    return keras.optimizers.Adam(
        learning_rate=opt_config.learning_rate, beta_1=opt_config.beta_1,
        beta_2=opt_config.beta_2,
        global_clipnorm=opt_config.clip_norm or None, clipvalue=opt_config.clip_value or None)


def pretrain_steps(config):
    """Pre-training updates of the run (0 for configs that have none)."""
    return config.train.get("pretrain_steps", 0)


def _optional(family, name, *args):
    """A family's optional hook (see tfgan_zoo.models), called with `args`, or None."""
    hook = getattr(family, name, None)
    return hook(*args) if hook is not None else None


def build_gan(config, spec, init_weights=None):
    """The compiled GAN for `config`, its networks built for the data described by `spec`.

    `init_weights` (generator weights, discriminator weights) start the networks from another
    run's, as `prune` does. With `config.prune.enabled` the networks named there are wrapped for
    TF-MOT pruning, on a schedule that counts the run's adversarial steps. Call it inside the
    distribution strategy's scope.
    """
    family = models.get_family(config.model_name)
    kind = models.kind_of(family)
    generator = family.build_generator(config.model, spec)
    discriminator = family.build_discriminator(config.model, spec)
    if init_weights:
        generator.set_weights(init_weights[0])
        discriminator.set_weights(init_weights[1])
    schedules = _optional(family, "schedules", config.model, config.train.num_steps) or {}
    progress = Progress(tuple(schedules))
    d_optimizer = make_optimizer(config.optimizer.d)
    g_optimizer = make_optimizer(config.optimizer.g)
    pretrain_optimizer = (make_optimizer(config.optimizer.pretrain)
                          if pretrain_steps(config) else None)
    if config.prune.enabled:
        generator, discriminator = pruning.wrap_networks(generator, discriminator, config.prune,
                                                         progress.step)
    prior = family.latent_prior(config.model, spec)
    gan = GAN(generator, discriminator,
              latent_dim=prior.dim, latent_distribution=prior.distribution,
              d_steps=config.gan.d_steps, ema_decay=config.gan.ema_decay, seed=config.train.seed,
              num_classes=spec.num_classes, conditioning=conditioning(config.model),
              feature=kind.feature,
              discriminator_input=_optional(family, "discriminator_input", config.model, spec),
              pretrain_loss=_optional(family, "pretrain_loss", config.model, spec),
              schedules=schedules, progress=progress,
              augment=_augmenter(config, kind),
              clusters=self_conditioning.centroids_for(  # fitted by `fit_clusters`
                  _optional(family, "num_clusters", config.model) or 0,
                  family.sample_shape(config.model, spec), kind.cluster_features(spec)))
    gan.compile(d_optimizer, g_optimizer,
                loss=config.gan.loss, label_smoothing=config.gan.label_smoothing,
                gp_weight=config.gan.gp_weight, r1_gamma=config.gan.r1_gamma,
                weight_clip=config.gan.weight_clip, aux_weight=config.gan.aux_weight,
                aux_fake=config.gan.get("aux_fake", True),
                g_aux_weight=config.gan.get("g_aux_weight", None),
                mode_seeking=config.gan.get("mode_seeking", 0.0),
                mode_seeking_pairs=config.gan.get("mode_seeking_pairs", "second_batch"),
                pretrain_optimizer=pretrain_optimizer)
    return gan


def fit_clusters(gan, config, kind, log):
    """A self-conditioned GAN's clusters, fitted on the training data in its stored order (so
    every run on the same data, such as a pruning fine-tune of this one, gets the same)."""
    if gan.clusters is not None:
        batches = kind.load(config, 500, shuffle=False, repeat=False, drop_remainder=False)[0]
        self_conditioning.fit_gan(gan, batches, kind.feature, log)


def _augmenter(config, kind):
    """The run's augmentation of D's inputs (`config.gan.augment`), or None."""
    policy = config.gan.get("augment", "")  # runs saved before it existed had none
    if not policy:
        return None
    if kind.name != augment.KIND:
        raise ZooError(f"config.gan.augment={policy!r} transforms images; {config.model_name} "
                       f"generates {kind.name}: set --config.gan.augment=''")
    # Its own stream, apart from the latents', so turning it on leaves the latents unchanged.
    return augment.augmenter(policy, seed=config.train.seed + AUGMENT_SEED_OFFSET)


def grid_inputs(gan, num_samples, seed):
    """Latents (and labels, rows) for a run's samples, the same for every write of the run so
    they show one z evolving. A conditional grid has one row per class, one latent per column."""
    if not gan.conditional:
        return gan.prior.stateless(num_samples, seed), None, None
    columns = max(1, num_samples // gan.num_classes)
    z = gan.prior.stateless(columns, seed)
    grid_latents = tf.tile(z, [gan.num_classes, 1])
    labels = tf.repeat(tf.range(gan.num_classes, dtype=tf.int32), columns)
    return grid_latents, labels, gan.num_classes


def validate(config):
    """Every check that needs no data and no TensorFlow graph; raises ZooError."""
    config_lib.validate(config)
    family = models.get_family(config.model_name)
    family.validate(config.model)
    try:
        loss = losses.get_loss(config.gan.loss)
    except ValueError as e:
        raise ZooError(f"config.gan.loss: {e}") from None
    if config.prune.enabled:
        pruning.validate(config.prune, num_steps=config.train.num_steps)
    if config.gan.label_smoothing and not loss.accepts_label_smoothing:
        raise ZooError(f"config.gan.label_smoothing does not apply to the {loss.name!r} loss; "
                       "set it to 0 or use non_saturating, minimax or least_squares")
    if on_nonfinite(config) not in guard.ON_NONFINITE:
        raise ZooError(f"config.train.on_nonfinite={on_nonfinite(config)!r}; valid: "
                       f"{', '.join(guard.ON_NONFINITE)}")
    if pretrain_steps(config) and not hasattr(family, "pretrain_loss"):
        raise ZooError(f"config.train.pretrain_steps={pretrain_steps(config)}, but the "
                       f"{config.model_name} family has no pre-training phase; set it to 0")


def train(config, workdir_path, log=print, init_weights=None):
    """Trains (or resumes) the run in `workdir_path`: its pre-training phase, if any, up to
    `config.train.pretrain_steps`, then its adversarial phase up to `config.train.num_steps`.

    `init_weights` (see `build_gan`) applies to a new run only; a resumed one restores its own.
    Everything that can be wrong with the input is checked before the workdir is touched. The
    mixed-precision policy of the run is global in Keras; it is put back afterwards, so models
    built later in the process (evaluation, export) are float32 again.
    """
    previous_policy = keras.mixed_precision.global_policy()
    try:
        return _train(config, workdir_path, log, init_weights)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)


def _train(config, workdir_path, log, init_weights):
    validate(config)
    workdir = Workdir(workdir_path)
    workdir.check(config)
    tf.keras.utils.set_random_seed(config.train.seed)
    if config.train.precision != "float32":
        keras.mixed_precision.set_global_policy(config.train.precision)
    place = cluster.make(config.train.distribute)
    config_lib.validate_replicas(config, place.strategy.num_replicas_in_sync)
    if place.is_chief:
        return _train_as(place, workdir, workdir, config, log, init_weights)
    # Another worker of a multi-worker run: it restores from the chief's run directory and
    # writes what it must (checkpoints, in lockstep with the chief's) into scratch space.
    scratch = Workdir(tempfile.mkdtemp(prefix="tfgan_zoo_worker_"))
    try:
        return _train_as(place, workdir, scratch, config, log, init_weights)
    finally:
        shutil.rmtree(scratch.path, ignore_errors=True)


def _train_as(place, workdir, own, config, log, init_weights):
    """Trains the run in `workdir`, writing into `own` (the run directory itself, except on a
    multi-worker run's other workers)."""
    kind = models.kind_of_config(config)
    train_config = config.train
    samples_per_step = train_config.batch_size * config.gan.d_steps
    _, spec = kind.load(config, samples_per_step)  # checks the data before anything is built

    with place.strategy.scope():
        gan = build_gan(config, spec, init_weights)
        checkpoint = checkpoints.make(gan)
    manager = tf.train.CheckpointManager(checkpoint, own.checkpoints,
                                         max_to_keep=train_config.keep_checkpoints)
    if own is not workdir:
        restore_from = tf.train.CheckpointManager(checkpoint, workdir.checkpoints, max_to_keep=1)
    else:
        restore_from = manager
    if checkpoints.restore_latest(checkpoint, restore_from, log):
        _set_learning_rates(gan, config)
    else:  # a resumed run restored the clusters it started with
        fit_clusters(gan, config, kind, log)
    start_step = int(gan.progress.step.numpy())
    result = RunResult(workdir, start_step, start_step, 0.0, spec,
                       latest_sample=kind.latest_sample(own.samples), worker=place.worker,
                       is_chief=place.is_chief)
    pretrain_left = pretrain_steps(config) - int(gan.progress.pretrain_step.numpy())
    if pretrain_left > 0 and start_step > 0:
        raise ZooError(f"{workdir.path} is at adversarial step {start_step}, after "
                       f"{int(gan.progress.pretrain_step.numpy())} pre-training updates: "
                       f"config.train.pretrain_steps={pretrain_steps(config)} would pre-train "
                       "again in the middle of the adversarial phase; keep the run's value or "
                       "use a new --workdir")
    if start_step >= train_config.num_steps and pretrain_left <= 0:
        log(f"{workdir.path} is already at step {start_step} of {train_config.num_steps}: "
            "nothing to train. Raise --config.train.num_steps to train further.")
        return result

    scorer = None
    if config.eval.every and start_step < train_config.num_steps:
        # Before anything is written. Data without labels or a test split gets the evaluation
        # it allows, or none (scorer None), and the log says which.
        scorer = scoring.for_training(config, log)
    own.create(config)
    own.write_dataset(spec)
    log(f"{'Resuming' if start_step or pretrain_left < pretrain_steps(config) else 'Training'} "
        f"{config_lib.describe_model(config)} on {spec.name} ({kind.describe_spec(spec)}) "
        f"from step {start_step} to {train_config.num_steps}{_replicas(place, config)}; "
        f"writing to {workdir.path}"
        + (f" ({place.worker}; the chief writes the run directory)" if place.worker else ""))
    writer = tf.summary.create_file_writer(own.logs)
    run_guard = guard.Guard(on_nonfinite(config))
    started = time.perf_counter()
    try:
        if pretrain_left > 0:
            _pretrain(gan, config, writer, manager, run_guard, kind, log)
        if start_step < train_config.num_steps and not run_guard.stopped:
            gan.set_phase(ADVERSARIAL)
            _fit(gan, _batches(kind, config, samples_per_step, gan), start_step,
                 train_config.num_steps, train_config.log_every,
                 _adversarial_callbacks(gan, config, spec, kind, own, writer, manager,
                                        checkpoint, run_guard, log, scorer, place))
    finally:
        writer.close()
    result.seconds = time.perf_counter() - started
    result.end_step = int(gan.progress.step.numpy())
    _check_stop(run_guard, gan, manager, result, log)
    if config.prune.enabled and not result.stopped_by:
        result.pruning = _pruning_report(gan, config, spec, own, init_weights, log)
    if place.multi_worker:
        result.fingerprint = fingerprint(gan.sampler)
    logging.info("trained steps %d-%d in %.1f s", start_step, result.end_step, result.seconds)
    return result


def _replicas(place, config):
    """For the start line: ' on 4 replicas (mirrored)' when the batch is split, else ''."""
    replicas = place.strategy.num_replicas_in_sync
    return f" on {replicas} replicas ({config.train.distribute})" if replicas > 1 else ""


def fingerprint(network):
    """A short hash of `network`'s weights: equal on every worker of a multi-worker run whose
    replicas stayed in sync (reading the weights is a collective step every worker takes)."""
    digest = hashlib.sha256()
    for weight in network.get_weights():
        digest.update(weight.tobytes())
    return digest.hexdigest()[:16]


def on_nonfinite(config):
    """What a non-finite update does to the run: "stop" or "skip" (configs from before the
    setting existed: stop)."""
    return config.train.get("on_nonfinite", "stop")


def _adversarial_callbacks(gan, config, spec, kind, workdir, writer, manager, checkpoint,
                           run_guard, log, scorer, place):
    train_config = config.train
    samples_per_step = train_config.batch_size * config.gan.d_steps
    start_step = int(gan.progress.step.numpy())
    phase_callbacks = [
        run_guard,
        # Next, so that masks are re-applied before samples and checkpoints are written.
        *([pruning.UpdatePruningStep(), pruning.SparsityLogger(writer)]
          if config.prune.enabled else []),
        callbacks.ProgressBar(start_step, train_config.num_steps, samples_per_step,
                              kind.rate_label),
        callbacks.ScalarLogger(writer, samples_per_step, kind.unit),
        callbacks.SampleWriter(kind, spec, workdir.samples, writer, *_grid(gan, train_config),
                               log=log),
        callbacks.Checkpointer(manager, train_config.checkpoint_every, run_guard),
    ]
    if scorer is not None:
        primary = kind.primary_metric(config)
        # Saving is collective under multi_worker_mirrored: every worker writes at every
        # evaluation, and only then keeps or drops what it wrote.
        best = checkpoints.BestCheckpoint(checkpoint, workdir.best_checkpoints, primary,
                                          kind.metrics[primary],
                                          write_every_offer=place.multi_worker)
        best_from = config.prune.end_step if config.prune.enabled else 0
        # A run that pre-trained scores its pre-trained generator first, at step 0.
        at_start = start_step == 0 and pretrain_steps(config) > 0
        phase_callbacks.append(callbacks.Evaluator(scorer, config.eval.every, writer, best,
                                                   run_guard, train_config.num_steps, log,
                                                   best_from, at_start))
    return phase_callbacks


def _check_stop(run_guard, gan, manager, result, log):
    """Raises ZooError if a non-finite update stopped the run; records a signal's stop."""
    if run_guard.diverged is not None:
        update, network = run_guard.diverged
        phase = "pre-training update" if "pre-training" in network else "step"
        kept = (f"the latest checkpoint, {manager.latest_checkpoint}, holds the last finite "
                "weights" if manager.latest_checkpoint else "no checkpoint was written")
        raise ZooError(f"training diverged: the {network}'s gradients were NaN or Inf at "
                       f"{phase} {update}, so the run stopped; {kept}. Lower the learning "
                       "rates, add a gradient penalty or clipping, and resume; or set "
                       "--config.train.on_nonfinite=skip to skip such updates")
    if run_guard.signal_name:
        result.stopped_by = run_guard.signal_name
        log(f"\n{run_guard.signal_name}: stopped after step {result.end_step}; saved "
            f"{manager.latest_checkpoint}")


def _set_learning_rates(gan, config):
    """The config's learning rates, over the ones a restored checkpoint brought back: the
    optimizers checkpoint theirs, and a resumed run may change them."""
    pairs = [(gan.d_optimizer, config.optimizer.d), (gan.g_optimizer, config.optimizer.g)]
    if gan.pretrain_optimizer is not None:
        pairs.append((gan.pretrain_optimizer, config.optimizer.pretrain))
    for optimizer, section in pairs:
        optimizer.learning_rate.assign(section.learning_rate)


def _grid(gan, train_config):
    """SampleWriter's latents, every, labels, rows."""
    grid_latents, labels, rows = grid_inputs(gan, train_config.num_samples, train_config.seed)
    return grid_latents, train_config.sample_every, labels, rows


def _fit(gan, dataset, start, end, log_every, phase_callbacks):
    """`fit()` from update `start` to `end` of the GAN's current phase, one Keras epoch per
    `log_every` updates counted from `start` (which a run stopped by a signal, or resumed with
    another `log_every`, leaves off the grid), the last epoch cut at `end`."""
    epochs = -(-(end - start) // log_every)
    gan.fit(dataset, epochs=epochs, steps_per_epoch=log_every, verbose=0,
            callbacks=[*phase_callbacks, callbacks.StopAt(end)])


def _batches(kind, config, batch_size, gan):
    """The training batches of `batch_size` from the run's next one on. Every update so far
    took one (`config.train.batch_size` examples a pre-training update, d_steps times that an
    adversarial one), and the data's order is fixed by the seed, so a resumed run is given
    what the uninterrupted one would have been (with the same batch size)."""
    per_update = config.train.batch_size
    done = (int(gan.progress.pretrain_step.numpy()) * per_update
            + int(gan.progress.step.numpy()) * per_update * config.gan.d_steps)
    dataset = kind.load(config, batch_size, seed=config.train.seed, skip=done)[0]
    # Multi-worker runs: each worker takes its share of every global batch (sharding by file
    # would hand whole TFDS shards to workers and break the order a resumed run relies on).
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _pretrain(gan, config, writer, manager, run_guard, kind, log):
    """The pre-training phase: the generator alone on the family's loss, one batch of
    `config.train.batch_size` an update, logged under `pretrain/*` and checkpointed like the
    adversarial phase, resumable at any checkpoint."""
    done, total = int(gan.progress.pretrain_step.numpy()), pretrain_steps(config)
    batch_size = config.train.batch_size
    log(f"Pre-training the generator: update {done} to {total}")
    gan.set_phase(PRETRAIN)
    _fit(gan, _batches(kind, config, batch_size, gan), done, total,
         config.train.log_every, [
        run_guard,
        callbacks.ProgressBar(done, total, batch_size, kind.rate_label, description="pretrain"),
        callbacks.ScalarLogger(writer, batch_size, kind.unit, prefix="pretrain"),
        callbacks.Checkpointer(manager, config.train.checkpoint_every, run_guard),
    ])


def _pruning_report(gan, config, spec, workdir, init_weights, log):
    family = models.get_family(config.model_name)
    dense = family.build_generator(config.model, spec)
    if init_weights:
        dense.set_weights(init_weights[0])
    report = pruning.write_run_report(gan.sampler, workdir.path, dense)
    log(f"Pruned generator: {report['sparsity']:.1%} of its kernels are zero, "
        f"{report['compression']:.1f}x smaller gzipped; plain Keras model in "
        f"{report['stripped_model']}")
    return report
