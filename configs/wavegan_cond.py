"""Class-conditional WaveGAN: ask for "seven" and hear "seven".

  python -m tfgan_zoo.train --model=wavegan_cond --preset=demo   # the CPU demo
  python -m tfgan_zoo.train --model=wavegan_cond --preset=tiny   # seconds

The generator takes [z, label], the label embedded and concatenated with z. The discriminator
has both of the class signals the image `acgan` recipe has: ACGAN's class head (Odena et al.
2017), trained on real clips only (`gan.aux_fake=False`), whose cross-entropy G also
minimises, and the projection term beside it (Miyato and Koyama 2018: logit = Dense(h) +
<Embedding(label), h> on its last features), which compares each digit's clips with the real
clips of that digit. Against the projection D alone this pair narrowed the spread over three
demo seeds (inception score 5.42-5.98 against 4.07-6.60, heard as asked 61-75% against 46-78%,
each table scored by its own single spoken-digit classifier, before the five-member one: see
the README's audio section). The demo's G weighs the class loss 3 (DEMO_G_AUX_WEIGHT, below).
`--config.model.conditioning=projection --config.model.label_projection=False` is the earlier
projection-only recipe.

Everything else is configs/wavegan.py. Samples and evaluations draw the digits in turn, and the
evaluation reports the share of clips the digit classifier hears as the digit asked for
(`class_accuracy`). Needs labeled data.
"""
from tfgan_zoo.configs import wavegan

PRESETS = wavegan.PRESETS


# The demo's G weighs ACGAN's class loss 3 (D's stays 1), meant to pull G harder towards the
# digit asked for. Its three demo seeds on 4 Dec met both goals (IS 5.36 (4.91-6.12), 82% (79-85%)
# heard as asked: the README's table), but the weight-1 recipe's seed 0 on the same machine and
# classifier did as well or better (IS 6.19, 93%), so whether 3 beats 1 is not shown
# (docs/audio/trials/gaux*.json). The paper recipe keeps ACGAN's 1.
DEMO_G_AUX_WEIGHT = 3.0


def get_config(preset=None):
    config = wavegan.get_config(preset)
    config.model.clusters = 0  # the digits' labels, not clusters of the clips
    config.model.conditioning = "acgan"
    config.model.label_projection = True
    if preset == "demo":
        config.gan.g_aux_weight = DEMO_G_AUX_WEIGHT
    return config
