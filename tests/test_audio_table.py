"""scripts/audio_table.py: a trial's curve is read back from the run's TensorBoard log, and the
table names the classifier that scored each row."""
import os
import sys

import tensorflow as tf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "scripts"))
import audio_table  # noqa: E402


def test_trial_curve_holds_every_evaluation_of_the_log(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path / "logs"))
    with writer.as_default():
        for step, score, heard in ((1500, 1.9, 0.2), (3000, 4.5, 0.61)):
            tf.summary.scalar("eval/classifier_score", score, step=step)
            tf.summary.scalar("eval/class_accuracy", heard, step=step)
            tf.summary.scalar("eval/precision", 0.1, step=step)  # not one of the curve's
        tf.summary.scalar("train/d_loss", 1.0, step=100)
    writer.close()

    points = audio_table.curve(str(tmp_path))
    assert list(points) == [1500, 3000]
    assert points[3000]["classifier_score"] == tf.constant(4.5).numpy()
    assert points[1500] == {"classifier_score": tf.constant(1.9).numpy(),
                            "class_accuracy": tf.constant(0.2).numpy()}
    lines = list(audio_table.curve_lines({"wavegan_cond": [{"seed": 0, "curve": points}]}))
    assert lines[1:] == ["  step  1,500: classifier_score 1.9, class_accuracy 0.2",
                         "  step  3,000: classifier_score 4.5, class_accuracy 0.61"]


def _runs(accuracy):
    """One scored seed of a demo, as scripts/audio_table.py keeps it, by a classifier of
    `accuracy`."""
    figures = {"classifier_score": 5.0, "fid": 4000.0, "precision": 0.0, "recall": 0.0}
    best = {"extractor": "classifier:a", "extractor_test_accuracy": accuracy,
            "num_generated": 2880, "num_real": 720, "results": figures, "floor": figures}
    return [{"seed": 0, "seconds": 1800.0, "steps": 6000, "best": best,
             "untrained": {"results": figures}}]


def test_rows_scored_by_different_classifiers_each_name_their_own():
    # The classifier is retrained on each machine; a table whose rows came from two machines
    # must not credit both rows to the first row's classifier.
    same = audio_table.table({"wavegan": _runs(0.925), "wavegan_cond": _runs(0.925)}, "h")
    assert "Features: `classifier:a` (test accuracy 0.925, on voices it never heard)" in same
    mixed = audio_table.table({"wavegan": _runs(0.925), "wavegan_cond": _runs(0.9375)}, "h")
    assert "test accuracy 0.925 for wavegan; 0.938 for wavegan_cond" in mixed
