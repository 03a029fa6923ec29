"""Train and score the WaveGAN demos over seeds, and write the README's audio table.

  python scripts/audio_table.py [--models=wavegan,wavegan_cond] [--seeds=0,1,2] [--runs=runs/audio]

For each model and seed: `python -m tfgan_zoo.train --model=NAME --preset=demo
--config.train.seed=S` into a fresh <runs>/NAME_demo_sS (timed), then `tfgan_zoo.evaluate` on
its best checkpoint and on an untrained generator, with the spoken-digit classifier the zoo
trains on the real clips. Writes docs/audio/results.json, docs/audio/NAME.png (the seed-0
run's last spectrograms) and a few of its clips as docs/audio/NAME_K.wav, and the table between
the audio-table markers of README.md. Each demo run takes up to about 30 minutes on 2 CPU cores.
A table stopped part-way resumes where it was when run again (see `measured`).
"""
import argparse
import json
import os
import shutil
import statistics

from zoo_table import ROOT, evaluate, machine, train, update_readme

from tfgan_zoo import files

MODELS = ("wavegan", "wavegan_cond")
START, END = "<!-- audio-table:start -->", "<!-- audio-table:end -->"
CLIPS_KEPT = 4  # WAV files per model in docs/audio: 8 kHz, 1 s, 16 KiB each


def spread(values, fmt):
    """'mean (min-max)' of a list, or the one value."""
    if len(values) == 1:
        return fmt.format(values[0])
    return (f"{fmt.format(statistics.mean(values))} ({fmt.format(min(values))}-"
            f"{fmt.format(max(values))})")


def row(name, runs):
    best = [r["best"]["results"] for r in runs]
    floor = runs[0]["best"]["floor"]
    base = runs[0]["untrained"]["results"]
    accuracy = (spread([b["class_accuracy"] for b in best], "{:.0%}")
                if "class_accuracy" in best[0] else "-")
    return (f"| `{name}` demo | {len(runs)} | {runs[0]['steps']:,} | "
            f"{spread([r['seconds'] / 60 for r in runs], '{:.0f}')} min | "
            f"{spread([b['classifier_score'] for b in best], '{:.2f}')} / "
            f"{base['classifier_score']:.2f} / {floor['classifier_score']:.2f} | "
            f"{spread([b['fid'] for b in best], '{:.1f}')} / {base['fid']:.0f} / "
            f"{floor['fid']:.1f} | {accuracy} | "
            f"{spread([b['precision'] for b in best], '{:.2f}')} / "
            f"{spread([b['recall'] for b in best], '{:.2f}')} |")


def table(results, host):
    first = next(iter(results.values()))[0]["best"]
    lines = [
        f"Measured by `python scripts/audio_table.py` on {host}. Each cell: trained (best "
        "checkpoint by FID; mean and range over the seeds) / untrained generator / real-data "
        f"floor (real training clips scored the same way). Features: `{first['extractor']}` "
        f"(test accuracy {first['extractor_test_accuracy']:.3f}, on voices it never heard), "
        f"{first['num_generated']} generated clips against the {first['num_real']} test clips.",
        "",
        "| model | seeds | steps | wall time | inception score | FID | heard as asked | "
        "precision / recall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [row(name, runs) for name, runs in results.items()]
    return "\n".join(lines)


def keep_samples(name, workdir):
    """The seed-0 run's last spectrograms and its first clips, into docs/audio/."""
    out = os.path.join(ROOT, "docs", "audio")
    samples = os.path.join(workdir, "samples")
    shutil.copy(os.path.join(samples, "latest.png"), os.path.join(out, f"{name}.png"))
    clips = sorted(os.listdir(os.path.join(samples, "latest")))
    step = max(1, len(clips) // CLIPS_KEPT)  # conditional: spread over the digits
    for k, clip in enumerate(clips[::step][:CLIPS_KEPT]):
        shutil.copy(os.path.join(samples, "latest", clip), os.path.join(out, f"{name}_{k}.wav"))


def measured(name, seed, workdir):
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
        seconds = train(name, workdir, "--preset=demo", f"--config.train.seed={seed}")
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
    args = parser.parse_args()
    os.makedirs(os.path.join(ROOT, "docs", "audio"), exist_ok=True)
    results_path = os.path.join(ROOT, "docs", "audio", "results.json")
    results = {}
    if os.path.exists(results_path):
        with open(results_path) as f:
            results = json.load(f)["models"]
    seeds = [int(s) for s in args.seeds.split(",")]
    for name in args.models.split(","):
        runs = []
        for seed in seeds:
            workdir = os.path.join(args.runs, f"{name}_demo_s{seed}")
            entry = measured(name, seed, workdir)
            runs.append(entry)
            print(f"{name} seed {seed}: {entry['best']['results']}", flush=True)
        keep_samples(name, os.path.join(args.runs, f"{name}_demo_s{seeds[0]}"))
        results[name] = runs
    ordered = {name: results[name] for name in MODELS if name in results}
    host = machine()
    with open(results_path, "w") as f:
        json.dump({"machine": host, "models": ordered}, f, indent=2)
    text = table(ordered, host)
    update_readme(text, START, END)
    print(text)


if __name__ == "__main__":
    main()
