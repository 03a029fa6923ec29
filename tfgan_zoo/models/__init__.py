"""Model families. Each is one module here that declares:

  OUTPUT_KIND: "image", "audio" or "text" (what samples, logs and exports should treat it as)
  validate(model_config): raises ZooError for values the family cannot build
  build_generator(model_config, spec) -> Functional keras.Model, latents [B, latent_dim] -> samples
  build_discriminator(model_config, spec) -> Functional keras.Model, samples -> logits [B, 1]

A class-conditional model (`model_config.conditioning` other than "none") takes labels too:
G maps [z, label int32 [B]] -> samples; D maps [samples, label] -> logits ("concat",
"projection"), or samples -> [logits [B, 1], class logits [B, num_classes]] ("acgan").

`spec` is the `tfgan_zoo.data.DatasetSpec` of the training data (channels, classes). Networks
stay Functional so that TF-MOT can prune and strip them.
"""
import importlib
import pkgutil

from tfgan_zoo.errors import ZooError


def available_families():
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def get_family(name):
    """Returns the family module `tfgan_zoo.models.<name>`."""
    families = available_families()
    if name not in families:
        raise ZooError(f"unknown model family {name!r} in config.model_name; "
                       f"available: {', '.join(families)}")
    return importlib.import_module(f"{__name__}.{name}")
