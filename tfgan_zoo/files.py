"""Writing files whole: into a uniquely named temporary file beside the target, flushed to disk,
then renamed over it, so neither a reader nor a crash mid-write (even a power cut, thanks to
the fsyncs) ever leaves half of one. Every small file the zoo writes goes through here."""
import contextlib
import ctypes
import errno
import functools
import json
import os
import sys
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


def write_numbered(directory, blobs, prefix, extension):
    """Writes each file's bytes as <directory>/<prefix>_<i>.<extension> (numbers zero-padded so
    that they sort); returns the paths."""
    os.makedirs(directory, exist_ok=True)
    width = len(str(max(len(blobs) - 1, 0)))
    paths = [os.path.join(directory, f"{prefix}_{i:0{width}d}.{extension}")
             for i in range(len(blobs))]
    for path, blob in zip(paths, blobs, strict=True):
        write_bytes(path, blob)
    return paths


def write_json(path, value):
    write_text(path, json.dumps(value, indent=2))


def fsync_tree(path):
    """Makes every file and folder under `path` durable: for a directory that a library wrote
    (a SavedModel) before it is renamed into place."""
    for root, _, names in os.walk(path):
        for name in names:
            with open(os.path.join(root, name), "rb") as f:
                os.fsync(f.fileno())
        fsync_directory(root)


_AT_FDCWD = -100  # <fcntl.h>: paths relative to the working directory
_RENAME_EXCHANGE = 2  # <linux/fs.h>


def exchange(a, b):
    """Swaps the paths `a` and `b` (files or directories, both existing, on one file system) in
    one atomic rename, so that no reader ever finds either path missing. Returns False, having
    changed nothing, where that cannot be done: it takes Linux's renameat2 (glibc 2.28+) and a
    file system that supports RENAME_EXCHANGE (ext4, xfs, btrfs, tmpfs do; some network and
    FUSE file systems do not)."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # not supported here
        return False
    raise OSError(code, os.strerror(code), a, None, b)


@functools.cache
def _renameat2():
    """libc's renameat2, or None (not Linux, or a libc without it)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
    return function
