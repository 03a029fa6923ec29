"""Training a zoo model from its config: data -> GAN -> `fit()` with callbacks -> run directory.

`train(config, workdir)` is what `python -m tfgan_zoo.train` calls once it has parsed flags.
"""
import dataclasses
import time

import tensorflow as tf
import tf_keras as keras
from absl import logging

from tfgan_zoo import callbacks, checkpoints, data, evaluation, losses, models, pruning
from tfgan_zoo import config as config_lib
from tfgan_zoo.errors import ZooError
from tfgan_zoo.gan import GAN, stateless_latents
from tfgan_zoo.workdir import Workdir


@dataclasses.dataclass
class RunResult:
    """What a finished `train()` call did, for the CLI's summary and for tests."""
    workdir: Workdir
    start_step: int
    end_step: int
    seconds: float
    spec: "data.DatasetSpec"
    pruning: dict | None = None


def make_strategy(name):
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def make_optimizer(opt_config):
    """Adam from an `optimizer.g` / `optimizer.d` section; clipping acts on summed gradients."""
    if opt_config.name != "adam":
        raise ZooError(f"optimizer {opt_config.name!r} is not supported; use adam")
    return keras.optimizers.Adam(
        learning_rate=opt_config.learning_rate, beta_1=opt_config.beta_1,
        beta_2=opt_config.beta_2,
        global_clipnorm=opt_config.clip_norm or None, clipvalue=opt_config.clip_value or None)


def build_gan(config, spec, init_weights=None):
    """The compiled GAN for `config`, its networks built for the data described by `spec`.

    `init_weights` (generator weights, discriminator weights) start the networks from another
    run's, as `prune` does. With `config.prune.enabled` the networks named there are wrapped for
    TF-MOT pruning, on a schedule that counts generator updates. Call it inside the
    distribution strategy's scope.
    """
    family = models.get_family(config.model_name)
    generator = family.build_generator(config.model, spec)
    discriminator = family.build_discriminator(config.model, spec)
    if init_weights:
        generator.set_weights(init_weights[0])
        discriminator.set_weights(init_weights[1])
    d_optimizer = make_optimizer(config.optimizer.d)
    g_optimizer = make_optimizer(config.optimizer.g)
    if config.prune.enabled:
        generator, discriminator = pruning.wrap_networks(generator, discriminator, config.prune,
                                                         g_optimizer.iterations)
    gan = GAN(generator, discriminator,
              latent_dim=config.model.latent_dim,
              latent_distribution=config.model.latent_distribution,
              d_steps=config.gan.d_steps, ema_decay=config.gan.ema_decay, seed=config.train.seed,
              num_classes=spec.num_classes, conditioning=config.model.conditioning)
    gan.compile(d_optimizer, g_optimizer,
                loss=config.gan.loss, label_smoothing=config.gan.label_smoothing,
                gp_weight=config.gan.gp_weight, r1_gamma=config.gan.r1_gamma,
                weight_clip=config.gan.weight_clip, aux_weight=config.gan.aux_weight)
    return gan


def grid_inputs(gan, num_samples, seed):
    """Latents (and labels, rows) for a run's sample grids, the same for every grid of the run so
    they show one z evolving. A conditional grid has one row per class, one latent per column."""
    if not gan.conditional:
        return stateless_latents(num_samples, gan.latent_dim, gan.latent_distribution, seed), \
            None, None
    columns = max(1, num_samples // gan.num_classes)
    z = stateless_latents(columns, gan.latent_dim, gan.latent_distribution, seed)
    latents = tf.tile(z, [gan.num_classes, 1])
    labels = tf.repeat(tf.range(gan.num_classes, dtype=tf.int32), columns)
    return latents, labels, gan.num_classes


def validate(config):
    """Every check that needs no data and no TensorFlow graph; raises ZooError."""
    config_lib.validate(config)
    models.get_family(config.model_name).validate(config.model)
    try:
        loss = losses.get_loss(config.gan.loss)
    except ValueError as e:
        raise ZooError(f"config.gan.loss: {e}") from None
    if config.prune.enabled:
        pruning.validate(config.prune, num_steps=config.train.num_steps)
    if config.gan.label_smoothing and not loss.accepts_label_smoothing:
        raise ZooError(f"config.gan.label_smoothing does not apply to the {loss.name!r} loss; "
                       "set it to 0 or use non_saturating, minimax or least_squares")


def train(config, workdir_path, log=print, init_weights=None):
    """Trains (or resumes) the run in `workdir_path` up to `config.train.num_steps`.

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
    strategy = make_strategy(config.train.distribute)
    train_config = config.train
    images_per_step = train_config.batch_size * config.gan.d_steps
    dataset, spec = data.load(config.data, resolution=config.model.resolution,
                              batch_size=images_per_step)

    with strategy.scope():
        gan = build_gan(config, spec, init_weights)
        checkpoint = tf.train.Checkpoint(gan=gan)
    manager = tf.train.CheckpointManager(checkpoint, workdir.checkpoints,
                                         max_to_keep=train_config.keep_checkpoints)
    if manager.latest_checkpoint:
        checkpoints.restore(checkpoint, manager.latest_checkpoint)
    start_step = int(gan.g_optimizer.iterations.numpy())
    result = RunResult(workdir, start_step, start_step, 0.0, spec)
    if start_step >= train_config.num_steps:
        log(f"{workdir.path} is already at step {start_step} of {train_config.num_steps}: "
            "nothing to train. Raise --config.train.num_steps to train further.")
        return result

    if config.eval.every:
        # Built before anything is written: a dataset without labels fails here, not mid-run.
        extractor = evaluation.make_extractor(config, config.eval.extractor,
                                              config.eval.inception_weights, log=log)
        scorer = evaluation.Scorer(config, extractor, config.eval.split,
                                   config.eval.num_samples)
    workdir.create(config)
    workdir.write_dataset(spec)
    log(f"{'Resuming' if start_step else 'Training'} {config.model_name} on {spec.name} "
        f"({spec.num_examples} images, {spec.resolution}x{spec.resolution}x{spec.channels}) "
        f"from step {start_step} to {train_config.num_steps}; writing to {workdir.path}")
    writer = tf.summary.create_file_writer(workdir.logs)
    latents, labels, rows = grid_inputs(gan, train_config.num_samples, train_config.seed)
    run_callbacks = [
        # First, so that masks are re-applied before samples and checkpoints are written.
        *([pruning.UpdatePruningStep(), pruning.SparsityLogger(writer)]
          if config.prune.enabled else []),
        callbacks.ProgressBar(start_step, train_config.num_steps, images_per_step),
        callbacks.ScalarLogger(writer, images_per_step),
        callbacks.SampleWriter(workdir, writer, latents, train_config.sample_every, labels, rows),
        callbacks.Checkpointer(manager, train_config.checkpoint_every),
    ]
    if config.eval.every:
        best = checkpoints.BestCheckpoint(checkpoint, workdir.best_checkpoints)
        best_from = config.prune.end_step if config.prune.enabled else 0
        run_callbacks.append(callbacks.Evaluator(scorer, config.eval.every, writer, best,
                                                 evaluation.PRIMARY, log, best_from))
    started = time.perf_counter()
    gan.fit(dataset, epochs=train_config.num_steps // train_config.log_every,
            initial_epoch=start_step // train_config.log_every,
            steps_per_epoch=train_config.log_every, callbacks=run_callbacks, verbose=0)
    result.seconds = time.perf_counter() - started
    if config.prune.enabled:
        family = models.get_family(config.model_name)
        dense = family.build_generator(config.model, spec)
        if init_weights:
            dense.set_weights(init_weights[0])
        result.pruning = pruning.write_run_report(gan.sampler, workdir.path, dense)
        log(f"Pruned generator: {result.pruning['sparsity']:.1%} of its kernels are zero, "
            f"{result.pruning['compression']:.1f}x smaller gzipped; plain Keras model in "
            f"{result.pruning['stripped_model']}")
    result.end_step = int(gan.g_optimizer.iterations.numpy())
    logging.info("trained steps %d-%d in %.1f s", start_step, result.end_step, result.seconds)
    return result
