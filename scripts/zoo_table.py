"""Train every recipe of the zoo over several seeds, score each run, and write the README table.

  python scripts/zoo_table.py [--models=dcgan,lsgan,...] [--seeds=0,1,2] [--dataset=mnist_5k]

For each model and seed: `python -m tfgan_zoo.train --model=NAME --config.train.seed=S` into a
fresh run directory (<runs>/NAME for the first seed, which scripts/prune_table.py and
scripts/export_table.py read, <runs>/NAME_seedS for the others), timed, then
`tfgan_zoo.evaluate` on its best checkpoint, and once on an untrained generator of the same
config. Cells are the mean and (min-max) over the seeds: a GAN's FID moves by several points
with the seed alone. Writes docs/zoo/NAME.png (the first seed's last sample grid),
docs/zoo/results.json and the table between the zoo-table markers of README.md; with
--dataset, the same under docs/zoo/DATASET/ and the zoo-table-DATASET markers. About 100 minutes
for six recipes and three seeds on 2 CPU cores. `--trial=NAME --flags="..."` trains with extra
flags into <runs>/trials/NAME and only prints and saves docs/zoo/trials/NAME.json: how a
change to a recipe is measured before it is kept.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
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


def spread(values, fmt, sep="-"):
    """"mean (min-max)" of `values`, each formatted with `fmt`; `sep` " to " for signed ones."""
    mean = statistics.mean(values)
    if len(values) == 1:
        return format(mean, fmt)
    return f"{mean:{fmt}} ({min(values):{fmt}}{sep}{max(values):{fmt}})"


def run_seeds(name, runs, seeds, flags):
    """Trains and scores `name` once per seed -> the results.json entry of the model."""
    entry = {"seeds": {}}
    for seed in seeds:
        workdir = os.path.join(runs, name if seed == seeds[0] else f"{name}_seed{seed}")
        seconds = train(name, workdir, f"--config.train.seed={seed}", *flags)
        entry["seeds"][str(seed)] = {"seconds": seconds, "best": evaluate(workdir, "best")}
        print(f"{name} seed {seed}: {seconds:.0f} s, "
              f"{entry['seeds'][str(seed)]['best']['results']}", flush=True)
        if seed == seeds[0]:
            entry["untrained"] = evaluate(workdir, "untrained")
            with open(os.path.join(workdir, "config.json")) as f:
                entry["steps"] = json.load(f)["train"]["num_steps"]
            entry["grid"] = os.path.join(workdir, "samples", "latest.png")
    return entry


def _over_seeds(entry, key):
    return [run["best"]["results"][key] for run in entry["seeds"].values()]


def row(name, entry, image_dir):
    runs = list(entry["seeds"].values())
    base = entry["untrained"]["results"]
    floor = runs[0]["best"]["floor"]
    best_steps = sorted({run["best"]["step"] for run in runs})
    heard = (spread(_over_seeds(entry, "class_accuracy"), ".3f")
             if "class_accuracy" in runs[0]["best"]["results"] else "-")
    seconds = [run["seconds"] for run in runs]
    return (f"| `{name}` | {entry['steps']:,} (best {', '.join(f'{s:,}' for s in best_steps)}) "
            f"| {statistics.mean(seconds):.0f} s (max {max(seconds):.0f}) "
            f"| {spread(_over_seeds(entry, 'fid'), '.1f')} / {base['fid']:.0f} / "
            f"{floor['fid']:.1f} | {spread(_over_seeds(entry, 'precision'), '.2f')} "
            f"| {spread(_over_seeds(entry, 'recall'), '.2f')} "
            f"| {spread(_over_seeds(entry, 'classifier_score'), '.2f')} / "
            f"{floor['classifier_score']:.2f} | {heard} "
            f"| ![{name}]({image_dir}/{name}.png) |")


def classifiers(bests):
    """The feature classifier's test accuracy, or each one's and its rows: on a machine
    without the cached classifier the zoo trains a new one, whose features (so FID's units)
    differ a little, which a reader comparing rows measured on different days should know.
    bests: {row name: the best-checkpoint record of one of its runs} (this table's and
    scripts/audio_table.py's)."""
    rows_of = {}
    for name, best in bests.items():
        rows_of.setdefault(f"{best['extractor_test_accuracy']:.3f}", []).append(name)
    if len(rows_of) == 1:
        return f"test accuracy {next(iter(rows_of))}"
    return ("retrained between rows: test accuracy " + "; ".join(
        f"{accuracy} for {', '.join(names)}" for accuracy, names in rows_of.items())
        + "; compare FID across them with the floors beside each row")


def table(results, host, image_dir):
    first_entry = next(iter(results.values()))
    first = next(iter(first_entry["seeds"].values()))["best"]
    bests = {name: next(iter(entry["seeds"].values()))["best"] for name, entry in results.items()}
    seeds = ", ".join(first_entry["seeds"])
    lines = [
        f"Measured by `python scripts/zoo_table.py` on {host}, seeds {seeds}: each cell is the "
        "mean (min-max) over the seeds of the best checkpoint by FID, beside the untrained "
        "generator and the real-data floor (training images scored the same way). Features: "
        f"`{first['extractor']}` ({classifiers(bests)}), "
        f"{first['num_generated']} samples against the {first['num_real']} test images. "
        "Wall time: the whole command, evaluations included.",
        "",
        "| model | steps | wall time | FID (trained / untrained / floor) | precision | recall "
        "| classifier score (trained / floor) | class heard as asked | samples (first seed) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [row(name, entry, image_dir) for name, entry in results.items()]
    lines += ["", RECALL_IN_WORDS]
    return "\n".join(lines)


# What the precision and recall columns mean to someone looking at the sample grids.
RECALL_IN_WORDS = (
    "Precision is the share of generated samples that fall among real ones (in the classifier's "
    "feature space, k-nearest-neighbour balls); recall the share of real samples that some "
    "generated sample comes close to. Low precision looks like blobs and broken strokes; low "
    "recall like a grid of near-copies: at recall 0.07 (the old ACGAN) every sample of a class "
    "was the same image, at 0.25 each class showed a few styles, at 0.6 and above the samples "
    "vary in slant, thickness and shape as the handwriting of the test set does."
)


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
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--dataset", default=None,
                        help="train on this dataset instead of each recipe's default")
    parser.add_argument("--runs", default=os.path.join(ROOT, "runs", "zoo"))
    parser.add_argument("--trial", default=None, help="name of a trial: nothing is replaced")
    parser.add_argument("--flags", default="", help="extra flags for every training command")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    flags = args.flags.split()
    docs, runs, start, end = os.path.join(ROOT, "docs", "zoo"), args.runs, START, END
    if args.dataset:
        flags.append(f"--dataset={args.dataset}")
        docs, runs = os.path.join(docs, args.dataset), os.path.join(runs, args.dataset)
        start, end = (f"<!-- zoo-table-{args.dataset}:start -->",
                      f"<!-- zoo-table-{args.dataset}:end -->")
    if args.trial:
        docs, runs = os.path.join(docs, "trials"), os.path.join(runs, "trials", args.trial)
    os.makedirs(docs, exist_ok=True)
    results_path = os.path.join(docs, f"{args.trial}.json" if args.trial else "results.json")
    results = {}
    if os.path.exists(results_path) and not args.trial:
        with open(results_path) as f:
            results = {name: entry for name, entry in json.load(f)["models"].items()
                       if "seeds" in entry}  # older single-seed tables are not merged
    for name in args.models.split(","):
        results[name] = run_seeds(name, runs, seeds, flags)
        if not args.trial:
            shutil.copy(results[name].pop("grid"), os.path.join(docs, f"{name}.png"))
    ordered = {name: results[name] for name in MODELS if name in results}
    host = machine()
    with open(results_path, "w") as f:
        json.dump({"machine": host, "flags": flags, "models": ordered}, f, indent=2)
    text = table(ordered, host, os.path.relpath(docs, ROOT))
    if not args.trial:
        update_readme(text, start, end)
    print(text)


if __name__ == "__main__":
    main()
