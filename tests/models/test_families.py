"""The family interface (tfgan_zoo.models): what a family declares, and what is refused."""
import types

import pytest

from tfgan_zoo import kinds, models
from tfgan_zoo.errors import ZooError
from tfgan_zoo.models import dcgan


def family_like(**overrides):
    module = types.ModuleType("tfgan_zoo.models.somegan")
    for name in models.REQUIRED:
        setattr(module, name, getattr(dcgan, name))
    for name, value in overrides.items():
        setattr(module, name, value)
    return module


def test_a_family_that_declares_an_unknown_kind_is_refused_with_the_valid_ones():
    with pytest.raises(ZooError, match=r"declares KIND='smell', which is not a kind of sample; "
                                       r"valid: audio, image"):
        models.check_family(family_like(KIND="smell"))


def test_a_family_missing_part_of_the_interface_is_refused_with_what_it_lacks():
    module = family_like()
    del module.latent_prior, module.sample_shape
    with pytest.raises(ZooError, match="lacks latent_prior, sample_shape; see "
                                       "tfgan_zoo/models/__init__.py"):
        models.check_family(module)


def test_every_family_of_the_zoo_provides_the_interface_and_a_kind():
    for name in models.available_families():
        family = models.get_family(name)
        assert models.kind_of(family) is kinds.get(family.KIND)


def test_an_unknown_kind_name_lists_the_kinds():
    with pytest.raises(ZooError, match="unknown kind of sample 'smell'; valid: audio, image"):
        kinds.get("smell")


def test_the_image_kind_knows_which_way_each_metric_is_better():
    image = kinds.get("image")
    assert image.primary == "fid" and image.better("fid", 10.0, 20.0)
    assert image.better("classifier_score", 9.0, 8.0) and not image.better("recall", 0.1, 0.2)
    assert kinds.for_outputs({"images", "images_float", "z"}) is image
