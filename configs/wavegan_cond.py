"""Class-conditional WaveGAN: ask for "seven" and hear "seven".

  python -m tfgan_zoo.train --model=wavegan_cond --preset=demo   # the CPU demo
  python -m tfgan_zoo.train --model=wavegan_cond --preset=tiny   # seconds

The generator takes [z, label], the label embedded and concatenated with z; the discriminator
is a projection discriminator (Miyato and Koyama 2018): logit = Dense(h) + <Embedding(label), h>
on its last features. Everything else is configs/wavegan.py. Samples and evaluations draw the
digits in turn, and the evaluation reports the share of clips the digit classifier hears as
the digit asked for (`class_accuracy`). Needs labeled data.
"""
from tfgan_zoo.configs import wavegan

PRESETS = wavegan.PRESETS


def get_config(preset=None):
    config = wavegan.get_config(preset)
    config.model.conditioning = "projection"
    return config
