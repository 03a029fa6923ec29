"""Train and score the text GAN's demos over seeds, and write the README's text table.

  python scripts/text_table.py [--benchmarks=oracle,text] [--seeds=0,1,2] [--runs=runs/text]

Each benchmark is a preset of configs/relgan.py: `oracle` is `demo` (the synthetic oracle at
length 20), `text` is `text` (Moby-Dick's sentences). For each seed, into <runs>/NAME_sS:
  1. MLE alone: `python -m tfgan_zoo.train --model=relgan --preset=P --config.train.seed=S
     --config.train.num_steps=0` (pre-training only), then `evaluate --checkpoint=latest`;
  2. the adversarial phase: the same command with the preset's num_steps resumes the run, then
     `evaluate` of its best checkpoint (by NLL_oracle or BLEU-4) and of its last.
Each phase is timed. Writes docs/text/results.json, docs/text/NAME_samples.txt (20 lines of the
seed-0 run's best checkpoint) and the table between the text-table markers of README.md. A
table stopped part-way resumes where it was when run again: each stage's result is kept in the
run directory (`table_*.json`).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

from audio_table import spread
from zoo_table import ROOT, evaluate, machine, update_readme

from tfgan_zoo import files

BENCHMARKS = {"oracle": "demo", "text": "text"}
START, END = "<!-- text-table:start -->", "<!-- text-table:end -->"
SAMPLE_LINES = 20
# Published NLL_oracle at length 20 (RelGAN, Nie et al. 2019, table 1).
PUBLISHED = "real data 5.750, MLE 9.038, SeqGAN 8.736, LeakGAN 7.038, RelGAN 6.680"


def run_train(workdir, preset, seed, *flags):
    """`tfgan_zoo.train` into `workdir` (new or resumed); returns the wall time in seconds."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tfgan_zoo.train", "--model=relgan",
                    f"--preset={preset}", f"--workdir={workdir}",
                    f"--config.train.seed={seed}", *flags], check=True)
    return time.perf_counter() - started


def stage(workdir, name, compute):
    """`compute()`'s result, kept as <workdir>/table_<name>.json so a rerun skips it."""
    path = os.path.join(workdir, f"table_{name}.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    result = compute()
    files.write_json(path, result)
    return result


def measured(name, seed, workdir):
    """The table's entry for one benchmark and seed."""
    preset = BENCHMARKS[name]
    started = os.path.exists(os.path.join(workdir, "table_mle_seconds.json"))
    if os.path.exists(workdir) and not started:
        shutil.rmtree(workdir)  # a fresh run, so the wall time is a whole phase's
    mle_seconds = stage(workdir, "mle_seconds", lambda: run_train(
        workdir, preset, seed, "--config.train.num_steps=0"))
    mle = stage(workdir, "mle", lambda: evaluate(workdir, "latest"))
    gan_seconds = stage(workdir, "gan_seconds", lambda: run_train(workdir, preset, seed))
    best = stage(workdir, "best", lambda: evaluate(workdir, "best"))
    last = stage(workdir, "last", lambda: evaluate(workdir, "latest"))
    with open(os.path.join(workdir, "config.json")) as f:
        train = json.load(f)["train"]
    return {"seed": seed, "mle_seconds": mle_seconds, "gan_seconds": gan_seconds,
            "pretrain_steps": train["pretrain_steps"], "steps": train["num_steps"],
            "mle": mle, "best": best, "last": last}


def cells(runs, which, metrics):
    return " / ".join(spread([r[which]["results"][m] for r in runs], "{:.3f}")
                      for m in metrics)


def table(results, host):
    lines = [f"Measured by `python scripts/text_table.py` on {host}; mean (min-max) over the "
             "seeds. MLE: the generator after pre-training alone; GAN: the best checkpoint of "
             "the adversarial phase that follows it (by NLL_oracle, or BLEU-4 on real text) "
             "and its last.", ""]
    if "oracle" in results:
        runs = results["oracle"]
        floor = runs[0]["mle"]["floor"]["nll_oracle"]
        lines += [
            f"Oracle, length 20 ({runs[0]['mle']['num_generated']:,} generated sequences; "
            f"real data {floor:.3f} under our oracle; published: {PUBLISHED}):", "",
            "| seeds | MLE updates / adversarial steps | wall time MLE + GAN | NLL_oracle MLE | "
            "NLL_oracle GAN best / last | NLL_gen MLE / GAN best |",
            "|---|---|---|---|---|---|",
            f"| {len(runs)} | {runs[0]['pretrain_steps']:,} / {runs[0]['steps']:,} | "
            f"{spread([r['mle_seconds'] / 60 for r in runs], '{:.0f}')} + "
            f"{spread([r['gan_seconds'] / 60 for r in runs], '{:.0f}')} min | "
            f"{cells(runs, 'mle', ['nll_oracle'])} | {cells(runs, 'best', ['nll_oracle'])} / "
            f"{cells(runs, 'last', ['nll_oracle'])} | {cells(runs, 'mle', ['nll_gen'])} / "
            f"{cells(runs, 'best', ['nll_gen'])} |", ""]
    if "text" in results:
        runs = results["text"]
        first = runs[0]["mle"]
        bleu = [f"bleu{n}" for n in (2, 3, 4, 5)]
        self_bleu = [f"self_bleu{n}" for n in (2, 3, 4, 5)]
        lines += [
            f"Moby-Dick sentences ({first['results']['num_generated']} generated sentences "
            f"against the {first['num_real']} test lines; self-BLEU over "
            f"{first['results']['num_self_bleu']}; BLEU as Texygen computes it):", "",
            "| | BLEU-2 / 3 / 4 / 5 | self-BLEU-2 / 3 / 4 / 5 (lower: more diverse) | NLL_gen |",
            "|---|---|---|---|",
            "| real training lines (floor) | "
            + " / ".join(f"{first['floor'][m]:.3f}" for m in bleu) + " | "
            + " / ".join(f"{first['floor'][m]:.3f}" for m in self_bleu) + " | - |",
        ]
        for label, which in (("MLE", "mle"), ("GAN best", "best"), ("GAN last", "last")):
            lines.append(f"| {label} | {cells(runs, which, bleu)} | "
                         f"{cells(runs, which, self_bleu)} | {cells(runs, which, ['nll_gen'])} |")
        lines += ["", f"Wall time: MLE {spread([r['mle_seconds'] / 60 for r in runs], '{:.0f}')}"
                  f" min ({runs[0]['pretrain_steps']:,} updates) + GAN "
                  f"{spread([r['gan_seconds'] / 60 for r in runs], '{:.0f}')} min "
                  f"({runs[0]['steps']:,} steps)."]
    return "\n".join(lines)


def keep_samples(name, workdir):
    """SAMPLE_LINES lines of the run's best checkpoint into docs/text/NAME_samples.txt."""
    from tfgan_zoo.deployment import generation

    samples = generation.generate(workdir, SAMPLE_LINES, seed=0, which="best")
    out = os.path.join(ROOT, "docs", "text", f"{name}_samples.txt")
    samples.kind.write_generated(out, samples.samples, samples.spec)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", default=",".join(BENCHMARKS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--runs", default=os.path.join(ROOT, "runs", "text"))
    args = parser.parse_args()
    os.makedirs(os.path.join(ROOT, "docs", "text"), exist_ok=True)
    results_path = os.path.join(ROOT, "docs", "text", "results.json")
    results = {}
    if os.path.exists(results_path):
        with open(results_path) as f:
            results = json.load(f)["benchmarks"]
    seeds = [int(s) for s in args.seeds.split(",")]
    for name in args.benchmarks.split(","):
        runs = []
        for seed in seeds:
            entry = measured(name, seed, os.path.join(args.runs, f"{name}_s{seed}"))
            runs.append(entry)
            print(f"{name} seed {seed}: MLE {entry['mle']['results']} GAN best "
                  f"{entry['best']['results']}", flush=True)
        keep_samples(name, os.path.join(args.runs, f"{name}_s{seeds[0]}"))
        results[name] = runs
    ordered = {name: results[name] for name in BENCHMARKS if name in results}
    host = machine()
    files.write_json(results_path, {"machine": host, "benchmarks": ordered})
    text = table(ordered, host)
    update_readme(text, START, END)
    print(text)


if __name__ == "__main__":
    main()
