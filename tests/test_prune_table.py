"""scripts/prune_table.py's table from hand-made reports: no training."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "scripts"))
import prune_table  # noqa: E402


def pruned(seed, fid, target=0.8):
    return {"seed": seed, "target_sparsity": target, "source_checkpoint": "/r/dcgan/ckpt-4000",
            "extractor": "classifier:digits", "before": {"fid": 80.0, "classifier_score": 6.0},
            "after": {"fid": fid, "classifier_score": 5.9},
            "pruning": {"layers": {"project": {"sparsity": target}},
                        "left_dense": {"to_image": "kept dense"},
                        "gzipped_bytes": {"dense": 4096, "stripped": 1024}}}


def dense(seed, fid):
    # A dense baseline's report: the same before/after, no pruning section.
    return {"seed": seed, "target_sparsity": 0.0, "before": {"fid": 80.0},
            "after": {"fid": fid}, "sparsity": {"sparsity": 0.0}}


def cells(line):
    return [c.strip() for c in line.strip("|").split("|")]


HEADER = ["target", "achieved, per pruned layer", "left dense", "gzipped generator", "FID",
          "dense fine-tune FID", "FID change from the source checkpoint",
          "FID change from pruning", "classifier score"]


def test_row_pairs_each_pruned_run_with_the_dense_fine_tune_of_its_seed():
    # Given in another order than the pruned runs: pairing is by seed, not by position.
    baselines = [dense(1, 60.0), dense(0, 50.0)]
    row = cells(prune_table.row([pruned(0, 55.0), pruned(1, 48.0)], baselines))
    assert len(row) == len(HEADER)
    by_name = dict(zip(HEADER, row, strict=True))
    assert by_name["FID"] == "80.0 -> 51.5 (48.0-55.0)"
    assert by_name["dense fine-tune FID"] == "55.0 (50.0-60.0)"
    # Against the source: 51.5 / 80 - 1; against the dense fine-tunes, per seed: 55 / 50 - 1
    # = +10% and 48 / 60 - 1 = -20%, mean -5%.
    assert by_name["FID change from the source checkpoint"] == "-36%"
    assert by_name["FID change from pruning"] == "-5% (-20% to +10%)"
    assert prune_table.pruning_changes([pruned(0, 55.0), pruned(1, 48.0)], baselines) \
        == pytest.approx([0.10, -0.20])


def test_table_has_the_new_columns_and_says_what_each_change_compares():
    baselines = [dense(0, 50.0)]
    by_target = [[pruned(0, 55.0, 0.5)], [pruned(0, 75.0, 0.9)]]
    text = prune_table.table(by_target, baselines, "test host", 2000, [0])
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| target"))
    assert cells(header) == HEADER
    rows = [cells(line) for line in lines if line.startswith("| 50%") or line.startswith("| 90%")]
    assert [r[5] for r in rows] == ["50.0", "50.0"]  # one baseline for every target
    assert [r[7] for r in rows] == ["+10%", "+50%"]
    assert "counts the extra training too" in text
    assert "against the dense fine-tune of that seed" in text


def test_a_seed_without_a_dense_baseline_is_an_error_not_a_wrong_pairing():
    with pytest.raises(ValueError, match=r"no dense baseline for seed\(s\) \[2\]"):
        prune_table.row([pruned(0, 55.0), pruned(2, 57.0)], [dense(0, 50.0), dense(1, 60.0)])
