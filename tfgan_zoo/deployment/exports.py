"""Exporting a run's generator: a SavedModel for TF Serving and TFLite files for phones, each
checked against the Keras generator before the version directory appears. What
`python -m tfgan_zoo.export` calls.

  <export_dir>/models.config                 TF Serving's --model_config_file for every model
  <export_dir>/<name>/<version>/saved_model.pb, variables/     the SavedModel (see saved_model)
  <export_dir>/<name>/<version>/tflite/generator_<mode>.tflite  fixed-batch LiteRT models
  <export_dir>/<name>/<version>/assets.extra/tfgan_zoo.json     what was exported and checked
  <export_dir>/<name>/<version>/assets.extra/tf_serving_warmup_requests   run at model load

A version is written into a hidden temporary directory next to it and renamed into place when
complete, so TF Serving (which polls for integer directories) never loads half of one, and a
failed export leaves the previous versions as they were. `--overwrite` swaps the new version
with the old in one atomic rename where the system allows it (see _move_into_place), so the
version never goes missing; what an interrupted export leaves behind is put right by the next
one (see recover).
"""
import dataclasses
import gzip
import json
import os
import re
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from tfgan_zoo import files, latents, models
from tfgan_zoo.deployment import saved_model, tflite
from tfgan_zoo.engine import runs
from tfgan_zoo.engine.workdir import Workdir
from tfgan_zoo.errors import ZooError

FORMATS = ("saved_model", "tflite")
# --quantize names -> tflite modes; "none" is the float32 model.
QUANTIZE = {"none": "float32", "float16": "float16", "dynamic": "dynamic", "int8": "int8"}
METADATA = os.path.join("assets.extra", "tfgan_zoo.json")
# The SavedModel runs the same float32 graph as Keras: only op-order round-off may differ.
SAVED_MODEL_TOLERANCE = 1e-4
NUM_CHECK_SAMPLES = 16
CHECK_SEED = 20_261_128


def export_run(workdir_path, *, export_dir="export", name=None, version=None,
               formats=FORMATS, quantize=None, which="best", tflite_batch=1,
               overwrite=False, tflite_timeout=None, log=print):
    """Exports checkpoint `which` of a run; returns the metadata written to tfgan_zoo.json.
    `quantize`: --quantize names of the TFLite variants (None: every one the run's kind of
    sample offers, `Kind.tflite_modes`). `tflite_timeout`: seconds the TFLite converter may
    take (default: tflite.convert's)."""
    _check_choices(formats, quantize or ())
    if "tflite" in formats:  # the run's kind from its config, before the run is loaded
        kind = models.kind_of_config(runs.saved_config(Workdir(workdir_path)))
        quantize = _kind_modes(kind, quantize)
    name = name or _default_name(workdir_path)
    model_dir = os.path.join(os.path.abspath(export_dir), name)
    recover(model_dir, log)
    version = version or _next_version(model_dir)
    final = os.path.join(model_dir, str(version))
    if os.path.exists(final) and not overwrite:
        raise ZooError(f"{final} already exists; pass --overwrite to replace it or "
                       f"--version=N for another version (next free: {_next_version(model_dir)})")
    run = runs.load(workdir_path, which)
    generator = run.plain_sampler()
    os.makedirs(model_dir, exist_ok=True)
    # The pid tells the next export whether this one is still running (see recover).
    staging = tempfile.mkdtemp(prefix=f".{version}-incomplete-{os.getpid()}-", dir=model_dir)
    try:
        meta = _write_version(run, generator, staging, formats, quantize, tflite_batch,
                              tflite_timeout, log)
        meta.update(name=name, version=version, path=final)
        os.makedirs(os.path.join(staging, os.path.dirname(METADATA)), exist_ok=True)
        files.write_json(os.path.join(staging, METADATA), meta)
        _move_into_place(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    write_models_config(export_dir)
    return meta


def _write_version(run, generator, directory, formats, quantize, tflite_batch, tflite_timeout,
                   log):
    z, labels = check_inputs(run.gan.prior, run.gan.num_classes)
    expected = _keras_samples(generator, z, labels)
    meta = _describe(run)
    if "saved_model" in formats:
        log(f"Writing the SavedModel and checking it against Keras on {len(z)} latents")
        module = saved_model.GeneratorModule(
            generator, kind=run.kind, spec=run.spec, latent_dim=run.gan.latent_dim,
            latent_distribution=run.gan.latent_distribution, num_classes=run.gan.num_classes)
        saved_model.save(module, directory)
        saved_model.write_warmup(directory, run.gan.latent_dim, run.gan.num_classes)
        meta["saved_model"] = _check_saved_model(directory, run.kind, z, labels, expected)
    if "tflite" in formats:
        meta["tflite"] = _write_tflite(run, generator, os.path.join(directory, "tflite"),
                                       [QUANTIZE[q] for q in quantize], tflite_batch,
                                       tflite_timeout, z, labels, log)
    return meta


def _describe(run):
    classes = list(run.spec.class_names) if run.gan.num_classes else []
    return {"source": run.workdir.path, "checkpoint": run.checkpoint, "step": run.step,
            "kind": run.kind.name, "latent_dim": run.gan.latent_dim,
            "latent_distribution": run.gan.latent_distribution,
            "num_classes": run.gan.num_classes, "class_names": classes,
            "shape": list(run.family.sample_shape(run.config.model, run.spec)),
            "pruned": bool(run.config.prune.enabled), "dataset": dataclasses.asdict(run.spec),
            "weights": "ema" if run.gan.ema_generator is not None else "generator"}


def check_inputs(prior, num_classes):
    """The latents (and class ids, in turn) every variant is checked on."""
    z = prior.stateless(NUM_CHECK_SAMPLES, CHECK_SEED).numpy()
    labels = (latents.classes_in_turn(NUM_CHECK_SAMPLES, num_classes).numpy() if num_classes
              else None)
    return z, labels


def _keras_samples(generator, z, labels):
    inputs = z if labels is None else [z, labels]
    return generator(inputs, training=False).numpy()


def _check_saved_model(directory, kind, z, labels, expected):
    loaded = tf.saved_model.load(directory)
    inputs = {"z": tf.constant(z)}
    if labels is not None:
        inputs["label"] = tf.constant(labels)
    got = loaded.signatures["serving_default"](**inputs)[kind.float_output].numpy()
    error = float(np.max(np.abs(got - kind.served_float(expected))))
    if error > SAVED_MODEL_TOLERANCE:
        raise ZooError(f"the SavedModel's {kind.float_output} differ from the Keras generator's "
                       f"by {error:.2e} (allowed {SAVED_MODEL_TOLERANCE:.0e}); nothing was "
                       "exported")
    graph = sizes([os.path.join(directory, "saved_model.pb")])
    variables = sizes([os.path.join(directory, "variables")])
    return {"max_abs_error": error, "tolerance": SAVED_MODEL_TOLERANCE,
            **{key: graph[key] + variables[key] for key in graph},
            "variables_bytes": variables["bytes"],
            "variables_gzipped_bytes": variables["gzipped_bytes"]}


def _kind_modes(kind, quantize):
    """The --quantize names to export for `kind`: `quantize`, or None for all the kind offers;
    a ZooError, before anything is written, for a mode the kind leaves out, with its reason."""
    offered = [name for name, mode in QUANTIZE.items() if mode in kind.tflite_modes]
    if quantize is None:
        return tuple(offered)
    refused = [name for name in quantize if QUANTIZE[name] not in kind.tflite_modes]
    if refused:
        # A kind may say why it leaves a mode out (text: TFLITE_EXCLUDED); optional.
        excluded = kind.tflite_excluded
        reasons = "; ".join(f"{name}: {excluded[QUANTIZE[name]]}" for name in refused
                            if QUANTIZE[name] in excluded)
        named = ", ".join(f"{n} (float32)" if n == "none" else n for n in offered)
        raise ZooError(f"--quantize={','.join(refused)} is not offered for {kind.name} "
                       f"generators{f' ({reasons})' if reasons else ''}; they offer {named}: "
                       "choose from those, or leave --quantize out to export all of them")
    return tuple(quantize)


def _write_tflite(run, generator, directory, modes, batch, timeout_s, z, labels, log):
    sparse = bool(run.config.prune.enabled)
    log(f"Converting to TFLite ({', '.join(modes)}; batch {batch}"
        f"{', sparsity-aware' if sparse else ''}) in a child process")
    with tempfile.TemporaryDirectory() as scratch:
        keras_path = os.path.join(scratch, "generator.keras")
        generator.save(keras_path)
        paths = tflite.convert(keras_path, directory, modes, batch=batch,
                               latent_dim=run.gan.latent_dim,
                               latent_distribution=run.gan.latent_distribution,
                               num_classes=run.gan.num_classes,
                               output_name=run.kind.tflite_output, sparse=sparse,
                               timeout_s=timeout_s)
    report = {}
    for mode, path in paths.items():
        checked = tflite.check(path, generator, mode, kind=run.kind, z=z, labels=labels)
        report[mode] = {"file": os.path.relpath(path, os.path.dirname(directory)),
                        "batch": batch, "sparse": sparse and mode in tflite.SPARSE_MODES,
                        "xnnpack": tflite.xnnpack_allowed(run.kind),  # False: builtin kernels
                        **checked, **sizes([path])}
        log(f"  {mode:8s} {report[mode]['bytes'] / 1024:8.0f} KiB "
            f"({report[mode]['gzipped_bytes'] / 1024:.0f} KiB gzipped), {checked['summary']}")
    return report


def sizes(paths):
    """{"bytes", "gzipped_bytes"}: files and directories as stored, and each file gzipped."""
    found = [os.path.join(root, f) for p in paths
             for root, _, names in (os.walk(p) if os.path.isdir(p) else [("", [], [p])])
             for f in names]
    raw = sum(os.path.getsize(f) for f in found)
    zipped = 0
    for f in found:
        with open(f, "rb") as handle:
            zipped += len(gzip.compress(handle.read(), compresslevel=9))
    return {"bytes": raw, "gzipped_bytes": zipped}


def _move_into_place(staging, final):
    """Makes the finished `staging` the version at `final`, deleting an old `final`
    (--overwrite) once the new one is in place.

    The old and the new are exchanged in one atomic rename where the system allows it
    (files.exchange): `final` always holds a whole version, so TF Serving never finds it
    missing. A server that has already loaded that version number keeps serving the old model
    from memory until it restarts (it loads a number once); a new --version is what it picks
    up by itself. Elsewhere the old version is moved aside and the new renamed in: between
    those two renames the version is missing, so an error there puts the old one back, and a
    crash there is repaired by the next export (recover).
    """
    files.fsync_tree(staging)  # the files reach the disk before a rename makes them the version
    if not os.path.exists(final):
        os.rename(staging, final)
    elif files.exchange(staging, final):
        shutil.rmtree(staging, ignore_errors=True)  # the old version, now at staging
    else:
        _replace_by_two_renames(staging, final)
    files.fsync_directory(os.path.dirname(final))


def _replace_by_two_renames(staging, final):
    aside = tempfile.mkdtemp(prefix=f".{os.path.basename(final)}-replaced-{os.getpid()}-",
                             dir=os.path.dirname(final))
    old = os.path.join(aside, "version")
    os.rename(final, old)
    try:
        os.rename(staging, final)
    except BaseException:
        os.rename(old, final)  # should this fail too, the next export puts it back (recover)
        os.rmdir(aside)
        raise
    shutil.rmtree(aside, ignore_errors=True)


# What an export leaves beside the versions while it runs: `.<version>-incomplete-<pid>-*` (the
# version being written; after an exchange, the old one being deleted) and
# `.<version>-replaced-<pid>-*/version` (the old version moved aside). Exports from before the
# pid was recorded wrote `.<version>-incomplete-*` and `.replaced-*/version`.
_LEFTOVER = re.compile(r"\.(?:(?P<version>\d+)-)?(?P<kind>incomplete|replaced)-(?:(?P<pid>\d+)-)?")


def recover(model_dir, log=print):
    """Puts right what interrupted exports left in `model_dir`: a version moved aside by an
    --overwrite that stopped between its two renames is put back where no version has taken
    its place, and every other leftover of an export that is no longer running is deleted.
    Says what it did through `log`."""
    leftovers = [m for m in map(_LEFTOVER.match, _listdir(model_dir))
                 if m and not _running(m["pid"])]
    restored = False
    for match in sorted(leftovers, key=lambda m: m["kind"] != "replaced"):  # restore first
        path = os.path.join(model_dir, match.string)
        if match["kind"] == "replaced":
            restored |= _restore(path, match["version"], log)
        if os.path.exists(path):
            shutil.rmtree(path, ignore_errors=True)
            log(f"Removed {path}, left behind by an interrupted export")
    if restored:
        write_models_config(os.path.dirname(model_dir))


def _restore(aside, version, log):
    """Renames `aside`/version back to its version directory if that is missing; True if so."""
    old = os.path.join(aside, "version")
    if version is None:  # an export from before the number was in the name
        try:
            version = str(read_metadata(old)["version"])
        except (ZooError, OSError, ValueError, KeyError):
            return False
    final = os.path.join(os.path.dirname(aside), version)
    # The metadata is the last file of a version: with it, the version moved aside is whole.
    if os.path.exists(final) or not os.path.exists(os.path.join(old, METADATA)):
        return False
    os.rename(old, final)
    log(f"Restored {final} from {aside}: an export --overwrite had stopped between moving it "
        "aside and renaming the new version in")
    return True


def _running(pid):
    """Whether the export process `pid` (None: unknown) is still running, in another process."""
    if pid is None or int(pid) == os.getpid() or os.name != "posix":
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _listdir(path):
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def write_models_config(export_dir):
    """`<export_dir>/models.config`: every exported model, for `tensorflow_model_server
    --model_config_file`. Paths are absolute, so the same file serves from the host or from a
    container that mounts the export folder at the same path."""
    export_dir = os.path.abspath(export_dir)
    entries = []
    for name in sorted(os.listdir(export_dir)):
        model_dir = os.path.join(export_dir, name)
        if versions(model_dir, servable=True):
            entries.append(f'  config {{\n    name: "{name}"\n    base_path: "{model_dir}"\n'
                           f'    model_platform: "tensorflow"\n  }}\n')
    path = os.path.join(export_dir, "models.config")
    files.write_text(path, "model_config_list {\n" + "".join(entries) + "}\n")
    return path


def versions(model_dir, servable=False):
    """The integer versions under an export's model directory, ascending; with `servable`, only
    those holding a SavedModel (a TFLite-only version is no use to TF Serving)."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(int(v) for v in os.listdir(model_dir) if v.isdigit() and (
        not servable or os.path.exists(os.path.join(model_dir, v, "saved_model.pb"))))


def _next_version(model_dir):
    return (versions(model_dir) or [0])[-1] + 1


def _default_name(workdir_path):
    # TF Serving model names appear in URLs: keep to letters, digits, _ and -.
    base = os.path.basename(os.path.abspath(workdir_path))
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in base) or "generator"


def _check_choices(formats, quantize):
    if not formats:
        raise ZooError(f"--format is empty; choose from {', '.join(FORMATS)}")
    for value, valid, flag in ((formats, FORMATS, "format"), (quantize, QUANTIZE, "quantize")):
        unknown = [v for v in value if v not in valid]
        if unknown:
            raise ZooError(f"--{flag}={','.join(unknown)} is not one of {', '.join(valid)}")


def read_metadata(version_dir):
    """The tfgan_zoo.json of an exported version, or a ZooError saying what the path is not."""
    path = os.path.join(version_dir, METADATA)
    if not os.path.exists(path):
        raise ZooError(f"{version_dir} is not a tfgan_zoo export (no {METADATA}); pass "
                       "export/<name>/<version> as written by python -m tfgan_zoo.export")
    with open(path) as f:
        return json.load(f)


def summary(meta):
    """What an export wrote, for the command line."""
    lines = [f"Exported {meta['checkpoint']} (step {meta['step']}, {meta['weights']} weights) "
             f"as {meta['name']} version {meta['version']}:"]
    if "saved_model" in meta:
        sm = meta["saved_model"]
        lines.append(f"  SavedModel         {sm['bytes'] / 1024:9,.0f} KiB "
                     f"({sm['gzipped_bytes'] / 1024:,.0f} KiB gzipped), max |error| "
                     f"{sm['max_abs_error']:.1e} vs Keras")
    for mode, t in meta.get("tflite", {}).items():
        lines.append(f"  tflite {mode:11s} {t['bytes'] / 1024:9,.0f} KiB "
                     f"({t['gzipped_bytes'] / 1024:,.0f} KiB gzipped), {t['summary']}")
    lines.append(f"Wrote {meta['path']}")
    return "\n".join(lines)
