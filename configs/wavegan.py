"""WaveGAN (Donahue, McAuley and Puckette, ICLR 2019) on the embedded spoken digits.

Train it:
  python -m tfgan_zoo.train --model=wavegan --preset=demo   # the CPU demo (see below)
  python -m tfgan_zoo.train --model=wavegan                 # the paper's recipe: a GPU job
  python -m tfgan_zoo.train --model=wavegan --preset=tiny   # seconds: smoke test, CI

The default is the paper's: d=64, kernel 25, stride 4, 16,384 samples at 16 kHz, phase shuffle
2, no batch norm, WGAN-GP (lambda 10, 5 critic updates, Adam 1e-4, 0.5/0.9), batch 64, z
uniform in [-1, 1]. The paper trained about 200,000 steps (days on one GPU); one step of it costs
about 9 TFLOP here, minutes on 2 CPU cores (scripts/wavegan_benchmark.py measures it).

The data is `spoken_digits_espeak`: "zero".."nine" spoken by eSpeak NG in 40 voices, pitches
and speeds, made on this machine without network (3,600 clips, about 40 s the first time),
test voices unseen in training. `--dataset=folder:/path/to/wavs` trains on your own WAV files
(subfolders as classes: SC09 is a folder per digit), `--dataset=spoken_digit` on TFDS's FSDD.

`demo` is what a CPU can train in 30 minutes: d=16, 8,192 samples at 8 kHz (1 s), batch 32, and
one hinge-loss critic update per generator update (Adam 2e-4) instead of five WGAN-GP ones, and
self-conditioned on 20 k-means clusters of the clips' log-mel spectrograms (no labels; Liu et
al. 2020, as the default image runs); see the README's audio section for what it reaches and how
long it takes. The paper's recipe and `tiny` are not self-conditioned.
"""
from ml_collections import config_dict

from tfgan_zoo import config as config_lib

PRESETS = ("tiny", "demo")
# The demo's self-conditioning (tfgan_zoo/self_conditioning.py). Over seeds 0-2 it took the
# unconditional demo from inception score 2.13 (2.06-2.21) to 3.77 (2.67-4.93), FID from 5,309
# (5,226-5,405) to 4,400 (3,749-4,806) and the digits heard at all from 4-5 of ten to 5-8, every
# seed better than every seed without it (docs/audio/trials/selfcond20.json). 20 clusters: the
# log-mel k-means' purity against the digits is 0.55 at 10, 0.77 at 20, 0.79 at 40
# (docs/audio/trials/cluster_purity.json).
DEMO_CLUSTERS = 20


# The family's model settings live here, not in tfgan_zoo/models/, so that loading and
# checking a config never imports TensorFlow (flag errors in well under a second).
def model_config():
    """The paper's model settings (`config.model`): 16384 samples (about 1 s at 16 kHz), d=64."""
    return config_dict.ConfigDict(
        dict(
            slice_length=16384,  # 4096, 8192, 16384, 32768 or 65536 samples
            model_dim=64,  # d: D's first layer has d channels, G's last hidden layer too
            kernel_size=25,
            latent_dim=100,
            latent_distribution="uniform",  # the paper: z uniform in [-1, 1]; or "normal"
            upsample="zeros",  # zeros (transposed conv) | nn (nearest neighbour + conv)
            post_proc_filter_len=0,  # learned filter after G's tanh; 0 off, the paper's option 512
            phase_shuffle=2,  # D's random shift in [-n, n] samples; 0 off
            conditioning="none",  # none | projection | acgan (labeled data only)
            # Self-conditioning on K k-means clusters of the clips' log-mel spectrograms (no
            # labels; tfgan_zoo/self_conditioning.py); 0 off. Not with `conditioning`.
            clusters=0,
            label_projection=False,  # acgan only: D also projects the label (see dcgan's)
            twin_classifier=False,  # acgan only: TAC-GAN's twin class head (see dcgan's)
        )
    )


def get_config(preset=None):
    """Returns the WaveGAN config; `preset` picks the CPU demo or the test-sized variant."""
    config = config_dict.ConfigDict()
    config.model_name = "wavegan"  # the family module: tfgan_zoo/models/wavegan.py
    config.model = model_config()

    config.data = config_dict.ConfigDict(
        dict(
            dataset="spoken_digits_espeak",  # a TFDS audio dataset or folder:/path/to/wavs
            data_dir=config_dict.placeholder(str),  # None: TFDS's default (~/tensorflow_datasets)
            download=True,  # may a TFDS dataset that is not prepared yet be downloaded
            sample_rate=16_000,  # every clip is resampled to this rate
            random_crop=False,  # clips longer than the slice: a random window, not the start
            cache=True,
            shuffle_buffer=10_000,
        )
    )

    config.gan = config_dict.ConfigDict(
        dict(
            loss="wasserstein",
            d_steps=5,
            label_smoothing=0.0,
            gp_weight=10.0,
            r1_gamma=0.0,
            weight_clip=0.0,
            ema_decay=0.0,  # the paper keeps no EMA of G
            # conditioning=acgan only: the weight of D's class loss, whether D's class head
            # also learns generated clips (False: real ones alone, as the image acgan), and
            # G's weight of it (None: aux_weight)
            aux_weight=1.0,
            aux_fake=False,
            g_aux_weight=config_dict.placeholder(float),
            # MSGAN's mode-seeking term in G's loss (0: off) and its pairs (see dcgan's): G is
            # penalised when two latents give nearly the same clip
            mode_seeking=0.0,
            mode_seeking_pairs="second_batch",
        )
    )

    def adam(learning_rate):
        return config_dict.ConfigDict(
            dict(name="adam", learning_rate=learning_rate, beta_1=0.5, beta_2=0.9,
                 clip_norm=0.0, clip_value=0.0)
        )

    config.optimizer = config_dict.ConfigDict(dict(g=adam(1e-4), d=adam(1e-4)))

    config.train = config_dict.ConfigDict(
        dict(
            batch_size=64,  # real clips per critic update
            num_steps=200_000,  # generator updates (the paper's order of magnitude)
            log_every=100,
            sample_every=1_000,  # WAV files, spectrograms and summary.audio from fixed latents
            checkpoint_every=1_000,
            keep_checkpoints=3,
            num_samples=10,  # clips in each sample write (one per digit if conditional)
            seed=0,
            precision="float32",
            distribute="none",
            on_nonfinite="stop",  # NaN/Inf gradients: stop (last finite checkpoint kept) or skip
        )
    )

    config.eval = config_dict.ConfigDict(
        dict(
            every=5_000,  # steps between evaluations (0: off); keeps checkpoints/best/ by FID
            num_samples=0,  # generated clips per evaluation; 0: as many as the train split
            split="test",
            extractor="classifier",  # a spoken-digit classifier trained on the real clips
            inception_weights=config_dict.placeholder(str),  # images only
        )
    )

    config.prune = config_lib.prune_defaults()
    config.prune.keep_dense = ("generator/to_audio",)  # the output layer: 25 x d weights

    if preset == "tiny":
        config.model.model_dim = 4
        config.model.slice_length = 4096
        # 4,096 samples at 4 kHz hold a whole clip; at 16 kHz they would be its first quarter
        # second, the silence before the word (the clips are centred).
        config.data.sample_rate = 4_000
        config.model.latent_dim = 8
        config.data.dataset = "spoken_digits_espeak/small"
        config.train.batch_size = 4
        config.train.num_steps = 4
        config.train.log_every = 2
        config.train.sample_every = 2
        config.train.checkpoint_every = 2
        config.train.num_samples = 4
        config.eval.every = 0
    elif preset == "demo":
        config.model.model_dim = 16
        config.model.slice_length = 8192
        config.data.sample_rate = 8_000
        config.train.batch_size = 32
        config.model.clusters = DEMO_CLUSTERS  # see above
        # The paper's five WGAN-GP critic updates cost 1.4 s a step here and reached only
        # 1,200 steps in 30 minutes (IS 1.85 of the real 9.84, by the single classifier of the
        # time). One hinge-loss critic update without the penalty costs 0.28 s, so 6,000 steps
        # fit (README, audio section).
        config.gan.loss = "hinge"
        config.gan.d_steps = 1
        config.gan.gp_weight = 0.0
        config.optimizer.g.learning_rate = 2e-4
        config.optimizer.d.learning_rate = 2e-4
        # No EMA of G, as the paper: an average over 0.999 lagged a generator still improving
        # fast at step 6,000 (seed 0: IS 6.38 and 67% heard as asked, against 6.60 and 78%, by the
        # single classifier of the time, which the five-member one replaced).
        config.train.num_steps = 6_000
        config.train.log_every = 100
        config.train.sample_every = 500
        config.train.checkpoint_every = 500
        config.eval.every = 1_500
    elif preset:
        raise ValueError(f"unknown preset {preset!r}; valid: {', '.join(PRESETS)}")
    return config
