"""The `tfgan-zoo` console script: `tfgan-zoo VERB [flags]` runs `python -m tfgan_zoo.VERB`."""
import importlib
import sys

VERBS = ("train", "evaluate", "prune", "export", "generate", "benchmark")


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in VERBS:
        print(f"usage: tfgan-zoo {{{','.join(VERBS)}}} [flags]   (tfgan-zoo VERB --help for "
              "its flags)", file=sys.stderr)
        sys.exit(2)
    verb = sys.argv[1]
    module = importlib.import_module(f"tfgan_zoo.{verb}")
    module.main([f"tfgan-zoo {verb}"] + sys.argv[2:])
