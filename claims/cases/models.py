"""Cases (one collective action each) and the versioned texts claimants accept."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..types import UTCDateTime, str_enum, utcnow


class CaseStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class Procedure(enum.StrEnum):
    """The procedures of DESIGN.md; their legal wording lives in templates."""

    JOIN_INVESTIGATION = "join_investigation"
    COMPLAINT_CIVIL_PARTY = "complaint_civil_party"
    JOIN_AT_TRIAL = "join_at_trial"


class TextKind(enum.StrEnum):
    PRIVACY_NOTICE = "privacy_notice"
    MANDATE = "mandate"
    FEE_AGREEMENT = "fee_agreement"


# Personal fields a case may collect beyond identity and contact; off unless set.
OPTIONAL_FIELDS = ("nir", "covid_test")


class Case(db.Model):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True)
    # Prefix of claim references, e.g. "APHP" in APHP-7KQ2-M9XD.
    reference_prefix: Mapped[str] = mapped_column(sa.String(8))
    title: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    data_controller: Mapped[str] = mapped_column(sa.String(200))
    breach_started_on: Mapped[date | None]
    breach_discovered_on: Mapped[date | None]
    eligibility_start: Mapped[date | None]
    eligibility_end: Mapped[date | None]
    # [{"code", "text_fr", "text_en", "expected": bool}]: a claimant whose
    # answer differs from "expected" is not eligible.
    eligibility_questions: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    # [{"code", "label_fr", "label_en", "suggested_amount": "1500.00"}]
    heads_of_damage: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    optional_fields: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    join_deadline: Mapped[date | None]
    court: Mapped[str] = mapped_column(sa.String(200), default="")
    jurisdiction: Mapped[str] = mapped_column(sa.String(200), default="")
    procedure: Mapped[Procedure] = mapped_column(str_enum(Procedure, "procedure"))
    fee_summary: Mapped[str] = mapped_column(sa.Text, default="")
    # Other languages of the texts above: {"en": {"title": ..., "summary": ...,
    # "description": ..., "fee_summary": ...}}; French, the columns, is the reference.
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[CaseStatus] = mapped_column(
        str_enum(CaseStatus, "case_status"), default=CaseStatus.DRAFT, index=True
    )
    # Unfinished drafts are crypto-shredded after this many days.
    draft_retention_days: Mapped[int] = mapped_column(default=30)
    # Rejected claims are crypto-shredded this many days after the rejection (the time the
    # claimant has to contest it, plus a margin); withdrawn claims lose their data key at once
    # and their remaining rows and files after this many days.
    rejected_retention_days: Mapped[int] = mapped_column(default=180, server_default="180")
    withdrawn_retention_days: Mapped[int] = mapped_column(default=30, server_default="30")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    texts: Mapped[list[CaseText]] = relationship(back_populates="case", order_by="CaseText.version")

    def __repr__(self) -> str:
        return f"<Case {self.slug}>"

    def text(self, field: str, language: str) -> str:
        """A text of the case in ``language`` if it has one, else the French reference."""
        translated = (self.translations or {}).get(language, {}).get(field)
        return translated or getattr(self, field)

    def collects(self, field: str) -> bool:
        return field in self.optional_fields

    def suggested_amount(self, head: str) -> Decimal | None:
        for item in self.heads_of_damage:
            if item["code"] == head:
                return Decimal(item["suggested_amount"])
        return None


class CaseText(db.Model):
    """A version of a text the claimant accepts; versions are never edited, only added."""

    __tablename__ = "case_texts"
    __table_args__ = (sa.UniqueConstraint("case_id", "kind", "language", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    kind: Mapped[TextKind] = mapped_column(str_enum(TextKind, "text_kind"))
    language: Mapped[str] = mapped_column(sa.String(5))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="texts")
