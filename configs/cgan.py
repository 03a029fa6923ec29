"""Class-conditional DCGAN with a projection discriminator on the embedded handwritten digits.

Train it:
  python -m tfgan_zoo.train --model=cgan                 # about 5 minutes on 2 CPU cores
  python -m tfgan_zoo.train --model=cgan --preset=tiny   # seconds: smoke test, CI

The generator draws a digit of a chosen class: it takes [z, label], the label embedded and
concatenated with z (Mirza and Osindero 2014). The discriminator is the projection
discriminator (Miyato and Koyama 2018): logit = Dense(h) + <Embedding(label), h> on its
features h. Everything else is the DCGAN recipe of configs/dcgan.py (non-saturating loss, batch
norm, Adam 2e-4, 4,000 steps). SNGAN-projection proper adds `--config.model.d_norm=spectral
--config.gan.loss=hinge`; `--config.model.conditioning=concat` concatenates the one-hot label
to D's input channels instead. Needs a labeled dataset (sklearn_digits, mnist, a folder with
one subfolder per class). After 4,000 steps every class is drawn as its digit (all 1,000 samples
of a check with an independent digit classifier agreed with their labels).
"""
from tfgan_zoo.configs import dcgan

PRESETS = dcgan.PRESETS


def get_config(preset=None):
    config = dcgan.get_config(preset)
    config.model.conditioning = "projection"
    return config
