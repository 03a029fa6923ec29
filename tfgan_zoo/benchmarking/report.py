"""The benchmark's printed report: a line for the machine and its ceilings, then for each model
a line per loop and precision (rates, CPU time, working memory), the ratios, the input's share
and what bounds the step. Formats the dicts that `contest.run` returns; measures nothing."""
from tfgan_zoo.benchmarking.timing import RATIOS

LABELS = {
    "zoo": "zoo: fit() + per-step callbacks",
    "zoo_fit_only": "zoo: fit() alone",
    "zoo_step_only": "zoo: train_step, plain loop",
    "hand_guarded": "hand + apply_if_finite",
    "hand": "hand-written loop",
    "hand_cached": "hand, one cached batch",
    "float32_hand": "hand-written loop, float32",
    "input": "input pipeline alone",
}


def megabytes(count):
    """`count` bytes in MB with one decimal, or "n/a" where the allocator measured nothing."""
    return "n/a" if count is None else f"{count / 2**20:.1f}"


def describe_machine(host):
    return (f"{host['cores']} cores, {host['cpu']} ({' '.join(host['isa']) or 'no AVX-512'}), "
            f"Python {host['python']}, TensorFlow {host['tensorflow']}, load average "
            f"{host['load_average']:.1f} at the start")


def describe_bounds(limits):
    peaks = ", ".join(f"{dtype} {flops / 1e9:.0f}" for dtype, flops in
                      limits["matmul_flops"].items())
    return (f"Ceilings measured now: matmul 2048x2048 {peaks} GFLOP/s; element-wise bandwidth "
            f"{limits['bandwidth'] / 1e9:.1f} GB/s; {limits['op_seconds'] * 1e6:.1f} us an op "
            "in a graph")


def describe_model(item, section):
    """The printed figures of one model: a line per loop and precision, the ratios, then the
    input, the step's FLOPs and what bounds it."""
    unit = section["unit"]
    lines = [f"\n{item}: batch {section['batch_size']} x {section['d_steps']} critic "
             f"update(s) = {section['samples_per_step']} {unit} a step ({section['data']})"
             + ("; the adversarial phase only" if section["pretraining_not_measured"] else "")]
    if not section["precisions"]:
        return "\n".join(lines)
    first = next(iter(section["precisions"].values()))
    lines += [f"  {first['steps_per_block']} steps a block, {first['rounds']} rounds; work: peak "
              "working memory",
              f"  {'precision':15s} {'loop':30s} {'steps/s':>8s} {unit + '/s':>10s} "
              f"{'CPU ms/step':>12s} {'work MB':>8s}"]
    for precision, p in section["precisions"].items():
        shown = precision
        for name, loop in p["loops"].items():
            if name != "input":
                lines.append(f"  {shown:15s} {LABELS[name]:30s} {loop['steps_per_second']:8.2f} "
                             f"{loop['samples_per_second']:10,.0f} "
                             f"{1e3 * loop['cpu_seconds_per_step']:12.1f} "
                             f"{megabytes(loop['working_memory_bytes']):>8s}")
                shown = ""
    lines.append("  ratios, median (range) over rounds, by wall time and by this process's CPU "
                 "time (steadier when other jobs share the cores):")
    for key in RATIOS:
        figures = [f"{precision} {_range(p['ratios'][key])} wall, "
                   f"{_range(p['cpu_ratios'][key])} CPU"
                   for precision, p in section["precisions"].items() if key in p["ratios"]]
        if figures:
            label = key.replace("_vs_", " / ").replace("_", " ")
            lines.append(f"    {label:26s} {'; '.join(figures)}")
    return "\n".join(lines + _input_lines(section) + _bound_lines(section))


def _range(r):
    return f"{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f})"


def _input_lines(section):
    rate = section["input"]["batches_per_second"]
    shares = ", ".join(f"{100 * p['input_share']:.1f}% / {100 * p['input_cpu_share']:.1f}% of "
                       f"a zoo {precision} step" for precision, p in section["precisions"].items())
    waits = section["input"]["hand_on_pipeline_vs_cached"]
    verdict = ("input is not waited on" if waits["median"] >= 0.97
               else "the loop loses time to its input")
    return [f"  input pipeline alone: {rate:,.0f} batches/s ({1e3 / rate:.2f} ms, "
            f"{1e3 * section['input']['cpu_seconds_per_batch']:.2f} CPU ms a batch) = {shares} "
            f"(wall / CPU time); the hand loop on the pipeline / on a cached batch: "
            f"{_range(waits)}: {verdict}"]


def _bound_lines(section):
    flops = section["flops"]
    lines = [f"  step: {flops['step'] / 1e9:.2f} GFLOP (forward an example: G "
             f"{flops['generator_forward'] / 1e6:.1f}, D {flops['discriminator_forward'] / 1e6:.1f}"
             " MFLOP)"]
    for precision, p in section["precisions"].items():
        ops = p["graph_ops"]
        zoo_ops = f", zoo {ops['zoo']:,}" if "zoo" in ops else ""
        lines.append(
            f"  {precision}: zoo at {p['zoo_flops_per_second'] / 1e9:.0f} GFLOP/s = "
            f"{100 * p['share_of_matmul_peak']:.0f}% of the {p['compute_dtype']} matmul peak; "
            f"ops in the traced step: hand {ops['hand']:,}{zoo_ops}, whose overhead alone is "
            f"{100 * p['op_floor_share']:.0f}% of a hand step; state (weights, EMA, optimizer "
            f"slots) {p['state_bytes'] / 2**20:.1f} MB")
        if "matmul_share" in p:
            lines.append(
                f"    the hand step in {precision} is {p['step_speedup']:.2f}x the float32 one "
                f"(CPU time), its matmul {p['matmul_speedup']:.2f}x: as if "
                f"{100 * p['matmul_share']:.0f}% of the float32 step were work that gains as "
                "much as the matmul and the rest (norms, activations, casts, optimizer) "
                "nothing (Amdahl)")
    return lines
