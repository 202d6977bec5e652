"""Encrypted personal fields.

A model declares the ciphertext column and an ``Encrypted`` attribute over
it::

    email_ct: Mapped[bytes | None] = mapped_column("email", sa.LargeBinary)
    email = Encrypted("email_ct")

Reading ``obj.email`` decrypts with the owner's data key; writing encrypts.
The associated data binds each value to its table, attribute and row id, so a
ciphertext pasted into another row or column does not decrypt.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from ..extensions import db
from .envelope import decrypt, encrypt

T = TypeVar("T")


@dataclass(frozen=True)
class Codec(Generic[T]):
    encode: Callable[[T], bytes]
    decode: Callable[[bytes], T]


TEXT: Codec[str] = Codec(lambda v: v.encode("utf-8"), lambda b: b.decode("utf-8"))
DATE: Codec[date] = Codec(lambda v: v.isoformat().encode("ascii"), lambda b: date.fromisoformat(b.decode()))
JSON: Codec[Any] = Codec(
    lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(),
    lambda b: json.loads(b),
)


class Encrypted(Generic[T]):
    def __init__(self, column: str, codec: Codec[T] = TEXT) -> None:  # type: ignore[assignment]
        self.column = column
        self.codec = codec
        self.name = column

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def aad(self, obj: Any) -> bytes:
        return f"recours:field:{obj.__tablename__}.{self.name}:{obj.id}".encode()

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        blob = getattr(obj, self.column)
        if blob is None:
            return None
        return self.codec.decode(decrypt(obj.field_key(), blob, self.aad(obj)))

    def __set__(self, obj: Any, value: T | None) -> None:
        if value is None:
            setattr(obj, self.column, None)
        else:
            setattr(obj, self.column, encrypt(obj.field_key(), self.codec.encode(value), self.aad(obj)))
        changed = getattr(obj, "personal_field_changed", None)
        if changed is not None:
            changed(self.name)


class PersonalData:
    """Mixin for models with ``Encrypted`` attributes.

    The row id (UUID) is set at construction, before any field is encrypted,
    since it is part of the associated data; encrypted keyword arguments are
    applied after the others, so the owner (and its data key) is known first.
    Subclasses define ``field_key()``.
    """

    id: Any

    def __init__(self, **kwargs: Any) -> None:
        cls = type(self)
        encrypted = {k: kwargs.pop(k) for k in list(kwargs) if isinstance(getattr(cls, k, None), Encrypted)}
        kwargs.setdefault("id", uuid.uuid4())
        super().__init__(**kwargs)
        # Reaching the owner's data key may load it; the new object is not in
        # the session yet, so an autoflush at that moment would be premature.
        with db.session.no_autoflush:
            for name, value in encrypted.items():
                setattr(self, name, value)

    def field_key(self) -> bytes:
        raise NotImplementedError
