"""The contest: each model in each precision, its loops built and timed against each other,
and what follows from the figures; `run` does it for a list of models, after measuring the
machine, and returns the report (`report` prints it).

For a model and precision the loops are (see `Contest`): the zoo as a run trains (`fit()` with
the per-step callbacks, on the run's own pipeline), the hand loop on its own copy of that
pipeline, the float32 hand loop beside every other precision; for the first precision the hand
loop on one cached batch and the pipeline alone; with `breakdown`, the steps between hand and
zoo."""
import contextlib
import tempfile

import tfgan_zoo  # noqa: F401  # isort: skip  (must precede TensorFlow)
import tensorflow as tf
import tf_keras as keras

from tfgan_zoo import config as config_lib
from tfgan_zoo import models
from tfgan_zoo.benchmarking.hand_loop import HandLoop
from tfgan_zoo.benchmarking.machine import COMPUTE_DTYPES, bounds, graph_ops, machine, step_flops
from tfgan_zoo.benchmarking.report import describe_bounds, describe_machine, describe_model
from tfgan_zoo.benchmarking.timing import fit_loop, measure, plain_loop, run_callbacks, summarize
from tfgan_zoo.engine import training


def run(items, precisions, steps=0, rounds=5, preset=None, batch_size=None, breakdown=False,
        log=print):
    """Benchmarks each of `items` (see `load_config`) in each precision; returns the report:
    {"machine", "bounds", "models": {item: benchmark_model's section}}, printing as it goes."""
    configs = {item: load_config(item, preset, batch_size) for item in items}
    host = machine()
    log(f"Machine: {describe_machine(host)}")
    limits = bounds(precisions)
    log(describe_bounds(limits))
    report = {"machine": host, "bounds": limits, "models": {}}
    with tempfile.TemporaryDirectory() as scratch:
        for item, config in configs.items():
            section = benchmark_model(config, precisions, steps, rounds, breakdown, scratch,
                                      limits, log)
            report["models"][item] = section
            log(describe_model(item, section))
    return report


@contextlib.contextmanager
def precision_policy(precision):
    """Networks and optimizers built inside take `precision`'s Keras policy; it is put back
    after (layers keep the policy they were built with)."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def load_config(item, preset=None, batch_size=None):
    """The checked config of `item` ("NAME" or "NAME:PRESET"; `preset` where it names none)."""
    name, _, own_preset = item.partition(":")
    config = config_lib.load(name, own_preset or preset)
    if batch_size:
        config.train.batch_size = batch_size
    training.validate(config)
    return config


def float16_supported(gan):
    """Whether the engine compiled `gan` for mixed_float16 (loss-scaled optimizers)."""
    return isinstance(gan.d_optimizer, keras.mixed_precision.LossScaleOptimizer)


def benchmark_model(config, precisions, steps, rounds, breakdown, scratch, limits, log=print):
    """Every precision of one config against `limits` (see `bounds`); returns its section of
    the report (see `run`)."""
    kind = models.kind_of_config(config)
    per_step = config.train.batch_size * config.gan.d_steps
    tf.keras.utils.set_random_seed(config.train.seed)
    _, spec = kind.load(config, per_step)
    report = {"model": config.model_name, "batch_size": config.train.batch_size,
              "d_steps": config.gan.d_steps, "samples_per_step": per_step, "unit": kind.unit,
              "data": kind.describe_spec(spec),
              "pretraining_not_measured": training.pretrain_steps(config) > 0,
              "precisions": {}, "skipped": {}}
    reference = None
    for precision in precisions:
        with precision_policy(precision):
            gan = training.build_gan(config, spec)
            if precision == "mixed_float16" and not float16_supported(gan):
                report["skipped"][precision] = ("GAN.compile does not wrap its optimizers in a "
                                                "LossScaleOptimizer")
                log(f"{config.model_name} {precision}: skipped, {report['skipped'][precision]}")
                continue
            weights = (gan.generator.get_weights(), gan.discriminator.get_weights())
            centres = gan.clusters.centres.numpy() if gan.clusters is not None else None
            hand = HandLoop(config, spec, weights, centres=centres)
        if precision == "float32":
            reference = hand
        elif reference is None:
            with precision_policy("float32"):
                reference = HandLoop(config, spec, weights, centres=centres)
        contest = Contest(config, spec, kind, gan, hand, scratch)
        contest.add_main(reference)
        if not report["precisions"]:  # input costs the same in every precision: once
            contest.add_input()
        if breakdown:
            with precision_policy(precision):
                contest.add_breakdown(weights)
        report["precisions"][precision] = contest.measure(steps, rounds)
    if report["precisions"]:
        report["flops"] = step_flops(config, spec, reference)
        derive(report, limits)
    return report


def derive(report, limits):
    """What follows from a model's measurements: the input's rate and whether the loop waits
    on it, and for each precision the input's share of a zoo step (by wall time alone, and by
    CPU time: the pipeline's threads share the cores with training), the zoo's FLOP/s and its
    share of the matmul peak, and the op-overhead floor as a share of a hand step."""
    first = next(iter(report["precisions"].values()))
    input_rate = first["loops"]["input"]["steps_per_second"]
    input_cpu = first["loops"]["input"]["cpu_seconds_per_step"]
    report["input"] = {"batches_per_second": input_rate, "cpu_seconds_per_batch": input_cpu,
                       "hand_on_pipeline_vs_cached": first["ratios"]["hand_vs_hand_cached"]}
    for precision, p in report["precisions"].items():
        zoo = p["loops"]["zoo"]["steps_per_second"]
        p["compute_dtype"] = COMPUTE_DTYPES[precision]
        p["input_share"] = zoo / input_rate
        p["input_cpu_share"] = input_cpu / p["loops"]["zoo"]["cpu_seconds_per_step"]
        p["zoo_flops_per_second"] = zoo * report["flops"]["step"]
        p["share_of_matmul_peak"] = (p["zoo_flops_per_second"]
                                     / limits["matmul_flops"][p["compute_dtype"]])
        p["op_floor_share"] = (p["graph_ops"]["hand"] * limits["op_seconds"]
                               * p["loops"]["hand"]["steps_per_second"])
        if "hand_vs_float32_hand" in p["cpu_ratios"]:
            p.update(_amdahl(p["cpu_ratios"]["hand_vs_float32_hand"]["median"],
                             limits["matmul_flops"][p["compute_dtype"]]
                             / limits["matmul_flops"]["float32"]))


def _amdahl(step_speedup, matmul_speedup):
    """What a precision's speed-up says about the step: if the ops it speeds up ran
    `matmul_speedup` times faster (the matmul's gain) and the rest no faster, they were
    `matmul_share` of the float32 step."""
    figures = {"step_speedup": step_speedup, "matmul_speedup": matmul_speedup}
    if matmul_speedup > 1 and step_speedup > 1:
        figures["matmul_share"] = (1 - 1 / step_speedup) / (1 - 1 / matmul_speedup)
    return figures


class Contest:
    """The loops of one model and precision, and what is measured about them."""

    def __init__(self, config, spec, kind, gan, hand, scratch):
        self.config, self.spec, self.kind, self.gan, self.hand = config, spec, kind, gan, hand
        self.scratch = scratch
        self.per_step = config.train.batch_size * config.gan.d_steps
        self.loops = []
        self.zoo_step = None

    def pipeline(self):
        """A copy of the run's input pipeline (`kind.load` as training calls it)."""
        return self.kind.load(self.config, self.per_step, seed=self.config.train.seed)[0]

    def add_main(self, reference):
        """The zoo as a run trains, the hand loop, and the float32 hand loop where it differs."""
        self.loops += [fit_loop("zoo", self.gan, self.pipeline(), self.config.train.log_every,
                                run_callbacks(self.config, self.kind, self.scratch)),
                       _hand_loop("hand", self.hand, self.pipeline())]
        if reference is not self.hand:
            self.loops.append(_hand_loop("float32_hand", reference, self.pipeline()))

    def add_input(self):
        """The hand loop on one batch held in memory, and the pipeline without training."""
        cached = next(iter(self.pipeline()))
        self.loops += [plain_loop("hand_cached", self.hand.step, lambda: _repeat(cached)),
                       plain_loop("input", lambda batch: batch, _iterator(self.pipeline()))]

    def add_breakdown(self, weights):
        """The steps between the hand loop and the zoo (build under the precision's policy)."""
        self.zoo_step = tf.function(self.gan.train_step)
        clusters = self.gan.clusters
        guarded = HandLoop(self.config, self.spec, weights, guarded=True,
                           centres=clusters.centres.numpy() if clusters is not None else None)
        self.loops += [fit_loop("zoo_fit_only", self.gan, self.pipeline(),
                                self.config.train.log_every, []),
                       plain_loop("zoo_step_only", self.zoo_step, _iterator(self.pipeline())),
                       _hand_loop("hand_guarded", guarded, self.pipeline())]

    def measure(self, steps, rounds):
        """The precision's section of the report: rates, ratios, memory, ops in the step."""
        block_steps, results = measure(self.loops, steps, rounds)
        section = summarize(results, block_steps, self.per_step)
        section["state_bytes"] = _bytes(self.hand.state_variables())
        element_spec = self.pipeline().element_spec
        section["graph_ops"] = {"hand": graph_ops(self.hand.step, element_spec)}
        if self.zoo_step is not None:
            section["graph_ops"]["zoo"] = graph_ops(self.zoo_step, element_spec)
        return section


def _hand_loop(name, hand, dataset):
    return plain_loop(name, hand.step, _iterator(dataset))


def _iterator(dataset):
    return lambda: iter(dataset)


def _repeat(batch):
    while True:
        yield batch


def _bytes(variables):
    return sum(v.shape.num_elements() * v.dtype.size for v in variables)
