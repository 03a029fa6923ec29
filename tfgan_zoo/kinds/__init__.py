"""Kinds of sample: images now, audio and text with their families. One module per kind here
holds everything that differs between kinds, so that the engine, evaluation, pruning and
deployment ask the run's kind instead of assuming images.

A kind module defines `KIND`, an instance of a `Kind` subclass, which provides:

  name, feature          its name, and the key of the real samples in a training batch
  unit, rate_label       what the progress bar and perf/ scalars count ("images", "img_s")
  metrics, primary       {metric: HIGHER or LOWER} of its evaluation, and the one that picks
                         the best checkpoint (`primary_metric(config)`, where the data decide)
  load(config, batch_size, split, ...), describe(config, split), model_spec(spec, config),
  describe_spec(spec)    its data: batches {feature: ..., "label": ...} and a DatasetSpec
  make_extractor(config, name, weights, log)   the features evaluation compares, or
  make_scorer(config, split, num_samples, log)   a kind's own scorer where its measures are
                         not feature statistics (text: NLL_oracle, BLEU)
  extractor_names, label_free_extractor(config), label_free_advice   its extractors, the one
                         that needs no class labels where its files are there, and how to get
                         one (for data without labels)
  sample_file(dir, step), latest_sample(dir), write_samples(dir, step, samples, rows, writer,
                         spec)   samples of a run: files in <workdir>/samples and TensorBoard
  diversity(samples)     how much samples of different latents differ (collapse warning)
  cluster_features(spec) what self-conditioning clusters samples by ([B, ...] -> [B, F]), or
                         None for the samples themselves
  serving_outputs, float_output, signature_outputs(samples, spec), served_float(samples)
                         what a SavedModel returns, and the generator's output as its
                         float_output shows it (NumPy or TF)
  tflite_modes, tflite_output, compare_tflite(got, expected, mode)   the LiteRT variants
                         that make sense and the check each must pass against Keras;
                         tflite_excluded (why the others are refused), tflite_xnnpack
  serves_latents         whether the SavedModel's `sample` returns its z
  default_output, write_generated(path, samples, spec, rows, scale)   what `generate` writes
  encode_files(outputs), save_files(outputs, directory, prefix)  the serving client's files

`spec` is the run's DatasetSpec (tfgan_zoo.data.spec): what a kind needs to know of one run,
such as its audio sample rate. A model family declares its kind (`KIND = "image"`, see
tfgan_zoo.models).
"""
import importlib
import pkgutil

import numpy as np

from tfgan_zoo.errors import ZooError

HIGHER = "higher"  # a metric that is better when larger (classifier score, BLEU)
LOWER = "lower"  # a metric that is better when smaller (FID, NLL)


def better(direction, new, old):
    """Whether `new` beats `old` for a metric whose `direction` is HIGHER or LOWER."""
    return new > old if direction == HIGHER else new < old


class Kind:
    """Base of the kind adapters; see the module docstring for what each provides."""

    name = None
    feature = None
    unit = "samples"
    rate_label = "samples_s"
    metrics = {}
    primary = None
    serving_outputs = ()
    float_output = None
    tflite_modes = ()
    tflite_excluded = {}  # {mode: why the kind refuses it}, the measured reason a user sees
    tflite_xnnpack = True  # False: run LiteRT files on the builtin kernels (exact results)
    serves_latents = True  # whether `sample` returns the z it drew (text's is too large)
    tflite_output = None
    default_output = None
    extractor_names = ("classifier",)  # what make_extractor takes; "classifier" needs labels
    label_free_advice = ""  # how to get an extractor that needs no labels; "": there is none

    def label_free_extractor(self, config):
        """(name, weights) of an extractor for `config` that needs no class labels, where its
        files are on disk or named in the config, or None."""
        return None

    def cluster_features(self, spec):
        """What self-conditioning's k-means clusters samples by; None: the samples, flattened
        (tfgan_zoo.self_conditioning.flattened)."""
        return None

    def served_float(self, samples):
        """The generator's output as the SavedModel's `float_output` holds it."""
        return samples

    def diversity(self, samples):
        """How much samples from different latents differ, 0 (all the same) to about 1
        (independent): the mean over positions of their standard deviation across samples,
        over the standard deviation of all their values."""
        samples = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
        spread = samples.std()
        return float(samples.std(axis=0).mean() / spread) if spread > 0 else 0.0

    def primary_metric(self, config):
        """The metric that picks `config`'s best checkpoint (text: NLL_oracle on the oracle,
        BLEU on real text); `primary` unless the kind's data decide."""
        return self.primary

    def better(self, metric, new, old):
        """Whether `new` beats `old` on `metric`, in the metric's own direction."""
        return better(self.metrics[metric], new, old)

    def __repr__(self):
        return f"<kind {self.name}>"


def available():
    """The kinds there are: one module each in this package."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def get(name):
    """The `Kind` named `name`, or a ZooError listing the kinds there are."""
    names = available()
    if name not in names:
        raise ZooError(f"unknown kind of sample {name!r}; valid: {', '.join(names)}")
    return importlib.import_module(f"{__name__}.{name}").KIND


def for_outputs(output_names):
    """The kind whose SavedModel outputs are all among `output_names` (a served signature's)."""
    for name in available():
        kind = get(name)
        if set(kind.serving_outputs) <= set(output_names):
            return kind
    raise ZooError(f"no kind of sample returns the outputs {', '.join(sorted(output_names))}; "
                   f"is this a tfgan_zoo export? Kinds: {', '.join(available())}")
