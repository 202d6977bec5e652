"""The vault: encrypted, integrity-checked storage for evidence and generated files.

Callers give a stream, a key and associated data; the vault encrypts in
chunks (``claims.crypto.stream``) while hashing the plaintext, hands the
ciphertext to a storage backend, and returns what the row must record. Reads
are verified chunk by chunk: a tampered file raises ``StreamIntegrityError``
and never yields a byte that was not authenticated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import Flask, current_app

from ..crypto.envelope import decrypt, encrypt, new_key
from ..crypto.stream import DEFAULT_CHUNK_SIZE, StreamIntegrityError, decrypt_stream, encrypt_stream
from .storage import LocalStorage, Storage, StorageError, new_storage_name

__all__ = [
    "FileTooLarge",
    "StorageError",
    "StoredBlob",
    "StreamIntegrityError",
    "Vault",
    "current_vault",
    "init_app",
]


class FileTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"file larger than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class StoredBlob:
    storage_key: str
    size: int
    sha256: str


def iter_file(fileobj: BinaryIO, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
    while piece := fileobj.read(chunk_size):
        yield piece


class Vault:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def put(
        self,
        source: BinaryIO | Iterable[bytes],
        *,
        key: bytes,
        aad: bytes,
        max_size: int | None = None,
    ) -> StoredBlob:
        """Encrypt and store ``source``; durable when this returns.

        Raises FileTooLarge (and stores nothing) past ``max_size`` bytes.
        """
        chunks = iter_file(source) if hasattr(source, "read") else source
        digest = hashlib.sha256()
        size = 0

        def measured() -> Iterator[bytes]:
            nonlocal size
            for piece in chunks:
                size += len(piece)
                if max_size is not None and size > max_size:
                    raise FileTooLarge(max_size)
                digest.update(piece)
                yield piece

        name = new_storage_name()
        self.storage.write(name, encrypt_stream(key, aad, measured()))
        return StoredBlob(name, size, digest.hexdigest())

    def open(self, storage_key: str, *, key: bytes, aad: bytes) -> Iterator[bytes]:
        """Yield verified plaintext chunks; raises StreamIntegrityError on tampering."""
        with self.storage.open(storage_key) as fh:
            yield from decrypt_stream(key, aad, fh.read)

    def put_sealed(
        self,
        source: BinaryIO | Iterable[bytes],
        *,
        owner_key: bytes,
        aad: bytes,
        key_aad: bytes,
        max_size: int | None = None,
    ) -> tuple[StoredBlob, bytes]:
        """Store ``source`` under a new random file key; return what was stored and that key
        wrapped by ``owner_key`` (a claimant's data key: destroying it shreds the file too)."""
        file_key = new_key()
        blob = self.put(source, key=file_key, aad=aad, max_size=max_size)
        return blob, encrypt(owner_key, file_key, key_aad)

    def open_sealed(
        self, storage_key: str, *, owner_key: bytes, wrapped_key: bytes, aad: bytes, key_aad: bytes
    ) -> Iterator[bytes]:
        """The verified plaintext of a file stored by ``put_sealed``."""
        return self.open(storage_key, key=decrypt(owner_key, wrapped_key, key_aad), aad=aad)

    def read_bytes(self, storage_key: str, *, key: bytes, aad: bytes) -> bytes:
        """The whole plaintext, for small files only; verified before it is returned."""
        return b"".join(self.open(storage_key, key=key, aad=aad))

    def delete(self, storage_key: str) -> None:
        self.storage.delete(storage_key)


def init_app(app: Flask) -> None:
    backend = app.config["VAULT_BACKEND"]
    if backend != "local":
        raise RuntimeError(f"unknown VAULT_BACKEND {backend!r} (available: local)")
    root = app.config.get("VAULT_PATH") or str(Path(app.instance_path) / "vault")
    app.extensions["recours_vault"] = Vault(LocalStorage(root))


def current_vault() -> Vault:
    return current_app.extensions["recours_vault"]
