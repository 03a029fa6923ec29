"""What bounds a step: this machine (`machine`: CPU, cores, ISA extensions, versions, load) and
its ceilings measured in this process (`bounds`: matmul FLOP/s in each precision's compute
type, memory bandwidth, the cost of an op that does nothing), each the fastest of about 0.5 s
of calls, the one least slowed by other work on the machine; and the step's own counts: the
ops of its traced graph (`graph_ops`) and its FLOPs (`step_flops`).

FLOPs are TensorFlow's count of G's and D's forward passes (batch 1), a backward pass costing
two forward passes: a critic update is G + 6 D per example (+4 D with a gradient penalty or
R1), a generator update 3 G + 3 D (+D when the loss reads D(real))."""
import contextlib
import logging as std_logging
import os
import platform
import time

import tfgan_zoo  # noqa: F401  # isort: skip  (must precede TensorFlow)
import tensorflow as tf
import tf_keras as keras

# The ISA extensions that decide how fast reduced precisions can be on a CPU.
ISA_FLAGS = ("avx512f", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_fp16")
COMPUTE_DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}

def graph_ops(function, element_spec):
    """Ops in `function`'s traced graph for batches of `element_spec`, the bodies of its
    conditionals and loops included (before TensorFlow's graph optimizations)."""
    graph_def = function.get_concrete_function(element_spec).graph.as_graph_def()
    return len(graph_def.node) + sum(len(f.node_def) for f in graph_def.library.function)


def forward_flops(network):
    """TensorFlow's FLOP count of one example's forward pass through `network`."""
    specs = [tf.TensorSpec([1, *t.shape[1:]], t.dtype) for t in network.inputs]
    inputs = specs if len(specs) > 1 else specs[0]
    graph = tf.function(lambda x: network(x, training=False)).get_concrete_function(
        inputs).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    with _quiet_tensorflow():  # the v1 profiler announces its deprecation
        return tf.compat.v1.profiler.profile(graph, options=options).total_float_ops


def step_flops(config, spec, hand):
    """FLOPs of one training step of `config` (see the module docstring), and G's and D's."""
    g, d = forward_flops(hand.generator), forward_flops(hand.discriminator)
    penalty = 4 if config.gan.gp_weight > 0 or config.gan.r1_gamma > 0 else 0
    critic = g + (6 + penalty) * d
    generator = 3 * g + (4 if hand.loss.g_uses_real else 3) * d
    per_step = config.train.batch_size * (config.gan.d_steps * critic + generator)
    return {"generator_forward": g, "discriminator_forward": d, "step": per_step}


@contextlib.contextmanager
def _quiet_tensorflow():
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel(std_logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def fastest(call, seconds=0.5):
    """The shortest time of `call()` over about `seconds` of calls, after one untimed call:
    on a shared machine the fastest call is the one least slowed by other work."""
    call()
    times, deadline = [], time.perf_counter() + seconds
    while not times or time.perf_counter() < deadline:
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def matmul_peak(dtype="float32", size=2048):
    """FLOP/s of a size x size matmul in `dtype`."""
    a = tf.cast(tf.random.normal([size, size]), dtype)
    matmul = tf.function(lambda: tf.matmul(a, a))
    return 2 * size ** 3 / fastest(matmul)


def bandwidth(megabytes=256):
    """Bytes/s read and written by `x * 2` on a float32 tensor far larger than the caches."""
    x = tf.ones([megabytes * 2 ** 20 // 8])  # half of the bytes read, half written
    return 2 * x.shape.num_elements() * 4 / fastest(lambda: x * 2.0)


def op_overhead(ops=200):
    """Seconds an op of a graph costs when its work is nothing: a chain of dependent scalar
    ops (sin, which Grappler does not fold), in one tf.function."""
    @tf.function
    def chain(x):
        for _ in range(ops):
            x = tf.math.sin(x)
        return x

    x = tf.constant(0.5)
    return fastest(lambda: chain(x)) / ops


def machine():
    """What the figures were measured on: CPU, cores, ISA extensions, versions and the load."""
    cpu, isa = platform.processor() or platform.machine(), []
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            lines = f.read().splitlines()
        cpu = next((line.split(":", 1)[1].strip() for line in lines
                    if line.startswith("model name")), cpu)
        flags_line = next((line for line in lines if line.startswith("flags")), "")
        isa = [flag for flag in ISA_FLAGS if flag in flags_line.split()]
    return {"cpu": cpu, "cores": os.cpu_count(), "isa": isa,
            "python": platform.python_version(), "tensorflow": tf.__version__,
            "tf_keras": keras.__version__, "load_average": os.getloadavg()[0]}


def bounds(precisions):
    """This machine's ceilings, measured now: matmul FLOP/s for each precision's compute type,
    bandwidth in bytes/s, seconds an op."""
    dtypes = dict.fromkeys(COMPUTE_DTYPES[p] for p in ("float32", *precisions))
    return {"matmul_flops": {dtype: matmul_peak(dtype) for dtype in dtypes},
            "bandwidth": bandwidth(), "op_seconds": op_overhead()}
