"""Keras callbacks of a training run: progress bar, TensorBoard scalars, samples, checkpoints.

Each counts the updates of the phase being trained ("steps": adversarial updates, or
pre-training updates). The true step is read from the run's `Progress` at the start of every
Keras epoch and then counted in Python, so a resumed run continues its count without a device
sync on every batch. What samples look like on disk and in TensorBoard is the kind's business
(`tfgan_zoo.kinds`).
"""
import sys
import time

import tensorflow as tf
import tf_keras as keras
import tqdm


class StepCallback(keras.callbacks.Callback):
    """Calls `on_step(step, logs)` after every generator update with the global step."""

    # Keep Keras from converting the logs to NumPy after every batch (a device sync): the
    # callbacks that read values call float() on them, which takes tensors too.
    _supports_tf_logs = True

    def __init__(self):
        super().__init__()
        self.step = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.step = int(self.model.progress.counter(self.model.phase).numpy())

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        self.on_step(self.step, logs or {})

    def on_step(self, step, logs):
        pass


class ProgressBar(StepCallback):
    """A tqdm bar over the whole phase: step, losses and real samples per second (`rate_label`,
    e.g. img_s)."""

    SHOWN = ("d_loss", "g_loss", "pretrain_loss")

    def __init__(self, start_step, num_steps, samples_per_step, rate_label="samples_s",
                 refresh_seconds=1.0, description=None):
        super().__init__()
        self.start_step, self.num_steps = start_step, num_steps
        self.samples_per_step, self.rate_label = samples_per_step, rate_label
        self.refresh_seconds = refresh_seconds if sys.stderr.isatty() else 30.0
        self.description = description
        self.bar = None

    def on_train_begin(self, logs=None):
        self.bar = tqdm.tqdm(total=self.num_steps, initial=self.start_step, unit="step",
                             dynamic_ncols=True, mininterval=self.refresh_seconds,
                             file=sys.stderr, desc=self.description)
        self._mark = (time.perf_counter(), self.start_step)

    def on_step(self, step, logs):
        self.bar.update(1)
        now = time.perf_counter()
        if now - self._mark[0] >= self.refresh_seconds or step == self.num_steps:
            rate = (step - self._mark[1]) * self.samples_per_step / max(now - self._mark[0],
                                                                         1e-9)
            shown = {k: f"{float(v):.3f}" for k, v in logs.items() if k in self.SHOWN}
            self.bar.set_postfix(**shown, **{self.rate_label: f"{rate:.0f}"}, refresh=False)
            self._mark = (now, step)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()


class ScalarLogger(StepCallback):
    """Writes the epoch's mean losses (one Keras epoch = `log_every` steps) to TensorBoard as
    `<prefix>/<name>`, and the throughput as `perf/<unit>_per_second`."""

    def __init__(self, writer, samples_per_step, unit="samples", prefix="train"):
        super().__init__()
        self.writer = writer
        self.samples_per_step, self.unit, self.prefix = samples_per_step, unit, prefix

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self._mark = (time.perf_counter(), self.step)

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._mark[0]
        steps = self.step - self._mark[1]
        with self.writer.as_default(step=self.step):
            for name, value in (logs or {}).items():
                tf.summary.scalar(f"{self.prefix}/{name}", float(value))
            tf.summary.scalar(f"perf/{self.unit}_per_second",
                              steps * self.samples_per_step / max(seconds, 1e-9))
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


# Below these, a run is warned that its generator may have collapsed (see `Kind.diversity`
# and metrics.class_histogram); both are in TensorBoard, as samples/diversity and
# eval/class_entropy (eval/class_coverage beside it; for a conditional model also
# eval/recall_worst_class and the eval_per_class/ figures).
COLLAPSED_DIVERSITY = 0.05
COLLAPSED_CLASS_ENTROPY = 0.5


def eval_tag(name):
    """The TensorBoard tag of evaluation result `name`, or None for one not written.

    Per-class figures (`recall/3`, see tfgan_zoo.evaluation.scoring.per_class_scores) go to
    their own section, `eval_per_class/recall/3`: TensorBoard groups cards by a tag's first
    component, so the ten-odd cards per figure stay out of the way of the `eval/` ones, and as
    scalars (not a text table) they plot how each class moves over training, which is where a
    class collapsing shows. The per-class sample counts are constants and not written."""
    if "/" not in name:
        return f"eval/{name}"
    return None if name.startswith("num_") else f"eval_per_class/{name}"


class SampleWriter(PeriodicCallback):
    """Every `every` steps: samples from fixed inputs, written by the kind into the run's
    samples folder and TensorBoard (image grids, audio clips, text), with their diversity.

    `labels` (conditional models) and `rows` come with the latents: a conditional grid has one
    row per class.
    """

    def __init__(self, kind, spec, samples_dir, writer, latents, every, labels=None, rows=None,
                 log=print):
        super().__init__(every)
        self.kind, self.spec, self.samples_dir, self.writer = kind, spec, samples_dir, writer
        self.latents, self.labels, self.rows, self.log = latents, labels, rows, log

    def act(self, step):
        samples = self.model.generate(self.latents, self.labels).numpy()
        self.kind.write_samples(self.samples_dir, step, samples, self.rows, self.writer,
                                self.spec)
        diversity = self.kind.diversity(samples)
        with self.writer.as_default(step=step):
            tf.summary.scalar("samples/diversity", diversity)
        self.writer.flush()
        if diversity < COLLAPSED_DIVERSITY:
            self.log(f"\nwarning: step {step}: the samples of different latents are nearly the "
                     f"same (diversity {diversity:.3f} < {COLLAPSED_DIVERSITY}): the generator "
                     "may have collapsed; see samples/ and the best checkpoint")


class StopAt(StepCallback):
    """Ends `fit()` after step `end`, which need not fall on a Keras epoch's end (a run resumed
    from a checkpoint written on a signal, or with another `log_every`)."""

    def __init__(self, end):
        super().__init__()
        self.end = end

    def on_step(self, step, logs):
        if step >= self.end:
            self.model.stop_training = True


class Checkpointer(PeriodicCallback):
    """Saves every `every` steps and at the end; the manager keeps the last few. Nothing is
    saved once the run's `guard` (tfgan_zoo.engine.guard) says the weights may not be."""

    def __init__(self, manager, every, guard):
        super().__init__(every)
        self.manager, self.guard = manager, guard

    def act(self, step):
        if not self.guard.may_save():
            return
        # Numbered by all updates of the run, so a pre-training checkpoint and an adversarial
        # one never share a name (without pre-training this is the step).
        self.manager.save(checkpoint_number=self.model.progress.total())


class Evaluator(StepCallback):
    """Every `every` steps: score the sampler, log `eval/*` to TensorBoard, and keep the best
    checkpoint by the best-checkpoint's primary metric, in its direction, beside the latest.

    A metric that gets worse after improving leaves the best checkpoint where it was, which is
    what saves a run that collapses late (StudioGAN's DCGAN peaked at 42k of 200k steps).
    """

    def __init__(self, scorer, every, writer, best, guard, end, log=print, best_from=0,
                 at_start=False):
        super().__init__()
        self.scorer, self.every, self.writer = scorer, every, writer
        self.best, self.primary, self.log = best, best.primary, log
        self.guard, self.end = guard, end
        self.best_from = best_from  # e.g. a pruning schedule's end: sparser models only
        # Also score the weights the phase starts from (a pre-trained generator: the MLE
        # baseline the adversarial phase must beat), logged at that step, never kept as best.
        self.at_start = at_start
        self.last_done = None

    def on_train_begin(self, logs=None):
        if self.at_start:
            self.at_start = False  # once, whatever calls fit() again
            step = int(self.model.progress.step.numpy())
            results = self.evaluate(step, eligible=False)
            if results is not None:
                self.log(f"\nafter pre-training (step {step}): {self.primary} "
                         f"{results[self.primary]:.3f}")

    def on_step(self, step, logs):
        if step % self.every == 0:
            self.evaluate(step)

    def on_train_end(self, logs=None):
        # The run's last step is scored even off the `every` grid; a run stopped early is not
        # (a preempted machine has seconds, not the minutes an evaluation takes).
        if self.step == self.end and self.last_done != self.step and not self.guard.stopped:
            self.evaluate(self.step)

    def evaluate(self, step, eligible=True):
        self.last_done = step
        if not self.guard.may_save():
            return None
        results = self.scorer(self.model)
        with self.writer.as_default(step=step):
            for name, value in results.items():
                tag = eval_tag(name)
                if tag is not None:
                    tf.summary.scalar(tag, value)
        self.writer.flush()
        entropy = results.get("class_entropy", 1.0)
        if entropy < COLLAPSED_CLASS_ENTROPY:
            self.log(f"\nwarning: step {step}: the generated samples fall into few classes "
                     f"(class entropy {entropy:.2f} < {COLLAPSED_CLASS_ENTROPY}, coverage "
                     f"{results['class_coverage']:.0%}): the generator may be collapsing")
        improved = eligible and step >= self.best_from and self.best.offer(step, results)
        if improved:
            self.log(f"\nstep {step}: {self.primary} {results[self.primary]:.3f}, the best so far"
                     f" -> {self.best.directory}")
        return results
