"""`python -m tfgan_zoo.benchmark` and its library, tfgan_zoo.benchmarking: the hand-written
loop is the zoo's algorithm (same weights after a step), the command prints and writes what it
promises, and its flag errors come before TensorFlow loads. Speed itself is measured by the
benchmark, not asserted here."""
import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfgan_zoo import config as config_lib
from tfgan_zoo import models
from tfgan_zoo.benchmarking import contest, report
from tfgan_zoo.benchmarking import timing as timing_lib
from tfgan_zoo.benchmarking.hand_loop import HandLoop
from tfgan_zoo.engine import training


def run_benchmark(*args):
    return subprocess.run([sys.executable, "-m", "tfgan_zoo.benchmark", *args],
                          capture_output=True, text=True, timeout=300)


def weights(*networks):
    return [w for network in networks for w in network.get_weights()]


# dcgan: batch norm, EMA, here also a gradient penalty and two critic updates on interleaved
# slices; cgan and acgan: labels drawn with the latents, projection and auxiliary losses (acgan's
# recipe projects the label too; its Odena D is checked with TAC-GAN's twin head);
# relgan: text, the scheduled beta, dropout, clipped Adam, a loss that reads D(real);
# self-conditioned dcgan: clusters of reals and of latents, mode seeking within a cluster (cgan's
# between two batches, the default dcgan's between the halves of one).
@pytest.mark.parametrize("item, overrides", [
    ("dcgan", {"gan.gp_weight": 10.0, "gan.d_steps": 2}), ("cgan", {}), ("acgan", {}),
    ("acgan", {"model.twin_classifier": True, "model.label_projection": False}),
    ("dcgan", {"model.clusters": 3, "gan.mode_seeking": 1.0,
               "gan.mode_seeking_pairs": "batch_halves", "gan.d_steps": 2}),
    ("relgan", {}),
])
def test_hand_loop_step_ends_with_the_zoo_s_weights(item, overrides):
    config = contest.load_config(item, "tiny")
    for key, value in overrides.items():
        section, name = key.split(".")
        config[section][name] = value
    kind = models.kind_of_config(config)
    tf.keras.utils.set_random_seed(config.train.seed)
    dataset, spec = kind.load(config, config.train.batch_size * config.gan.d_steps)
    gan = training.build_gan(config, spec)
    if gan.clusters is not None:  # centres as fit_clusters would set them
        gan.clusters.centres.assign(np.random.default_rng(0).uniform(
            -1, 1, gan.clusters.centres.shape).astype(np.float32))
    centres = gan.clusters.centres.numpy() if gan.clusters is not None else None
    hand = HandLoop(config, spec, (gan.generator.get_weights(), gan.discriminator.get_weights()),
                    centres=centres)
    before = weights(gan.generator, gan.discriminator)
    batch = next(iter(dataset))

    gan.fit(tf.data.Dataset.from_tensors(batch), epochs=1, steps_per_epoch=1, verbose=0)
    hand.step(batch)

    zoo = weights(gan.generator, gan.discriminator, *[gan.ema_generator] * (hand.ema is not None))
    own = weights(hand.generator, hand.discriminator, *[hand.ema] * (hand.ema is not None))
    assert len(zoo) == len(own)
    for z, h in zip(zoo, own, strict=True):
        np.testing.assert_array_equal(z, h)  # the same ops in the same order: bit for bit
    # A step was taken.
    assert any(np.any(b != a) for b, a in zip(before, own[:len(before)], strict=True))


def test_command_prints_ratios_and_machine_and_writes_json(tmp_path):
    # bfloat16 alone: its section holds every loop there is besides the breakdown (the float32
    # reference is built for it), at the cost of one zoo GAN.
    out = tmp_path / "bench.json"
    result = run_benchmark("--model=dcgan", "--preset=tiny", "--steps=2", "--rounds=2",
                           "--precisions=mixed_bfloat16", f"--json={out}")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("Machine: ") and "cores" in text and "TensorFlow 2." in text
    assert "GFLOP/s" in text and "us an op" in text
    for line in ("zoo: fit() + per-step callbacks", "hand-written loop, float32",
                 "    zoo / hand                 mixed_bfloat16 ",
                 "    zoo / float32 hand         mixed_bfloat16 ", "input pipeline alone:",
                 "of the bfloat16 matmul peak"):
        assert line in text
    report = json.loads(out.read_text())
    assert {"machine", "bounds", "models"} <= set(report)
    section = report["models"]["dcgan"]
    assert section["batch_size"] == 16 and section["samples_per_step"] == 16
    bf16 = section["precisions"]["mixed_bfloat16"]
    assert set(bf16["loops"]) == {"zoo", "hand", "float32_hand", "hand_cached", "input"}
    assert set(bf16["ratios"]) == set(bf16["cpu_ratios"]) == {
        "zoo_vs_hand", "zoo_vs_float32_hand", "hand_vs_float32_hand", "hand_vs_hand_cached"}
    assert 0 < bf16["input_share"] and section["input"]["batches_per_second"] > 0
    zoo = bf16["loops"]["zoo"]
    assert len(zoo["steps_per_second_rounds"]) == 2
    assert zoo["samples_per_second"] == pytest.approx(16 * zoo["steps_per_second"])
    assert section["flops"]["step"] > 0 and bf16["graph_ops"]["hand"] > 100


# Runs the command's main as `python -m` does, then prints which TensorFlow modules it loaded.
LOADED_TENSORFLOW = """\
import sys
from tfgan_zoo import benchmark
try:
    benchmark.main(["benchmark", *sys.argv[1:]])
finally:
    print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "tf_keras")))
"""


@pytest.mark.parametrize("args, message", [
    (["--rounds=abc"], "error: --rounds=abc: expected a positive integer (default 5)"),
    (["--precisions=float32,float64"], "error: --precisions=float32,float64: expected a list "
     f"of {', '.join(config_lib.PRECISIONS)}"),
    (["--model=dcgan,nosuch"], "error: unknown model 'nosuch'; available models: "),
    (["--model=dcgan:tiny,cgan", "--preset=nope"],
     "error: model 'cgan' has no preset 'nope'; valid presets: "),
])
def test_bad_flag_is_one_line_and_exit_2_before_tensorflow_loads(args, message):
    result = subprocess.run([sys.executable, "-c", LOADED_TENSORFLOW, *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()  # one line, no traceback, no TensorFlow start-up
    assert line.startswith(message), line
    assert result.stdout == "[]\n"


def test_memory_is_not_measured_where_the_allocator_keeps_no_statistics(monkeypatch):
    # TensorFlow's CPU allocator keeps statistics only with oneDNN on (chosen by CPU model).
    def refuse(device):
        raise ValueError(f"Cannot reset memory stats for device '{device}'")

    monkeypatch.setattr(tf.config.experimental, "reset_memory_stats", refuse)
    (timing, memory) = timing_lib._with_memory(lambda steps: steps * 2, 3)
    assert (timing, memory) == (6, None)
    assert timing_lib._peak([None, None]) is None and timing_lib._peak([None, 5, 3]) == 5
    assert report.megabytes(None) == "n/a" and report.megabytes(3 * 2**20) == "3.0"
