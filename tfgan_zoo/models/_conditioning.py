"""What every model family shares about class conditioning (not a family: the leading
underscore keeps it out of `available_families`)."""
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
