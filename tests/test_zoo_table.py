"""scripts/zoo_table.py's table from hand-made multi-seed results: no training."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "scripts"))
import zoo_table  # noqa: E402


def scored(fid, precision, recall, step=4000, accuracy=0.99, **more):
    return {"step": step, "extractor": "classifier:digits", "extractor_test_accuracy": accuracy,
            "num_generated": 1437, "num_real": 360,
            "results": {"fid": fid, "precision": precision, "recall": recall,
                        "classifier_score": 8.0, **more},
            "floor": {"fid": 11.0, "classifier_score": 9.4}}


def entry(runs, **more):
    return {"steps": 4000, "untrained": scored(3000.0, 0.0, 0.0),
            "seeds": {str(seed): {"seconds": seconds, "best": best}
                      for seed, (seconds, best) in enumerate(runs)}, **more}


def cells(line):
    return [c.strip() for c in line.strip("|").split("|")]


def test_cells_are_the_mean_and_range_over_seeds():
    results = {
        "dcgan": entry([(200.0, scored(30.0, 0.7, 0.6)), (220.0, scored(20.0, 0.8, 0.7, 3000)),
                        (240.0, scored(25.0, 0.9, 0.8))]),
        "cgan": entry([(300.0, scored(40.0, 0.9, 0.5, class_accuracy=0.99)),
                       (330.0, scored(44.0, 0.95, 0.4, class_accuracy=0.97))]),
    }
    text = zoo_table.table(results, "2 cores", "docs/zoo")
    lines = text.splitlines()
    assert "seeds 0, 1, 2" in lines[0]
    dcgan, cgan = (cells(line) for line in lines if line.startswith("| `"))
    assert dcgan[1:8] == ["4,000 (best 3,000, 4,000)", "220 s (max 240)",
                          "25.0 (20.0-30.0) / 3000 / 11.0", "0.80 (0.70-0.90)",
                          "0.70 (0.60-0.80)", "8.00 (8.00-8.00) / 9.40", "-"]
    assert cgan[7] == "0.980 (0.970-0.990)"
    assert dcgan[8] == "![dcgan](docs/zoo/dcgan.png)"
    assert zoo_table.RECALL_IN_WORDS in text


def test_signed_spread():
    assert zoo_table.spread([-0.1, 0.05], "+.0%", " to ") == "-2% (-10% to +5%)"
    assert zoo_table.spread([3.0], ".1f") == "3.0"


def test_rows_scored_by_different_classifiers_are_told_apart():
    results = {"dcgan": entry([(200.0, scored(30.0, 0.7, 0.6))]),
               "lsgan": entry([(200.0, scored(80.0, 0.7, 0.6, accuracy=0.974))]),
               "cgan": entry([(200.0, scored(35.0, 0.7, 0.6))])}
    assert "(test accuracy 0.990)" in zoo_table.table({"dcgan": results["dcgan"]}, "h", "d")
    assert ("(retrained between rows: test accuracy 0.990 for dcgan, cgan; 0.974 for lsgan; "
            in zoo_table.table(results, "h", "d"))
