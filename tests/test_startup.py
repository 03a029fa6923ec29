"""What a newcomer reads first: `python -m tfgan_zoo.train` on a fresh machine prints the zoo's
own lines, not TensorFlow's start-up noise nor TFDS's "Downloading ..." for a dataset that is
made offline; --verbosity brings TensorFlow's lines back."""
import os
import platform
import subprocess
import sys

import pytest

from tfgan_zoo import config as config_lib

# TensorFlow 2.21's start-up lines on a machine without a GPU, and TFDS's download lines.
NOISE = ("absl::InitializeLog", "oneDNN custom operations", "Could not find cuda drivers",
         "failed call to cuInit", "cpu_feature_guard", "Downloading and preparing",
         "Unknown size", "Variant folder")


def newcomer_env():
    """The environment of a user who has set nothing (this test process has set
    TF_CPP_MIN_LOG_LEVEL by importing tfgan_zoo)."""
    return {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}


def test_first_run_prints_the_zoo_s_lines_only(tmp_path):
    data_dir = tmp_path / "tfds"
    result = subprocess.run(
        [sys.executable, "-m", "tfgan_zoo.train", "--model=dcgan", "--preset=tiny",
         f"--workdir={tmp_path / 'run'}", f"--data_dir={data_dir}"],
        capture_output=True, text=True, timeout=300, env=newcomer_env())
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert [n for n in NOISE if n in output] == []
    assert result.stdout.startswith(
        "Preparing sklearn_digits from the copy shipped with scikit-learn (nothing is "
        f"downloaded) into {data_dir}/sklearn_digits/1.0.0\n"
        f"Prepared sklearn_digits in {data_dir}/sklearn_digits/1.0.0; later runs reuse it.\n"
        "Training dcgan on sklearn_digits")


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                    reason="TensorFlow prints its oneDNN line on x86 only")
def test_verbosity_brings_tensorflow_s_lines_back(tmp_path):
    # A run's config without checkpoints: refused after TensorFlow has loaded.
    (tmp_path / "config.json").write_text(config_lib.to_json(config_lib.load("dcgan", "tiny")))
    result = subprocess.run(
        [sys.executable, "-m", "tfgan_zoo.evaluate", f"--workdir={tmp_path}", "--verbosity=0"],
        capture_output=True, text=True, timeout=120, env=newcomer_env())
    assert result.returncode == 2 and "has no checkpoint" in result.stderr
    # The C++ INFO level is back. (TensorFlow's "oneDNN custom operations are on" line comes
    # only on CPUs where it turns oneDNN on, so it is not asked for.)
    assert "cpu_feature_guard" in result.stderr
