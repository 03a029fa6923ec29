"""configs/: every config loads, validates and serialises; bad values say what to do."""
import importlib
import json

import pytest

from tfgan_zoo import config as config_lib
from tfgan_zoo.engine import cluster, training
from tfgan_zoo.errors import ZooError


@pytest.mark.parametrize("model", config_lib.available_models())
def test_every_config_and_preset_is_valid(model):
    training.validate(config_lib.load(model))
    for preset in importlib.import_module(f"tfgan_zoo.configs.{model}").PRESETS:
        config = config_lib.load(model, preset)
        training.validate(config)
        assert json.loads(config_lib.to_json(config))["model_name"] == config.model_name


def test_dcgan_is_available():
    assert "dcgan" in config_lib.available_models()


def test_unknown_model_lists_the_available_ones():
    with pytest.raises(ZooError, match="unknown model 'stylegan9'; available models: .*dcgan"):
        config_lib.load("stylegan9")


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(ZooError, match="no preset 'huge'; valid presets: tiny"):
        config_lib.load("dcgan", "huge")


@pytest.mark.parametrize("path,value,message", [
    ("train.batch_size", -8, "batch_size must be a positive integer, got -8"),
    ("train.num_steps", 0, "num_steps must be at least 1, got 0 .0 only for a run with pre"),
    ("train.num_steps", 5, "num_steps=5 must be a multiple of config.train.log_every=2"),
    ("gan.d_steps", 0, "d_steps must be at least 1"),
    ("gan.ema_decay", 1.0, r"ema_decay must be in \[0, 1\)"),
    ("gan.loss", "magic", "config.gan.loss: Unknown GAN loss 'magic'; valid names are"),
    ("gan.gp_weight", -1.0, "gp_weight must be >= 0"),
    ("optimizer.d.learning_rate", 0.0, "learning_rate must be > 0"),
    ("train.precision", "float8", "valid: float32, mixed_bfloat16, mixed_float16"),
    ("train.distribute", "horovod", "valid: none, mirrored, multi_worker_mirrored, tpu"),
    ("train.distribute", "parameter_server",
     "not offered: its workers update the shared weights asynchronously"),
    ("model.resolution", 30, "resolution=30 cannot be built"),
])
def test_bad_values_are_refused_with_what_to_do(path, value, message):
    config = config_lib.load("dcgan", "tiny")
    section, key = path.rsplit(".", 1)
    target = config
    for part in section.split("."):
        target = target[part]
    target[key] = value
    with pytest.raises(ZooError, match=message):
        training.validate(config)


def test_float16_on_a_tpu_is_refused_with_what_to_use():
    config = config_lib.load("dcgan", "tiny")
    config.train.distribute, config.train.precision = "tpu", "mixed_float16"
    with pytest.raises(ZooError, match=r"mixed_float16 is for GPUs.*precision=mixed_bfloat16"):
        training.validate(config)


def test_label_smoothing_with_a_loss_that_cannot_take_it():
    config = config_lib.load("dcgan", "tiny")
    config.gan.loss, config.gan.label_smoothing = "hinge", 0.1
    with pytest.raises(ZooError, match="label_smoothing does not apply to the 'hinge' loss"):
        training.validate(config)


@pytest.mark.parametrize("batch_size, d_steps, ok", [(4, 2, True), (2, 3, True), (3, 1, False),
                                                     (3, 2, False), (1, 1, False)])
def test_each_replica_gets_an_equal_share_of_every_discriminator_batch(batch_size, d_steps, ok):
    # A step's batch holds batch_size * d_steps examples; each replica splits its share into
    # d_steps slices. 3 x 2 over 2 replicas fails in tf.split, 3 x 1 weights the replica with
    # one example double, 1 x 1 leaves a replica with none (both seen).
    config = config_lib.load("dcgan", "tiny")
    config.train.batch_size, config.gan.d_steps = batch_size, d_steps
    config_lib.validate_replicas(config, 1)
    if ok:
        config_lib.validate_replicas(config, 2)
        return
    with pytest.raises(ZooError, match=rf"config.train.batch_size={batch_size} does not split "
                                       r"evenly over the 2 replicas"):
        config_lib.validate_replicas(config, 2)


def test_a_batch_that_does_not_split_over_replicas_is_refused_before_training(
        tmp_path, digits_data_dir, two_cpu_strategy, monkeypatch):
    monkeypatch.setattr(cluster, "make", lambda name: cluster.Cluster(two_cpu_strategy))
    config = config_lib.load("dcgan", "tiny")
    config.data.data_dir = digits_data_dir
    config.train.distribute, config.train.batch_size, config.gan.d_steps = "mirrored", 3, 2
    with pytest.raises(ZooError, match=r"^config.train.batch_size=3 does not split evenly over "
                                       r"the 2 replicas of config.train.distribute='mirrored'.*"
                                       r"config.gan.d_steps=2.*--config.train.batch_size=4"):
        training.train(config, str(tmp_path / "run"), log=lambda _: None)
    assert not (tmp_path / "run").exists()


def test_loading_every_config_imports_no_tensorflow():
    """A flag error must come back in well under a second, before TensorFlow's start-up."""
    import subprocess
    import sys

    code = ("import sys\nfrom tfgan_zoo import config\n"
            "for model in config.available_models():\n"
            "    module = __import__(f'tfgan_zoo.configs.{model}', fromlist=['PRESETS'])\n"
            "    for preset in (None, *getattr(module, 'PRESETS', ())):\n"
            "        config.validate(config.load(model, preset))\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'tf_keras')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("model,described", [
    ("dcgan", "dcgan"), ("cgan", "dcgan (projection-conditioned)"),
    ("acgan", "dcgan (acgan-conditioned, with the projection term beside ACGAN's class head)"),
    ("wavegan_cond",
     "wavegan (acgan-conditioned, with the projection term beside ACGAN's class head)")])
def test_the_train_log_names_the_recipes_conditioning(model, described):
    assert config_lib.describe_model(config_lib.load(model)) == described
