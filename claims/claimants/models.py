"""Claimants (people) and their claims (participation in one case).

Every personal value is an ``Encrypted`` attribute over a ciphertext column,
under the claimant's own data key; the blind-index columns allow exact search
and duplicate detection without decrypting anything.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..crypto import compute_blind_index
from ..crypto.blind_index import (
    normalise_address,
    normalise_email,
    normalise_identity,
    normalise_nir,
    normalise_phone,
)
from ..crypto.fields import DATE, JSON, Encrypted, PersonalData
from ..crypto.models import DataKey
from ..extensions import db
from ..types import UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from ..accounts.models import User
    from ..cases.models import Case
    from ..evidence.models import Evidence

BLIND_INDEX = sa.String(64)


class Claimant(PersonalData, db.Model):
    __tablename__ = "claimants"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    data_key_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("data_keys.id"), unique=True)
    # Interface and correspondence language; not personal.
    language: Mapped[str] = mapped_column(sa.String(5), default="fr")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the data key is destroyed (withdrawal, retention).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    civility_ct: Mapped[bytes | None] = mapped_column("civility", sa.LargeBinary)
    first_name_ct: Mapped[bytes | None] = mapped_column("first_name", sa.LargeBinary)
    last_name_ct: Mapped[bytes | None] = mapped_column("last_name", sa.LargeBinary)
    birth_date_ct: Mapped[bytes | None] = mapped_column("birth_date", sa.LargeBinary)
    birth_place_ct: Mapped[bytes | None] = mapped_column("birth_place", sa.LargeBinary)
    nir_ct: Mapped[bytes | None] = mapped_column("nir", sa.LargeBinary)
    address_line1_ct: Mapped[bytes | None] = mapped_column("address_line1", sa.LargeBinary)
    address_line2_ct: Mapped[bytes | None] = mapped_column("address_line2", sa.LargeBinary)
    postal_code_ct: Mapped[bytes | None] = mapped_column("postal_code", sa.LargeBinary)
    city_ct: Mapped[bytes | None] = mapped_column("city", sa.LargeBinary)
    country_ct: Mapped[bytes | None] = mapped_column("country", sa.LargeBinary)
    email_ct: Mapped[bytes | None] = mapped_column("email", sa.LargeBinary)
    phone_ct: Mapped[bytes | None] = mapped_column("phone", sa.LargeBinary)

    email_bidx: Mapped[str | None] = mapped_column(BLIND_INDEX, index=True)
    phone_bidx: Mapped[str | None] = mapped_column(BLIND_INDEX, index=True)
    nir_bidx: Mapped[str | None] = mapped_column(BLIND_INDEX, index=True)
    identity_bidx: Mapped[str | None] = mapped_column(BLIND_INDEX, index=True)
    address_bidx: Mapped[str | None] = mapped_column(BLIND_INDEX, index=True)

    civility = Encrypted[str]("civility_ct")
    first_name = Encrypted[str]("first_name_ct")
    last_name = Encrypted[str]("last_name_ct")
    birth_date = Encrypted[date]("birth_date_ct", DATE)
    birth_place = Encrypted[str]("birth_place_ct")
    nir = Encrypted[str]("nir_ct")
    address_line1 = Encrypted[str]("address_line1_ct")
    address_line2 = Encrypted[str]("address_line2_ct")
    postal_code = Encrypted[str]("postal_code_ct")
    city = Encrypted[str]("city_ct")
    country = Encrypted[str]("country_ct")
    email = Encrypted[str]("email_ct")
    phone = Encrypted[str]("phone_ct")

    data_key: Mapped[DataKey] = relationship()
    claims: Mapped[list[Claim]] = relationship(back_populates="claimant")

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("data_key", DataKey.generate())
        super().__init__(**kwargs)

    def __repr__(self) -> str:
        return f"<Claimant {self.id}>"

    def field_key(self) -> bytes:
        return self.data_key.plaintext()

    @property
    def full_name(self) -> str:
        return f"{self.first_name or ''} {self.last_name or ''}".strip()

    def personal_field_changed(self, name: str) -> None:
        """Keep the blind indexes in step with the encrypted values."""
        if name == "email":
            self.email_bidx = _index("email", self.email, normalise_email)
        elif name == "phone":
            self.phone_bidx = _index("phone", self.phone, normalise_phone)
        elif name == "nir":
            self.nir_bidx = _index("nir", self.nir, normalise_nir)
        elif name in ("last_name", "birth_date"):
            last_name, birth_date = self.last_name, self.birth_date
            self.identity_bidx = (
                compute_blind_index("identity", normalise_identity(last_name, birth_date))
                if last_name and birth_date
                else None
            )
        elif name in ("address_line1", "postal_code"):
            line, postal_code = self.address_line1, self.postal_code
            self.address_bidx = (
                compute_blind_index("address", normalise_address(line, postal_code))
                if line and postal_code
                else None
            )


def _index(name: str, value: str | None, normalise: Any) -> str | None:
    return compute_blind_index(name, normalise(value)) if value else None


class ClaimStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    NEEDS_INFO = "needs_info"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_FILING = "in_filing"
    FILED = "filed"
    WITHDRAWN = "withdrawn"


class Claim(PersonalData, db.Model):
    __tablename__ = "claims"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    claimant_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("claimants.id"), index=True)
    status: Mapped[ClaimStatus] = mapped_column(
        str_enum(ClaimStatus, "claim_status"), default=ClaimStatus.DRAFT
    )
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # Set when rejected as a duplicate: links the claims, merges nothing.
    duplicate_of_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    # A retried or double-clicked submission carries the same token: one claim.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # The draft belongs to whoever holds this token (its SHA-256 here, the
    # token in the claimant's cookie or in a one-time resume link).
    draft_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # Steps of the intake form completed so far, in order.
    completed_steps: Mapped[list[str]] = mapped_column(sa.JSON, default=list)

    eligibility_answers_ct: Mapped[bytes | None] = mapped_column("eligibility_answers", sa.LargeBinary)
    statement_ct: Mapped[bytes | None] = mapped_column("statement", sa.LargeBinary)
    # Details of the optional fields the case collects (e.g. the COVID test).
    extra_ct: Mapped[bytes | None] = mapped_column("extra", sa.LargeBinary)
    signature_name_ct: Mapped[bytes | None] = mapped_column("signature_name", sa.LargeBinary)
    consent_ip_ct: Mapped[bytes | None] = mapped_column("consent_ip", sa.LargeBinary)

    eligibility_answers = Encrypted[dict]("eligibility_answers_ct", JSON)
    statement = Encrypted[str]("statement_ct")
    extra = Encrypted[dict]("extra_ct", JSON)
    signature_name = Encrypted[str]("signature_name_ct")
    consent_ip = Encrypted[str]("consent_ip_ct")

    privacy_notice_version: Mapped[int | None]
    mandate_version: Mapped[int | None]
    fee_agreement_version: Mapped[int | None]
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    civil_party_will: Mapped[bool] = mapped_column(default=False)
    legal_aid: Mapped[bool] = mapped_column(default=False)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Fraud signals: a keyed hash of the source IP and day (never the IP in clear),
    # the honeypot field, and how long the form took.
    source_ip_day_bidx: Mapped[str | None] = mapped_column(BLIND_INDEX, index=True)
    honeypot_filled: Mapped[bool] = mapped_column(default=False)
    form_seconds: Mapped[int | None]

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Set on submission, and only then: the queue (every claim but drafts) is the range
    # "submitted_at is not null" of an index in its own order (see the constraint below).
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the claim was rejected or withdrawn: retention counts from there.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Optimistic locking: two reviewers cannot overwrite each other's decision.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    # The review queue pages by (submitted_at, id), newest first: one index per combination of
    # the equality filters (none, case, status, both) followed by that order, so a page reads
    # its rows in order and stops after one page (the first, the last or any other).
    __table_args__ = (
        sa.Index("ix_claims_submitted_id", "submitted_at", "id"),
        sa.Index("ix_claims_case_submitted", "case_id", "submitted_at", "id"),
        sa.Index("ix_claims_status_submitted", "status", "submitted_at", "id"),
        sa.Index("ix_claims_queue", "case_id", "status", "submitted_at", "id"),
        sa.CheckConstraint(
            "(status = 'draft' AND submitted_at IS NULL) OR (status <> 'draft' AND submitted_at IS NOT NULL)",
            name="submitted_iff_not_draft",
        ),
    )

    claimant: Mapped[Claimant] = relationship(back_populates="claims")
    case: Mapped[Case] = relationship()
    assignee: Mapped[User | None] = relationship()
    harms: Mapped[list[ClaimHarm]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="ClaimHarm.head"
    )
    evidence: Mapped[list[Evidence]] = relationship(back_populates="claim", order_by="Evidence.created_at")

    def __repr__(self) -> str:
        return f"<Claim {self.reference}>"

    def field_key(self) -> bytes:
        return self.claimant.field_key()

    @property
    def total_claimed(self) -> Decimal:
        return sum((h.amount for h in self.harms), Decimal("0.00"))


class ClaimHarm(db.Model):
    """One head of damage claimed, with its precise amount (euros)."""

    __tablename__ = "claim_harms"
    __table_args__ = (
        sa.UniqueConstraint("claim_id", "head"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    head: Mapped[str] = mapped_column(sa.String(40))
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2))

    claim: Mapped[Claim] = relationship(back_populates="harms")


class ResumeLink(db.Model):
    """A one-time link back to a draft, sent by email (only its hash is stored)."""

    __tablename__ = "resume_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    claim: Mapped[Claim] = relationship()
