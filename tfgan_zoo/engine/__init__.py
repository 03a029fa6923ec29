"""The training engine, the same for every kind of sample: the GAN and its train step (`gan`),
the run's step counters (`progress`), training from a config (`training`), its callbacks, the
run directory (`workdir`), checkpoints, and reopening a finished run (`runs`)."""
