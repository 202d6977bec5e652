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
    # Deferred: it grows with the parties, and most uses of a filing (each bundle job among
    # them) do not read it.
    lock_snapshot: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, deferred=True)
    snapshot_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    filed_on: Mapped[date | None]
    # The export being made (bundles fanned out, then the pack) and its generation number.
    export_job_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("jobs.id"))
    export_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # The key of the pack's files (they hold every civil party's data).
    pack_data_key_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("data_keys.id"))

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


class ExportKind(enum.StrEnum):
    BUNDLE = "bundle"  # one claimant's bundle
    PACK_PDF = "pack_pdf"  # the whole filing as one PDF
    PACK_ZIP = "pack_zip"  # the bundles, one PDF per claimant
    PACK_CSV = "pack_csv"  # the list of civil parties


class FilingExport(db.Model):
    """A generated file of a locked filing, stored encrypted in the vault.

    A bundle's file key is wrapped by its claimant's data key (a withdrawal shreds it with
    the rest); the pack's files hold every claimant's data and get a data key of their own.
    """

    __tablename__ = "filing_exports"
    __table_args__ = (sa.UniqueConstraint("filing_id", "kind", "claim_id", "generation"),)

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    filing_id: Mapped[int] = mapped_column(sa.ForeignKey("filings.id"), index=True)
    # Each export run of the filing is a generation; the newest complete one is offered.
    generation: Mapped[int]
    kind: Mapped[ExportKind] = mapped_column(str_enum(ExportKind, "export_kind"))
    claim_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    data_key_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("data_keys.id"))
    storage_key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    wrapped_file_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    pages: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    filing: Mapped[Filing] = relationship()
