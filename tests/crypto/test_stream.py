"""Streamed file encryption: round trips and every kind of tampering."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claims.crypto.envelope import new_key
from claims.crypto.stream import StreamIntegrityError, decrypt_stream, encrypt_stream, rechunk

KEY = new_key()
AAD = b"recours:file:test"


def seal(data: bytes, chunk_size: int, pieces: int = 7) -> bytes:
    step = max(1, len(data) // pieces)
    source = (data[i : i + step] for i in range(0, len(data), step))
    return b"".join(encrypt_stream(KEY, AAD, source, chunk_size=chunk_size))


def unseal(blob: bytes, key: bytes = KEY, aad: bytes = AAD) -> bytes:
    return b"".join(decrypt_stream(key, aad, io.BytesIO(blob).read))


@given(data=st.binary(max_size=5000), chunk_size=st.integers(min_value=1, max_value=700))
def test_round_trip_any_length_and_chunking(data: bytes, chunk_size: int) -> None:
    blob = seal(data, chunk_size)
    assert unseal(blob) == data
    if len(data) >= 16:  # shorter strings may occur in random bytes by chance
        assert data not in blob


@settings(max_examples=200)
@given(data=st.binary(min_size=1, max_size=3000), chunk_size=st.integers(1, 500), where=st.data())
def test_any_flipped_bit_is_detected(data: bytes, chunk_size: int, where: st.DataObject) -> None:
    blob = bytearray(seal(data, chunk_size))
    position = where.draw(st.integers(0, len(blob) - 1))
    blob[position] ^= 1 << where.draw(st.integers(0, 7))
    with pytest.raises(StreamIntegrityError):
        unseal(bytes(blob))


@given(data=st.binary(min_size=1, max_size=3000), chunk_size=st.integers(1, 500), where=st.data())
def test_truncation_is_detected(data: bytes, chunk_size: int, where: st.DataObject) -> None:
    blob = seal(data, chunk_size)
    cut = where.draw(st.integers(0, len(blob) - 1))
    with pytest.raises(StreamIntegrityError):
        unseal(blob[:cut])


def test_truncation_at_a_chunk_boundary_is_detected() -> None:
    chunk = 100
    blob = seal(b"x" * 1000, chunk)
    header = 15
    sealed = chunk + 16
    # Drop the final (empty) chunk, then the last full chunks: each leaves a valid-looking prefix.
    for chunks_kept in range(1, 11):
        with pytest.raises(StreamIntegrityError):
            unseal(blob[: header + chunks_kept * sealed])


def test_reordered_chunks_are_detected() -> None:
    blob = seal(bytes(range(256)) * 4, 256)
    header, sealed = blob[:15], 256 + 16
    chunks = [blob[15 + i * sealed : 15 + (i + 1) * sealed] for i in range(4)]
    swapped = header + chunks[1] + chunks[0] + b"".join(chunks[2:]) + blob[15 + 4 * sealed :]
    with pytest.raises(StreamIntegrityError):
        unseal(swapped)


def test_appended_data_is_detected() -> None:
    blob = seal(b"evidence", 4)
    with pytest.raises(StreamIntegrityError):
        unseal(blob + b"more")


def test_wrong_key_or_associated_data_is_refused() -> None:
    blob = seal(b"evidence", 4)
    with pytest.raises(StreamIntegrityError):
        unseal(blob, key=new_key())
    with pytest.raises(StreamIntegrityError):
        unseal(blob, aad=b"recours:file:another-record")


def test_no_byte_of_a_tampered_chunk_is_released() -> None:
    data = b"A" * 100 + b"B" * 100 + b"C" * 100
    blob = bytearray(seal(data, 100))
    blob[15 + 116 + 5] ^= 0xFF  # inside the second chunk
    released = []
    with pytest.raises(StreamIntegrityError):
        for piece in decrypt_stream(KEY, AAD, io.BytesIO(bytes(blob)).read):
            released.append(piece)
    assert released == [b"A" * 100]


@given(pieces=st.lists(st.binary(max_size=50), max_size=20), size=st.integers(1, 40))
def test_rechunk_preserves_bytes_and_sizes(pieces: list[bytes], size: int) -> None:
    out = list(rechunk(pieces, size))
    assert b"".join(out) == b"".join(pieces)
    assert all(len(p) == size for p in out[:-1])
    assert len(out[-1]) < size


def test_rechunk_passes_bytes_on_without_copying_them_and_copies_other_buffers() -> None:
    whole = bytes(range(256)) * 64  # 16 KiB
    first = whole[:4096]
    out = list(rechunk([first, memoryview(whole)[100:], whole], 4096))
    assert out[0] is first  # a piece of the right size, as it came
    # 16,284 bytes: three views, then 3,996 carried over and completed by the next piece's first
    # 100 (a copy of those 4,096 only); then views of the rest of that piece.
    views = [isinstance(p, memoryview) and p.obj is whole for p in out]
    assert views == [False, True, True, True, False, True, True, True, False]
    assert b"".join(out) == first + whole[100:] + whole
    mutable = bytearray(b"x" * 8192)
    out = list(rechunk([mutable], 4096))
    mutable[:] = b"y" * 8192  # its owner reuses it: what was yielded must not change
    assert b"".join(out) == b"x" * 8192
    strided = memoryview(whole)[::2]  # a view of bytes, but not contiguous: copied
    assert b"".join(rechunk([strided], 4096)) == whole[::2]
