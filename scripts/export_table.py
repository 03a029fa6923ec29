"""Export the zoo's DCGAN, dense and 80%-pruned, and measure every variant: the README table.

  python scripts/export_table.py [--dense=runs/zoo/dcgan] [--pruned=runs/zoo/dcgan_pruned80]
      [--repeats=200]

Needs the runs of scripts/zoo_table.py and scripts/prune_table.py (or any dcgan workdirs).
Exports both into export/ (TF Serving layout, version 1, replaced), then measures size on disk
and gzipped for each variant, LiteRT latency at batch 1, SavedModel latency at batch 1 and 64,
and the Keras generator's own latency in the same process as the reference the others are
divided by (the machine is shared, so ratios travel better than milliseconds). Writes
docs/export/results.json and the README section between the export-table markers.
About 2 minutes on 2 CPU cores.
"""
import argparse
import json
import os
import statistics
import time

from zoo_table import ROOT, machine, update_readme

START, END = "<!-- export-table:start -->", "<!-- export-table:end -->"


def median_ms(fn, repeats):
    fn()  # the first call traces, allocates and warms caches
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def litert_ms(path, repeats):
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path)
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    return median_ms(interpreter.invoke, repeats)


def measure(meta, generator, repeats):
    """Latencies of one export's variants, in ms, with the Keras generator's as reference."""
    import tensorflow as tf

    loaded = tf.saved_model.load(meta["path"])
    default = loaded.signatures["serving_default"]
    z1, z64 = tf.random.normal([1, meta["latent_dim"]]), tf.random.normal([64, meta["latent_dim"]])
    call = tf.function(lambda z: generator(z, training=False))
    return {
        "keras_batch1": median_ms(lambda: call(z1), repeats),
        "saved_model_batch1": median_ms(lambda: default(z=z1), repeats),
        "saved_model_batch64": median_ms(lambda: default(z=z64), max(10, repeats // 10)),
        "keras_batch64": median_ms(lambda: call(z64), max(10, repeats // 10)),
        "litert_batch1": {mode: litert_ms(os.path.join(meta["path"], t["file"]), repeats)
                          for mode, t in meta["tflite"].items()},
    }


def export_and_measure(workdir, name, repeats):
    from tfgan_zoo.deployment import exports
    from tfgan_zoo.engine import runs

    meta = exports.export_run(workdir, export_dir=os.path.join(ROOT, "export"), name=name,
                              version=1, overwrite=True)
    generator = runs.load(workdir, "best").plain_sampler()
    return {"meta": meta, "latency_ms": measure(meta, generator, repeats)}


def rows(name, result, reference_bytes, reference_ms):
    """Table rows of one export; sizes and latencies as ratios to the dense references."""
    meta, ms = result["meta"], result["latency_ms"]
    sm = meta["saved_model"]
    keras1, keras64 = reference_ms["keras_batch1"], reference_ms["keras_batch64"]
    out = [f"| {name} SavedModel | {sm['bytes'] / 1024:,.0f} KiB | "
           f"{sm['variables_gzipped_bytes'] / 1024:,.0f} KiB | "
           f"{reference_bytes / sm['variables_gzipped_bytes']:.1f}x | "
           f"{ms['saved_model_batch1']:.2f} ms ({ms['saved_model_batch1'] / keras1:.2f}x) | "
           f"{ms['saved_model_batch64']:.1f} ms ({ms['saved_model_batch64'] / keras64:.2f}x) | "
           f"{sm['max_abs_error']:.1e} |"]
    for mode, t in meta["tflite"].items():
        lat = ms["litert_batch1"][mode]
        out.append(f"| {name} TFLite {mode}{' sparse' if t['sparse'] else ''} | "
                   f"{t['bytes'] / 1024:,.0f} KiB | {t['gzipped_bytes'] / 1024:,.0f} KiB | "
                   f"{reference_bytes / t['gzipped_bytes']:.1f}x | "
                   f"{lat:.2f} ms ({lat / keras1:.2f}x) | - | {t['max_abs']:.4f} |")
    return out


def table(results, host):
    dense = results["dense"]["meta"]["saved_model"]["variables_gzipped_bytes"]
    keras = results["dense"]["latency_ms"]
    return "\n".join([
        f"Measured by `python scripts/export_table.py` on {host}. Sizes: the SavedModel's "
        "`variables/` (gzipped) and each .tflite file; *smaller* is against the dense float32 "
        "SavedModel's variables, gzipped. Latency: median of repeated calls in one process, "
        f"with the Keras generator's own (batch 1: {keras['keras_batch1']:.2f} ms, batch 64: "
        f"{keras['keras_batch64']:.1f} ms, dense) as the reference in brackets. Error: max "
        "|difference| from the Keras generator's images in [-1, 1].",
        "",
        "| variant | on disk | gzipped | smaller | batch 1 (x Keras) | batch 64 (x Keras) | "
        "error |",
        "|---|---|---|---|---|---|---|",
        *[line for name, result in results.items()
          for line in rows(name, result, dense, keras)],
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dense", default=os.path.join(ROOT, "runs", "zoo", "dcgan"))
    parser.add_argument("--pruned", default=os.path.join(ROOT, "runs", "zoo", "dcgan_pruned80"))
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    results = {"dense": export_and_measure(args.dense, "dcgan", args.repeats)}
    if os.path.exists(args.pruned):
        results["pruned 80%"] = export_and_measure(args.pruned, "dcgan_pruned80", args.repeats)
    host = machine()
    os.makedirs(os.path.join(ROOT, "docs", "export"), exist_ok=True)
    with open(os.path.join(ROOT, "docs", "export", "results.json"), "w") as f:
        json.dump({"machine": host, "results": results}, f, indent=2)
    text = table(results, host)
    update_readme(text, START, END)
    print(text)


if __name__ == "__main__":
    main()
