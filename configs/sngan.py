"""SNGAN (Miyato et al. 2018) on the embedded handwritten digits.

  python -m tfgan_zoo.train --model=sngan                 # about 4 minutes on 2 CPU cores
  python -m tfgan_zoo.train --model=sngan --preset=tiny   # seconds

Spectral normalisation on every discriminator layer (no batch norm there); the generator keeps
batch norm. Adam(2e-4, 0.5, 0.999) with one D step per G step, the paper's setting for its
standard CNN. The non-saturating loss, which Miyato et al. also trained SN-GANs with, rather
than their hinge loss: on seed 0 the hinge loss reached FID 43.5 (38.5-43.5 over three seeds),
the non-saturating one 32.2 (`--config.gan.loss=hinge` brings the hinge loss back; two D steps
per G step with the hinge gave 39.1 at 1.5x the time). Self-conditioned on k-means clusters of
the training images as the default DCGAN run is (configs/dcgan.py), D a projection discriminator
over them, as in Miyato and Koyama's cGAN; `--config.model.clusters=0
--config.gan.mode_seeking=0` is the unconditional SNGAN.
"""
from tfgan_zoo.configs import dcgan

PRESETS = dcgan.PRESETS


def get_config(preset=None):
    config = dcgan.get_config(preset)
    config.model.d_norm = "spectral"
    return config
