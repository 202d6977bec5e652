"""Authenticated encryption primitives (AES-256-GCM) for keys and fields.

Layout of every ciphertext produced here: ``version (1 byte) | nonce (12) |
ciphertext+tag``. The associated data (AAD) binds a ciphertext to its place
(which record, which column, which key), so a value copied to another row or
column fails to decrypt instead of being silently accepted.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_V1 = b"\x01"
NONCE_BYTES = 12


class DecryptionError(Exception):
    """The ciphertext was altered, moved, or the key is wrong. Carries no data."""


def encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT_V1 + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != FORMAT_V1:
        raise DecryptionError("malformed ciphertext")
    nonce = blob[1 : 1 + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, blob[1 + NONCE_BYTES :], aad)
    except InvalidTag:
        raise DecryptionError("authentication failed") from None


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)
