"""What every verb shares (tfgan_zoo.cli_common): a flag value absl cannot parse is a one-line
`error: ...` with exit status 2, and TensorFlow's start-up noise is dropped from stderr while
every other line, a real error or what a crashing library last said, still gets through.

The flag errors stop before TensorFlow is imported, so each subprocess here takes well under
a second; the noise filter is checked on lines written by hand, without TensorFlow.
"""
import signal
import subprocess
import sys
import textwrap

import pytest


def run_verb(verb, *args):
    return subprocess.run([sys.executable, "-m", f"tfgan_zoo.{verb}", *args],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("verb, args, message", [
    ("train", ["--config.train.batch_size=abc"],
     "error: --config.train.batch_size=abc: expected an integer (default "),
    ("train", ["--config.train.batch_size"],
     "error: --config.train.batch_size needs a value: expected an integer"),
    ("train", ["--model=dcgan", "--preset=tiny", "--config.model.latent_dim=1.5"],
     "error: --config.model.latent_dim=1.5: expected an integer (default "),
    ("prune", ["--workdir=runs/x", "--steps=abc"],
     "error: --steps=abc: expected an integer (default 2000)"),
    ("prune", ["--workdir=runs/x", "--target_sparsity=high"],
     "error: --target_sparsity=high: expected a number (default 0.8)"),
    ("evaluate", ["--workdir=runs/x", "--extractor=vgg"],
     "error: --extractor=vgg: expected one of classifier, inception (default classifier)"),
    ("export", ["--workdir=runs/x", "--version=0"],
     "error: --version=0: expected a positive integer"),
    ("export", ["--workdir=runs/x", "--overwrite=maybe"],
     "error: --overwrite=maybe: expected true or false (default False)"),
    ("export", ["--workdir=runs/x", "--tflite_timeout=soon"],
     "error: --tflite_timeout=soon: expected a positive integer"),
    ("generate", ["--source=export/x", "--num=many"],
     "error: --num=many: expected an integer (default 64)"),
    ("export", [], "error: --workdir is required: Run directory written by tfgan_zoo.train."),
    ("prune", ["--workdir=runs/x", "--stepz=3"],
     "error: unknown flag --stepz; did you mean --steps? (--helpshort lists the flags)"),
])
def test_a_bad_flag_is_one_line_naming_the_flag_and_what_it_takes(verb, args, message):
    result = run_verb(verb, *args)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()  # one line, no traceback, no absl FATAL
    assert line.startswith(message), line
    assert result.stdout == ""


@pytest.mark.parametrize("verb, args, message", [
    ("evaluate", ["--workdir={tmp}"], "error: {tmp} holds no training run (no config.json)"),
    ("prune", ["--workdir={tmp}"], "error: {tmp} holds no training run (no config.json)"),
    ("export", ["--workdir={tmp}"], "error: {tmp} holds no training run (no config.json)"),
    ("generate", ["--source={tmp}", "--out={tmp}/no/x.png"],
     "error: --out={tmp}/no/x.png: folder {tmp}/no does not exist"),
    ("train", ["--preset=tiny", "--workdir={tmp}/run", "--config.train.batch_size=-5"],
     "error: config.train.batch_size must be a positive integer, got -5"),
])
def test_what_needs_no_tensorflow_is_refused_before_it_loads(verb, args, message, tmp_path):
    # --verbosity=0 keeps TensorFlow's start-up lines: had it loaded, they would be here too.
    result = run_verb(verb, *[a.format(tmp=tmp_path) for a in args], "--verbosity=0")
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(message.format(tmp=tmp_path)), line
    assert not (tmp_path / "run").exists()


def run_filtered(body):
    """Runs `body` (Python, with os imported) inside cli_common.stderr_filtered with TensorFlow's
    start-up noise filter, in a fresh interpreter; returns the finished process."""
    code = textwrap.dedent("""\
        import os
        from tfgan_zoo import cli_common
        with cli_common.stderr_filtered(cli_common.startup_noise()):
        {body}
        os.write(2, b"after the window\\n")
        """).format(body=textwrap.indent(textwrap.dedent(body), "    "))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)


ABSL = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
ONEDNN = (b"I0000 00:00:1796173128.308497    1259 port.cc:153] oneDNN custom operations are on."
          b" You may see slightly different numerical results due to floating-point round-off "
          b"errors from different computation orders.\n")
NO_DRIVER = (b"I0000 00:00:1796173128.308975    1259 cudart_stub.cc:31] Could not find cuda "
             b"drivers on your machine, GPU will not be used.\n")
CUINIT = (b"E0000 00:00:1796173132.006073    1259 cuda_platform.cc:52] failed call to cuInit: "
          b"INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n")
REAL = b"E0000 00:00:1796173132.1    1259 op_kernel.cc:1] something real went wrong\n"


def test_start_up_noise_is_dropped_and_everything_else_kept_in_order():
    lines = [ABSL, ONEDNN, b"a line of our own\n", NO_DRIVER, ABSL, ONEDNN, NO_DRIVER, CUINIT,
             REAL]
    result = run_filtered(f"for line in {lines!r}:\n    os.write(2, line)")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ("a line of our own\n" + REAL.decode() + "after the window\n")


def test_a_failed_cuinit_is_kept_where_a_cuda_driver_was_found():
    # With a GPU and its driver there is no "Could not find cuda drivers" line, and a failed
    # cuInit is a real error.
    result = run_filtered(f"os.write(2, {ABSL + CUINIT!r})")
    assert result.stderr == CUINIT.decode() + "after the window\n"


def test_what_a_library_prints_before_it_aborts_still_gets_out():
    result = run_filtered(
        "os.write(2, b'F0000 cpu_feature_guard.cc:1] this CPU lacks AVX\\n')\nos.abort()")
    assert result.returncode == -signal.SIGABRT
    assert "this CPU lacks AVX" in result.stderr
