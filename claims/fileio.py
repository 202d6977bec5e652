"""Durable, atomic file writes: a reader sees the old file or the whole new one, never half."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

# What is written here is not read back soon (the vault's blobs, a file handed to the user).
# It leaves the page cache as it reaches the disk, a window behind the writer, instead of
# filling the machine's memory (a pack of ten thousand parties is tens of gigabytes) and
# pushing out what is read often, such as the database's pages.
CACHE_WINDOW = 8 * 1024 * 1024
_advise = getattr(os, "posix_fadvise", None)  # Linux; elsewhere the cache keeps what is written


def write_atomically(path: Path, chunks: Iterable[bytes]) -> int:
    """Write to a temporary name (mode 0600), fsync, rename over ``path``, fsync the folder.

    If ``chunks`` raises, the temporary file is removed and ``path`` is untouched.
    Returns the number of bytes written.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    written = dropped = 0
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
                written += len(chunk)
                if _advise is not None and written - dropped >= 2 * CACHE_WINDOW:
                    # Drop the two windows before the last one: the older was asked before and
                    # has been written back since, so it goes; the newer is still dirty, so the
                    # call starts writing it back, and the next call drops it.
                    fh.flush()
                    start = max(0, dropped - CACHE_WINDOW)
                    dropped = written - CACHE_WINDOW
                    _advise(fd, start, dropped - start, os.POSIX_FADV_DONTNEED)
            fh.flush()
            os.fsync(fh.fileno())
            if _advise is not None:
                _advise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # durable now: all of it can go
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return written


def make_dirs_durably(directory: Path, mode: int = 0o700) -> None:
    """Create ``directory`` and any missing parents; each new entry is made durable.

    A new folder is an entry in its parent: until the parent is fsynced, a
    power cut can take the folder, and every file written into it, away.
    """
    if directory.is_dir():
        return
    make_dirs_durably(directory.parent, mode)
    try:
        directory.mkdir(mode=mode)
    except FileExistsError:
        return  # made at the same time by another writer, which makes it durable
    fsync_dir(directory.parent)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
