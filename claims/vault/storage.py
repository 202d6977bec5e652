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
    """Files under ``root/ab/cd/<name>``, mode 0600, written to a temporary
    name, fsynced, renamed atomically, and the directory fsynced."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        make_dirs_durably(self.root)

    def _path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise StorageError("invalid storage name")
        return self.root / name[:2] / name[2:4] / name

    def write(self, name: str, chunks: Iterable[bytes]) -> int:
        path = self._path(name)
        make_dirs_durably(path.parent)
        if path.exists():
            raise StorageError("storage name already used")
        return write_atomically(path, chunks)

    def open(self, name: str) -> AbstractContextManager[BinaryIO]:
        try:
            return self._path(name).open("rb")
        except FileNotFoundError:
            raise StorageError("no such stored object") from None

    def delete(self, name: str) -> None:
        path = self._path(name)
        path.unlink(missing_ok=True)
        fsync_dir(path.parent)

    def names(self) -> Iterator[tuple[str, datetime]]:
        for path in self.root.glob("??/??/*"):
            if _NAME.match(path.name):
                yield path.name, datetime.fromtimestamp(path.stat().st_mtime, UTC)

    def remove_stale_temporaries(self, older_than: datetime) -> int:
        removed = 0
        for path in self.root.glob("??/??/.*.tmp"):
            if datetime.fromtimestamp(path.stat().st_mtime, UTC) < older_than:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
