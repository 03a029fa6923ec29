"""Magnitude pruning of any zoo network with TF-MOT, on a schedule of generator updates.

    cfg = pruning.default_config()                 # goes into a model config as config.prune
    pruning.validate(cfg)                          # ZooError with what to do
    g = pruning.wrap(generator, cfg, gan.progress.step)   # before building the GAN
    gan.fit(..., callbacks=[pruning.UpdatePruningStep(), ...])
    exported = pruning.strip(gan.generator)       # plain Keras model, zeros in its kernels
    pruning.report(exported), pruning.gzipped_size(exported)

Why a schedule of our own: a TF-MOT wrapper counts its own calls with `training=True`, and in
this engine the generator is called so in each of the `d_steps` critic steps and again in its
own step (the discriminator more often still), so TF-MOT's step runs ahead of the number of
updates by a factor that depends on the recipe. `GeneratorUpdateSchedule` ignores the step the
wrapper hands it and reads a shared counter instead, the run's adversarial step (`Progress.step`),
so every wrapped layer of every network follows the same clock whatever calls it makes.

Which layers are pruned: those with a `kernel` that TF-MOT 0.8.1 can prune (Dense, Conv1D/2D/3D,
Conv2D/3DTranspose, LSTM/GRU/SimpleRNN, MultiHeadAttention), Conv1DTranspose (turned into
`PrunableConv1DTranspose`), Dense and convolutions inside the zoo's `SpectralNormalization`
(turned into `PrunableSpectralNormalization`), and any layer that implements
`get_prunable_weights()`. A layer called at several places of its network (an unrolled
recurrence) gets `PruneSharedLowMagnitude`, which builds its mask update once per traced pass.
Embeddings, normalisation layers and layers TF-MOT cannot prune are kept as they are;
`skipped_layers` says which held weights, and why they were left dense.
"""
import importlib

# Where each public name lives. They load on first use (PEP 562), not with the package: TF-MOT
# 0.8.1 imports Keras 3 as a side effect (prune_registry looks for `keras.src.engine`), which
# adds about 4 s to every start of a run on a 2-core machine, and most runs do not prune.
_HOMES = {
    "layers": (
        "PrunableConv1DTranspose", "PrunableSpectralNormalization", "PruneSharedLowMagnitude",
        "apply_masks", "kept_dense", "prunable_layers", "skipped_layers", "strip", "wrap",
        "wrap_networks"),
    "reporting": ("SparsityLogger", "UpdatePruningStep", "gzipped_size", "report",
                  "write_run_report"),
    "schedule": ("NETWORKS", "SCHEDULES", "GeneratorUpdateSchedule", "default_config",
                 "validate"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}
_SUBMODULES = ("finetune", "layers", "reporting", "schedule")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name not in _HOME_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME_OF[name]}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


__all__ = [
    "NETWORKS", "SCHEDULES", "GeneratorUpdateSchedule", "PrunableConv1DTranspose",
    "PrunableSpectralNormalization", "PruneSharedLowMagnitude", "SparsityLogger",
    "UpdatePruningStep", "apply_masks",
    "default_config", "gzipped_size", "kept_dense", "prunable_layers", "report",
    "skipped_layers", "strip", "validate", "wrap", "wrap_networks", "write_run_report",
]
