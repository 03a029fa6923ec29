"""How fast the zoo trains, against a hand-written `tf.function` loop on the same networks.

  python -m tfgan_zoo.benchmark [--model=dcgan[,wgan_gp,wavegan:demo,...]|all] [--preset=tiny]
      [--precisions=float32,mixed_bfloat16] [--steps=0] [--rounds=5] [--batch_size=N]
      [--breakdown] [--json=out.json]

For each model (`NAME` or `NAME:PRESET`) and precision it trains, in one process:
  zoo           the GAN of `training.build_gan` through `fit()`, as a run calls it, on the run's
                own pipeline (`kind.load`), with the callbacks a run calls at every step (the
                guard, progress bar, scalar logger); not the periodic ones (samples,
                checkpoints, evaluation), whose cost depends on how often a run asks for them.
  hand          `HandLoop`: the same algorithm as a plain `tf.function` step written without
                the engine (tfgan_zoo.benchmarking.hand_loop), on fresh copies of the networks
                with the zoo's initial weights, the same losses, penalties, Adam settings,
                d_steps slicing and EMA, iterating over its own copy of the same pipeline; no
                finite checks, trackers or callbacks.
  float32 hand  the hand loop in float32, beside every other precision: the reference a
                faster precision is measured against.
and, for the first precision, the hand loop on one cached batch (what input costs it) and the
input pipeline alone. `--breakdown` adds the steps between hand and zoo, to find where the
zoo's time goes: the hand loop with the engine's `apply_if_finite`, the zoo's `train_step` in a
plain loop (the engine without Keras' `fit()`), and `fit()` without the per-step callbacks.

The loops take turns: after a warm-up block each (tracing included), every round runs one
block of each; a block makes a new iterator, runs 3 untimed steps (the iterator's buffers fill)
and times `--steps` more (0: about 2 s of the slowest loop). Rates are medians over rounds;
a ratio is taken within each round, between blocks seconds apart, and its median and range
over rounds are reported, so load that drifts cancels out. Each ratio is given by wall time
(what the goals are about, on a quiet machine) and by the CPU time of this process, all its
threads (time.process_time): when another job shares the cores, wall time swings with its
load while the CPU a step costs barely moves, so the CPU ratio is the steadier figure there;
it cannot see time a loop spends idle, waiting on a barrier in its step or on input. Per-epoch
work of a run (every log_every steps) falls inside a timed block only when the block spans an
epoch's end. Only the adversarial phase is measured (RelGAN's pre-training is not).

Memory ("work MB"): the peak that TensorFlow's allocator reached in each block above what it
held at the block's start (tf.config.experimental.get_memory_info): a step's working memory,
activations, gradients and the pipeline's buffers. On the CPU, oneDNN's allocator counts only
allocations of 256 KB and more (smaller ones come from a pool it keeps no statistics for), so
a tiny config shows 0; every large buffer is in. Weights, EMA copy and optimizer slots
("state") are counted from the variables. The process's peak RSS was not used: it only grows
across blocks, and all loops share the process.

What bounds the step, measured in the same process (each the fastest of about 0.5 s of calls,
the one least slowed by other work on the machine): the 2048x2048 matmul in each precision's
compute type, an element-wise op on 256 MB (memory bandwidth), and a chain of dependent scalar
ops in a graph (the cost of an op that does nothing). The step's FLOPs are TensorFlow's count
of G's and D's forward passes (batch 1), a backward pass costing two forward passes: a critic
update is G + 6 D per example (+4 D with a gradient penalty or R1), a generator update 3 G +
3 D (+D when the loss reads D(real)). The ops of the traced step (before Grappler) times the
cost of an op is a floor on the step's time from op overhead alone.
"""
import json
import sys

from absl import flags

from tfgan_zoo import cli_common
from tfgan_zoo import config as config_lib

FLAGS = flags.FLAGS
flags.DEFINE_list("model", ["dcgan"], "Models to benchmark, NAME or NAME:PRESET (e.g. "
                  "wavegan:demo), or `all` (every config in configs/, at --preset: the "
                  "paper's WaveGAN takes about a minute a step here).")
flags.DEFINE_string("preset", None, "Preset of the models that name none (default: the "
                    "recipe's own config, at its real batch size).")
flags.DEFINE_list("precisions", ["float32", "mixed_bfloat16"],
                  f"Precisions to measure: any of {', '.join(config_lib.PRECISIONS)}.")
flags.register_validator(
    "precisions", lambda names: set(names) <= set(config_lib.PRECISIONS),
    f"expected a list of {', '.join(config_lib.PRECISIONS)}")
flags.DEFINE_integer("steps", 0, "Timed steps a block (0: about 2 s of the slowest loop).",
                     lower_bound=0)
flags.DEFINE_integer("rounds", 5, "Rounds of alternating blocks.", lower_bound=1)
flags.DEFINE_integer("batch_size", None, "Overrides config.train.batch_size.",
                     lower_bound=1)
flags.DEFINE_bool("breakdown", False, "Also time the steps between the hand loop and the "
                  "zoo (apply_if_finite, train_step without fit(), fit() without callbacks).")
flags.DEFINE_string("json", None, "Also write the figures to this JSON file.")


def _run(argv):
    del argv
    with cli_common.user_errors():
        from tfgan_zoo.benchmarking import contest  # TensorFlow loads after the flag checks

        report = contest.run(_items(FLAGS.model), FLAGS.precisions, FLAGS.steps, FLAGS.rounds,
                             FLAGS.preset, FLAGS.batch_size, FLAGS.breakdown, log=_print)
    if FLAGS.json:
        with open(FLAGS.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"\nWrote {FLAGS.json}")


def _items(model_flag):
    """The models of --model: its items, or every config for `all`."""
    return config_lib.available_models() if model_flag == ["all"] else model_flag


def check_models(argv):
    """Raises ZooError for a --model item or --preset that names no config, before absl parses
    the flags and TensorFlow loads (the whole check of a config needs TensorFlow: it comes
    when the benchmark builds it)."""
    preset = cli_common.peek_flag(argv, "preset", None)
    items = [item.strip() for item in cli_common.peek_flag(argv, "model", "dcgan").split(",")]
    for item in _items([item for item in items if item]):
        name, _, own_preset = item.partition(":")
        config_lib.load(name, own_preset or preset)


def _print(text):
    print(text, flush=True)


def main(argv=None):
    argv = list(sys.argv if argv is None else argv)
    with cli_common.user_errors():
        check_models(argv)
    cli_common.run(_run, argv)


if __name__ == "__main__":
    main()
