"""Writing small files whole: into a temporary file beside the target, then renamed over it, so
neither a reader nor a crash mid-write ever leaves half of one."""
import json
import os


def write_text(path, text):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def write_json(path, value):
    write_text(path, json.dumps(value, indent=2))
