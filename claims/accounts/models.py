"""Staff accounts."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
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


class User(UserMixin, PersonalData, db.Model):
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
    # Set once a code from the enrolled secret was verified; until then the
    # secret is pending and sign-in leads to enrolment.
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.state == UserState.ACTIVE

    @property
    def has_two_factor(self) -> bool:
        return self.totp_confirmed_at is not None


class SessionStage(enum.StrEnum):
    # Password accepted; the TOTP code is still to come.
    SECOND_FACTOR = "second_factor"
    # Password accepted (or just set from an invitation); 2FA must be enrolled.
    ENROL = "enrol"
    COMPLETE = "complete"


class StaffSession(db.Model):
    """A server-side staff session: revocable, with idle and absolute limits.

    The cookie holds a random token; only its SHA-256 is stored, so a copy of
    the database does not yield usable sessions.
    """

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    stage: Mapped[SessionStage] = mapped_column(str_enum(SessionStage, "session_stage"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Password and TOTP asked again, for sensitive actions.
    reauthenticated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remote_addr: Mapped[str | None] = mapped_column(sa.String(45))

    user: Mapped[User] = relationship()


class RecoveryCode(db.Model):
    """A single-use recovery code, stored as a SHA-256 (the codes are 60 random bits)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Invitation(db.Model):
    """A one-time invitation link (the token is only in the link; its hash is here)."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
