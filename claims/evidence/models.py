"""Evidence: files a claimant uploads, stored encrypted in the vault.

As in Indico's ``StoredFileMixin``, the row holds what is known of the file
(type, size, hash, storage key) and the bytes live in a storage backend. The
original filename is data, never a path, and is encrypted like any personal
value. Each stored file has its own key, wrapped by the claimant's data key.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..crypto.fields import JSON, Encrypted, PersonalData
from ..extensions import db
from ..types import UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from ..claimants.models import Claim


class EvidenceKind(enum.StrEnum):
    BREACH_NOTIFICATION = "breach_notification"
    PHISHING_MESSAGE = "phishing_message"
    PROOF_OF_IDENTITY = "proof_of_identity"
    TEST_RECEIPT = "test_receipt"
    PROOF_OF_LOSS = "proof_of_loss"
    OTHER = "other"


class EvidenceStatus(enum.StrEnum):
    # Original stored; the sanitised derivative is not made yet.
    PENDING = "pending"
    CLEAN = "clean"
    # Stored and usable, with warnings for the reviewer (e.g. PDF with JavaScript).
    FLAGGED = "flagged"
    REJECTED = "rejected"


class Evidence(PersonalData, db.Model):
    __tablename__ = "evidence"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    kind: Mapped[EvidenceKind] = mapped_column(str_enum(EvidenceKind, "evidence_kind"))
    status: Mapped[EvidenceStatus] = mapped_column(
        str_enum(EvidenceStatus, "evidence_status"), default=EvidenceStatus.PENDING
    )
    original_filename_ct: Mapped[bytes | None] = mapped_column("original_filename", sa.LargeBinary)
    original_filename = Encrypted[str]("original_filename_ct")
    # Free-text details given by the claimant (title, date on the document...).
    details_ct: Mapped[bytes | None] = mapped_column("details", sa.LargeBinary)
    details = Encrypted[dict]("details_ct", JSON)

    # The original as uploaded: type detected from its content, not its name.
    detected_type: Mapped[str] = mapped_column(sa.String(80))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    storage_key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    wrapped_file_key: Mapped[bytes] = mapped_column(sa.LargeBinary)

    # The sanitised derivative (re-encoded JPEG, checked PDF), once made.
    derivative_type: Mapped[str | None] = mapped_column(sa.String(80))
    derivative_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    derivative_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    derivative_storage_key: Mapped[str | None] = mapped_column(sa.String(80), unique=True)
    derivative_wrapped_key: Mapped[bytes | None] = mapped_column(sa.LargeBinary)

    # Machine-readable warnings codes, e.g. ["pdf_javascript"]: never file content.
    warnings: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    claim: Mapped[Claim] = relationship(back_populates="evidence")

    def __repr__(self) -> str:
        return f"<Evidence {self.id}>"

    def field_key(self) -> bytes:
        return self.claim.field_key()
