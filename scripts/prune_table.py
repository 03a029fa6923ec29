"""Prune the zoo's trained DCGAN to 50%, 80% and 90% sparsity and write the README table.

  python scripts/prune_table.py [--source=runs/zoo/dcgan] [--steps=2000]

Needs the DCGAN run of scripts/zoo_table.py (or any trained dcgan workdir as --source). For each
target: `python -m tfgan_zoo.prune` into a fresh <source>_prunedNN, then the table of achieved
sparsity (every pruned layer), gzipped generator size against the dense one, and FID and
classifier score before and after. Writes docs/prune/results.json and the README section
between the prune-table markers. About 10 minutes on 2 CPU cores.
"""
import argparse
import json
import os
import shutil

from zoo_table import ROOT, machine, update_readme

TARGETS = (0.5, 0.8, 0.9)
START, END = "<!-- prune-table:start -->", "<!-- prune-table:end -->"


def row(report):
    p, before, after = report["pruning"], report["before"], report["after"]
    layers = [layer["sparsity"] for layer in p["layers"].values()]
    return (f"| {report['target_sparsity']:.0%} | {min(layers):.3f} - {max(layers):.3f} | "
            f"{p['gzipped_bytes']['stripped'] / 1024:,.0f} KiB vs "
            f"{p['gzipped_bytes']['dense'] / 1024:,.0f} KiB ({p['compression']:.1f}x) | "
            f"{before['fid']:.1f} -> {after['fid']:.1f} | "
            f"{before['classifier_score']:.2f} -> {after['classifier_score']:.2f} |")


def table(reports, host, steps):
    first = reports[0]
    return "\n".join([
        f"Measured by `python scripts/prune_table.py` on {host}: the zoo's DCGAN "
        f"({first['source_checkpoint'].split(os.sep)[-1]} of its run) fine-tuned for {steps} "
        f"generator updates per target, generator and discriminator pruned alike, polynomial "
        f"schedule reaching the target halfway; the pruned model is the best of four "
        f"evaluations after that, as the dense one is the best of its run's four. "
        f"Quality with `{first['extractor']}` features, before (dense) -> after (pruned).",
        "",
        "| target | achieved, per pruned layer | gzipped generator | FID | classifier score |",
        "|---|---|---|---|---|",
        *[row(r) for r in reports],
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=os.path.join(ROOT, "runs", "zoo", "dcgan"))
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    from tfgan_zoo import pruned_runs  # TensorFlow loads after the arguments are checked

    reports = []
    for target in TARGETS:
        new = f"{args.source.rstrip(os.sep)}_pruned{round(target * 100):02d}"
        if os.path.exists(new):
            shutil.rmtree(new)  # a fresh run each time, so the figures are this run's
        reports.append(pruned_runs.prune_run(args.source, new, target, steps=args.steps,
                                             log=lambda _: None))
        print(pruned_runs.summary(reports[-1]), flush=True)
    host = machine()
    os.makedirs(os.path.join(ROOT, "docs", "prune"), exist_ok=True)
    with open(os.path.join(ROOT, "docs", "prune", "results.json"), "w") as f:
        json.dump({"machine": host, "reports": reports}, f, indent=2)
    text = table(reports, host, args.steps)
    update_readme(text, START, END)
    print(text)


if __name__ == "__main__":
    main()
