"""The review trail of a claim: decisions, staff notes, information requests."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..claimants.models import ClaimStatus
from ..crypto.fields import Encrypted, PersonalData
from ..extensions import db
from ..types import UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from ..accounts.models import User
    from ..claimants.models import Claim


class ReviewEvent(PersonalData, db.Model):
    """A status change of a claim, by staff (actor) or the claimant/system (no actor)."""

    __tablename__ = "review_events"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(40))
    from_status: Mapped[ClaimStatus | None] = mapped_column(str_enum(ClaimStatus, "from_status"))
    to_status: Mapped[ClaimStatus] = mapped_column(str_enum(ClaimStatus, "to_status"))
    # A code from the list of reasons (rejections), plus free text, encrypted.
    reason_code: Mapped[str | None] = mapped_column(sa.String(40))
    reason_text_ct: Mapped[bytes | None] = mapped_column("reason_text", sa.LargeBinary)
    reason_text = Encrypted[str]("reason_text_ct")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    claim: Mapped[Claim] = relationship()
    actor: Mapped[User | None] = relationship()

    def field_key(self) -> bytes:
        return self.claim.field_key()


class Note(PersonalData, db.Model):
    """A note for staff only; it often quotes the claimant, so it is encrypted."""

    __tablename__ = "notes"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    author_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    body_ct: Mapped[bytes] = mapped_column("body", sa.LargeBinary)
    body = Encrypted[str]("body_ct")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    claim: Mapped[Claim] = relationship()
    author: Mapped[User] = relationship()

    def field_key(self) -> bytes:
        return self.claim.field_key()


class InfoRequestStatus(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CANCELLED = "cancelled"


class InfoRequest(PersonalData, db.Model):
    """A deficiency notice: what is missing, by when; the claimant answers in the portal."""

    __tablename__ = "info_requests"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    requested_by_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[InfoRequestStatus] = mapped_column(
        str_enum(InfoRequestStatus, "info_request_status"), default=InfoRequestStatus.OPEN, index=True
    )
    message_ct: Mapped[bytes] = mapped_column("message", sa.LargeBinary)
    message = Encrypted[str]("message_ct")
    response_ct: Mapped[bytes | None] = mapped_column("response", sa.LargeBinary)
    response = Encrypted[str]("response_ct")
    due_on: Mapped[date] = mapped_column(index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    claim: Mapped[Claim] = relationship()
    requested_by: Mapped[User] = relationship()

    def field_key(self) -> bytes:
        return self.claim.field_key()


# The queue's query-string arguments a saved filter keeps (those ``queue.filter_from_args`` reads),
# never the exact search term ``q``: an email, a NIR or a name and birth date, which would sit
# in clear in this table.
SAVED_FILTER_KEYS = ("case", "status", "assignee", "head", "warnings", "overdue", "from", "to", "order")


class SavedFilter(db.Model):
    """A queue filter kept under a name, for its owner or shared with every member of the queue."""

    __tablename__ = "saved_filters"
    __table_args__ = (sa.UniqueConstraint("owner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Typed by staff: untrusted text, escaped wherever it is shown, never written to the logs.
    name: Mapped[str] = mapped_column(sa.String(80))
    owner_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    shared: Mapped[bool] = mapped_column(default=False)
    # Query-string arguments, SAVED_FILTER_KEYS only; "assignee": "me" means whoever applies it.
    args: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship()

    @validates("args")
    def _only_filter_keys(self, _key: str, args: dict[str, str]) -> dict[str, str]:
        unknown = set(args) - set(SAVED_FILTER_KEYS)
        if unknown:
            raise ValueError(f"not a saved filter key: {sorted(unknown)}")
        return args
