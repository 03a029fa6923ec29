"""Finding, loading and checking the configs in `configs/` (installed as `tfgan_zoo.configs`).

Nothing here imports TensorFlow, so a wrong model name or value fails in well under a second.
"""
import importlib
import json
import pkgutil

from ml_collections import config_dict

from tfgan_zoo import configs as _configs_package
from tfgan_zoo.errors import ZooError
from tfgan_zoo.models._conditioning import ACGAN_OPTIONS, conditioning

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# tf.distribute strategies; "mirrored" is every local GPU (or every logical CPU device),
# "multi_worker_mirrored" reads the cluster from TF_CONFIG, "tpu" from config.train.tpu.
STRATEGIES = ("none", "mirrored", "multi_worker_mirrored", "tpu")
# "none": a kind scored without a feature extractor (text: NLL_oracle, BLEU).
EXTRACTORS = ("classifier", "inception", "none")


def available_models():
    """Names accepted by `--model`: one per Python file in configs/."""
    return sorted(
        m.name for m in pkgutil.iter_modules(_configs_package.__path__)
        if not m.name.startswith("_")
    )


def load(model, preset=None):
    """`configs/<model>.py`'s config for `preset`; ZooError lists the valid names."""
    models = available_models()
    if model not in models:
        raise ZooError(f"unknown model {model!r}; available models: {', '.join(models)}")
    module = importlib.import_module(f"{_configs_package.__name__}.{model}")
    presets = getattr(module, "PRESETS", ())
    if preset and preset not in presets:
        valid = ", ".join(presets) or "none"
        raise ZooError(f"model {model!r} has no preset {preset!r}; valid presets: {valid}")
    return module.get_config(preset or None)


def describe_model(config):
    """The family and, when it conditions on labels, how: cgan, acgan and wavegan_cond share
    their family's module, so the family's name alone would not say which recipe runs."""
    mode = conditioning(config.model)
    if mode == "none":
        return config.model_name
    extras = [f"with {what}" for key, what in ACGAN_OPTIONS.items()
              if config.model.get(key, False)]
    return f"{config.model_name} ({', '.join([f'{mode}-conditioned', *extras])})"


def prune_defaults():
    """The `config.prune` section of every config: pruning is off unless `enabled`.

    Steps count generator updates (the run's adversarial step), whatever the number of
    critic steps: the masks used in update k are computed for step k, so after `end_step`
    updates the pruned kernels are at `target_sparsity`.
    """
    return config_dict.ConfigDict(
        dict(
            enabled=False,
            target_sparsity=0.8,  # fraction of zeros in each pruned kernel, in (0, 1)
            # polynomial: 0 at begin_step rising to the target at end_step (Zhu and Gupta 2017);
            # constant: the target from begin_step on
            schedule="polynomial",
            begin_step=0,  # generator updates
            end_step=1000,  # generator updates; masks are frozen after it
            frequency=50,  # generator updates between mask updates (begin and end always are)
            networks=("generator",),  # may also hold "discriminator"
            # prunable layers left dense, as "network/layer", e.g. ("generator/to_image",)
            keep_dense=(),
        )
    )


# How MSGAN's mode-seeking term pairs latents (config.gan.mode_seeking_pairs; GAN.compile).
MODE_SEEKING_PAIRS = ("second_batch", "batch_halves")


def _check(ok, message):
    if not ok:
        raise ZooError(message)


def validate(config):
    """Checks the values every model shares; the model family checks its own `model` section."""
    train, gan = config.train, config.gan
    for key in ("batch_size", "log_every", "sample_every", "checkpoint_every",
                "keep_checkpoints", "num_samples"):
        _check(train[key] >= 1, f"config.train.{key} must be a positive integer, got {train[key]}")
    # 0 adversarial steps is a run of pre-training alone (text: the MLE baseline), which a
    # later call with more steps resumes into the adversarial phase.
    least = 0 if train.get("pretrain_steps", 0) else 1
    _check(train.num_steps >= least,
           f"config.train.num_steps must be at least {least}, got {train.num_steps}"
           + ("" if least == 0 else " (0 only for a run with pre-training)"))
    _check(gan.d_steps >= 1, f"config.gan.d_steps must be at least 1, got {gan.d_steps}")
    # Checkpoints and the step count stay aligned with Keras epochs of `log_every` steps, so a
    # resumed run restarts exactly on an epoch boundary.
    for key in ("num_steps", "checkpoint_every", "sample_every"):
        _check(train[key] % train.log_every == 0,
               f"config.train.{key}={train[key]} must be a multiple of "
               f"config.train.log_every={train.log_every}")
    _check(0.0 <= gan.ema_decay < 1.0,
           f"config.gan.ema_decay must be in [0, 1), got {gan.ema_decay}")
    for key in ("gp_weight", "r1_gamma", "weight_clip", "label_smoothing", "aux_weight",
                "mode_seeking"):
        _check(gan.get(key, 0) >= 0, f"config.gan.{key} must be >= 0, got {gan.get(key)}")
    pairs = gan.get("mode_seeking_pairs", "second_batch")
    _check(pairs in MODE_SEEKING_PAIRS, f"config.gan.mode_seeking_pairs={pairs!r}; valid: "
           f"{', '.join(MODE_SEEKING_PAIRS)}")
    g_aux_weight = gan.get("g_aux_weight")
    _check(g_aux_weight is None or g_aux_weight >= 0,
           f"config.gan.g_aux_weight must be >= 0 (or unset: aux_weight), got {g_aux_weight}")
    _check(not (config.model.get("twin_classifier", False) and gan.get("aux_fake", True)),
           "config.model.twin_classifier=True (TAC-GAN) trains the twin on generated images and "
           "D's class head on real ones alone: set config.gan.aux_fake=False")
    for net in ("g", "d"):
        opt = config.optimizer[net]
        _check(opt.learning_rate > 0,
               f"config.optimizer.{net}.learning_rate must be > 0, got {opt.learning_rate}")
        _check(opt.clip_norm >= 0 and opt.clip_value >= 0,
               f"config.optimizer.{net}.clip_norm and clip_value must be >= 0 (0 is off)")
    evaluation = config.eval
    _check(evaluation.every >= 0 and evaluation.every % train.log_every == 0,
           f"config.eval.every={evaluation.every} must be 0 (off) or a multiple of "
           f"config.train.log_every={train.log_every}")
    _check(evaluation.num_samples >= 0,
           f"config.eval.num_samples must be >= 0 (0: the train split's size), "
           f"got {evaluation.num_samples}")
    _check(evaluation.extractor in EXTRACTORS,
           f"config.eval.extractor={evaluation.extractor!r}; valid: {', '.join(EXTRACTORS)}")
    _check(train.precision in PRECISIONS,
           f"config.train.precision={train.precision!r}; valid: {', '.join(PRECISIONS)}")
    _check(train.distribute != "parameter_server",
           "config.train.distribute='parameter_server' is not offered: its workers update the "
           "shared weights asynchronously, each at its own pace, so one worker's generator "
           "update lands between another's discriminator updates and a step is no longer "
           "d_steps critic updates and then one generator update on the same weights; use "
           "multi_worker_mirrored (synchronous) instead")
    _check(train.distribute in STRATEGIES,
           f"config.train.distribute={train.distribute!r}; valid: {', '.join(STRATEGIES)}")
    _check(not (train.distribute == "tpu" and train.precision == "mixed_float16"),
           "config.train.precision=mixed_float16 is for GPUs; a TPU computes in bfloat16 and "
           "needs no loss scaling: use --config.train.precision=mixed_bfloat16")


def validate_replicas(config, replicas):
    """Checks that each of `replicas` (the distribution strategy's replicas in sync) gets the
    same share of every discriminator update's `config.train.batch_size` examples; raises
    ZooError otherwise.

    A step's batch holds batch_size * d_steps examples, and each replica splits its share into
    d_steps slices: an uneven share fails in that split, weights some examples more than others
    in the summed gradients, or leaves a replica with none.
    """
    train = config.train
    if train.batch_size % replicas:
        multiple = -(-train.batch_size // replicas) * replicas
        raise ZooError(
            f"config.train.batch_size={train.batch_size} does not split evenly over the "
            f"{replicas} replicas of config.train.distribute={train.distribute!r}: each of "
            f"the config.gan.d_steps={config.gan.d_steps} discriminator updates of a step "
            f"shares its batch_size examples among them; pass a multiple of {replicas}, e.g. "
            f"--config.train.batch_size={multiple}")


def to_json(config):
    """The resolved config as indented JSON, as written to `<workdir>/config.json`."""
    return json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n"


def from_json(text):
    return config_dict.ConfigDict(json.loads(text))
