"""Streamed AES-256-GCM for files of any size, in bounded memory.

The format follows the STREAM construction (Hoang, Reyhanitabar, Rogaway,
Vizár 2015): the plaintext is cut into chunks of ``chunk_size`` bytes, each
sealed with AES-GCM under a nonce made of a random per-file prefix, the chunk
counter and a "last chunk" flag. Reordering, dropping, truncating or
appending chunks is therefore detected, and each chunk is authenticated
before a single byte of it is released.

    header  = b"RCV1" | chunk_size (u32 BE) | nonce_prefix (7 bytes)
    chunk_i = AESGCM(key).encrypt(prefix | i (u32 BE) | last (1 byte), data_i, header | aad)
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"RCV1"
PREFIX_BYTES = 7
HEADER = struct.Struct(">4sI7s")
TAG_BYTES = 16
DEFAULT_CHUNK_SIZE = 64 * 1024
MAX_CHUNK_SIZE = 4 * 1024 * 1024


class StreamIntegrityError(Exception):
    """The stored stream was altered, truncated or extended, or the key/AAD is wrong."""


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= 2**32:
        raise OverflowError("stream too long")
    return prefix + struct.pack(">I", index) + (b"\x01" if last else b"\x00")


def bytes_view(data: object) -> memoryview | None:
    """``data`` as a flat view of bytes when ``bytes`` hold it (itself, or a contiguous view of
    it): such a view may be kept without a copy, since ``bytes`` cannot change. Else None."""
    if type(data) is bytes:
        return memoryview(data)
    if type(data) is memoryview and type(data.obj) is bytes and data.contiguous:
        return data.cast("B")
    return None


def rechunk(chunks: Iterable[bytes | memoryview], size: int) -> Iterator[bytes | memoryview]:
    """Yield pieces of exactly ``size`` bytes (the last may be shorter, possibly empty).

    Linear in the input whatever the sizes of the pieces given: full pieces
    are sliced from each input piece, only the remainder is carried over.
    A piece held by ``bytes`` (itself, or a view of it) is not copied: full
    pieces come out as views of it, since ``bytes`` cannot change under them.
    Any other buffer is copied first: its owner may reuse it.
    """
    carry = b""
    for piece in chunks:
        view = bytes_view(piece)
        if view is None:
            view = memoryview(bytes(piece))
        start = 0
        if carry:
            start = size - len(carry)
            carry += view[:start]
            if len(carry) < size:
                continue
            yield carry
            carry = b""
        end = start + (len(view) - start) // size * size
        if start == 0 and end == len(view) == size and type(piece) is bytes:
            yield piece  # as it came: the usual case of chunks of the right size
            continue
        for offset in range(start, end, size):
            yield view[offset : offset + size]
        carry = bytes(view[end:])
    yield carry


def encrypt_stream(
    key: bytes, aad: bytes, chunks: Iterable[bytes], chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Iterator[bytes]:
    """Yield the header, then one sealed chunk per ``chunk_size`` of plaintext."""
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError("bad chunk size")
    aead = AESGCM(key)
    header = HEADER.pack(MAGIC, chunk_size, os.urandom(PREFIX_BYTES))
    prefix = header[-PREFIX_BYTES:]
    yield header
    pieces = rechunk(chunks, chunk_size)
    index = 0
    current = next(pieces)
    # One piece of look-ahead tells which chunk is the last one. rechunk()
    # always ends with a short (possibly empty) piece, so the last chunk is
    # never full-size and a stream cut at a chunk boundary is detected.
    for following in pieces:
        yield aead.encrypt(_nonce(prefix, index, False), current, header + aad)
        index += 1
        current = following
    yield aead.encrypt(_nonce(prefix, index, True), current, header + aad)


def decrypt_stream(key: bytes, aad: bytes, read: Callable[[int], bytes]) -> Iterator[bytes]:
    """Yield verified plaintext chunks from ``read`` (e.g. ``file.read``).

    Raises StreamIntegrityError at the first chunk that fails; no byte of a
    failing chunk is ever yielded, and a stream cut short raises at its end.
    """
    header = _read_exactly(read, HEADER.size)
    if len(header) != HEADER.size:
        raise StreamIntegrityError("truncated header")
    magic, chunk_size, prefix = HEADER.unpack(header)
    if magic != MAGIC or not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise StreamIntegrityError("not a vault stream")
    aead = AESGCM(key)
    sealed_size = chunk_size + TAG_BYTES
    index = 0
    current = _read_exactly(read, sealed_size)
    while True:
        following = _read_exactly(read, sealed_size)
        last = not following
        try:
            plain = aead.decrypt(_nonce(prefix, index, last), current, header + aad)
        except InvalidTag:
            raise StreamIntegrityError(f"chunk {index} failed authentication") from None
        yield plain
        if last:
            return
        index += 1
        current = following


def _read_exactly(read: Callable[[int], bytes], size: int) -> bytes:
    parts = []
    remaining = size
    while remaining:
        piece = read(remaining)
        if not piece:
            break
        parts.append(piece)
        remaining -= len(piece)
    return b"".join(parts)
