"""How fast WaveGAN trains here: step time, clips/s and the share of this machine's matmul peak.

  python scripts/wavegan_benchmark.py [--presets=paper,demo,demo_plain] [--steps=2]

For each config (the paper's d=64 recipe, the CPU demo, and the demo without its
self-conditioning, which is what that costs) it builds the zoo's GAN, trains on
random clips (the input pipeline is not what is measured), times `--steps` training steps after
one warm-up step, and counts the step's FLOPs from the layer shapes. The matmul peak is a
2048x2048 float32 matmul measured in the same process (the benchmark's: the fastest of about
0.5 s of calls), so the share is a ratio of two figures taken on the same (shared, noisy)
machine. It prints the figures and the machine, and writes them between the wavegan-benchmark
markers of README.md.

FLOP model of one training step (B clips per critic update, d_steps critic updates): G(B) and
D(B) are one forward pass of each network on B clips (2 FLOPs per multiply-add of its Dense and
convolution layers); a backward pass costs two forward passes. A critic update runs G forward
and D forward and backward on real and fake (G + 6 D); with WGAN-GP (the paper's recipe) the
penalty's D forward, its input gradient and the backward pass through both add about 4 D. The
generator update runs G and D forward and backward: 3 G + 3 D. Element-wise work is not counted.
"""
import argparse
import time

import tfgan_zoo  # noqa: F401  # isort: skip  (must precede TensorFlow)
import numpy as np
import tensorflow as tf
import tf_keras as keras
from zoo_table import update_readme

from tfgan_zoo import config as config_lib
from tfgan_zoo.benchmarking.machine import machine, matmul_peak
from tfgan_zoo.data.spec import DatasetSpec
from tfgan_zoo.engine import training

# name: (preset, config.model overrides)
PRESETS = {"paper": (None, {}), "demo": ("demo", {}), "demo_plain": ("demo", {"clusters": 0})}
MIN_SECONDS = 20.0  # each config's timed steps last at least this long
START, END = "<!-- wavegan-benchmark:start -->", "<!-- wavegan-benchmark:end -->"


def forward_flops(model):
    """2 x multiply-adds of one example's forward pass through Dense and convolution layers."""
    macs = 0
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv1DTranspose)):
            kernel = np.prod(layer.kernel.shape)  # k x in x out
            # A convolution's output position costs k*in*out / stride for a transposed one
            # (each input position feeds `stride` outputs), k*in*out for an ordinary one.
            length = layer.output.shape[1]
            stride = layer.strides[0] if isinstance(layer, keras.layers.Conv1DTranspose) else 1
            macs += kernel * length // stride
        elif isinstance(layer, keras.layers.Dense):
            macs += np.prod(layer.kernel.shape)
    return 2 * int(macs)


def benchmark(name, preset, model_overrides, steps):
    config = config_lib.load("wavegan", preset)
    config.model.update(model_overrides)
    batch, d_steps = config.train.batch_size, config.gan.d_steps
    length = config.model.slice_length
    spec = DatasetSpec("random", "train", 0, 1, 0, (), 1, config.data.sample_rate)
    gan = training.build_gan(config, spec)
    clips = tf.random.uniform([batch * d_steps, length, 1], -1, 1)
    batch_data = {"audio": clips, "label": tf.zeros([batch * d_steps], tf.int64)}
    step = tf.function(gan.train_step)
    step(batch_data)  # warm-up: tracing and first allocations
    started = time.perf_counter()
    done = 0
    # At least `steps` steps and MIN_SECONDS: two of the demo's 0.3 s steps are too few to tell
    # it from the demo_plain row.
    while done < steps or time.perf_counter() - started < MIN_SECONDS:
        logs = step(batch_data)
        float(logs["d_loss"])  # waits for the step
        done += 1
    seconds = (time.perf_counter() - started) / done
    g, d = forward_flops(gan.generator), forward_flops(gan.discriminator)
    critic = g + (10 if config.gan.gp_weight > 0 else 6) * d
    flops = batch * (d_steps * critic + 3 * g + 3 * d)
    return {"name": name, "d": config.model.model_dim, "length": length,
            "rate": config.data.sample_rate, "batch": batch, "d_steps": d_steps,
            "g_gflop": g / 1e9, "d_gflop": d / 1e9, "step_tflop": flops / 1e12,
            "seconds": seconds, "clips_per_second": batch * d_steps / seconds,
            "flops_per_second": flops / seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    unknown = set(args.presets.split(",")) - set(PRESETS)
    if unknown:
        parser.error(f"unknown --presets {', '.join(sorted(unknown))}; valid: "
                     f"{', '.join(PRESETS)}")
    peak, host = matmul_peak(), machine()
    lines = [f"Measured by `python scripts/wavegan_benchmark.py` on {host['cores']} cores, "
             f"{host['cpu']}, Python {host['python']}, TensorFlow {host['tensorflow']}: "
             "float32, random clips (the input pipeline is not measured), "
             f"at least {args.steps} steps and {MIN_SECONDS:.0f} s after a warm-up step. "
             f"Matmul peak (2048x2048 float32, same process): {peak / 1e9:.0f} GFLOP/s. "
             "FLOPs counted from the layer shapes (see the script).", "",
             "| config | d | samples | batch x critic updates | G / D forward per clip | "
             "FLOP per step | step time | real clips/s | share of matmul peak |",
             "|---|---|---|---|---|---|---|---|---|"]
    print(lines[0], flush=True)
    for name in args.presets.split(","):
        r = benchmark(name, *PRESETS[name], args.steps)
        lines.append(
            f"| {r['name']} | {r['d']} | {r['length']:,} at {r['rate'] // 1000} kHz | "
            f"{r['batch']} x {r['d_steps']} | {r['g_gflop']:.2f} / {r['d_gflop']:.2f} GFLOP | "
            f"{r['step_tflop']:.2f} TFLOP | {r['seconds']:.1f} s | "
            f"{r['clips_per_second']:.1f} | {r['flops_per_second'] / peak:.0%} |")
        print(lines[-1], flush=True)
    update_readme("\n".join(lines), START, END)


if __name__ == "__main__":
    main()
