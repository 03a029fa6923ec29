"""Benchmark every family of the zoo against a hand-written loop, and write the README table.

  python scripts/benchmark_table.py [--models=dcgan,...,relgan:demo]
      [--precisions=float32,mixed_bfloat16] [--rounds=5] [--steps=0]
      [--json=docs/benchmark/results.json]

Runs `python -m tfgan_zoo.benchmark` once for all the models, so the machine's ceilings are
measured once and every figure comes from one process. The image recipes run at their default
configs (their real batch size); WaveGAN, its conditional variant and RelGAN at their `demo`
presets, what a CPU trains: a step of the paper's WaveGAN takes about 68 s here (see the
wavegan-benchmark table), and RelGAN's default critic (300 filters of each width) several.
Writes the figures as JSON and the table between the benchmark-table markers of README.md.
About 1.5 minutes a model on 2 cores (dcgan, both precisions), so 15 or so for all.
"""
import argparse
import json
import os
import subprocess
import sys

from zoo_table import ROOT, update_readme

MODELS = ("dcgan", "lsgan", "sngan", "wgan_gp", "cgan", "acgan", "wavegan:demo",
          "wavegan_cond:demo", "relgan:demo")
START, END = "<!-- benchmark-table:start -->", "<!-- benchmark-table:end -->"


def _mb(count):
    """Whole megabytes, or "n/a" where the allocator kept no statistics (see timing.py)."""
    return "n/a" if count is None else f"{count / 2**20:.0f}"


def run_benchmark(models, precisions, rounds, steps, out):
    """The benchmark's report for `models` (it prints its own figures as it goes)."""
    subprocess.run([sys.executable, "-m", "tfgan_zoo.benchmark", f"--model={models}",
                    f"--precisions={precisions}", f"--rounds={rounds}", f"--steps={steps}",
                    f"--json={out}"], check=True)
    with open(out) as f:
        return json.load(f)


def ratio(r):
    return f"{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f})"


def both(p, key):
    """A ratio by wall time and by CPU time."""
    return f"{ratio(p['ratios'][key])}, CPU {ratio(p['cpu_ratios'][key])}"


def rows(item, section):
    """One row per precision of a model's section."""
    out = []
    for precision, p in section["precisions"].items():
        zoo, first = p["loops"]["zoo"], not out
        waits = ratio(section["input"]["hand_on_pipeline_vs_cached"]) if first else ""
        out.append(
            f"| {f'`{item}`' if first else ''} | {section['batch_size']} x {section['d_steps']} "
            f"| {precision} | {zoo['samples_per_second']:,.0f} {section['unit']}/s | "
            f"{both(p, 'zoo_vs_hand')} | {both(p, 'zoo_vs_float32_hand')} | "
            f"{100 * p['input_share']:.1f}% / {100 * p['input_cpu_share']:.1f}% | {waits} | "
            f"{100 * p['share_of_matmul_peak']:.0f}% | {100 * p['op_floor_share']:.0f}% | "
            f"{_mb(zoo['working_memory_bytes'])} / {p['state_bytes'] / 2**20:.1f} |")
    return out


def table(report):
    """The README's table of `report`, on the machine the benchmark recorded."""
    bounds, m = report["bounds"], report["machine"]
    peaks = ", ".join(f"{dtype} {flops / 1e9:.0f}" for dtype, flops in
                      bounds["matmul_flops"].items())
    lines = [
        f"Measured by `python scripts/benchmark_table.py` on {m['cores']} cores, {m['cpu']}, "
        f"Python {m['python']}, TensorFlow {m['tensorflow']}; CPU extensions: "
        f"{' '.join(m['isa']) or 'no AVX-512'}; load average "
        f"{m['load_average']:.1f} at the start. Ceilings in the same process: matmul "
        f"2048x2048 {peaks} GFLOP/s, element-wise {bounds['bandwidth'] / 1e9:.0f} GB/s, "
        f"{bounds['op_seconds'] * 1e6:.1f} us an op. The zoo (`fit()` with a run's per-step "
        "callbacks) and a hand-written `tf.function` loop on the same networks took turns; "
        "ratios are medians over rounds (range), by wall time and by the process's CPU time "
        "(steadier when other jobs share the cores). Input: the pipeline alone, as a share of "
        "a zoo step by wall / CPU time; pipeline / cached: the hand loop on the pipeline "
        "against one cached batch. "
        "Op floor: ops of the traced step x the cost of an op, as a share of the hand step. "
        "Memory: the allocator's peak working memory (buffers of 256 KB and more) / weights, "
        "EMA and optimizer slots. See `python -m tfgan_zoo.benchmark --help`.",
        "",
        "| model | batch x critic updates | precision | zoo | zoo / hand | zoo / float32 hand "
        "| input | pipeline / cached | share of matmul peak | op floor | work / state MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for item, section in report["models"].items():
        lines += rows(item, section)
        lines += ["| " + " | ".join([f"`{item}`", f"{precision}: skipped, {why}", *[""] * 9])
                  + " |" for precision, why in section["skipped"].items()]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--precisions", default="float32,mixed_bfloat16")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=0)
    parser.add_argument("--json", default=os.path.join(ROOT, "docs", "benchmark",
                                                       "results.json"))
    args = parser.parse_args()
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    report = run_benchmark(args.models, args.precisions, args.rounds, args.steps, args.json)
    text = table(report)
    print(f"\n{text}")
    with open(os.path.join(ROOT, "README.md")) as f:
        has_markers = START in f.read()
    if not has_markers:
        sys.exit(f"README.md has no {START} ... {END} lines: add them where the table goes, "
                 f"then run `python {sys.argv[0]}` again (the figures are in {args.json})")
    update_readme(text, START, END)
    print(f"\nWrote the table into README.md and the figures to {args.json}")


if __name__ == "__main__":
    main()
