"""The claimant portal: one-time sign-in links, portal sessions, email changes, data copies.

Every token is random and only its SHA-256 is stored (``crypto.hash_token``):
a copy of the database yields no usable link or session.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..crypto.fields import Encrypted, PersonalData
from ..extensions import db
from ..types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from ..claimants.models import Claim


class PortalLink(db.Model):
    """A one-time sign-in link to one claim, sent by email (15 minutes, revocable)."""

    __tablename__ = "portal_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    claim: Mapped[Claim] = relationship()


class PortalSession(db.Model):
    """A claimant's signed-in session on one claim: short, server-side, ended at sign-out."""

    __tablename__ = "portal_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    claim: Mapped[Claim] = relationship()


class EmailChange(PersonalData, db.Model):
    """A new email address waiting for its confirmation link (encrypted under the claimant's key)."""

    __tablename__ = "email_changes"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    new_email_ct: Mapped[bytes | None] = mapped_column("new_email", sa.LargeBinary)
    new_email = Encrypted[str]("new_email_ct")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    claim: Mapped[Claim] = relationship()

    def field_key(self) -> bytes:
        return self.claim.claimant.field_key()


class DataCopy(db.Model):
    """A copy of everything held about a claimant (GDPR access and portability): a ZIP made by
    a job, stored encrypted in the vault under a file key wrapped by the claimant's data key,
    downloadable once."""

    __tablename__ = "data_copies"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    claim_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("jobs.id"))
    storage_key: Mapped[str | None] = mapped_column(sa.String(80), unique=True)
    wrapped_file_key: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    claim: Mapped[Claim] = relationship()
