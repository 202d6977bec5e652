"""Data keys: one random AES-256 key per person, stored wrapped by a master key."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..types import UTCDateTime, utcnow
from . import KeyDestroyed, current_keyring
from .envelope import decrypt, encrypt, new_key
from .keys import Keyring


class DataKey(db.Model):
    __tablename__ = "data_keys"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    # Which master key wraps it; None once destroyed.
    master_key_id: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<DataKey {self.id} master={self.master_key_id}>"

    @classmethod
    def generate(cls) -> DataKey:
        data_key = cls(id=uuid.uuid4())
        data_key._wrap(new_key(), current_keyring())
        return data_key

    def _aad(self, master_key_id: str) -> bytes:
        return b"recours:data-key:" + self.id.bytes + b":" + master_key_id.encode("ascii")

    def _wrap(self, plaintext: bytes, keyring: Keyring) -> None:
        key_id = keyring.current_master_key_id
        self.wrapped_key = encrypt(keyring.current_master_key, plaintext, self._aad(key_id))
        self.master_key_id = key_id
        self.__dict__["_plaintext_cache"] = (self.wrapped_key, plaintext)

    @property
    def destroyed(self) -> bool:
        return self.wrapped_key is None

    def plaintext(self) -> bytes:
        """The unwrapped key; raises KeyDestroyed once shredded."""
        if self.wrapped_key is None or self.master_key_id is None:
            raise KeyDestroyed(f"data key {self.id} was destroyed")
        cached = self.__dict__.get("_plaintext_cache")
        if cached is not None and cached[0] == self.wrapped_key:
            return cached[1]
        keyring = current_keyring()
        plaintext = decrypt(
            keyring.master_key(self.master_key_id), self.wrapped_key, self._aad(self.master_key_id)
        )
        self.__dict__["_plaintext_cache"] = (self.wrapped_key, plaintext)
        return plaintext

    def rewrap(self, keyring: Keyring) -> bool:
        """Wrap under the keyring's current master key; False if already so or destroyed."""
        if self.destroyed or self.master_key_id == keyring.current_master_key_id:
            return False
        plaintext = decrypt(
            keyring.master_key(self.master_key_id), self.wrapped_key, self._aad(self.master_key_id)
        )
        self._wrap(plaintext, keyring)
        return True

    def destroy(self) -> None:
        """Crypto-shredding: the key is gone, and with it every value it protected."""
        self.wrapped_key = None
        self.master_key_id = None
        self.destroyed_at = utcnow()
        self.__dict__.pop("_plaintext_cache", None)
