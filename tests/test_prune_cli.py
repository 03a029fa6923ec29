"""Pruning inside a training run and `python -m tfgan_zoo.prune` on a trained run."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tf_keras as keras

from tfgan_zoo import config as config_lib
from tfgan_zoo.engine import runs, training
from tfgan_zoo.engine.workdir import Workdir
from tfgan_zoo.errors import ZooError
from tfgan_zoo.evaluation import report as evaluation
from tfgan_zoo.evaluation import scoring
from tfgan_zoo.pruning import finetune as pruned_runs

# One recipe per distinct kind of network, so the suite keeps its time budget: dcgan (2-D
# convolutions, batch norm), wgan_gp (the penalty's extra gradient through pruned layers),
# wavegan_cond (1-D transposed convolutions, a class head and the projection term). The other
# recipes differ in losses, conditioning or spectral norm (test_config.py validates every
# recipe).
RECIPES = ("dcgan", "wgan_gp", "wavegan_cond")


def tiny(model, data_dir, **prune):
    config = config_lib.load(model, "tiny")
    config.data.data_dir = data_dir
    config.prune.update(dict(enabled=True, target_sparsity=0.8, end_step=4, frequency=2),
                        **prune)
    return config


def snapshot(path):
    return {os.path.join(root, f): os.stat(os.path.join(root, f)).st_mtime_ns
            for root, _, files in os.walk(path) for f in files}


def kernel_zero_fractions(model):
    return {layer.name: float(np.mean(layer.kernel.numpy() == 0))
            for layer in model.layers if hasattr(layer, "kernel")}


@pytest.mark.parametrize("model", RECIPES)
def test_every_recipe_prunes_and_strips_during_training(model, tmp_path, digits_data_dir):
    config = tiny(model, digits_data_dir)
    result = training.train(config, str(tmp_path / "run"), log=lambda _: None)
    assert abs(result.pruning["sparsity"] - 0.8) <= 0.01
    stripped = keras.models.load_model(tmp_path / "run" / "generator_pruned.keras")
    assert not any("prune" in layer.__class__.__name__.lower() for layer in stripped.layers)
    assert not any("mask" in w.name or "threshold" in w.name for w in stripped.weights)
    fractions = kernel_zero_fractions(stripped)
    pruned = result.pruning["layers"]
    assert set(pruned) <= set(fractions)
    for name in pruned:
        assert abs(fractions[name] - 0.8) <= 0.01, (name, fractions[name])
    # Each recipe keeps the generator's output layer dense (config.prune.keep_dense): images'
    # to_image, audio's to_audio.
    (output_layer,) = [name.split("/")[1] for name in config.prune.keep_dense
                       if name.startswith("generator/")]
    assert output_layer not in pruned and fractions[output_layer] == 0.0
    assert result.pruning["left_dense"][output_layer] == "kept dense by config.prune.keep_dense"
    report = json.load(open(tmp_path / "run" / "pruning.json"))
    assert report["gzipped_bytes"]["stripped"] < report["gzipped_bytes"]["dense"]


def test_changing_pruning_on_resume_is_refused(tmp_path, digits_data_dir):
    training.train(tiny("dcgan", digits_data_dir), str(tmp_path / "run"), log=lambda _: None)
    config = tiny("dcgan", digits_data_dir, target_sparsity=0.5)
    config.train.num_steps = 8
    with pytest.raises(ZooError, match="different config.prune"):
        training.train(config, str(tmp_path / "run"))


@pytest.fixture(scope="module")
def source_run(tmp_path_factory, digits_data_dir):
    config = config_lib.load("dcgan", "tiny")
    config.data.data_dir = digits_data_dir
    path = str(tmp_path_factory.mktemp("source") / "dcgan")
    training.train(config, path, log=lambda _: None)
    return path


def test_prune_fine_tunes_a_copy_and_never_touches_the_source(source_run, tmp_path):
    before = snapshot(source_run)
    report = pruned_runs.prune_run(source_run, str(tmp_path / "pruned"), 0.5, steps=4,
                                   num_samples=129, log=lambda _: None)
    assert snapshot(source_run) == before
    assert report["source_checkpoint"].endswith("ckpt-4")
    assert abs(report["pruning"]["sparsity"] - 0.5) <= 0.01
    assert set(report["before"]) >= {"fid", "kid", "classifier_score"}
    saved = json.load(open(tmp_path / "pruned" / "prune_report.json"))
    assert saved["after"]["fid"] == report["after"]["fid"]
    stripped = keras.models.load_model(tmp_path / "pruned" / "generator_pruned.keras")
    assert abs(kernel_zero_fractions(stripped)["project"] - 0.5) <= 0.01


def test_prune_cli_refuses_a_run_without_config(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tfgan_zoo.prune", f"--workdir={tmp_path}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "holds no training run (no config.json)" in result.stderr


def test_prune_refuses_bad_steps_and_the_source_as_target(source_run):
    with pytest.raises(ZooError, match="--steps=3 must be a multiple"):
        pruned_runs.prune_run(source_run, source_run + "_x", 0.8, steps=3)
    with pytest.raises(ZooError, match="must differ from --workdir"):
        pruned_runs.prune_run(source_run, source_run, 0.8, steps=4)
    with pytest.raises(ZooError, match="target_sparsity must be in"):
        pruned_runs.prune_run(source_run, source_run + "_y", 1.5, steps=4)


def test_pruning_keeps_the_best_of_four_evaluations_after_the_target_when_the_run_evaluates():
    config = config_lib.load("dcgan")
    pruned = pruned_runs._pruning_config(config, 0.8, 2000, ("generator", "discriminator"))
    assert (pruned.prune.end_step, pruned.eval.every) == (1000, 250)
    assert pruned.prune.networks == ("generator", "discriminator")
    config.eval.every = 0  # a run without evaluation: the pruned one is scored at its end
    assert pruned_runs._pruning_config(config, 0.8, 2000, ("generator",)).eval.every == 0


def test_prune_keeps_the_recipes_dense_layers_even_for_a_source_older_than_the_key():
    config = config_lib.load("dcgan")
    del config.prune["keep_dense"]  # a run saved before keep_dense existed
    pruned = pruned_runs._pruning_config(config, 0.8, 2000, ("generator",))
    assert pruned.prune.keep_dense == ("generator/to_image",)
    assert pruned_runs._pruning_config(config, 0.8, 2000, ("generator",), []).prune.keep_dense \
        == ()
    assert pruned.train.seed == config.train.seed
    assert pruned_runs._pruning_config(config, 0.8, 2000, ("generator",), seed=7).train.seed == 7


def test_a_run_saved_before_keep_dense_existed_loads_with_every_layer_pruned(source_run,
                                                                              tmp_path):
    saved = json.load(open(os.path.join(source_run, "config.json")))
    del saved["prune"]["keep_dense"]
    os.makedirs(tmp_path / "old")
    with open(tmp_path / "old" / "config.json", "w") as f:
        json.dump(saved, f)
    assert runs.saved_config(Workdir(str(tmp_path / "old"))).prune.keep_dense == ()


# --- The dense baseline: --target_sparsity=0 ---

def kernels(model):
    return {w.name: w.numpy() for w in model.weights if "kernel" in w.name}


def test_dense_baseline_fine_tunes_the_source_weights_unpruned(source_run, tmp_path,
                                                               monkeypatch):
    starts = []  # the networks a new run is built with, before its first update

    def recording_build_gan(config, spec, init_weights=None):
        gan = build_gan(config, spec, init_weights)
        if init_weights:
            starts.append(gan.generator.get_weights())
        return gan

    build_gan = training.build_gan
    monkeypatch.setattr(training, "build_gan", recording_build_gan)
    before = snapshot(source_run)
    report = pruned_runs.prune_run(source_run, str(tmp_path / "dense"), 0, steps=4,
                                   num_samples=129, log=lambda _: None)
    assert snapshot(source_run) == before
    source = runs.load(source_run, "best")
    assert report["source_checkpoint"] == source.checkpoint
    # Step 0 of the baseline is the source's selected checkpoint, exactly.
    (start,) = starts
    for got, want in zip(start, source.gan.generator.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    # Four Adam updates (learning rate 2e-4) later its kernels moved, but only a little: it
    # trained from those weights, not from a fresh initialisation.
    tuned = runs.load(str(tmp_path / "dense"), "best")
    assert tuned.name == "ckpt-4" and not tuned.config.prune.enabled
    source_kernels = kernels(source.gan.generator)
    for name, value in kernels(tuned.gan.generator).items():
        moved = np.max(np.abs(value - source_kernels[name]))
        assert 0 < moved < 4 * 2e-4 * 1.5, (name, moved)
    # Nothing pruned: no kernel of either network, or of the exported sampler, holds a zero.
    for model in (tuned.gan.generator, tuned.gan.discriminator, tuned.plain_sampler()):
        for name, value in kernels(model).items():
            assert np.count_nonzero(value == 0) == 0, name
    assert set(report["sparsity"]["layers"]) == {"project", "up0", "to_image"}
    assert all(layer["sparsity"] == 0.0 for layer in report["sparsity"]["layers"].values())
    assert not (tmp_path / "dense" / "pruning.json").exists()
    assert not (tmp_path / "dense" / "generator_pruned.keras").exists()
    # The report reads like a pruned run's: the same figures before and after.
    assert report["target_sparsity"] == 0 and report["seed"] == source.config.train.seed
    assert set(report["before"]) == set(report["after"]) >= {"fid", "kid", "classifier_score"}
    assert report["after_checkpoint"] == tuned.checkpoint
    saved = json.load(open(tmp_path / "dense" / "prune_report.json"))
    assert saved["after"] == report["after"] and saved["before"] == report["before"]
    assert "dense for 4 steps" in pruned_runs.summary(report)
    # A normal run: the evaluate verb scores it.
    scored = evaluation.evaluate_run(str(tmp_path / "dense"), "best", num_samples=129,
                                     log=lambda _: None)
    assert scored["step"] == 4 and np.isfinite(scored["results"]["fid"])


def test_dense_baseline_keeps_its_best_checkpoint_by_the_pruned_runs_rule(
        tmp_path, digits_data_dir, monkeypatch):
    # FID by generator update: step 2 is the best of all, but a pruned run of 8 steps only
    # keeps checkpoints from its schedule's end (step 4) on, so its best is step 6.
    fid_at = {2: 1.0, 4: 5.0, 6: 3.0, 8: 4.0}
    scored_steps = []

    def fake_score(self, gan):
        step = int(gan.progress.step.numpy())
        scored_steps.append(step)
        return {"fid": fid_at.get(step, 9.0), "kid": 0.0, "classifier_score": 1.0}

    monkeypatch.setattr(scoring.Scorer, "__call__", fake_score)
    config = config_lib.load("dcgan", "tiny")
    config.data.data_dir = digits_data_dir
    config.eval.update(every=2, num_samples=129)
    source = str(tmp_path / "source")
    training.train(config, source, log=lambda _: None)
    scored_steps.clear()
    report = pruned_runs.prune_run(source, str(tmp_path / "dense"), 0, steps=8,
                                   num_samples=129, log=lambda _: None)
    # Scored: the source, then steps 4 (the schedule's end), 6 and 8, then the best.
    assert scored_steps[1:-1] == [4, 6, 8]
    assert report["after_checkpoint"].endswith("ckpt-6") and report["after"]["fid"] == 3.0
    # A pruned fine-tune of the same steps keeps the same one, and restores it: its best
    # checkpoint was written before the run's first periodic save, so it holds no save counter.
    pruned = pruned_runs.prune_run(source, str(tmp_path / "pruned"), 0.5, steps=8,
                                   num_samples=129, log=lambda _: None)
    assert pruned["after_checkpoint"].endswith("ckpt-6") and pruned["after"]["fid"] == 3.0


def test_prune_cli_refuses_what_chooses_layers_with_the_dense_baseline(source_run):
    # Refused before TensorFlow loads; the baseline run itself is tested through prune_run above.
    refused = subprocess.run([sys.executable, "-m", "tfgan_zoo.prune", f"--workdir={source_run}",
                              "--target_sparsity=0", "--keep_dense=generator/to_image"],
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--keep_dense choose what is pruned, and --target_sparsity=0 prunes nothing" \
        in refused.stderr
    assert not os.path.exists(source_run + "_pruned00")
