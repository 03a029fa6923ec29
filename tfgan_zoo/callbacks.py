"""Keras callbacks of a training run: progress bar, TensorBoard scalars, sample grids, checkpoints.

Each counts generator updates ("steps"). The true step is read from the generator optimizer at
the start of every Keras epoch and then counted in Python, so a resumed run continues its count
without a device sync on every batch.
"""
import sys
import time

import numpy as np
import tensorflow as tf
import tf_keras as keras
import tqdm

from tfgan_zoo import images


class StepCallback(keras.callbacks.Callback):
    """Calls `on_step(step, logs)` after every generator update with the global step."""

    def __init__(self):
        super().__init__()
        self.step = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.step = int(self.model.g_optimizer.iterations.numpy())

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        self.on_step(self.step, logs or {})

    def on_step(self, step, logs):
        pass


class ProgressBar(StepCallback):
    """A tqdm bar over the whole run: step, losses and real images per second."""

    # Keep Keras from converting the logs to NumPy after every batch (a device sync).
    _supports_tf_logs = True

    def __init__(self, start_step, num_steps, images_per_step, refresh_seconds=1.0):
        super().__init__()
        self.start_step, self.num_steps = start_step, num_steps
        self.images_per_step = images_per_step
        self.refresh_seconds = refresh_seconds if sys.stderr.isatty() else 30.0
        self.bar = None

    def on_train_begin(self, logs=None):
        self.bar = tqdm.tqdm(total=self.num_steps, initial=self.start_step, unit="step",
                             dynamic_ncols=True, mininterval=self.refresh_seconds,
                             file=sys.stderr)
        self._mark = (time.perf_counter(), self.start_step)

    def on_step(self, step, logs):
        self.bar.update(1)
        now = time.perf_counter()
        if now - self._mark[0] >= self.refresh_seconds or step == self.num_steps:
            rate = (step - self._mark[1]) * self.images_per_step / max(now - self._mark[0], 1e-9)
            shown = {k: f"{float(v):.3f}" for k, v in logs.items() if k in ("d_loss", "g_loss")}
            self.bar.set_postfix(**shown, img_s=f"{rate:.0f}", refresh=False)
            self._mark = (now, step)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()


class ScalarLogger(StepCallback):
    """Writes the epoch's mean losses (one Keras epoch = `log_every` steps) to TensorBoard."""

    def __init__(self, writer, images_per_step):
        super().__init__()
        self.writer = writer
        self.images_per_step = images_per_step

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self._mark = (time.perf_counter(), self.step)

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._mark[0]
        steps = self.step - self._mark[1]
        with self.writer.as_default(step=self.step):
            for name, value in (logs or {}).items():
                tf.summary.scalar(f"train/{name}", float(value))
            tf.summary.scalar("perf/images_per_second",
                              steps * self.images_per_step / max(seconds, 1e-9))
        self.writer.flush()


class PeriodicCallback(StepCallback):
    """Runs `act(step)` every `every` steps and once more at the end if the last step missed it."""

    def __init__(self, every):
        super().__init__()
        self.every = every
        self.last_done = None

    def on_step(self, step, logs):
        if step % self.every == 0:
            self._act(step)

    def on_train_end(self, logs=None):
        if self.last_done != self.step:
            self._act(self.step)

    def _act(self, step):
        self.act(step)
        self.last_done = step

    def act(self, step):
        raise NotImplementedError


class SampleWriter(PeriodicCallback):
    """Every `every` steps: samples from fixed inputs -> PNG grid and TensorBoard image.

    `labels` (conditional models) and `rows` come with the latents: a conditional grid has one
    row per class.
    """

    def __init__(self, workdir, writer, latents, every, labels=None, rows=None, scale=4):
        super().__init__(every)
        self.workdir, self.writer = workdir, writer
        self.latents, self.labels, self.rows = latents, labels, rows
        self.scale = scale

    def act(self, step):
        samples = self.model.generate(self.latents, self.labels).numpy()
        picture = images.grid(samples, rows=self.rows)
        images.save_png(self.workdir.sample_path(step), picture, self.scale)
        images.save_png(self.workdir.latest_sample, picture, self.scale)
        with self.writer.as_default(step=step):
            tf.summary.image("samples", picture[np.newaxis], max_outputs=1)
        self.writer.flush()


class Checkpointer(PeriodicCallback):
    """Saves every `every` steps and at the end; the manager keeps the last few."""

    def __init__(self, manager, every):
        super().__init__(every)
        self.manager = manager

    def act(self, step):
        self.manager.save(checkpoint_number=step)


class Evaluator(StepCallback):
    """Every `every` steps: score the sampler, log `eval/*` to TensorBoard, and keep the best
    checkpoint by `primary` (lower is better) beside the latest ones.

    A metric that gets worse after improving leaves the best checkpoint where it was, which is
    what saves a run that collapses late (StudioGAN's DCGAN peaked at 42k of 200k steps).
    """

    def __init__(self, scorer, every, writer, best, primary="fid", log=print, best_from=0):
        super().__init__()
        self.scorer, self.every, self.writer = scorer, every, writer
        self.best, self.primary, self.log = best, primary, log
        self.best_from = best_from  # e.g. a pruning schedule's end: sparser models only

    def on_step(self, step, logs):
        if step % self.every == 0:
            self.evaluate(step)

    def evaluate(self, step):
        results = self.scorer(self.model)
        with self.writer.as_default(step=step):
            for name, value in results.items():
                tf.summary.scalar(f"eval/{name}", value)
        self.writer.flush()
        improved = step >= self.best_from and self.best.offer(step, results, self.primary)
        if improved:
            self.log(f"\nstep {step}: {self.primary} {results[self.primary]:.3f}, the best so far"
                     f" -> {self.best.directory}")
        return results
