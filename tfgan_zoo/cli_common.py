"""What every command-line verb shares: early flag peeking and one-line user errors."""
import contextlib
import difflib
import sys

from absl import flags, logging

from tfgan_zoo.errors import ZooError


def quiet_logging():
    """WARNING and above only, unless the user passed --verbosity: TensorFlow and TFDS log many
    INFO lines, which would bury the progress bar and the summary."""
    if not flags.FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)


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
