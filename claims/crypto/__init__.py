"""Encryption at rest: keyring, envelope encryption, encrypted fields, blind indexes.

Three layers of keys:

* master keys (keyring, outside the database) wrap
* data keys (one per claimant or staff member, ``data_keys`` table), which
  encrypt that person's fields and wrap
* file keys (one per stored file), which encrypt the file in the vault.

Destroying a data key (``DataKey.destroy``) makes every field and file of its
owner unreadable: crypto-shredding. Rotating the master key re-wraps data keys
only; field and file ciphertexts are not touched.
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app

from .blind_index import blind_index
from .keys import Keyring


class KeyDestroyed(Exception):
    """The owner's data key was destroyed: their data is gone for good."""


def init_app(app: Flask, keyring: Keyring) -> None:
    app.extensions["recours_keyring"] = keyring


def current_keyring() -> Keyring:
    return current_app.extensions["recours_keyring"]


def set_current_keyring(keyring: Keyring) -> None:
    current_app.extensions["recours_keyring"] = keyring


def compute_blind_index(name: str, normalised: str) -> str:
    return blind_index(current_keyring().blind_index_key, name, normalised)


def hash_token(token: str) -> str:
    """What is stored of a bearer token (session, invitation, draft, resume link): its SHA-256.

    The tokens are 256 random bits, so a plain hash is enough, and a copy of
    the database yields nothing usable. Non-ASCII input (a forged cookie) is
    dropped rather than raising.
    """
    return hashlib.sha256(token.encode("ascii", "ignore")).hexdigest()
