"""How much the spoken-digit classifier's training seed moves the audio figures.

  python scripts/audio_classifier_spread.py --runs=DIR1,DIR2,... [--seeds=0,1,2] [--epochs=10]
      [--ensembles=0,1,2,3,4/5,6,7,8,9]

Draws the clips an evaluation draws from each conditional run's best checkpoint (the same
fixed latents, the digits in turn), trains the zoo's classifier network once per seed on the
run's real training clips, and prints, per seed and for the mean of the seeds' probabilities
(or of each group of `--ensembles`: the zoo's classifier is the ensemble of seeds 0-4), its test
accuracy and each run's share of clips heard as the digit asked for and inception
score (one split). Writes the figures as JSON with --out. About 35 s a seed on 2 CPU cores
alone, plus a minute a run to draw the clips.
"""
import argparse
import json
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402

from tfgan_zoo import metrics, models  # noqa: E402
from tfgan_zoo.engine import runs  # noqa: E402
from tfgan_zoo.evaluation import scoring  # noqa: E402
from tfgan_zoo.metrics import audio_extractors  # noqa: E402
from tfgan_zoo.metrics.extractors import seeded  # noqa: E402

BATCH = 256


def drawn(run_dir, num_samples):
    """(clips [N, L, C], the digits asked for [N], the run's config) as evaluation draws them."""
    run = runs.load(run_dir, "best")
    if not run.gan.conditional:
        raise SystemExit(f"{run_dir} is an unconditional run: no digit is asked for, so there "
                         "is no share heard as asked to compare; give conditional runs")
    batches = list(scoring.generated_batches(run.gan, num_samples, BATCH))
    return (np.concatenate([clips.numpy() for clips, _ in batches]),
            np.concatenate([np.asarray(asked) for _, asked in batches]), run.config)


def trained_classifier(config, seed, epochs):
    """The zoo's classifier network trained from `seed` on the run's data; (network, accuracy)."""
    kind = models.kind_of_config(config)
    spec = kind.describe(config)
    length = config.model.slice_length
    with seeded(seed):  # as the zoo seeds its own classifier (seed 0 is that one)
        network = audio_extractors.classifier_network(length, spec.channels, spec.sample_rate,
                                                      spec.num_classes)
        accuracy, _ = audio_extractors._train(network, kind.labeled_batches(config), spec,
                                              length, epochs, lambda _: None)
    return network, accuracy


def figures(probs, asked):
    return {"heard_as_asked": float(np.mean(probs.argmax(axis=1) == asked)),
            "inception_score": metrics.classifier_score(probs, splits=1)[0]}


def seed_groups(text, seeds):
    """"0,1,2/3,4,5" -> [[0, 1, 2], [3, 4, 5]]: ensembles of the classifiers of `seeds`."""
    groups = [[int(s) for s in group.split(",")] for group in text.split("/")]
    for group in groups:
        if not set(group) <= set(seeds):
            raise SystemExit(f"--ensembles group {group} has seeds that --seeds={seeds} does not "
                             "train: every seed of an ensemble must be in --seeds")
    return groups


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", required=True, help="comma-separated conditional run dirs")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--ensembles", default=None,
                        help="groups of those seeds whose mean probabilities are also scored, "
                             "e.g. 0,1,2,3,4/5,6,7,8,9 (default: all the seeds, one group)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--num_samples", type=int, default=2880)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    run_dirs = args.runs.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    groups = seed_groups(args.ensembles, seeds) if args.ensembles else [seeds]
    draws = [drawn(d, args.num_samples) for d in run_dirs]
    config = draws[0][2]
    rows, probs_of = [], {}
    for seed in seeds:
        network, accuracy = trained_classifier(config, seed, args.epochs)
        probs_of[seed] = [
            np.concatenate([network(clips[i:i + BATCH], training=False)[1].numpy()
                            for i in range(0, len(clips), BATCH)]).astype(np.float64)
            for clips, _, _ in draws]
        rows.append({"seed": seed, "test_accuracy": accuracy, "runs": [
            figures(p, asked) for p, (_, asked, _) in zip(probs_of[seed], draws, strict=True)]})
    for group in groups:  # as the zoo's classifier ensemble: the mean of its members' probabilities
        mean = [np.mean([probs_of[seed][k] for seed in group], axis=0) for k in range(len(draws))]
        rows.append({"ensemble": group, "runs": [
            figures(p, asked) for p, (_, asked, _) in zip(mean, draws, strict=True)]})
    for row in rows:
        who = (f"classifier seed {row['seed']}, test accuracy {row['test_accuracy']:.3f}"
               if "seed" in row else f"mean of seeds {','.join(map(str, row['ensemble']))}")
        print(f"{who}: " + "; ".join(
            f"{os.path.basename(d.rstrip('/'))} {r['heard_as_asked']:.0%} heard as asked, "
            f"IS {r['inception_score']:.2f}" for d, r in zip(run_dirs, row["runs"], strict=True)))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"runs": run_dirs, "epochs": args.epochs, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
