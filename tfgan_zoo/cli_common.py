"""What every command-line verb shares: flag parsing whose mistakes are one-line user errors, a
quiet start (no TensorFlow start-up noise), and early flag peeking.

A verb's module defines its flags and a `_run(argv)`, and its `main` calls `run(_run, argv)`.
"""
import contextlib
import difflib
import os
import re
import signal
import sys
import threading
import time

from absl import app, flags, logging

import tfgan_zoo
from tfgan_zoo.engine.workdir import Workdir
from tfgan_zoo.errors import ZooError


def run(main, argv=None, check=None):
    """Runs a verb like `absl.app.run(main, argv)`, except that a flag absl cannot parse ends
    the process with `error: <which flag, what it expects>` and exit status 2, and that
    TensorFlow is loaded quietly (see `load_tensorflow`) before `main(argv)` is called.

    `check(argv)`, if given, runs before TensorFlow loads: the verb's checks that need none, so
    that a mistake is said at once rather than after TensorFlow's start-up (10 s or more on a
    small machine). Its ZooError ends the process like a flag error."""
    def start(args):
        quiet_logging()
        if check is not None:
            with user_errors():
                check(args)
        load_tensorflow()
        return main(args)

    app.run(start, argv=argv, flags_parser=parse_flags)


def workdir_holds_a_run(argv):
    """A `check` for the verbs that read a training run: their --workdir holds one."""
    del argv
    Workdir(flags.FLAGS.workdir).run_config()


def parse_flags(argv):
    """absl's flag parsing; its errors become `error: ...` on stderr and exit status 2."""
    with user_errors():
        try:
            return flags.FLAGS(argv)
        except flags.Error as e:
            raise ZooError(flag_error_message(e, argv)) from None


def flag_error_message(error, argv):
    """One line for an absl flag error: the flag, the value given, and what it takes."""
    text = " ".join(str(error).split())  # absl's messages may span lines
    if isinstance(error, flags.UnrecognizedFlagError):
        close = difflib.get_close_matches(error.flagname, list(flags.FLAGS), n=1)
        hint = f"; did you mean --{close[0]}?" if close else ""
        return f"unknown flag --{error.flagname}{hint} (--helpshort lists the flags)"
    match = re.match(r"flag --([^=\s]+)=|Missing value for flag --(\S+)", text)
    name = match and (match.group(1) or match.group(2))
    if not name or name not in flags.FLAGS:
        return text
    flag, given = flags.FLAGS[name], peek_flag(argv, name, None)
    if match.group(2):
        return f"--{name} needs a value: {_expected(flag)}"
    if given is None:  # absl's check of a flag marked required
        return f"--{name} is required: {flag.help}"
    try:
        flag.parser.parse(given)
    except (ValueError, TypeError):
        return f"--{name}={given}: {_expected(flag)}"
    return f"--{name}={given}: " + text.split(": ", 1)[-1]  # parsed, but a validator said no


def _expected(flag):
    """'expected an integer (default 16)', from the flag's parser (the config's value is the
    default of a --config.* flag)."""
    parser = flag.parser
    if flag.flag_type() == "bool":
        what = "true or false"
    elif hasattr(parser, "enum_values"):
        what = "one of " + ", ".join(parser.enum_values)
    else:
        what = getattr(parser, "syntactic_help", "") or f"a {flag.flag_type()}"
    default = f" (default {flag.default})" if flag.default is not None else ""
    return f"expected {what}{default}"


def quiet_logging():
    """WARNING and above only, unless the user passed --verbosity: TensorFlow and TFDS log many
    INFO lines, which would bury the progress bar and the summary."""
    if not flags.FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)


# What TensorFlow 2.21 prints while it loads on a machine without a GPU. Its static initialisers
# log before TF_CPP_MIN_LOG_LEVEL is read (tensorflow/tensorflow#100442), so no setting hides
# these; only TF_CPP_MIN_LOG_LEVEL=3 hides the cuInit line, and with it every C++ error.
_STARTUP_NOISE = re.compile(
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|\] oneDNN custom operations are on\. You may see slightly different numerical results")
_NO_CUDA_DRIVER = re.compile(r"\] Could not find cuda drivers on your machine")
# A failed cuInit is noise only after the line above said there is no CUDA driver at all: on a
# machine with a GPU and a driver it is a real error, and it is kept.
_CUINIT_FAILED = re.compile(r"\] failed call to cuInit: ")


def load_tensorflow():
    """Imports TensorFlow and lets it find its devices (which is when CUDA is probed), with its
    start-up noise (see _STARTUP_NOISE) dropped from stderr. Every other line printed meanwhile
    still reaches stderr as it comes. Under --verbosity nothing is dropped, and TensorFlow's
    C++ INFO lines come back unless the user set TF_CPP_MIN_LOG_LEVEL."""
    if flags.FLAGS["verbosity"].present:
        if tfgan_zoo.TF_CPP_MIN_LOG_LEVEL_DEFAULTED:
            os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        filtered = contextlib.nullcontext()
    else:
        filtered = stderr_filtered(startup_noise())
    with filtered:
        import tensorflow as tf

        tf.config.list_physical_devices()


def startup_noise():
    """A predicate on the lines of stderr: True for TensorFlow's start-up noise."""
    no_driver = False

    def is_noise(line):
        nonlocal no_driver
        if _NO_CUDA_DRIVER.search(line):
            no_driver = True
            return True
        return bool(_STARTUP_NOISE.search(line) or (no_driver and _CUINIT_FAILED.search(line)))

    return is_noise


@contextlib.contextmanager
def stderr_filtered(is_noise, wait_s=5.0):
    """Runs the body with file descriptor 2 piped through a child process that writes every
    line `is_noise` rejects to the real stderr as it arrives.

    The descriptor, not sys.stderr: C++ libraries write to it directly. A child process, not a
    thread or a file read afterwards, so that what a library prints just before it aborts the
    process still gets out. Where os.fork is missing, or threads already run (forking them is
    unsafe), nothing is filtered.
    """
    if not hasattr(os, "fork") or threading.active_count() > 1:
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to filter
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: forward, then leave without running the parent's exit handlers
        os.close(write_end)
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent
            _forward(read_end, saved, is_noise)
        finally:
            os._exit(0)
    os.close(read_end)
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last write end closes: the child reads EOF and exits
        os.close(saved)
        _reap(pid, wait_s)


def _forward(read_end, out_fd, is_noise):
    """Copies lines from `read_end` to `out_fd` until EOF, leaving out those `is_noise` says."""
    pending = b""
    while chunk := os.read(read_end, 65536):
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            if not is_noise(line.decode(errors="replace")):
                _write_all(out_fd, line + b"\n")
    if pending and not is_noise(pending.decode(errors="replace")):
        _write_all(out_fd, pending)


def _write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


def _reap(pid, wait_s):
    """Waits up to `wait_s` seconds for the forwarding child, so that its lines come before
    ours; a library that kept a copy of the descriptor would keep it alive, and it is then
    left to end with the process."""
    deadline = time.monotonic() + wait_s
    while os.waitpid(pid, os.WNOHANG) == (0, 0) and time.monotonic() < deadline:
        time.sleep(0.01)


def peek_flag(argv, name, default):
    """The value of --name in argv before absl parses it (`--name=v` or `--name v`)."""
    value = default
    for i, arg in enumerate(argv[1:], start=1):
        if arg.startswith(f"--{name}="):
            value = arg.split("=", 1)[1]
        elif arg == f"--{name}" and i + 1 < len(argv):
            value = argv[i + 1]
    return value


def check_config_overrides(argv, config, flag="config"):
    """Raises ZooError for a `--config.a.b=v` naming a key the config lacks.

    ml_collections would raise an AttributeError with a traceback during flag parsing; this
    says which key is unknown and which keys exist there.
    """
    prefix = f"--{flag}."
    for arg in argv[1:]:
        if not arg.startswith(prefix):
            continue
        path = arg[len(prefix):].split("=", 1)[0]
        node, walked = config, flag
        for key in path.split("."):
            keys = list(node.keys()) if hasattr(node, "keys") else []
            if key not in keys:
                close = difflib.get_close_matches(key, keys, n=1)
                hint = f"did you mean {walked}.{close[0]}? " if close else ""
                valid = ", ".join(sorted(keys)) or f"none: {walked} is a value"
                raise ZooError(f"unknown config key {flag}.{path}: {hint}"
                               f"keys of {walked}: {valid}")
            node, walked = node[key], f"{walked}.{key}"


@contextlib.contextmanager
def user_errors():
    """Turns a ZooError into `error: <message>` on stderr and exit status 2, no traceback."""
    try:
        yield
    except ZooError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
