"""Train and score the WaveGAN demos over seeds, and write the README's audio table.

  python scripts/audio_table.py [--models=wavegan,wavegan_cond] [--seeds=0,1,2] [--runs=runs/audio]

For each model and seed: `python -m tfgan_zoo.train --model=NAME --preset=demo
--config.train.seed=S` into a fresh <runs>/NAME_demo_sS (timed), then `tfgan_zoo.evaluate` on
its best checkpoint and on an untrained generator, with the spoken-digit classifier the zoo
trains on the real clips. Writes docs/audio/results.json, docs/audio/NAME.png (the seed-0
run's last spectrograms) and a few of its clips as docs/audio/NAME_K.wav, and the table between
the audio-table markers of README.md. Each demo run takes up to about 30 minutes on 2 CPU cores.
A table stopped part-way resumes where it was when run again (see `measured`).

`--trial=NAME --flags="..."` measures a change before it is kept: the same runs with extra
training flags, into <runs>/trials/NAME, saved to docs/audio/trials/NAME.json with each run's
curve (inception score and share heard as asked at every evaluation, from its TensorBoard
log: a demo still improving at its last step shows there); the README is left alone.
"""
import argparse
import json
import os
import shutil

from zoo_table import ROOT, classifiers, evaluate, machine, spread, train, update_readme

from tfgan_zoo import files

MODELS = ("wavegan", "wavegan_cond")
START, END = "<!-- audio-table:start -->", "<!-- audio-table:end -->"
CLIPS_KEPT = 4  # WAV files per model in docs/audio: 8 kHz, 1 s, 16 KiB each
CURVE = ("classifier_score", "class_accuracy", "fid")  # a trial's figures at every evaluation


def row(name, runs):
    best = [r["best"]["results"] for r in runs]
    floor = runs[0]["best"]["floor"]
    base = runs[0]["untrained"]["results"]
    accuracy = (spread([b["class_accuracy"] for b in best], ".0%")
                if "class_accuracy" in best[0] else "-")
    return (f"| `{name}` demo | {len(runs)} | {runs[0]['steps']:,} | "
            f"{spread([r['seconds'] / 60 for r in runs], '.0f')} min | "
            f"{spread([b['classifier_score'] for b in best], '.2f')} / "
            f"{base['classifier_score']:.2f} / {floor['classifier_score']:.2f} | "
            f"{spread([b['fid'] for b in best], '.1f')} / {base['fid']:.0f} / "
            f"{floor['fid']:.1f} | {accuracy} | "
            f"{spread([b['precision'] for b in best], '.2f')} / "
            f"{spread([b['recall'] for b in best], '.2f')} |")


def table(results, host):
    first = next(iter(results.values()))[0]["best"]
    lines = [
        f"Measured by `python scripts/audio_table.py` on {host}. Each cell: trained (best "
        "checkpoint by FID; mean and range over the seeds) / untrained generator / real-data "
        f"floor (real training clips scored the same way). Features: `{first['extractor']}` "
        f"({classifiers({name: runs[0]['best'] for name, runs in results.items()})}, on "
        "voices it never heard), "
        f"{first['num_generated']} generated clips against the {first['num_real']} test clips.",
        "",
        "| model | seeds | steps | wall time | inception score | FID | heard as asked | "
        "precision / recall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [row(name, runs) for name, runs in results.items()]
    return "\n".join(lines)


def curve_lines(results):
    """A trial's runs evaluation by evaluation: `step: IS, heard as asked, FID`."""
    for name, runs in results.items():
        for run in runs:
            yield f"\n{name} seed {run['seed']}:"
            for step, figures in run["curve"].items():
                yield f"  step {step:>6,}: " + ", ".join(
                    f"{figure} {value:.3g}" for figure, value in figures.items())


def keep_samples(name, workdir):
    """The seed-0 run's last spectrograms and its first clips, into docs/audio/."""
    out = os.path.join(ROOT, "docs", "audio")
    samples = os.path.join(workdir, "samples")
    shutil.copy(os.path.join(samples, "latest.png"), os.path.join(out, f"{name}.png"))
    clips = sorted(os.listdir(os.path.join(samples, "latest")))
    step = max(1, len(clips) // CLIPS_KEPT)  # conditional: spread over the digits
    for k, clip in enumerate(clips[::step][:CLIPS_KEPT]):
        shutil.copy(os.path.join(samples, "latest", clip), os.path.join(out, f"{name}_{k}.wav"))


def curve(workdir):
    """{step: {figure: value}} of the run's evaluations, as its TensorBoard log holds them."""
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    log = event_accumulator.EventAccumulator(os.path.join(workdir, "logs"),
                                             size_guidance={"tensors": 0})
    log.Reload()
    points = {}
    for figure in CURVE:
        tag = f"eval/{figure}"
        if tag in log.Tags()["tensors"]:
            for event in log.Tensors(tag):
                points.setdefault(event.step, {})[figure] = float(
                    tensor_util.make_ndarray(event.tensor_proto))
    return dict(sorted(points.items()))


def measured(name, seed, workdir, flags=()):
    """The table's entry for one seed: trained and scored now, or what an earlier call wrote.

    Each stage is kept in the run directory as soon as it is done (`table_seconds.json` after
    training, `table_entry.json` after scoring), so a table that stops part-way is resumed by
    running the same command, without training any finished seed again.
    """
    entry_path = os.path.join(workdir, "table_entry.json")
    seconds_path = os.path.join(workdir, "table_seconds.json")
    if os.path.exists(entry_path):
        with open(entry_path) as f:
            return json.load(f)
    if os.path.exists(seconds_path):
        with open(seconds_path) as f:
            seconds = json.load(f)["seconds"]
    else:
        seconds = train(name, workdir, "--preset=demo", f"--config.train.seed={seed}", *flags)
        files.write_json(seconds_path, {"seconds": seconds})
    entry = {"seed": seed, "seconds": seconds, "best": evaluate(workdir, "best"),
             "untrained": evaluate(workdir, "untrained")}
    with open(os.path.join(workdir, "config.json")) as f:
        entry["steps"] = json.load(f)["train"]["num_steps"]
    files.write_json(entry_path, entry)
    return entry


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--runs", default=os.path.join(ROOT, "runs", "audio"))
    parser.add_argument("--trial", default=None, help="name of a trial: nothing is replaced")
    parser.add_argument("--flags", default="", help="extra flags for every training command")
    args = parser.parse_args()
    docs, runs, flags = os.path.join(ROOT, "docs", "audio"), args.runs, args.flags.split()
    if args.trial:
        docs, runs = os.path.join(docs, "trials"), os.path.join(runs, "trials", args.trial)
    os.makedirs(docs, exist_ok=True)
    results_path = os.path.join(docs, f"{args.trial}.json" if args.trial else "results.json")
    results = {}
    if os.path.exists(results_path) and not args.trial:
        with open(results_path) as f:
            results = json.load(f)["models"]
    seeds = [int(s) for s in args.seeds.split(",")]
    for name in args.models.split(","):
        runs_of_model = []
        for seed in seeds:
            workdir = os.path.join(runs, f"{name}_demo_s{seed}")
            entry = measured(name, seed, workdir, flags)
            if args.trial:
                entry["curve"] = curve(workdir)
            runs_of_model.append(entry)
            print(f"{name} seed {seed}: {entry['best']['results']}", flush=True)
        if not args.trial:
            keep_samples(name, os.path.join(runs, f"{name}_demo_s{seeds[0]}"))
        results[name] = runs_of_model
    ordered = {name: results[name] for name in MODELS if name in results}
    host = machine()
    with open(results_path, "w") as f:
        json.dump({"machine": host, "flags": flags, "models": ordered}, f, indent=2)
    text = table(ordered, host)
    if args.trial:
        text += "\n" + "\n".join(curve_lines(ordered))
    else:
        update_readme(text, START, END)
    print(text)


if __name__ == "__main__":
    main()
