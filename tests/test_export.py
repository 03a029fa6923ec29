"""`python -m tfgan_zoo.export` and `generate`: the SavedModel's signatures, the TFLite files,
versions that are never half-written, and samples that agree across formats."""
import functools
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_zoo import config as config_lib
from tfgan_zoo import files
from tfgan_zoo.deployment import exports, generation, tflite
from tfgan_zoo.engine import runs, training
from tfgan_zoo.errors import ZooError
from tfgan_zoo.kinds import image as image_kind


def train_tiny(model, data_dir, path, **prune):
    config = config_lib.load(model, "tiny")
    config.data.data_dir = data_dir
    if prune:
        config.prune.update(enabled=True, end_step=4, frequency=2, **prune)
    training.train(config, str(path), log=lambda _: None)
    return str(path)


@pytest.fixture(scope="module")
def exported(tmp_path_factory, digits_data_dir):
    """A tiny DCGAN run exported once in every format and quantisation."""
    root = tmp_path_factory.mktemp("export")
    run = train_tiny("dcgan", digits_data_dir, root / "dcgan_run")
    meta = exports.export_run(run, export_dir=str(root / "export"), log=lambda _: None)
    return run, meta


def files_under(path):
    return {os.path.join(r, f): os.stat(os.path.join(r, f)).st_mtime_ns
            for r, _, names in os.walk(path) for f in names}


def test_export_writes_tf_serving_layout_and_models_config(exported):
    run, meta = exported
    version = meta["path"]
    assert version.endswith(os.path.join("export", "dcgan_run", "1"))
    assert os.path.exists(os.path.join(version, "saved_model.pb"))
    assert os.path.isdir(os.path.join(version, "variables"))
    assert sorted(os.listdir(os.path.join(version, "tflite"))) == [
        f"generator_{mode}.tflite" for mode in sorted(image_kind.KIND.tflite_modes)]
    assert exports.read_metadata(version)["checkpoint"] == meta["checkpoint"]
    config = open(os.path.join(os.path.dirname(os.path.dirname(version)), "models.config")).read()
    assert 'name: "dcgan_run"' in config
    assert f'base_path: "{os.path.dirname(version)}"' in config
    # Nothing of the staging directory is left beside the version.
    assert os.listdir(os.path.dirname(version)) == ["1"]


def without_console_scripts(name):
    """os.environ with no PATH entry holding the console script `name`, as under
    `venv/bin/python -m pytest` with the venv not activated."""
    path = [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if d and not os.path.exists(os.path.join(d, name))]
    return {**os.environ, "PATH": os.pathsep.join(path)}


def test_saved_model_cli_shows_the_documented_signatures(exported):
    # The module that TensorFlow's `saved_model_cli` script runs, through this interpreter:
    # the script itself is on PATH only when the environment's bin/ is.
    out = subprocess.run([sys.executable, "-m", "tensorflow.python.tools.saved_model_cli",
                          "show", "--dir", exported[1]["path"], "--all"],
                         capture_output=True, text=True, timeout=120,
                         env=without_console_scripts("saved_model_cli")).stdout
    for name in ("signature_def['serving_default']", "signature_def['sample']",
                 "inputs['z']", "inputs['count']", "inputs['seed']", "outputs['images']",
                 "outputs['images_float']", "DT_UINT8"):
        assert name in out, name


def test_signatures_give_documented_outputs_and_sample_is_deterministic(exported):
    run, meta = exported
    loaded = tf.saved_model.load(meta["path"])
    z = tf.random.normal([3, meta["latent_dim"]])
    out = loaded.signatures["serving_default"](z=z)
    assert out["images"].dtype == tf.uint8 and out["images"].shape == [3, 28, 28, 1]
    floats = out["images_float"].numpy()
    assert floats.min() >= -1 and floats.max() <= 1
    np.testing.assert_array_equal(out["images"].numpy(),
                                  np.round((floats + 1) * 127.5).clip(0, 255).astype(np.uint8))
    sample = loaded.signatures["sample"]
    args = dict(count=tf.constant(5), seed=tf.constant(7, tf.int64))
    first, second = sample(**args), sample(**args)
    for key in ("images", "images_float", "z"):
        np.testing.assert_array_equal(first[key].numpy(), second[key].numpy())
    other = sample(count=tf.constant(5), seed=tf.constant(8, tf.int64))
    assert not np.array_equal(first["z"].numpy(), other["z"].numpy())
    # `sample` is serving_default on the prior's latents.
    np.testing.assert_allclose(loaded.signatures["serving_default"](z=first["z"])
                               ["images_float"].numpy(), first["images_float"].numpy(),
                               atol=1e-6)


@pytest.mark.parametrize("inputs, message", [
    (dict(count=-1, seed=0), "count must be >= 0"),
    (dict(count=100_000, seed=0), "count must be at most 1024"),
])
def test_sample_rejects_bad_counts_with_a_clear_error(exported, inputs, message):
    loaded = tf.saved_model.load(exported[1]["path"])
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        loaded.signatures["sample"](count=tf.constant(inputs["count"]),
                                    seed=tf.constant(inputs["seed"], tf.int64))


def test_serving_default_rejects_the_wrong_latent_width(exported):
    loaded = tf.saved_model.load(exported[1]["path"])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"z must be float32 \[batch, 16\]"):
        loaded.signatures["serving_default"](z=tf.zeros([2, 7]))


def test_every_tflite_variant_was_checked_and_shrinks(exported):
    tflite_report = exported[1]["tflite"]
    assert set(tflite_report) == set(image_kind.KIND.tflite_modes)
    for mode, entry in tflite_report.items():
        assert entry["max_abs"] <= image_kind.TOLERANCES[mode]["max_abs"], mode
    size = {mode: entry["bytes"] for mode, entry in tflite_report.items()}
    # A tiny model's file is half overhead; the real generator's int8 file is 0.28x (README).
    assert size["int8"] < 0.5 * size["float32"] and size["dynamic"] < 0.5 * size["float32"]
    assert size["float16"] < 0.6 * size["float32"]


def test_generate_gives_the_same_samples_from_export_tflite_and_run(exported):
    run, meta = exported
    from_export = generation.generate(meta["path"], 6, seed=3)
    from_run = generation.generate(run, 6, seed=3)
    from_tflite = generation.generate(
        os.path.join(meta["path"], "tflite", "generator_float32.tflite"), 6, seed=3)
    np.testing.assert_allclose(from_export.samples, from_run.samples, atol=1e-4)
    np.testing.assert_allclose(from_tflite.samples, from_run.samples, atol=1e-3)
    # The model directory means its highest version.
    np.testing.assert_array_equal(
        generation.generate(os.path.dirname(meta["path"]), 6, seed=3).samples, from_export.samples)


def test_an_existing_version_is_refused_then_replaced_with_overwrite(exported, tmp_path):
    run = exported[0]
    model_dir = copy_version(exported, str(tmp_path))  # the fixture's export stays as it is
    version = os.path.join(model_dir, "1")
    before = files_under(version)
    with pytest.raises(ZooError, match="already exists; pass --overwrite"):
        exports.export_run(run, export_dir=str(tmp_path), version=1, log=lambda _: None)
    assert files_under(version) == before
    replaced = exports.export_run(run, export_dir=str(tmp_path), version=1, overwrite=True,
                                  formats=["saved_model"], log=lambda _: None)
    assert replaced["path"] == version and "tflite" not in replaced
    assert not os.path.exists(os.path.join(version, "tflite"))
    assert sorted(os.listdir(model_dir)) == ["1"]


def copy_version(exported, export_dir, version=1):
    """The fixture's full export (SavedModel and TFLite) copied to export_dir as `version`."""
    model_dir = os.path.join(export_dir, "dcgan_run")
    shutil.copytree(exported[1]["path"], os.path.join(model_dir, str(version)))
    return model_dir


def fail_renames(monkeypatch, model_dir, failing):
    """os.rename raises on the calls numbered in `failing` (1-based) of those under model_dir.
    Returns the list of calls made."""
    calls, rename = [], os.rename

    def failing_rename(src, dst, *args, **kwargs):
        if str(src).startswith(model_dir) or str(dst).startswith(model_dir):
            calls.append((src, dst))
            if len(calls) in failing:
                raise OSError(5, "injected failure", src)
        return rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "rename", failing_rename)
    return calls


def servable(model_dir, version=1):
    return os.path.exists(os.path.join(model_dir, str(version), "saved_model.pb"))


@pytest.mark.parametrize("atomic_exchange", [True, False])
def test_overwrite_failing_at_its_second_rename_keeps_a_servable_version(
        exported, tmp_path, monkeypatch, atomic_exchange):
    model_dir = copy_version(exported, str(tmp_path))
    if not atomic_exchange:  # as on a system without renameat2 (macOS, Windows, some NFS)
        monkeypatch.setattr(files, "exchange", lambda a, b: False)
    calls = fail_renames(monkeypatch, model_dir, failing={2})
    overwrite = functools.partial(exports.export_run, exported[0], export_dir=str(tmp_path),
                                  version=1, overwrite=True, formats=["saved_model"],
                                  log=lambda _: None)
    if atomic_exchange:  # one renameat2, no os.rename: the new version is in place
        overwrite()
        assert calls == [] and not os.path.exists(os.path.join(model_dir, "1", "tflite"))
    else:  # the old version was moved aside, the new one failed to move in: the old is back
        with pytest.raises(OSError, match="injected failure"):
            overwrite()
        assert len(calls) == 3 and os.path.isdir(os.path.join(model_dir, "1", "tflite"))
    assert servable(model_dir)
    assert os.listdir(model_dir) == ["1"]  # no staging or moved-aside folder left


def test_the_next_export_puts_back_what_a_crashed_overwrite_moved_aside(
        exported, tmp_path, monkeypatch):
    model_dir = copy_version(exported, str(tmp_path))
    monkeypatch.setattr(files, "exchange", lambda a, b: False)
    # Every rename fails from the second on, the putting back too: what a process killed
    # between the two renames of an overwrite leaves.
    fail_renames(monkeypatch, model_dir, failing=range(2, 100))
    with pytest.raises(OSError, match="injected failure"):
        exports.export_run(exported[0], export_dir=str(tmp_path), version=1, overwrite=True,
                           formats=["saved_model"], log=lambda _: None)
    (aside,) = [f for f in os.listdir(model_dir) if "-replaced-" in f]
    assert not servable(model_dir) and os.listdir(os.path.join(model_dir, aside)) == ["version"]
    # An exchange that crashed before deleting the old version leaves it as staging.
    shutil.copytree(os.path.join(model_dir, aside, "version"),
                    os.path.join(model_dir, ".1-incomplete-999999999-abcd1234"))
    monkeypatch.undo()

    said = []
    meta = exports.export_run(exported[0], export_dir=str(tmp_path), formats=["saved_model"],
                              log=said.append)
    assert servable(model_dir, 1) and os.path.isdir(os.path.join(model_dir, "1", "tflite"))
    assert meta["version"] == 2 and servable(model_dir, 2)
    assert sorted(os.listdir(model_dir)) == ["1", "2"]
    assert said[:3] == [
        f"Restored {model_dir}/1 from {model_dir}/{aside}: an export --overwrite had stopped "
        "between moving it aside and renaming the new version in",
        f"Removed {model_dir}/{aside}, left behind by an interrupted export",
        f"Removed {model_dir}/.1-incomplete-999999999-abcd1234, left behind by an interrupted "
        "export"]
    assert f'base_path: "{model_dir}"' in open(tmp_path / "models.config").read()


def test_an_export_still_running_keeps_its_staging_folder(exported, tmp_path):
    model_dir = copy_version(exported, str(tmp_path))
    running = os.path.join(model_dir, f".2-incomplete-{os.getppid()}-abcd1234")
    os.makedirs(running)
    exports.recover(model_dir, log=lambda line: pytest.fail(line))
    assert os.path.isdir(running)


def test_a_failed_export_leaves_nothing_behind(exported, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ZooError("conversion failed")

    monkeypatch.setattr(tflite, "convert", broken)
    with pytest.raises(ZooError, match="conversion failed"):
        exports.export_run(exported[0], export_dir=str(tmp_path), log=lambda _: None)
    assert os.listdir(tmp_path / "dcgan_run") == []


def test_a_run_without_checkpoints_is_refused(exported, tmp_path):
    os.makedirs(tmp_path / "fresh")
    with open(os.path.join(exported[0], "config.json")) as f:
        (tmp_path / "fresh" / "config.json").write_text(f.read())
    with pytest.raises(ZooError, match="has no checkpoint; train it first"):
        exports.export_run(str(tmp_path / "fresh"), export_dir=str(tmp_path / "export"),
                           log=lambda _: None)
    assert not os.path.exists(tmp_path / "export")


def test_conditional_export_takes_labels(tmp_path, digits_data_dir):
    run = train_tiny("cgan", digits_data_dir, tmp_path / "cgan")
    meta = exports.export_run(run, export_dir=str(tmp_path / "export"), quantize=["none"],
                              log=lambda _: None)
    loaded = tf.saved_model.load(meta["path"])
    out = loaded.signatures["sample"](count=tf.constant(12), seed=tf.constant(0, tf.int64),
                                      label=tf.constant(-1))
    np.testing.assert_array_equal(out["label"].numpy(), np.arange(12) % 10)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"class id in \[0, 10\)"):
        loaded.signatures["serving_default"](z=out["z"], label=tf.fill([12], 10))
    samples = generation.generate(os.path.join(meta["path"], "tflite",
                                               "generator_float32.tflite"), 4, label=3)
    np.testing.assert_array_equal(samples.labels, [3, 3, 3, 3])


def test_a_run_exports_on_a_machine_without_its_data(tmp_path, digits_data_dir):
    path = train_tiny("cgan", digits_data_dir, tmp_path / "cgan")
    saved = json.load(open(os.path.join(path, "dataset.json")))
    assert (saved["channels"], saved["num_classes"], saved["resolution"]) == (1, 10, 28)
    # As if copied from a machine whose image folder this one does not have.
    config = json.load(open(os.path.join(path, "config.json")))
    config["data"]["dataset"] = f"folder:{tmp_path / 'not_here'}"
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f)
    meta = exports.export_run(path, export_dir=str(tmp_path / "export"), formats=["saved_model"],
                              log=lambda _: None)
    assert meta["shape"] == [28, 28, 1] and meta["num_classes"] == 10
    assert meta["class_names"] == saved["class_names"]
    os.remove(os.path.join(path, "dataset.json"))  # a run from before dataset.json: the data
    with pytest.raises(ZooError, match="not_here"):
        runs.load(path)
    with open(os.path.join(path, "dataset.json"), "w") as f:
        f.write("{}")
    with pytest.raises(ZooError, match="dataset.json does not describe a dataset"):
        runs.load(path)
    with open(os.path.join(path, "dataset.json"), "w") as f:
        f.write("{half")
    with pytest.raises(ZooError, match="dataset.json is unreadable .*; delete it"):
        runs.load(path)


def test_pruned_run_exports_sparse_tflite_with_its_zeros(tmp_path, digits_data_dir):
    run = train_tiny("dcgan", digits_data_dir, tmp_path / "pruned", target_sparsity=0.8)
    meta = exports.export_run(run, export_dir=str(tmp_path / "export"),
                              quantize=["none", "int8"], log=lambda _: None)
    assert meta["pruned"]
    assert meta["tflite"]["float32"]["sparse"] and not meta["tflite"]["int8"]["sparse"]
    reader = tf.train.load_checkpoint(os.path.join(meta["path"], "variables", "variables"))
    kernels = [reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
               if "kernel" in name and "OPTIMIZER" not in name]
    # The recipe keeps the output layer dense (config.prune.keep_dense); the rest are at 80%.
    dense_shape = runs.load(run).plain_sampler().get_layer("to_image").kernel.shape
    pruned = [k for k in kernels if k.shape != dense_shape]
    assert len(pruned) == len(kernels) - 1 >= 2
    assert max(abs(np.mean(k == 0) - 0.8) for k in pruned) <= 0.01
    assert [np.mean(k == 0) for k in kernels if k.shape == dense_shape] == [0.0]


def test_cli_exports_then_generates_a_png(exported, tmp_path):
    run = exported[0]
    export_dir = tmp_path / "export"
    cmd = [sys.executable, "-m", "tfgan_zoo.export", f"--workdir={run}",
           f"--export_dir={export_dir}", "--format=saved_model", "--version=1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "version 1" in done.stdout  # (an existing version refused: the overwrite test)
    out = tmp_path / "grid.png"
    done = subprocess.run([sys.executable, "-m", "tfgan_zoo.generate",
                           f"--source={export_dir / 'dcgan_run'}", "--num=8", "--scale=1",
                           f"--out={out}"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    grid = np.asarray(Image.open(out))
    assert grid.shape == (2 * 30 + 2, 4 * 30 + 2)  # 2 rows x 4 columns of 28 + 2 padding


def test_bad_choices_and_sources_are_refused_clearly(exported, tmp_path):
    with pytest.raises(ZooError, match="--quantize=int4 is not one of none, float16"):
        exports.export_run(exported[0], export_dir=str(tmp_path), quantize=["int4"])
    with pytest.raises(ZooError, match="--num must be at least 1"):
        generation.generate(exported[1]["path"], 0)
    with pytest.raises(ZooError, match="unconditional and takes no class"):
        generation.generate(exported[0], 2, label=3)  # unconditional: no classes at all
    with pytest.raises(ZooError, match="is neither an export"):
        generation.generate(str(tmp_path), 2)
    done = subprocess.run([sys.executable, "-m", "tfgan_zoo.generate",
                           f"--source={exported[1]['path']}", f"--out={tmp_path / 'no' / 'x.png'}"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and f"folder {tmp_path / 'no'} does not exist" in done.stderr


def test_generate_names_what_an_export_cannot_give(exported, tmp_path):
    with pytest.raises(ZooError, match="--num=2000 is more than one `sample` call"):
        generation.generate(exported[1]["path"], 2000)
    with pytest.raises(ZooError, match="does not exist; export one with"):
        generation.generate(str(tmp_path / "generator_int8.tflite"), 4)
    with pytest.raises(ZooError, match="is not a tfgan_zoo export"):
        exports.read_metadata(str(tmp_path))


def test_warmup_requests_replay_against_the_saved_model(exported):
    """What TF Serving does at load: parse each PredictionLog and run its request."""
    from tensorflow_serving.apis import prediction_log_pb2

    path = os.path.join(exported[1]["path"], "assets.extra", "tf_serving_warmup_requests")
    loaded = tf.saved_model.load(exported[1]["path"])
    replayed = []
    for record in tf.data.TFRecordDataset(path):
        request = prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        out = loaded.signatures[request.model_spec.signature_name](**inputs)
        assert out["images"].shape[0] == 1
        replayed.append(request.model_spec.signature_name)
    assert sorted(replayed) == ["sample", "serving_default"]


def test_a_mixed_precision_run_exports_float32_in_the_same_process(tmp_path, digits_data_dir):
    import tf_keras as keras

    config = config_lib.load("dcgan", "tiny")
    config.data.data_dir = digits_data_dir
    config.train.precision = "mixed_bfloat16"
    training.train(config, str(tmp_path / "bf16"), log=lambda _: None)
    assert keras.mixed_precision.global_policy().name == "float32"  # put back by train
    meta = exports.export_run(str(tmp_path / "bf16"), export_dir=str(tmp_path / "export"),
                              quantize=["none"], log=lambda _: None)
    assert meta["tflite"]["float32"]["max_abs"] <= image_kind.TOLERANCES["float32"]["max_abs"]


def test_an_export_folder_serves_to_both_clients(exported):
    """export's own output (models.config beside the model folders) behind TF Serving's API."""
    import serving_endpoints

    from tfgan_zoo.deployment import serving

    export_dir = os.path.dirname(os.path.dirname(exported[1]["path"]))
    with serving_endpoints.serve(export_dir) as served:
        rest = serving.RestClient(served.rest_url, model="dcgan_run").generate(count=3, seed=1)
        grpc = serving.GrpcClient(served.grpc_target, model="dcgan_run").generate(count=3, seed=1)
    direct = tf.saved_model.load(exported[1]["path"]).signatures["sample"](
        count=tf.constant(3), seed=tf.constant(1, tf.int64))
    np.testing.assert_array_equal(rest.images, direct["images"].numpy())
    np.testing.assert_array_equal(grpc.images, direct["images"].numpy())
