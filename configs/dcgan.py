"""DCGAN (Radford et al. 2016) on the embedded handwritten digits, self-conditioned.

Train it:
  python -m tfgan_zoo.train --model=dcgan                 # about 4.5 minutes on 2 CPU cores
  python -m tfgan_zoo.train --model=dcgan --preset=tiny   # a few seconds: smoke test, CI

The default run is the DCGAN networks and losses self-conditioned on 40 k-means clusters of the
training images (Liu et al. 2020; tfgan_zoo/self_conditioning.py): G reads a cluster off its
first latent and D, a projection discriminator, judges each image with its cluster. No labels
are used. Over seeds 0-2 it took the plain recipe's FID from 75.7-81.2 to 23.4-26.5 and its
precision from 0.52-0.56 to 0.80-0.86, recall 0.72-0.81 (the README's zoo table).
`plain_config` is Radford et al.'s recipe as it was (also `--config.model.clusters=0
--config.gan.mode_seeking=0`), which lsgan, wgan_gp, cgan and acgan build on.

The default run needs no internet: `sklearn_digits` is the 1,797 real 8x8 digits that ship
inside scikit-learn, upscaled to 28x28. Any value can be overridden from the command line,
e.g. `--config.train.batch_size=128` or `--dataset=mnist --config.model.resolution=28`.
"""
from ml_collections import config_dict

from tfgan_zoo import config as config_lib

PRESETS = ("tiny",)
# The default run's self-conditioning (tfgan_zoo/self_conditioning.py). Clusters finer than the
# ten digits (styles of a digit, though k-means is not told the labels) gave the lower FID on
# seed 0 at 4,000 steps: 10 clusters 32.9, 20 clusters 25.7, 40 clusters 23.4
# (scripts/zoo_table.py trials). MSGAN's term within each cluster (see configs/cgan.py), its
# pairs the two halves of G's batch, which costs no second generator pass.
SELF_CONDITIONING_CLUSTERS = 40
SELF_CONDITIONING_MODE_SEEKING = 1.0  # without it (10 clusters, seed 0): recall 0.24
SELF_CONDITIONING_PAIRS = "batch_halves"  # second_batch (10 clusters, seed 0): FID 34.9 vs 32.9


def get_config(preset=None):
    """The default DCGAN run: `plain_config` self-conditioned on SELF_CONDITIONING_CLUSTERS
    clusters of the training images; `preset="tiny"` is the cheap variant for tests and laptops,
    and leaves self-conditioning off (its k-means would take as long as its training;
    tests/test_self_conditioning.py trains a self-conditioned tiny run)."""
    config = plain_config(preset)
    if preset != "tiny":
        config.model.clusters = SELF_CONDITIONING_CLUSTERS
        config.gan.mode_seeking = SELF_CONDITIONING_MODE_SEEKING
        config.gan.mode_seeking_pairs = SELF_CONDITIONING_PAIRS
    return config


def plain_config(preset=None):
    """Radford et al.'s DCGAN recipe at the zoo's scale, without self-conditioning: what every
    other image recipe (lsgan, sngan, wgan_gp, cgan, acgan) changes one part of."""
    config = config_dict.ConfigDict()
    config.model_name = "dcgan"  # the family module: tfgan_zoo/models/dcgan.py

    config.model = config_dict.ConfigDict(
        dict(
            resolution=28,  # 7 * 2^k or 4 * 2^k: 28, 32, 64, 128
            latent_dim=100,
            latent_distribution="normal",  # or "uniform" in [-1, 1]
            base_channels=32,  # D's first layer; G mirrors it (the paper: 64 at 64x64)
            kernel_size=5,
            g_norm="batch",  # batch | layer | none
            d_norm="batch",  # the classic recipe: BN in D except its first layer
            d_dropout=0.0,
            # none | concat | projection | acgan: class-conditional G and D (labeled data only)
            conditioning="none",
            # Self-conditioning (tfgan_zoo/self_conditioning.py): K k-means clusters of the
            # training images condition G and D, as labels would; 0 turns it off. For
            # unconditional recipes; needs no labels.
            clusters=0,
            # ACGAN only: a twin class head that learns generated images (TAC-GAN), against
            # ACGAN's narrowing of each class (see configs/acgan.py)
            twin_classifier=False,
            # ACGAN only: D also takes the label and adds the projection D's term to its logit
            label_projection=False,
        )
    )

    config.data = config_dict.ConfigDict(
        dict(
            dataset="sklearn_digits",  # a TFDS name or folder:/path/to/images
            data_dir=config_dict.placeholder(str),  # None: TFDS's default (~/tensorflow_datasets)
            download=True,  # may a TFDS dataset that is not prepared yet be downloaded
            channels=config_dict.placeholder(int),  # None: the dataset's own; 1 or 3 to force
            cache=True,
            shuffle_buffer=10_000,
        )
    )

    config.gan = config_dict.ConfigDict(
        dict(
            loss="non_saturating",  # see tfgan_zoo.losses.LOSSES
            d_steps=1,  # discriminator updates per generator update
            label_smoothing=0.0,  # one-sided: real targets become 1 - s
            gp_weight=0.0,  # WGAN-GP lambda; 0 turns it off
            r1_gamma=0.0,  # R1 gamma; 0 turns it off
            weight_clip=0.0,  # WGAN weight clipping; 0 turns it off
            ema_decay=0.999,  # EMA of G's weights for samples and export; 0 turns it off
            # ACGAN (conditioning=acgan): weight of D's auxiliary class loss; whether D's class
            # head also learns from generated images; G's weight (None: aux_weight)
            aux_weight=1.0,
            aux_fake=True,
            g_aux_weight=config_dict.placeholder(float),
            # MSGAN's mode-seeking term in G's loss (0: off): against conditional collapse.
            # Its pairs: second_batch (G draws a second batch for the same labels, an extra
            # pass) or batch_halves (the halves of G's batch, drawn for the same labels)
            mode_seeking=0.0,
            mode_seeking_pairs="second_batch",
            # D's inputs, real and generated, augmented differentiably (tfgan_zoo/augment.py):
            # "" (off) or a list such as "translation,cutout"
            augment="",
        )
    )

    def adam(learning_rate):
        # clip_norm clips the global norm of the network's gradients, clip_value each element;
        # 0 turns either off.
        return config_dict.ConfigDict(
            dict(name="adam", learning_rate=learning_rate, beta_1=0.5, beta_2=0.999,
                 clip_norm=0.0, clip_value=0.0)
        )

    config.optimizer = config_dict.ConfigDict(dict(g=adam(2e-4), d=adam(2e-4)))

    config.train = config_dict.ConfigDict(
        dict(
            batch_size=64,  # real images per discriminator update
            num_steps=4_000,  # generator updates; about 3.5 minutes on 2 CPU cores
            log_every=50,  # scalars to TensorBoard, and the unit of an internal Keras epoch
            sample_every=500,  # PNG grid + TensorBoard image from fixed latents
            checkpoint_every=500,
            keep_checkpoints=3,
            num_samples=64,  # images in each sample grid
            seed=0,
            # float32 | mixed_bfloat16 (CPUs with AMX, TPUs, recent GPUs) | mixed_float16 (GPUs)
            precision="float32",
            # none | mirrored (local GPUs) | multi_worker_mirrored (TF_CONFIG) | tpu
            distribute="none",
            on_nonfinite="stop",  # NaN/Inf gradients: stop (last finite checkpoint kept) or skip
        )
    )

    config.eval = config_dict.ConfigDict(
        dict(
            every=1_000,  # steps between evaluations (0: off); keeps checkpoints/best/ by FID
            num_samples=0,  # generated samples per evaluation; 0: as many as the train split
            split="test",  # the real images the samples are compared with
            extractor="classifier",  # classifier (trained on the dataset) | inception
            inception_weights=config_dict.placeholder(str),  # InceptionV3 .h5 with the top
        )
    )

    config.prune = config_lib.prune_defaults()  # TF-MOT magnitude pruning, off by default
    # The output layer holds 0.2% of the generator's kernel weights (800 of 365,600), so pruning
    # it saves nothing, yet it costs quality: the zoo DCGAN pruned to 80% from FID 79.1 ended at
    # 91.1 with it pruned and 80.7 with it dense (means over fine-tuning seeds 0, 1, 2).
    config.prune.keep_dense = ("generator/to_image",)

    if preset == "tiny":
        config.model.base_channels = 8
        config.model.latent_dim = 16
        config.train.batch_size = 16
        config.train.num_steps = 4
        config.train.log_every = 2
        config.train.sample_every = 2
        config.train.checkpoint_every = 2
        config.train.num_samples = 16
        config.eval.every = 0
    elif preset:
        raise ValueError(f"unknown preset {preset!r}; valid: {', '.join(PRESETS)}")
    return config
