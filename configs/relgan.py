"""RelGAN (Nie, Narodytska and Patel, ICLR 2019) on the synthetic-oracle benchmark or real text.

Train it:
  python -m tfgan_zoo.train --model=relgan                  # the oracle benchmark, the paper's
  python -m tfgan_zoo.train --model=relgan --preset=demo    # the oracle on a CPU budget
  python -m tfgan_zoo.train --model=relgan --preset=text    # Moby-Dick's sentences, offline
  python -m tfgan_zoo.train --model=relgan --preset=text --dataset=textfile:/path/lines.txt
  python -m tfgan_zoo.train --model=relgan --preset=tiny    # seconds: smoke test, CI

One command runs both phases: `train.pretrain_steps` updates of maximum-likelihood pre-training
(teacher forcing, Adam 1e-2, one batch of `batch_size` an update), then `train.num_steps`
adversarial steps (5 discriminator updates + 1 generator update each, relativistic standard
loss, Adam 1e-4 with betas 0.9/0.999, gradients clipped to global norm 5), beta rising from 1
to `model.beta_max` over exactly the adversarial phase. Either phase resumes from a checkpoint.

The default is the paper's oracle setup: `text_oracle` (an LSTM with N(0, 1) parameters,
vocabulary 5,000, 10,000 training sequences of length 20), 150 epochs of MLE (23,400 updates
at batch 64) and 3,000 adversarial steps, scored by NLL_oracle. The generator is an LSTM of the
oracle's size (32 units), as Texygen's MLE baseline. RelGAN's own generator, the relational
memory core (1 slot, 2 heads of 256, so 512 wide), is `--config.model.generator=rmc` (sizes in
`model.mem_slots`, `model.num_heads`, `model.head_size`). At V=5,000 and T=20 it has 5.1M
parameters against the LSTM's 0.33M; on 2 CPU cores (shared with other jobs, December 2026) it
took 5-6x the LSTM's time to sample 64 sequences and 14x for an MLE update at batch 64 (1.0-1.2 s
against 0.07-0.09 s), so the 23,400 MLE updates take hours instead of minutes.
"""
from ml_collections import config_dict

from tfgan_zoo import config as config_lib

PRESETS = ("tiny", "demo", "text")


# The family's model settings live here, not in tfgan_zoo/models/, so that loading and
# checking a config never imports TensorFlow (flag errors in well under a second).
def model_config():
    """RelGAN's settings where a CPU allows them (`config.model`)."""
    return config_dict.ConfigDict(
        dict(
            generator="lstm",  # G's recurrent core: "lstm" or "rmc" (RelGAN's relational memory)
            embedding_dim=32,  # G's token embedding (RelGAN: 32)
            hidden_dim=32,  # G's LSTM units (the oracle's own size, as Texygen's MLE baseline)
            mem_slots=1,  # "rmc": memory slots (RelGAN: 1) ...
            num_heads=2,  # ... attention heads (RelGAN: 2) ...
            head_size=256,  # ... of this size each; the memory is num_heads x head_size wide
            d_embedding_dim=64,  # D's embedding (RelGAN: 64) ...
            d_representations=64,  # ... split into this many representations (RelGAN: 64)
            d_filter_sizes=(2, 3, 4, 5),  # D's convolution widths in tokens (RelGAN's)
            d_filters=300,  # filters per width (RelGAN: 300)
            d_dropout=0.25,
            beta_max=1.0,  # the inverse temperature reached at the end (RelGAN: 1-2 on the
            # oracle, 100-1000 on real text)
            temperature_schedule="exp",  # one of TEMPERATURE_SCHEDULES
        )
    )


def get_config(preset=None):
    """Returns the RelGAN config; `preset` picks a CPU-sized, real-text or test variant."""
    config = config_dict.ConfigDict()
    config.model_name = "relgan"  # the family module: tfgan_zoo/models/relgan.py
    config.model = model_config()
    config.model.beta_max = 2.0  # RelGAN's synthetic-data range is 1-2

    config.data = config_dict.ConfigDict(
        dict(
            dataset="text_oracle",  # text_oracle, moby_dick, textfile:/path or a TFDS text set
            data_dir=config_dict.placeholder(str),  # None: TFDS's default (~/tensorflow_datasets)
            download=True,  # may a TFDS dataset that is not prepared yet be downloaded
            max_length=20,  # tokens a sequence (the oracle: 20 or 40)
            tokenizer="word",  # word | char (real text)
            max_vocabulary=5_000,  # real text: the most frequent tokens kept, the rest <unk>
            long_lines="drop",  # real text: drop | truncate lines longer than max_length
            lowercase=True,
            cache=True,
            shuffle_buffer=10_000,
        )
    )

    config.gan = config_dict.ConfigDict(
        dict(
            loss="relativistic",  # RelGAN's relativistic standard loss
            d_steps=5,
            label_smoothing=0.0,
            gp_weight=0.0,
            r1_gamma=0.0,
            weight_clip=0.0,
            ema_decay=0.0,
            aux_weight=1.0,  # unused: unconditional
        )
    )

    def adam(learning_rate):
        return config_dict.ConfigDict(
            dict(name="adam", learning_rate=learning_rate, beta_1=0.9, beta_2=0.999,
                 clip_norm=5.0, clip_value=0.0)
        )

    config.optimizer = config_dict.ConfigDict(
        dict(g=adam(1e-4), d=adam(1e-4), pretrain=adam(1e-2)))

    config.train = config_dict.ConfigDict(
        dict(
            batch_size=64,  # real sequences per discriminator update and per MLE update
            pretrain_steps=23_400,  # MLE updates: 150 epochs of the oracle's 10,000 at 64
            num_steps=3_000,  # adversarial steps (the paper's on the oracle)
            log_every=100,
            sample_every=500,  # text samples from fixed noise: samples/*.txt, summary.text
            checkpoint_every=500,
            keep_checkpoints=3,
            num_samples=10,  # sequences in each sample write
            seed=0,
            precision="float32",
            distribute="none",
            on_nonfinite="stop",  # NaN/Inf gradients: stop (last finite checkpoint kept) or skip
        )
    )

    config.eval = config_dict.ConfigDict(
        dict(
            every=500,  # steps between evaluations (0: off); keeps checkpoints/best/
            num_samples=0,  # 0: 10,000 sequences on the oracle, 500 sentences on real text
            split="test",
            extractor="none",  # text is scored by NLL_oracle or BLEU, not by features
        )
    )

    config.prune = config_lib.prune_defaults()
    # The vocabulary projection is most of G's weights; the LSTM's gates are pruned with it.
    config.prune.keep_dense = ()

    if preset == "tiny":
        config.data.dataset = "text_oracle/tiny"
        config.model.embedding_dim = 8
        config.model.hidden_dim = 8
        config.model.d_embedding_dim = 8
        config.model.d_representations = 4
        config.model.d_filter_sizes = (2, 3)
        config.model.d_filters = 8
        config.gan.d_steps = 1  # each critic update unrolls G again: 5 would triple tracing
        config.train.batch_size = 8
        config.train.pretrain_steps = 4
        config.train.num_steps = 4
        config.train.log_every = 2
        config.train.sample_every = 2
        config.train.checkpoint_every = 2
        config.train.num_samples = 4
        config.eval.every = 0
    elif preset in ("demo", "text"):
        _cpu_sized(config)
        if preset == "text":
            config.data.dataset = "moby_dick"
            config.data.max_length = 26  # the corpus keeps sentences of 4 to 25 words
            config.model.beta_max = 100.0  # RelGAN's real-text range is 100-1000
    elif preset:
        raise ValueError(f"unknown preset {preset!r}; valid: {', '.join(PRESETS)}")
    return config


def _cpu_sized(config):
    """What 2 CPU cores train in about 15 minutes. RelGAN's discriminator (300 filters of each
    width over 64 one-value representations, then a 1,200-wide highway for each) costs 0.7 s a
    forward and backward pass of 64 sequences here, 20 times the generator's; 64 filters over
    16 representations of 4 values cost 0.05 s. The phases are shorter than the paper's."""
    config.model.d_filters = 64
    config.model.d_representations = 16
    config.train.pretrain_steps = 3_000
    config.train.num_steps = 300
    config.train.log_every = 50
    config.eval.every = 100
    config.train.sample_every = 100
    config.train.checkpoint_every = 100
