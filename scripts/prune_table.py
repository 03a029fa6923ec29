"""Prune the zoo's trained DCGAN to 50%, 80% and 90% sparsity and write the README table.

  python scripts/prune_table.py [--source=runs/zoo/dcgan] [--steps=2000] [--seeds=0,1,2]

Needs the DCGAN run of scripts/zoo_table.py (or any trained dcgan workdir as --source). For each
target and fine-tuning seed: `python -m tfgan_zoo.prune` into a fresh <source>_prunedNN (the
first seed; what scripts/export_table.py exports) or <source>_prunedNN_seedS; and per seed, once
for all targets, the dense baseline (target 0: the same fine-tuning unpruned) into
<source>_pruned00[_seedS]. Then the table of achieved sparsity (every pruned layer), gzipped
generator size against the dense one, FID and classifier score before and after, as the mean
and range over the seeds (one fine-tuning run's FID moves by several points with the seed
alone), and the dense fine-tune's FID beside them: a pruned FID against the source's mixes
pruning with the extra training, against the dense fine-tune of its seed it is pruning's alone.
Writes docs/prune/results.json and the README section between the prune-table markers. About
35 minutes on 2 CPU cores.
"""
import argparse
import json
import os
import shutil
import statistics

from zoo_table import ROOT, machine, spread, update_readme

TARGETS = (0.5, 0.8, 0.9)
START, END = "<!-- prune-table:start -->", "<!-- prune-table:end -->"


def pruning_changes(reports, baselines):
    """Per seed, the pruned FID relative to the dense fine-tune of the same seed (-0.05: 5%
    lower): what pruning did, the extra training being the same on both sides."""
    dense = {b["seed"]: b["after"]["fid"] for b in baselines}
    missing = sorted({r["seed"] for r in reports} - set(dense))
    if missing:
        raise ValueError(f"no dense baseline for seed(s) {missing}")
    return [r["after"]["fid"] / dense[r["seed"]] - 1 for r in reports]


def row(reports, baselines):
    """One table row from the reports of one target's seeds and the dense baselines of the
    same seeds."""
    first = reports[0]
    layers = [layer["sparsity"] for r in reports for layer in r["pruning"]["layers"].values()]
    dense_bytes = first["pruning"]["gzipped_bytes"]["dense"]
    pruned_bytes = statistics.mean(r["pruning"]["gzipped_bytes"]["stripped"] for r in reports)
    fid_before = first["before"]["fid"]
    fids = [r["after"]["fid"] for r in reports]
    dense_fids = [b["after"]["fid"] for b in baselines]
    scores = [r["after"]["classifier_score"] for r in reports]
    left_dense = ", ".join(first["pruning"].get("left_dense", {})) or "none"
    return (f"| {first['target_sparsity']:.0%} | {min(layers):.3f} - {max(layers):.3f} | "
            f"{left_dense} | {pruned_bytes / 1024:,.0f} KiB vs {dense_bytes / 1024:,.0f} KiB "
            f"({dense_bytes / pruned_bytes:.1f}x) | {fid_before:.1f} -> {spread(fids, '.1f')} | "
            f"{spread(dense_fids, '.1f')} | {statistics.mean(fids) / fid_before - 1:+.0%} | "
            f"{spread(pruning_changes(reports, baselines), '+.0%', ' to ')} | "
            f"{first['before']['classifier_score']:.2f} -> {spread(scores, '.2f')} |")


def table(by_target, baselines, host, steps, seeds):
    first = by_target[0][0]
    return "\n".join([
        f"Measured by `python scripts/prune_table.py` on {host}: the zoo's DCGAN "
        f"({first['source_checkpoint'].split(os.sep)[-1]} of its run) fine-tuned for {steps} "
        f"generator updates per target and seed (seeds {', '.join(map(str, seeds))}), generator "
        f"and discriminator pruned alike except the layers the recipe keeps dense, polynomial "
        f"schedule reaching the target halfway; each pruned model is the best of four "
        f"evaluations after that, as the dense one is the best of its run's four. Quality with "
        f"`{first['extractor']}` features, source -> pruned as the mean (min-max) over the seeds. "
        f"The dense fine-tune is the same {steps} updates from the same checkpoint and seeds "
        f"with nothing pruned, its best checkpoint chosen by the same rule. \"FID change from "
        f"the source checkpoint\" is the pruned mean against the source's FID, so it counts the "
        f"extra training too; \"FID change from pruning\" is each seed's pruned FID against "
        f"the dense fine-tune of that seed, mean (min to max).",
        "",
        "| target | achieved, per pruned layer | left dense | gzipped generator | FID | "
        "dense fine-tune FID | FID change from the source checkpoint | FID change from pruning "
        "| classifier score |",
        "|---|---|---|---|---|---|---|---|---|",
        *[row(reports, baselines) for reports in by_target],
    ])


def prune(source, target, seed, first, steps):
    from tfgan_zoo.pruning import finetune as pruned_runs  # TF loads after the arguments

    new = f"{source.rstrip(os.sep)}_pruned{round(target * 100):02d}"
    if not first:
        new += f"_seed{seed}"
    if os.path.exists(new):
        shutil.rmtree(new)  # a fresh run each time, so the figures are this run's
    report = pruned_runs.prune_run(source, new, target, steps=steps, seed=seed,
                                   log=lambda _: None)
    print(pruned_runs.summary(report), flush=True)
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=os.path.join(ROOT, "runs", "zoo", "dcgan"))
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seeds", default="0,1,2",
                        help="fine-tuning seeds, comma-separated; the first one's runs are "
                             "the canonical <source>_prunedNN")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    # Target 0: the dense baseline, once per seed, the same for every target.
    baselines = [prune(args.source, 0.0, seed, i == 0, args.steps)
                 for i, seed in enumerate(seeds)]
    by_target = [[prune(args.source, target, seed, i == 0, args.steps)
                  for i, seed in enumerate(seeds)] for target in TARGETS]
    host = machine()
    os.makedirs(os.path.join(ROOT, "docs", "prune"), exist_ok=True)
    with open(os.path.join(ROOT, "docs", "prune", "results.json"), "w") as f:
        json.dump({"machine": host, "seeds": seeds, "dense_baselines": baselines,
                   "reports": [r for reports in by_target for r in reports]}, f, indent=2)
    text = table(by_target, baselines, host, args.steps, seeds)
    update_readme(text, START, END)
    print(text)


if __name__ == "__main__":
    main()
