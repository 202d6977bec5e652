"""Collective filings: a list of claims for one court, locked into a snapshot."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..cases.models import Procedure
from ..extensions import db
from ..types import UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from ..accounts.models import User
    from ..cases.models import Case
    from ..claimants.models import Claim


class FilingState(enum.StrEnum):
    DRAFT = "draft"
    LOCKED = "locked"
    EXPORTED = "exported"


class Filing(db.Model):
    __tablename__ = "filings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    court: Mapped[str] = mapped_column(sa.String(200))
    # Investigating judge or chamber.
    chamber: Mapped[str] = mapped_column(sa.String(200), default="")
    court_case_number: Mapped[str] = mapped_column(sa.String(80), default="")
    procedure: Mapped[Procedure] = mapped_column(str_enum(Procedure, "procedure"))
    counsel: Mapped[str] = mapped_column(sa.String(200))
    state: Mapped[FilingState] = mapped_column(
        str_enum(FilingState, "filing_state"), default=FilingState.DRAFT, index=True
    )
    created_by_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Frozen at lock: member order, exhibit numbering and every file's SHA-256
    # (ids and hashes only, no personal values), and the hash of that snapshot.
    lock_snapshot: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    snapshot_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    filed_on: Mapped[date | None]

    case: Mapped[Case] = relationship()
    created_by: Mapped[User] = relationship()
    members: Mapped[list[FilingMember]] = relationship(
        back_populates="filing", order_by="FilingMember.position", cascade="all, delete-orphan"
    )


class FilingMember(db.Model):
    """A claim in a filing, at a position (civil party number)."""

    __tablename__ = "filing_members"
    __table_args__ = (
        sa.UniqueConstraint("filing_id", "claim_id"),
        sa.UniqueConstraint("filing_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_id: Mapped[int] = mapped_column(sa.ForeignKey("filings.id"), index=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    position: Mapped[int]
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    filing: Mapped[Filing] = relationship(back_populates="members")
    claim: Mapped[Claim] = relationship()
