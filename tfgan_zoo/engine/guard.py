"""What stops a run early and keeps its checkpoints good: a signal, or a non-finite update.

`Guard` is the first callback of a phase. SIGTERM (a preemption, `kill`) and SIGINT (Ctrl-C)
let the current step finish, then stop `fit()`; the checkpointer saves on the way out, and the
run says how to resume. A second Ctrl-C interrupts at once, as usual.

`GAN.train_step` skips an update whose gradients hold NaN or Inf and counts it in the run's
`Progress` (see tfgan_zoo.engine.gan). With `on_nonfinite="stop"` (the default) the guard reads
that count at the end of every Keras epoch and before every checkpoint, and once it is not zero
stops the run and lets nothing more be saved: the latest checkpoint is then the last one
written before the first non-finite update. With "skip" the run goes on without those updates.
"""
import signal
import threading

import tf_keras as keras

ON_NONFINITE = ("stop", "skip")
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Guard(keras.callbacks.Callback):
    """Stops `fit()` after the step in progress on SIGTERM/SIGINT, or on a non-finite update.

    After `fit()`: `signal_name` ("SIGTERM"/"SIGINT") if a signal stopped it, `diverged`
    ((update number, network name)) if a non-finite update did.
    """

    _supports_tf_logs = True  # it reads no logs: spare Keras converting them every batch

    def __init__(self, on_nonfinite="stop"):
        super().__init__()
        if on_nonfinite not in ON_NONFINITE:
            raise ValueError(f"on_nonfinite={on_nonfinite!r}; valid: {', '.join(ON_NONFINITE)}")
        self.on_nonfinite = on_nonfinite
        self.signal_name = None
        self.diverged = None
        self._previous = {}

    @property
    def stopped(self):
        return self.signal_name is not None or self.diverged is not None

    def may_save(self):
        """Whether the weights may be written now: False once a non-finite update happened
        and the run is to stop at it (reads one counter from the device)."""
        if self.on_nonfinite == "stop" and self.diverged is None:
            self.diverged = self.model.progress.first_nonfinite()
        if self.diverged is not None and self.on_nonfinite == "stop":
            self.model.stop_training = True
            return False
        return True

    def on_train_begin(self, logs=None):
        if threading.current_thread() is threading.main_thread():  # only it may set handlers
            self._previous = {s: signal.signal(s, self._on_signal) for s in _SIGNALS}

    def _on_signal(self, signum, frame):
        if self.signal_name is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: do not wait for the step
        self.signal_name = signal.Signals(signum).name

    def on_train_batch_end(self, batch, logs=None):
        if self.signal_name is not None:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.may_save()

    def on_train_end(self, logs=None):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
