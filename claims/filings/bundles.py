"""From a claim (and its filing, if any) to the data of its bundle (``documents.bundle``).

The document functions never touch the database or the vault: this module reads
the claim, decrypts what the bundle shows, and gives each exhibit a reader of
its sanitised derivative. In a locked filing, the civil party's number and the
exhibits (their numbers and which files) come from the lock snapshot, so the
bundle shows what was frozen.
"""

from __future__ import annotations

import uuid
from typing import Any, BinaryIO

import sqlalchemy as sa

from ..claimants.models import Claim
from ..documents.bundle import BundleData, Exhibit, HeadAmount, build_bundle
from ..evidence.models import Evidence
from ..evidence.operations import open_derivative
from ..extensions import db
from ..intake.forms import EVIDENCE_LABELS
from ..intake.operations import texts_accepted
from .models import Filing, FilingMember
from .operations import exhibits_of


class BundleError(Exception):
    """The claim cannot give a bundle; ``code``: "erased" (its data was erased)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def filing_of(claim: Claim) -> Filing | None:
    """The filing the claim is in (the newest, if it was in several over time)."""
    return db.session.execute(
        sa.select(Filing)
        .join(FilingMember)
        .where(FilingMember.claim_id == claim.id)
        .order_by(Filing.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def as_exhibit(number: int, evidence: Evidence) -> Exhibit:
    """A stored piece as exhibit ``number`` of a bundle, titled and dated as its bordereau shows it."""
    kind = str(EVIDENCE_LABELS[evidence.kind])
    return Exhibit(
        number=number,
        title=f"{kind} ({evidence.original_filename})" if evidence.original_filename else kind,
        date=evidence.created_at.date(),
        sha256=evidence.sha256,
        media_type=evidence.derivative_type or "application/octet-stream",
        read=lambda: b"".join(open_derivative(evidence)),
    )


def _numbered_exhibits(
    claim: Claim, filing: Filing | None, party: dict[str, Any] | None
) -> tuple[int, list[Exhibit]]:
    """(civil party number, exhibits) from the lock snapshot when there is one, else as they stand."""
    if party is None and filing is not None and filing.lock_snapshot:
        party = next((p for p in filing.lock_snapshot["parties"] if p["claim"] == str(claim.id)), None)
    if party is not None:
        exhibits = [
            as_exhibit(item["number"], db.session.get_one(Evidence, uuid.UUID(item["evidence"])))
            for item in party["exhibits"]
        ]
        return party["party"], exhibits
    member = next((m for m in filing.members if m.claim_id == claim.id), None) if filing else None
    number = member.position if member else 0
    return number, [as_exhibit(n, e) for n, e in enumerate(exhibits_of(claim), start=1)]


def bundle_data(
    claim: Claim, filing: Filing | None = None, party: dict[str, Any] | None = None
) -> BundleData:
    """``party``: the claim's entry of the lock snapshot, when the caller has it already."""
    if claim.claimant.erased_at is not None or claim.claimant.data_key.destroyed:
        raise BundleError("erased")
    filing = filing or filing_of(claim)
    case = claim.case
    person = claim.claimant
    labels = {h["code"]: h["label_fr"] for h in case.heads_of_damage}
    party_number, exhibits = _numbered_exhibits(claim, filing, party)
    address = [
        line
        for line in (
            person.address_line1,
            person.address_line2,
            f"{person.postal_code or ''} {person.city or ''}".strip(),
            person.country,
        )
        if line
    ]
    return BundleData(
        case_title=case.title,
        court=filing.court if filing else case.court,
        chamber=filing.chamber if filing else "",
        court_case_number=filing.court_case_number if filing else "",
        procedure=(filing.procedure if filing else case.procedure).value,
        counsel=filing.counsel if filing else "",
        reference=claim.reference,
        party_number=party_number,
        civility=person.civility or "",
        first_name=person.first_name or "",
        last_name=person.last_name or "",
        birth_date=person.birth_date,
        birth_place=person.birth_place or "",
        address_lines=address,
        statement=claim.statement or "",
        heads=[HeadAmount(labels.get(h.head, h.head), h.amount) for h in claim.harms],
        exhibits=exhibits,
        signature_name=claim.signature_name or "",
        signed_at=claim.signed_at,
        accepted_texts=[(text.title, text.version) for text in texts_accepted(claim).values()],
        legal_aid=claim.legal_aid,
    )


def write_bundle(
    claim: Claim, out: BinaryIO, filing: Filing | None = None, party: dict[str, Any] | None = None
) -> int:
    """The claimant's bundle as a PDF into ``out``; returns its page count."""
    return build_bundle(bundle_data(claim, filing, party), out)
