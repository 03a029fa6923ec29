"""Writing files whole: into a uniquely named temporary file beside the target, flushed to disk,
then renamed over it, so neither a reader nor a crash mid-write (even a power cut, thanks to
the fsyncs) ever leaves half of one. Every small file the zoo writes goes through here."""
import contextlib
import json
import os
import uuid


@contextlib.contextmanager
def atomic_write(path, mode="w"):
    """Yields an open file; on a clean exit it is fsynced and renamed to `path` (and the folder
    fsynced, so the rename itself survives a crash). On an error nothing at `path` changes."""
    with atomic_path(path) as tmp, open(tmp, mode) as f:
        yield f


@contextlib.contextmanager
def atomic_path(path):
    """For writers that want a file name, not a file (Keras' `save`, `save_weights`): yields a
    unique temporary path beside `path` with the same ending (Keras picks the format by it);
    on a clean exit that file is fsynced and renamed to `path`. On an error nothing at `path`
    changes."""
    directory, name = os.path.split(os.path.abspath(path))
    ending = next((e for e in (".weights.h5", ".keras", ".h5") if name.endswith(e)),
                  os.path.splitext(name)[1])
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}{ending}")
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    fsync_directory(directory)


def fsync_directory(directory):
    """Makes a rename or a new file in `directory` durable (a no-op where folders cannot be
    opened, as on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text(path, text):
    with atomic_write(path) as f:
        f.write(text)


def write_bytes(path, data):
    with atomic_write(path, "wb") as f:
        f.write(data)


def write_json(path, value):
    write_text(path, json.dumps(value, indent=2))
