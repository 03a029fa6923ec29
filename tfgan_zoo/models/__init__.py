"""Model families. Each is one module here that declares:

  KIND: the kind of sample it generates, a module of tfgan_zoo.kinds ("image", "audio",
    "text"): how its samples are logged, scored and exported.
  validate(model_config): raises ZooError for values the family cannot build
  latent_prior(model_config, spec) -> tfgan_zoo.latents.Prior: the size and distribution of z
    (text: the Gumbel noise of T x V values a sequence, so it needs the data's spec)
  sample_shape(model_config, spec) -> one sample's shape, e.g. (28, 28, 1)
  build_generator(model_config, spec) -> Functional keras.Model, latents [B, dim] -> samples
  build_discriminator(model_config, spec) -> Functional keras.Model, samples -> logits [B, 1]

and, where the family needs them (the engine runs without):

  discriminator_input(model_config, spec) -> fn(real) -> what D takes for real samples (text:
    token ids -> one-hot; fake text is already soft one-hot)
  pretrain_loss(model_config, spec) -> fn(generator, real, labels) -> scalar loss of a
    pre-training phase of the generator alone (text: maximum likelihood), run for
    config.train.pretrain_steps updates before the adversarial phase
  schedules(model_config, num_steps) -> {name: fn(step) -> float}: values the engine keeps in
    checkpointed variables and updates at every adversarial step (a Gumbel-softmax
    temperature); `num_steps` is the adversarial phase's length. A generator layer that reads
    one defines `bind_schedule(scheduled)`, and the GAN hands it its {name: variable}

A class-conditional model (`model_config.conditioning` other than "none") takes labels too:
G maps [z, label int32 [B]] -> samples; D maps [samples, label] -> logits ("concat",
"projection"), or samples -> [logits [B, 1], class logits [B, num_classes]] ("acgan").

`spec` is the `tfgan_zoo.data.DatasetSpec` of the training data (channels, classes). Networks
stay Functional so that TF-MOT can prune and strip them.
"""
import importlib
import pkgutil

from tfgan_zoo import kinds
from tfgan_zoo.errors import ZooError

REQUIRED = ("KIND", "validate", "latent_prior", "sample_shape", "build_generator",
            "build_discriminator")


def available_families():
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def get_family(name):
    """The family module `tfgan_zoo.models.<name>`, checked against the interface above."""
    families = available_families()
    if name not in families:
        raise ZooError(f"unknown model family {name!r} in config.model_name; "
                       f"available: {', '.join(families)}")
    return check_family(importlib.import_module(f"{__name__}.{name}"))


def check_family(module):
    """`module` if it provides the interface and a known kind, else a ZooError saying what."""
    missing = [attr for attr in REQUIRED if not hasattr(module, attr)]
    if missing:
        raise ZooError(f"model family {module.__name__} lacks {', '.join(missing)}; see "
                       "tfgan_zoo/models/__init__.py for what a family declares")
    if module.KIND not in kinds.available():
        raise ZooError(f"model family {module.__name__} declares KIND={module.KIND!r}, which "
                       f"is not a kind of sample; valid: {', '.join(kinds.available())}")
    return module


def kind_of(family):
    """The `tfgan_zoo.kinds.Kind` of a family module."""
    return kinds.get(family.KIND)


def kind_of_config(config):
    """The kind of sample of the family a run's config names (`config.model_name`)."""
    return kind_of(get_family(config.model_name))
