"""Outgoing mail, kept encrypted until (and after) it is delivered."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..crypto.fields import JSON, Encrypted, PersonalData
from ..crypto.models import DataKey
from ..extensions import db
from ..types import UTCDateTime, str_enum, utcnow


class MailStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    # Gave up after MAIL_MAX_ATTEMPTS; an admin can see it and requeue.
    FAILED = "failed"


class OutboxMessage(PersonalData, db.Model):
    """One message. Its fields are encrypted under the recipient's data key
    (a claimant's, so that erasing the claimant erases their mail too)."""

    __tablename__ = "outbox_messages"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    data_key_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("data_keys.id"), index=True)
    # What the message is about, for the admin's list: a code, never content.
    purpose: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[MailStatus] = mapped_column(
        str_enum(MailStatus, "mail_status"), default=MailStatus.QUEUED, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    # An error class name (e.g. "SMTPRecipientsRefused"), never the server's text.
    last_error: Mapped[str | None] = mapped_column(sa.String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    recipient_ct: Mapped[bytes] = mapped_column("recipient", sa.LargeBinary)
    subject_ct: Mapped[bytes] = mapped_column("subject", sa.LargeBinary)
    body_ct: Mapped[bytes] = mapped_column("body", sa.LargeBinary)
    # [{"filename", "content_type", "data": base64}]
    attachments_ct: Mapped[bytes | None] = mapped_column("attachments", sa.LargeBinary)

    recipient = Encrypted[str]("recipient_ct")
    subject = Encrypted[str]("subject_ct")
    body = Encrypted[str]("body_ct")
    attachments = Encrypted[list]("attachments_ct", JSON)

    data_key: Mapped[DataKey] = relationship()

    def field_key(self) -> bytes:
        return self.data_key.plaintext()
