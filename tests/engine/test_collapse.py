"""Collapse made visible while training: the fixed-latent samples' diversity and the
evaluation's class histogram, with a warning below their thresholds."""
import numpy as np
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from tfgan_zoo import config as config_lib
from tfgan_zoo import kinds
from tfgan_zoo.engine import callbacks, training
from tfgan_zoo.evaluation import scoring


def test_sample_diversity_is_zero_for_copies_and_near_one_for_independent_samples():
    rng = np.random.default_rng(0)
    one = rng.standard_normal((1, 8, 8, 1))
    image = kinds.get("image")
    assert image.diversity(np.repeat(one, 16, axis=0)) < 1e-12
    assert 0.9 < image.diversity(rng.standard_normal((16, 8, 8, 1))) <= 1.0
    assert image.diversity(np.zeros((4, 3))) == 0.0


def test_text_diversity_counts_distinct_tokens_not_soft_values():
    text = kinds.get("text")
    rng = np.random.default_rng(0)
    independent = np.eye(5000, dtype=np.float32)[rng.integers(0, 5000, (10, 20))]
    assert text.diversity(independent) > 0.95
    assert text.diversity(np.repeat(independent[:1], 10, axis=0)) == 0.0


def collapsed_generator(gan):
    """Makes every latent give the same sample: the first kernel of the generator (and of its
    EMA copy, which samples are drawn from) is zeroed, and every later layer sees equal rows."""
    for network in {id(n): n for n in (gan.generator, gan.sampler)}.values():
        first = next(w for w in network.weights if "kernel" in w.name)
        first.assign(tf.zeros_like(first))


def test_a_collapsed_run_is_warned_of_and_logs_both_measures(tmp_path, digits_data_dir,
                                                             monkeypatch):
    config = config_lib.load("dcgan", "tiny")
    config.data.data_dir = digits_data_dir
    config.eval.update(dict(every=2, num_samples=200))
    config.train.num_steps = 2
    config.optimizer.g.learning_rate = 1e-12  # the zeroed generator stays collapsed
    build = training.build_gan

    def build_collapsed(*args, **kwargs):
        gan = build(*args, **kwargs)
        collapsed_generator(gan)
        return gan

    monkeypatch.setattr(training, "build_gan", build_collapsed)
    # What a collapsed generator's evaluation reports; no classifier is trained for it.
    monkeypatch.setattr(scoring, "for_training", lambda config, log: lambda gan: {
        "fid": 100.0, "kid": 1.0, "class_entropy": 0.1, "class_coverage": 0.1,
        # A conditional model's per-class figures (scoring.per_class_scores): class 3 collapsed.
        "num_asked/3": 20, "num_real/3": 36, "class_accuracy/3": 0.9, "precision/3": 0.8,
        "recall/3": 0.05, "recall_worst_class": 0.05})
    lines = []
    training.train(config, str(tmp_path / "run"), log=lines.append)
    text = "\n".join(lines)
    assert "warning: step 2: the samples of different latents are nearly the same" in text
    assert ("warning: step 2: the generated samples fall into few classes (class entropy 0.10 "
            "< 0.5, coverage 10%)") in text
    acc = event_accumulator.EventAccumulator(str(tmp_path / "run" / "logs"),
                                             size_guidance={"tensors": 0})
    acc.Reload()
    tags = set(acc.Tags()["tensors"])
    assert {"samples/diversity", "eval/class_entropy", "eval/class_coverage"} <= tags
    # Per-class figures in their own section of TensorBoard, their constant counts left out.
    assert {tag for tag in tags if "/3" in tag} == {
        "eval_per_class/class_accuracy/3", "eval_per_class/precision/3",
        "eval_per_class/recall/3"}
    worst = tf.make_ndarray(acc.Tensors("eval/recall_worst_class")[-1].tensor_proto)
    assert float(worst) == np.float32(0.05)
    diversity = tf.make_ndarray(acc.Tensors("samples/diversity")[-1].tensor_proto)
    assert float(diversity) < callbacks.COLLAPSED_DIVERSITY
