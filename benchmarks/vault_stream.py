"""The vault streams: a large file is encrypted, stored and read back in bounded memory.

Compares, in the same run, the peak Python memory of storing and reading a
file through the vault with the size of that file, and the time taken with a
plain unencrypted copy of the same bytes to the same disk.

Ratios:
  vault_peak_memory_vs_file_size  peak traced memory of put + full read / file size (want << 1)
  vault_time_vs_plain_copy        time of encrypted put + verified read / plain write + read
  vault_vs_raw_aesgcm             throughput of the vault's encryption (the chunked STREAM
                                  format: framing, nonces, associated data) / raw AES-GCM over
                                  the same 64 KiB chunks in memory (target >= 0.5)
  vault_put_vs_raw_aesgcm         a whole Vault.put (encryption + SHA-256 of the original +
                                  durable write and fsync) / the same raw AES-GCM
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from benchmarks._common import parse_args, report
from claims.crypto.envelope import new_key
from claims.crypto.stream import encrypt_stream
from claims.vault import Vault
from claims.vault.storage import LocalStorage

CHUNK = 1024 * 1024


def source(size: int) -> Iterator[bytes]:
    block = os.urandom(CHUNK)
    for offset in range(0, size, CHUNK):
        yield block[: min(CHUNK, size - offset)]


def main() -> None:
    args = parse_args(__doc__ or "")
    size = (20 if args.quick else 200) * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="recours-bench-") as tmp:
        vault = Vault(LocalStorage(Path(tmp) / "vault"))
        key, aad = new_key(), b"recours:bench"

        tracemalloc.start()
        started = time.perf_counter()
        blob = vault.put(source(size), key=key, aad=aad)
        read = sum(len(piece) for piece in vault.open(blob.storage_key, key=key, aad=aad))
        vault_seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        if not read == size == blob.size:
            raise SystemExit(f"vault returned {read} bytes for a {size}-byte file")

        started = time.perf_counter()
        vault.put(source(size), key=key, aad=aad)
        put_seconds = time.perf_counter() - started

        started = time.perf_counter()
        for _ in encrypt_stream(key, aad, source(size)):
            pass
        stream_seconds = time.perf_counter() - started

        aead, nonce = AESGCM(key), os.urandom(12)
        started = time.perf_counter()
        for piece in source(size):
            for offset in range(0, len(piece), 64 * 1024):
                aead.encrypt(nonce, piece[offset : offset + 64 * 1024], aad)
        raw_seconds = time.perf_counter() - started

        plain = Path(tmp) / "plain.bin"
        started = time.perf_counter()
        with plain.open("wb") as fh:
            for piece in source(size):
                fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())
        with plain.open("rb") as fh, open(os.devnull, "wb") as sink:
            shutil.copyfileobj(fh, sink, CHUNK)
        plain_seconds = time.perf_counter() - started

    report(
        "vault_stream",
        {
            "file_mib": size // (1024 * 1024),
            "vault_peak_traced_mib": round(peak / 2**20, 2),
            "vault_seconds": round(vault_seconds, 3),
            "plain_copy_seconds": round(plain_seconds, 3),
            "vault_put_mib_per_s": round(size / 2**20 / put_seconds, 1),
            "vault_encryption_mib_per_s": round(size / 2**20 / stream_seconds, 1),
            "raw_aesgcm_mib_per_s": round(size / 2**20 / raw_seconds, 1),
        },
        {
            "vault_peak_memory_vs_file_size": round(peak / size, 4),
            "vault_time_vs_plain_copy": round(vault_seconds / plain_seconds, 2),
            "vault_vs_raw_aesgcm": round(raw_seconds / stream_seconds, 2),
            "vault_put_vs_raw_aesgcm": round(raw_seconds / put_seconds, 2),
        },
    )


if __name__ == "__main__":
    main()
