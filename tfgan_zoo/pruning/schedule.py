"""The `config.prune` section and the pruning schedule, which counts the run's adversarial steps
(see tfgan_zoo.pruning for why not TF-MOT's own count)."""
import itertools
import weakref

import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras

from tfgan_zoo import config as config_lib
from tfgan_zoo.errors import ZooError

SCHEDULES = ("polynomial", "constant")
NETWORKS = ("generator", "discriminator")


def default_config():
    """The `config.prune` section (defined TF-free in tfgan_zoo.config): pruning is off unless
    `enabled`."""
    return config_lib.prune_defaults()


def validate(cfg, num_steps=None):
    """Raises ZooError for a `config.prune` section that cannot run; `num_steps` (the run's
    generator updates), when given, must leave room for the schedule to reach its target."""
    def check(ok, message):
        if not ok:
            raise ZooError(message)

    def is_int(value):
        return isinstance(value, int) and not isinstance(value, bool)

    sparsity = cfg.target_sparsity
    check(isinstance(sparsity, (int, float)) and 0.0 < sparsity < 1.0,
          f"config.prune.target_sparsity must be in (0, 1), the fraction of zeros in each "
          f"pruned kernel (e.g. 0.8); got {sparsity!r}")
    check(cfg.schedule in SCHEDULES,
          f"config.prune.schedule={cfg.schedule!r}; valid: {', '.join(SCHEDULES)}")
    check(is_int(cfg.begin_step) and cfg.begin_step >= 0,
          f"config.prune.begin_step must be an integer >= 0 (generator updates), "
          f"got {cfg.begin_step!r}")
    check(is_int(cfg.end_step) and cfg.end_step > cfg.begin_step,
          f"config.prune.end_step must be an integer greater than begin_step={cfg.begin_step} "
          f"(generator updates), got {cfg.end_step!r}")
    check(is_int(cfg.frequency) and cfg.frequency >= 1,
          f"config.prune.frequency must be an integer >= 1 (generator updates between mask "
          f"updates), got {cfg.frequency!r}")
    networks = cfg.networks
    check(isinstance(networks, (tuple, list)) and len(networks) > 0,
          f"config.prune.networks must be a non-empty tuple of network names, e.g. "
          f"('generator',) or ('generator', 'discriminator'); got {networks!r}")
    unknown = [n for n in networks if n not in NETWORKS]
    check(not unknown, f"config.prune.networks has unknown name(s) "
                       f"{', '.join(map(repr, unknown))}; valid: {', '.join(NETWORKS)}")
    check(len(set(networks)) == len(networks),
          f"config.prune.networks lists a network twice: {tuple(networks)!r}")
    keep = cfg.get("keep_dense", ())
    check(isinstance(keep, (tuple, list)) and all(
        isinstance(k, str) and k.count("/") == 1 and k.split("/")[0] in NETWORKS for k in keep),
        f"config.prune.keep_dense must be a tuple of 'network/layer' names with network one of "
        f"{', '.join(NETWORKS)}, e.g. ('generator/to_image',); got {keep!r}")
    if num_steps is not None:
        check(cfg.end_step <= num_steps,
              f"config.prune.end_step={cfg.end_step} is after the run's last generator update "
              f"(config.train.num_steps={num_steps}): the kernels would never reach "
              f"target_sparsity; lower end_step or raise num_steps")


# --- The schedule ---

# A Keras config must be plain data, but the schedule reads a live variable. Each counter is
# registered here under a key unique in this process, and the config carries the key, so that
# clone_model (the GAN's EMA copy, strip) and to_json/from_config rebuild a schedule on the same
# counter. A wrapped model is not meant to be rebuilt from its config in another process:
# checkpoints restore variables into freshly wrapped networks, and export strips first.
# Weak values: a counter lives as long as its run or a schedule that reads it.
_STEP_COUNTERS = weakref.WeakValueDictionary()
_counter_ids = itertools.count()


def _register_counter(variable):
    for key, known in _STEP_COUNTERS.items():
        if known is variable:
            return key
    key = f"{variable.name.split(':')[0]}_{next(_counter_ids)}"
    _STEP_COUNTERS[key] = variable
    return key


@keras.utils.register_keras_serializable(package="tfgan_zoo")
class GeneratorUpdateSchedule(tfmot.sparsity.keras.PruningSchedule):
    """A TF-MOT schedule evaluated at a shared counter, not at the wrapper's own step.

    TF-MOT's wrapper calls `schedule(step)` with its own `pruning_step`, which moves once per
    call with training=True; this schedule ignores that argument and evaluates
    `PolynomialDecay` (0 -> target) or `ConstantSparsity` at `step_counter + 1`: the generator
    update in progress while the networks run, since the step is counted after it.
    Masks are updated on TF-MOT's grid (begin_step + k * frequency) and also always at
    begin_step (or 1) and end_step, so `end_step` is reached whatever the frequency. A network
    called several times within one update recomputes its masks at each call at the same
    sparsity, so the zero fraction does not depend on how many calls an update makes.

    Args:
      schedule: "polynomial" or "constant".
      target_sparsity, begin_step, end_step, frequency: as in `default_config()`.
      step_counter: int64 `tf.Variable` that grows by one per generator update (the run's
        adversarial step, `Progress.step`), or the registry key of one (from `get_config`).
    """

    def __init__(self, schedule, target_sparsity, begin_step, end_step, frequency,
                 step_counter):
        if isinstance(step_counter, str):
            if step_counter not in _STEP_COUNTERS:
                raise ValueError(
                    f"no step counter {step_counter!r} in this process: a pruned model can be "
                    "rebuilt from its config only while its step counter exists; "
                    "rebuild it with tfgan_zoo.pruning.wrap() and restore a checkpoint")
            self.counter_key, self.step_counter = step_counter, _STEP_COUNTERS[step_counter]
        else:
            if getattr(step_counter, "dtype", None) != tf.int64 or not hasattr(step_counter,
                                                                                "assign"):
                raise TypeError("step_counter must be an int64 tf.Variable that grows by one "
                                "per generator update, e.g. the run's Progress.step; "
                                f"got {step_counter!r}")
            self.counter_key, self.step_counter = _register_counter(step_counter), step_counter
        self.schedule = schedule
        self.target_sparsity = float(target_sparsity)
        self.begin_step, self.end_step, self.frequency = begin_step, end_step, frequency
        if schedule == "polynomial":
            self._inner = tfmot.sparsity.keras.PolynomialDecay(
                0.0, self.target_sparsity, begin_step, end_step, power=3, frequency=frequency)
        elif schedule == "constant":
            self._inner = tfmot.sparsity.keras.ConstantSparsity(
                self.target_sparsity, begin_step, end_step, frequency=frequency)
        else:
            raise ValueError(f"schedule={schedule!r}; valid: {', '.join(SCHEDULES)}")

    @classmethod
    def from_prune_config(cls, cfg, step_counter):
        return cls(cfg.schedule, cfg.target_sparsity, cfg.begin_step, cfg.end_step,
                   cfg.frequency, step_counter)

    def sparsity_at(self, update):
        """The target sparsity (a Python float) for generator update `update` (1-based)."""
        return float(self._inner(tf.constant(update, tf.int64))[1])

    def __call__(self, step):
        del step  # the wrapper's own call count: see the class docstring
        update = tf.cast(tf.convert_to_tensor(self.step_counter), tf.int64) + 1
        on_grid, sparsity = self._inner(update)
        edges = tf.logical_or(tf.equal(update, max(self.begin_step, 1)),
                              tf.equal(update, self.end_step))
        return tf.logical_or(on_grid, edges), sparsity

    def get_config(self):
        # TF-MOT's wrapper stores this dict as is and deserializes it by class name, which must
        # therefore be the name this class is registered under.
        return {
            "class_name": keras.utils.get_registered_name(type(self)),
            "config": {
                "schedule": self.schedule,
                "target_sparsity": self.target_sparsity,
                "begin_step": self.begin_step,
                "end_step": self.end_step,
                "frequency": self.frequency,
                "step_counter": self.counter_key,
            },
        }
