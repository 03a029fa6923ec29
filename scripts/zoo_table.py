"""Train every recipe of the zoo with its default config, score it, and write the README table.

  python scripts/zoo_table.py [--models=dcgan,lsgan,...] [--runs=runs/zoo]

For each model: `python -m tfgan_zoo.train --model=NAME` into a fresh <runs>/NAME (timed), then
`tfgan_zoo.evaluate` on its best checkpoint and on an untrained generator of the same config.
Writes docs/zoo/NAME.png (the run's last sample grid), docs/zoo/results.json, and the table
between the zoo-table markers of README.md. About 25 minutes for all six on 2 CPU cores.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ("dcgan", "lsgan", "sngan", "wgan_gp", "cgan", "acgan")
START, END = "<!-- zoo-table:start -->", "<!-- zoo-table:end -->"


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def train(model, workdir, *flags):
    """Trains `model` from scratch into `workdir` (with any extra command-line `flags`);
    returns the wall time in seconds."""
    if os.path.exists(workdir):  # a fresh run, so the wall time is a whole run's
        shutil.rmtree(workdir)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tfgan_zoo.train", f"--model={model}",
                    f"--workdir={workdir}", *flags], check=True)
    return time.perf_counter() - started


def evaluate(workdir, checkpoint):
    from tfgan_zoo.evaluation import report  # after the training subprocesses: TF loads once

    return report.evaluate_run(workdir, checkpoint, log=lambda _: None)


def row(name, entry):
    best, base, floor = entry["best"], entry["untrained"], entry["best"]["floor"]
    r = best["results"]
    return (f"| `{name}` | {entry['steps']:,} (best {best['step']:,}) | "
            f"{entry['seconds'] / 60:.1f} min | {r['fid']:.1f} / {base['results']['fid']:.0f} / "
            f"{floor['fid']:.1f} | {r['kid']:.1f} / {base['results']['kid']:.0f} / "
            f"{floor['kid']:.1f} | {r['classifier_score']:.2f} / "
            f"{base['results']['classifier_score']:.2f} / {floor['classifier_score']:.2f} | "
            f"{r['precision']:.2f} / {r['recall']:.2f} | ![{name}](docs/zoo/{name}.png) |")


def table(results, host):
    first = next(iter(results.values()))["best"]
    lines = [
        f"Measured by `python scripts/zoo_table.py` on {host}. Each cell: trained (best "
        "checkpoint by FID) / untrained generator / real-data floor (training images scored the "
        f"same way). Features: `{first['extractor']}` (test accuracy "
        f"{first['extractor_test_accuracy']:.3f}), {first['num_generated']} samples against "
        f"the {first['num_real']} test images.",
        "",
        "| model | steps | wall time | FID | KID | classifier score | precision / recall "
        "| samples (last grid) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [row(name, entry) for name, entry in results.items()]
    return "\n".join(lines)


def update_readme(text, start=START, end=END):
    """Replaces what README.md holds between the `start` and `end` marker lines."""
    path = os.path.join(ROOT, "README.md")
    with open(path) as f:
        readme = f.read()
    head, rest = readme.split(start, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(f"{head}{start}\n{text}\n{end}{tail}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--runs", default=os.path.join(ROOT, "runs", "zoo"))
    args = parser.parse_args()
    os.makedirs(os.path.join(ROOT, "docs", "zoo"), exist_ok=True)
    results_path = os.path.join(ROOT, "docs", "zoo", "results.json")
    results = {}
    if os.path.exists(results_path):
        with open(results_path) as f:
            results = json.load(f)["models"]
    for name in args.models.split(","):
        workdir = os.path.join(args.runs, name)
        seconds = train(name, workdir)
        entry = {"seconds": seconds, "best": evaluate(workdir, "best"),
                 "untrained": evaluate(workdir, "untrained")}
        with open(os.path.join(workdir, "config.json")) as f:
            entry["steps"] = json.load(f)["train"]["num_steps"]
        shutil.copy(os.path.join(workdir, "samples", "latest.png"),
                    os.path.join(ROOT, "docs", "zoo", f"{name}.png"))
        results[name] = entry
        print(f"{name}: {entry['best']['results']}", flush=True)
    ordered = {name: results[name] for name in MODELS if name in results}
    host = machine()
    with open(results_path, "w") as f:
        json.dump({"machine": host, "models": ordered}, f, indent=2)
    text = table(ordered, host)
    update_readme(text)
    print(text)


if __name__ == "__main__":
    main()
