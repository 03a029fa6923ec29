"""LSGAN (Mao et al. 2017) on the embedded handwritten digits.

  python -m tfgan_zoo.train --model=lsgan                 # about 4 minutes on 2 CPU cores
  python -m tfgan_zoo.train --model=lsgan --preset=tiny   # seconds

Least-squares losses with targets a=0 (fake), b=1 (real), c=1 (what G wants D to say); the
DCGAN networks and optimizer otherwise.
"""
from tfgan_zoo.configs import dcgan

PRESETS = dcgan.PRESETS


def get_config(preset=None):
    config = dcgan.plain_config(preset)
    config.gan.loss = "least_squares"
    return config
