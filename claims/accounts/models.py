"""Staff accounts."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..crypto.fields import Encrypted, PersonalData
from ..crypto.models import DataKey
from ..extensions import db
from ..types import UTCDateTime, str_enum, utcnow


class Role(enum.StrEnum):
    PARALEGAL = "paralegal"
    LAWYER = "lawyer"
    ADMIN = "admin"


class UserState(enum.StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    DISABLED = "disabled"


class User(PersonalData, db.Model):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    # Staff work emails, lowercased; staff are not the people this app protects
    # from exposure, and sign-in needs an exact lookup.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    state: Mapped[UserState] = mapped_column(str_enum(UserState, "user_state"), default=UserState.INVITED)
    # argon2id; None until the invitation is accepted.
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    data_key_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("data_keys.id"), unique=True)
    totp_secret_ct: Mapped[bytes | None] = mapped_column("totp_secret", sa.LargeBinary)
    totp_secret = Encrypted[str]("totp_secret_ct")
    # The last TOTP time step accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    data_key: Mapped[DataKey] = relationship()

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("data_key", DataKey.generate())
        super().__init__(**kwargs)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"

    def field_key(self) -> bytes:
        return self.data_key.plaintext()
