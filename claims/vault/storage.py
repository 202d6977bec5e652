"""Storage backends: where the vault's (already encrypted) bytes live.

A backend knows nothing of keys or plaintext. It writes a named object
atomically and durably, reads it back as a stream, deletes it and lists what
it holds (for the sweeper). The local-disk backend is the embedded default;
an S3-compatible one implements the same four methods.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from ..fileio import fsync_dir, make_dirs_durably, write_atomically

_NAME = re.compile(r"^[0-9a-f]{40}$")


class StorageError(Exception):
    pass


def new_storage_name() -> str:
    """A random object name: says nothing of the owner or the file."""
    return secrets.token_hex(20)


class Storage(Protocol):
    def write(self, name: str, chunks: Iterable[bytes]) -> int:
        """Store all chunks under ``name`` atomically; return the bytes written.

        If ``chunks`` raises, nothing is stored under ``name``.
        """

    def open(self, name: str) -> AbstractContextManager[BinaryIO]: ...

    def delete(self, name: str) -> None: ...

    def names(self) -> Iterator[tuple[str, datetime]]:
        """Every stored name with its modification time."""

    def remove_stale_temporaries(self, older_than: datetime) -> int:
        """Remove partial writes a crash left behind; return how many."""


class LocalStorage:
    """Files under ``root/ab/<name>`` (256 folders, made once, all together), mode 0600,
    written to a temporary name, fsynced, renamed atomically, and the folder fsynced.

    Earlier versions wrote to ``root/ab/cd/<name>``: such files are still found, listed
    and deleted where they are (no migration needed), and new files go to the flat layout.
    A folder of 256 holds some 30 000 files for a million claims' evidence, well within
    what an indexed directory handles; the flat layout spares each new file the creation
    of its own folder and that folder's fsync in the claimant's wait.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        make_dirs_durably(self.root)
        missing = [self.root / f"{n:02x}" for n in range(256) if not (self.root / f"{n:02x}").is_dir()]
        for folder in missing:
            folder.mkdir(mode=0o700, exist_ok=True)
        if missing:
            fsync_dir(self.root)  # one fsync makes every new entry of the root durable

    def path_of(self, name: str) -> Path:
        """Where a new object of this name is written."""
        if not _NAME.match(name):
            raise StorageError("invalid storage name")
        return self.root / name[:2] / name

    def _existing(self, name: str) -> Path | None:
        path = self.path_of(name)
        if path.exists():
            return path
        legacy = self.root / name[:2] / name[2:4] / name
        return legacy if legacy.exists() else None

    def write(self, name: str, chunks: Iterable[bytes]) -> int:
        path = self.path_of(name)
        make_dirs_durably(path.parent)  # a folder removed by hand since the start
        if self._existing(name) is not None:
            raise StorageError("storage name already used")
        return write_atomically(path, chunks)

    def open(self, name: str) -> AbstractContextManager[BinaryIO]:
        path = self._existing(name)
        try:
            if path is None:
                raise FileNotFoundError(name)
            return path.open("rb")
        except FileNotFoundError:
            raise StorageError("no such stored object") from None

    def delete(self, name: str) -> None:
        path = self._existing(name)
        if path is None:
            return
        path.unlink(missing_ok=True)
        fsync_dir(path.parent)

    def _files(self, pattern: str) -> Iterator[Path]:
        yield from self.root.glob(f"??/{pattern}")
        yield from self.root.glob(f"??/??/{pattern}")  # the earlier layout

    def names(self) -> Iterator[tuple[str, datetime]]:
        for path in self._files("*"):
            if _NAME.match(path.name):
                yield path.name, datetime.fromtimestamp(path.stat().st_mtime, UTC)

    def remove_stale_temporaries(self, older_than: datetime) -> int:
        removed = 0
        for path in self._files(".*.tmp"):
            if datetime.fromtimestamp(path.stat().st_mtime, UTC) < older_than:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
