"""The audio study scripts' own arithmetic and flags: scripts/audio_classifier_spread.py's
ensembles of classifier seeds, scripts/audio_cluster_purity.py's purity and
scripts/wavegan_benchmark.py's --presets."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "scripts"))
import audio_classifier_spread  # noqa: E402
import audio_cluster_purity  # noqa: E402
import wavegan_benchmark  # noqa: E402


def test_ensembles_are_groups_of_the_trained_seeds():
    groups = audio_classifier_spread.seed_groups("0,1,2,3,4/5,6,7,8,9", list(range(10)))
    assert groups == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    with pytest.raises(SystemExit, match=r"group \[2, 7\] has seeds that --seeds=\[0, 1, 2\]"):
        audio_classifier_spread.seed_groups("0,1/2,7", [0, 1, 2])


def test_purity_is_the_share_in_each_clusters_commonest_label():
    labels = np.array([0, 0, 1, 1, 1, 2])
    assert audio_cluster_purity.purity(np.array([0, 0, 1, 1, 1, 2]), labels) == 1.0
    # cluster 0 holds 0, 0, 1 (2 right), cluster 1 holds 1, 1, 2 (2 right)
    assert audio_cluster_purity.purity(np.array([0, 0, 0, 1, 1, 1]), labels) == pytest.approx(4 / 6)
    assert audio_cluster_purity.purity(np.zeros(6, int), labels) == pytest.approx(3 / 6)


def test_benchmark_refuses_an_unknown_preset_before_measuring(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["wavegan_benchmark.py", "--presets=demo,fast"])
    monkeypatch.setattr(wavegan_benchmark, "matmul_peak", pytest.fail)  # nothing is measured
    with pytest.raises(SystemExit):
        wavegan_benchmark.main()
    assert "error: unknown --presets fast; valid: paper, demo, demo_plain" in (
        capsys.readouterr().err)
