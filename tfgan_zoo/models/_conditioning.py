"""What every model family shares about class conditioning (not a family: the leading
underscore keeps it out of `available_families`). Config-level only, without TensorFlow: configs
read it (the Keras layers every family's D ends with are in _heads.py)."""
from tfgan_zoo.errors import ZooError


def conditioning(cfg):
    """config.model.conditioning; configs written before it existed are unconditional."""
    return cfg.get("conditioning", "none")


def num_classes(cfg, spec, labeled_examples):
    """spec.num_classes for a conditional config, else 0; a ZooError naming `labeled_examples`
    (datasets with classes the family can train on) if the data has no classes."""
    mode = conditioning(cfg)
    if mode == "none":
        return 0
    classes = getattr(spec, "num_classes", 0)
    if classes < 2:
        name = getattr(spec, "name", "this dataset")
        raise ZooError(f"model.conditioning={mode!r} needs a labeled dataset (one with "
                       f"classes); {name} has none: use conditioning='none' or a labeled dataset "
                       f"such as {labeled_examples}")
    return classes


# Options of an "acgan" discriminator, and what each is (for the error on other conditionings).
ACGAN_OPTIONS = {"twin_classifier": "TAC-GAN's second class head",
                 "label_projection": "the projection term beside ACGAN's class head"}


def check_acgan_options(cfg):
    """ZooError if `cfg` turns on an ACGAN-only option under another conditioning."""
    for key, what in ACGAN_OPTIONS.items():
        if cfg.get(key, False) and conditioning(cfg) != "acgan":
            raise ZooError(f"config.model.{key}=True is {what}, for conditioning='acgan' only "
                           f"(this config has {conditioning(cfg)!r})")


def projects_label(cfg):
    """Whether D adds the projection term <embed(label), h>: a projection D, or an "acgan" D
    with label_projection."""
    mode = conditioning(cfg)
    return mode == "projection" or (mode == "acgan" and cfg.get("label_projection", False))


def class_heads(cfg):
    """How many class heads D has: ACGAN's (1), and TAC-GAN's twin beside it (2); else 0."""
    if conditioning(cfg) != "acgan":
        return 0
    return 2 if cfg.get("twin_classifier", False) else 1
