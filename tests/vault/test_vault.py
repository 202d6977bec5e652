"""The vault: encrypted, atomic, integrity-checked storage."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from claims import fileio
from claims.crypto.envelope import new_key
from claims.evidence.models import EvidenceKind
from claims.evidence.operations import store_evidence
from claims.extensions import db
from claims.types import utcnow
from claims.vault import FileTooLarge, StreamIntegrityError, Vault, current_vault
from claims.vault import storage as storage_module
from claims.vault.storage import LocalStorage, StorageError, new_storage_name

AAD = b"recours:file:test"


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return Vault(LocalStorage(tmp_path / "vault"))


def stored_path(vault: Vault, name: str) -> Path:
    return vault.storage.path_of(name)


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=200_000))
def test_round_trip(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    vault = Vault(LocalStorage(tmp_path_factory.mktemp("v")))
    key = new_key()
    blob = vault.put([data], key=key, aad=AAD)
    assert blob.size == len(data)
    assert vault.read_bytes(blob.storage_key, key=key, aad=AAD) == data


def test_file_on_disk_is_not_the_plaintext(vault: Vault) -> None:
    data = b"%PDF-1.7 Madame Jeanne Martin, 12 rue des Lilas, NIR 2 84 03 93 048 123 78\n" * 50
    blob = vault.put([data], key=new_key(), aad=AAD)
    on_disk = stored_path(vault, blob.storage_key).read_bytes()
    assert on_disk != data
    assert b"Jeanne Martin" not in on_disk and b"%PDF" not in on_disk
    assert stored_path(vault, blob.storage_key).stat().st_mode & 0o777 == 0o600


def test_storage_names_are_random_and_say_nothing(vault: Vault) -> None:
    names = {vault.put([b"same"], key=new_key(), aad=AAD).storage_key for _ in range(20)}
    assert len(names) == 20
    assert all(len(n) == 40 and int(n, 16) >= 0 for n in names)


def test_tampered_file_raises_and_returns_nothing_bad(vault: Vault) -> None:
    key = new_key()
    data = os.urandom(300_000)
    blob = vault.put([data], key=key, aad=AAD)
    path = stored_path(vault, blob.storage_key)
    raw = bytearray(path.read_bytes())
    raw[200_000] ^= 0x40
    path.write_bytes(bytes(raw))
    good = []
    with pytest.raises(StreamIntegrityError):
        for piece in vault.open(blob.storage_key, key=key, aad=AAD):
            good.append(piece)
    assert data.startswith(b"".join(good))  # only authenticated bytes came out
    with pytest.raises(StreamIntegrityError):
        vault.read_bytes(blob.storage_key, key=key, aad=AAD)


def test_truncated_file_raises(vault: Vault) -> None:
    key = new_key()
    blob = vault.put([os.urandom(100_000)], key=key, aad=AAD)
    path = stored_path(vault, blob.storage_key)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(StreamIntegrityError):
        vault.read_bytes(blob.storage_key, key=key, aad=AAD)


def test_sha256_is_of_the_plaintext(vault: Vault) -> None:
    import hashlib

    blob = vault.put([b"abc", b"def"], key=new_key(), aad=AAD)
    assert blob.sha256 == hashlib.sha256(b"abcdef").hexdigest()


def test_size_limit_stores_nothing(vault: Vault, tmp_path: Path) -> None:
    def endless() -> Any:
        while True:
            yield b"\0" * 65536

    with pytest.raises(FileTooLarge):
        vault.put(endless(), key=new_key(), aad=AAD, max_size=1_000_000)
    assert list((tmp_path / "vault").rglob("*.*")) == []
    assert [p for p in (tmp_path / "vault").rglob("*") if p.is_file()] == []


def test_failed_write_leaves_no_partial_file(vault: Vault, tmp_path: Path) -> None:
    def broken() -> Any:
        yield b"first part"
        raise OSError("client went away")

    with pytest.raises(OSError, match="went away"):
        vault.put(broken(), key=new_key(), aad=AAD)
    assert [p for p in (tmp_path / "vault").rglob("*") if p.is_file()] == []


def test_storage_names_cannot_escape_the_root(vault: Vault) -> None:
    for name in ["../../etc/passwd", "a" * 39 + "/", "ABCDEF" * 7]:
        with pytest.raises(StorageError):
            vault.storage.open(name)


def test_sweep_removes_only_old_orphans(app: Flask, runner: FlaskCliRunner, make_claim: Any) -> None:
    claim = make_claim()
    kept = store_evidence(
        claim, [b"kept"], kind=EvidenceKind.OTHER, original_filename="a.pdf", detected_type="application/pdf"
    )
    db.session.commit()
    storage = current_vault().storage
    orphan = current_vault().put([b"rolled back"], key=new_key(), aad=AAD).storage_key
    young_orphan = current_vault().put([b"in flight"], key=new_key(), aad=AAD).storage_key
    old = (utcnow() - timedelta(days=2)).timestamp()
    for name in (orphan, kept.storage_key):
        os.utime(storage.path_of(name), (old, old))

    result = runner.invoke(args=["vault", "sweep", "--dry-run"])
    assert "would remove 1 orphan files" in result.output
    assert storage.path_of(orphan).exists()

    result = runner.invoke(args=["vault", "sweep"])
    assert result.exit_code == 0, result.output
    assert "removed 1 orphan files" in result.output
    assert not storage.path_of(orphan).exists()
    assert storage.path_of(kept.storage_key).exists()
    assert storage.path_of(young_orphan).exists()


def test_new_folders_are_made_durable_with_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file in a folder the power cut takes away is lost: the 256 folders are made at the start,
    their entries made durable by one fsync of the root; a file's write fsyncs its folder only."""
    synced: list[str] = []
    real_fsync_dir = fileio.fsync_dir

    def recording(directory: Path) -> None:
        synced.append(str(directory))
        real_fsync_dir(directory)

    monkeypatch.setattr(fileio, "fsync_dir", recording)
    monkeypatch.setattr(storage_module, "fsync_dir", recording)
    root = tmp_path / "vault"
    storage = LocalStorage(root)
    assert synced == [str(tmp_path), str(root)]  # the root in its parent, then the root's 256 entries
    folders = sorted(p.name for p in root.iterdir())
    assert folders == [f"{n:02x}" for n in range(256)]
    assert {(root / f).stat().st_mode & 0o777 for f in folders} == {0o700}
    synced.clear()
    LocalStorage(root)  # started again: nothing to make
    assert synced == []
    name = new_storage_name()
    storage.write(name, [b"x"])
    assert storage.path_of(name) == root / name[:2] / name
    assert synced == [str(root / name[:2])]  # only the file's own entry


def test_files_of_the_earlier_two_level_layout_are_still_served(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "vault")
    name = new_storage_name()
    legacy = tmp_path / "vault" / name[:2] / name[2:4] / name
    legacy.parent.mkdir()
    legacy.write_bytes(b"kept from before")
    with storage.open(name) as fh:
        assert fh.read() == b"kept from before"
    assert name in {n for n, _ in storage.names()}
    with pytest.raises(StorageError):
        storage.write(name, [b"other"])  # the name is taken, whichever layout holds it
    stale = legacy.parent / f".{new_storage_name()}.1234.tmp"
    stale.write_bytes(b"partial")
    assert storage.remove_stale_temporaries(datetime.now(UTC) + timedelta(seconds=1)) == 1
    storage.delete(name)
    assert not legacy.exists()
    with pytest.raises(StorageError):
        storage.open(name)


def _cached_bytes(path: Path) -> int:
    """How much of the file is in the page cache (mincore on a mapping never touched)."""
    import ctypes
    import mmap

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    ]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    size = path.stat().st_size
    pages = -(-size // mmap.PAGESIZE)
    with path.open("rb") as fh:
        address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fh.fileno(), 0)
        if address in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), "mmap")
        try:
            resident = (ctypes.c_ubyte * pages)()
            if libc.mincore(address, size, resident) != 0:
                raise OSError(ctypes.get_errno(), "mincore")
        finally:
            libc.munmap(address, size)
    return sum(page & 1 for page in resident) * mmap.PAGESIZE


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise on this system")
def test_written_files_leave_the_page_cache_once_on_disk(tmp_path: Path) -> None:
    """A vault file is not read back soon: a pack of tens of gigabytes must not fill the
    machine's memory and push out the database's pages on its way to the disk."""
    size = 6 * fileio.CACHE_WINDOW
    piece = os.urandom(1024 * 1024)
    kept = tmp_path / "kept"
    with kept.open("wb") as fh:  # the control: a plain write stays in the cache
        for _ in range(size // len(piece)):
            fh.write(piece)
        fh.flush()
        os.fsync(fh.fileno())
    if _cached_bytes(kept) < 0.9 * size:
        pytest.skip("this file system keeps no page cache to drop")
    dropped = tmp_path / "dropped"
    seen = []

    def chunks() -> Iterator[bytes]:
        for _ in range(size // len(piece)):
            yield piece
            (temporary,) = tmp_path.glob(".dropped.*.tmp")
            seen.append(_cached_bytes(temporary))

    assert fileio.write_atomically(dropped, chunks()) == size
    assert _cached_bytes(dropped) < 0.05 * size
    # Along the way too, not only at the end: never more than a few windows held.
    assert len(seen) == size // len(piece)
    assert max(seen) <= 3 * fileio.CACHE_WINDOW + len(piece)
    assert dropped.read_bytes() == piece * (size // len(piece))  # read from the disk, whole
