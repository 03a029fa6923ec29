"""What is timed and how: a `Loop` is one contender, whose `block(steps)` times `steps` steps
after a few untimed ones; `measure` alternates the loops' blocks over rounds, noting each
block's wall time, CPU time (this process, all its threads) and the allocator's peak working
memory; `summarize` turns that into rates (medians over rounds) and ratios taken within each
round, so that load drifting between rounds cancels out.

The loops are the zoo's `fit()` as a run calls it (`fit_loop`, with `run_callbacks`) and any
step function called on a pipeline's batches (`plain_loop`)."""
import contextlib
import dataclasses
import io
import os
import statistics
import time

import tfgan_zoo  # noqa: F401  # isort: skip  (must precede TensorFlow)
import tensorflow as tf
import tf_keras as keras

from tfgan_zoo.engine import callbacks, guard, training
from tfgan_zoo.errors import ZooError

BLOCK_WARMUP = 3  # untimed steps at the start of every block
BLOCK_SECONDS = 2.0  # what --steps=0 aims a block of the slowest loop at
MIN_STEPS = 5

# Ratios the report gives where both loops ran: {key: (loop, reference)}.
RATIOS = {"zoo_vs_hand": ("zoo", "hand"), "zoo_vs_float32_hand": ("zoo", "float32_hand"),
          "hand_vs_float32_hand": ("hand", "float32_hand"),
          "hand_vs_hand_cached": ("hand", "hand_cached"),
          "zoo_fit_only_vs_hand": ("zoo_fit_only", "hand"),
          "zoo_step_only_vs_hand": ("zoo_step_only", "hand"),
          "hand_guarded_vs_hand": ("hand_guarded", "hand")}


@dataclasses.dataclass
class Loop:
    """One contender: `block(steps)` runs BLOCK_WARMUP untimed steps, then `steps` timed ones,
    and returns their (wall seconds, CPU seconds of this process, all its threads)."""
    name: str
    block: object


def _clocks():
    return time.perf_counter(), time.process_time()


def _since(start):
    return tuple(now - then for now, then in zip(_clocks(), start, strict=True))


def plain_loop(name, step, batches):
    """`step(batch)` called on each batch of `batches()` (a new iterator each block)."""
    def block(steps):
        iterator = batches()
        for _ in range(BLOCK_WARMUP):
            step(next(iterator))
        start = _clocks()  # eager calls on the CPU return when their work is done
        for _ in range(steps):
            step(next(iterator))
        return _since(start)

    return Loop(name, block)


class _Clock(keras.callbacks.Callback):
    """Times a `fit()` call from the end of step BLOCK_WARMUP to the end of its last step."""

    _supports_tf_logs = True  # it reads no logs: adds no device sync

    def on_train_begin(self, logs=None):
        self.done, self.start, self.elapsed = 0, None, None

    def on_train_batch_end(self, batch, logs=None):
        self.done += 1
        if self.done == BLOCK_WARMUP:
            self.start = _clocks()
        elif self.done > BLOCK_WARMUP:
            self.elapsed = _since(self.start)


def fit_loop(name, gan, dataset, log_every, per_step_callbacks):
    """The GAN trained by `fit()` as a run calls it (`training._fit`: Keras epochs of
    `log_every` steps, stopped at the block's end), the progress bar's output discarded."""
    clock = _Clock()

    def block(steps):
        start = int(gan.progress.step.numpy())
        with contextlib.redirect_stderr(io.StringIO()):
            training._fit(gan, dataset, start, start + BLOCK_WARMUP + steps, log_every,
                          [*per_step_callbacks, clock])
        if clock.done != BLOCK_WARMUP + steps:
            raise ZooError(f"the zoo's fit() stopped after {clock.done} of "
                           f"{BLOCK_WARMUP + steps} steps (its guard stops a run whose "
                           "gradients went NaN or Inf): no rate to report")
        return clock.elapsed

    return Loop(name, block)


def run_callbacks(config, kind, scratch):
    """The callbacks a run calls at every step, as `training._adversarial_callbacks` makes them
    (the guard, progress bar and scalar logger); not the periodic ones (samples, checkpoints,
    evaluation). `_fit` adds StopAt."""
    per_step = config.train.batch_size * config.gan.d_steps
    writer = tf.summary.create_file_writer(os.path.join(scratch, "logs"))
    return [guard.Guard(training.on_nonfinite(config)),
            callbacks.ProgressBar(0, config.train.num_steps, per_step, kind.rate_label),
            callbacks.ScalarLogger(writer, per_step, kind.unit)]


def measure(loops, steps, rounds):
    """Alternates the loops' blocks: a warm-up block each, then `rounds` rounds of one block
    each. `steps` 0 picks a block of about BLOCK_SECONDS for the slowest loop. Returns (steps,
    {name: {"seconds", "cpu_seconds", "memory": [one a round]}})."""
    warm = {loop.name: loop.block(2)[0] / 2 for loop in loops}
    if not steps:
        slowest = max(seconds for name, seconds in warm.items() if name != "input")
        steps = max(MIN_STEPS, round(BLOCK_SECONDS / slowest))
    keys = ("seconds", "cpu_seconds", "memory")
    results = {loop.name: {key: [] for key in keys} for loop in loops}
    for _ in range(rounds):
        for loop in loops:
            (seconds, cpu_seconds), memory = _with_memory(loop.block, steps)
            for key, value in zip(keys, (seconds, cpu_seconds, memory), strict=True):
                results[loop.name][key].append(value)
    return steps, results


def _device():
    return "GPU:0" if tf.config.list_logical_devices("GPU") else "CPU:0"


def _with_memory(block, steps):
    """(what `block(steps)` returns, peak bytes the allocator reached above what it held at
    the start, or None where the device's allocator keeps no statistics: TensorFlow's default
    CPU allocator keeps them only with oneDNN on, which it turns on by CPU model)."""
    device = _device()
    try:
        tf.config.experimental.reset_memory_stats(device)
    except ValueError:
        return block(steps), None
    held = tf.config.experimental.get_memory_info(device)["current"]
    timing = block(steps)
    return timing, tf.config.experimental.get_memory_info(device)["peak"] - held


def _peak(memory):
    """The largest of the rounds' peaks, or None where none was measured."""
    measured = [m for m in memory if m is not None]
    return max(measured) if measured else None


def summarize(results, steps, per_step):
    """Rates (medians over rounds), ratios within rounds by wall and by CPU time, and peak
    working memory. In the first precision's section the float32 hand loop is "hand"."""
    rates = {name: [steps / s for s in r["seconds"]] for name, r in results.items()}
    cpu_rates = {name: [steps / s for s in r["cpu_seconds"]] for name, r in results.items()}
    section = {"steps_per_block": steps, "rounds": len(next(iter(rates.values()))), "loops": {}}
    for name, per_round in rates.items():
        section["loops"][name] = {
            "steps_per_second": statistics.median(per_round),
            "samples_per_second": statistics.median(per_round) * per_step,
            "cpu_seconds_per_step": 1 / statistics.median(cpu_rates[name]),
            "steps_per_second_rounds": per_round,
            "steps_per_cpu_second_rounds": cpu_rates[name],
            "working_memory_bytes": _peak(results[name]["memory"]),
        }
    reference = "float32_hand" if "float32_hand" in rates else "hand"
    pairs = {key: (a, reference if b == "float32_hand" else b) for key, (a, b) in RATIOS.items()}
    pairs = {key: (a, b) for key, (a, b) in pairs.items()
             if a in rates and b in rates and a != b}
    section["ratios"] = {key: ratio(rates[a], rates[b]) for key, (a, b) in pairs.items()}
    section["cpu_ratios"] = {key: ratio(cpu_rates[a], cpu_rates[b])
                             for key, (a, b) in pairs.items()}
    return section


def ratio(a, b):
    """{"median", "min", "max"} of a[i] / b[i] over rounds i."""
    per_round = [x / y for x, y in zip(a, b, strict=True)]
    return {"median": statistics.median(per_round), "min": min(per_round),
            "max": max(per_round)}
