"""WGAN-GP (Gulrajani et al. 2017) on the embedded handwritten digits.

  python -m tfgan_zoo.train --model=wgan_gp                 # about 8 minutes on 2 CPU cores
  python -m tfgan_zoo.train --model=wgan_gp --preset=tiny   # seconds

The paper's recipe: Wasserstein loss, gradient penalty 10 with uniform interpolation, five
critic updates per generator update, Adam(1e-4, 0.5, 0.9), and no batch norm in the critic
(layer norm instead, so the per-example penalty stays valid). The DCGAN networks otherwise,
self-conditioned on k-means clusters of the training images as the default DCGAN run is
(configs/dcgan.py), the critic a projection critic over them. Seed 0: FID 33.1 at 1,500 steps
(37.1 at 1,000); `--config.model.clusters=0 --config.gan.mode_seeking=0` is the unconditional
WGAN-GP.
"""
from tfgan_zoo.configs import dcgan

PRESETS = dcgan.PRESETS


def get_config(preset=None):
    config = dcgan.get_config(preset)
    config.model.d_norm = "layer"
    config.gan.loss = "wasserstein"
    config.gan.gp_weight = 10.0
    config.gan.d_steps = 5
    for opt in (config.optimizer.g, config.optimizer.d):
        opt.learning_rate, opt.beta_1, opt.beta_2 = 1e-4, 0.5, 0.9
    if not preset:
        # Each step is five critic updates with a double backward pass: fewer, costlier steps.
        config.train.num_steps = 1_500
        config.train.sample_every = config.train.checkpoint_every = config.eval.every = 500
    return config
