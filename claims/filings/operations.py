"""Collective filings: build the list of civil parties, lock it into a snapshot, record the filing.

A filing is a draft while the lawyer adds and removes accepted claims; locking
freezes the order of the civil parties, every claimant's exhibit numbering and
every file's SHA-256 in ``lock_snapshot`` (ids, numbers and hashes only: no
personal value), with the SHA-256 of that snapshot. A locked filing cannot
change; ``verify_filing`` re-reads the stored files against it. Claims move
accepted → in_filing when added (back when removed), in_filing → filed when
the lawyer records the filing date. Operations flush, never commit.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..audit.operations import record_event
from ..cases.models import Case, Procedure
from ..claimants.models import Claim, ClaimStatus
from ..crypto import KeyDestroyed
from ..crypto.envelope import DecryptionError
from ..crypto.stream import StreamIntegrityError
from ..evidence.models import Evidence, EvidenceStatus
from ..evidence.operations import open_derivative, open_evidence
from ..extensions import db
from ..review.operations import change_status
from ..types import utcnow
from ..vault.storage import StorageError
from .models import Filing, FilingMember, FilingState

if TYPE_CHECKING:
    from ..accounts.models import User

# Pieces that go into a bundle: usable derivatives (a flagged PDF had its active content removed).
BUNDLED_EVIDENCE = (EvidenceStatus.CLEAN, EvidenceStatus.FLAGGED)


class FilingError(Exception):
    """An operation the filing's state does not allow; ``code`` says which."""

    def __init__(self, code: str, references: Iterable[str] = ()) -> None:
        super().__init__(code)
        self.code = code
        self.references = list(references)


def _audit(action: str, filing: Filing, actor: User, **details: Any) -> None:
    record_event(
        action,
        actor_type="staff",
        actor_id=actor.id,
        object_type="filing",
        object_id=filing.id,
        details=details or None,
    )


def create_filing(
    case: Case,
    *,
    court: str,
    chamber: str,
    court_case_number: str,
    procedure: Procedure,
    counsel: str,
    actor: User,
) -> Filing:
    filing = Filing(
        case=case,
        court=court.strip(),
        chamber=chamber.strip(),
        court_case_number=court_case_number.strip(),
        procedure=procedure,
        counsel=counsel.strip(),
        created_by=actor,
    )
    db.session.add(filing)
    db.session.flush()
    _audit("filing.created", filing, actor, case=case.id, procedure=procedure.value)
    return filing


def _require_draft(filing: Filing) -> None:
    if filing.state != FilingState.DRAFT:
        raise FilingError("locked")


def add_claims(filing: Filing, claims: Iterable[Claim], *, actor: User) -> int:
    """Add accepted claims of the filing's case (others are skipped); returns how many were added."""
    _require_draft(filing)
    position = max((m.position for m in filing.members), default=0)
    added = 0
    for claim in claims:
        if claim.case_id != filing.case_id or claim.status != ClaimStatus.ACCEPTED:
            continue
        change_status(claim, ClaimStatus.IN_FILING, actor=actor, action="added_to_filing")
        position += 1
        filing.members.append(FilingMember(claim=claim, position=position))
        added += 1
    db.session.flush()
    if added:
        _audit("filing.claims_added", filing, actor, count=added)
    return added


def accepted_not_in_filing(case_id: int) -> sa.Select[tuple[Claim]]:
    """The rule "every accepted claim of the case not yet in a filing" (accepted means not in one)."""
    return (
        sa.select(Claim)
        .where(Claim.case_id == case_id, Claim.status == ClaimStatus.ACCEPTED)
        .order_by(Claim.submitted_at, Claim.id)
    )


def add_by_rule(filing: Filing, *, actor: User, among: sa.Select[tuple[Claim]] | None = None) -> int:
    """Add every accepted claim of the case not yet in a filing, optionally only those ``among``
    selects (a saved queue filter: ``claims.review.queue.filtered``)."""
    query = accepted_not_in_filing(filing.case_id)
    if among is not None:
        query = query.where(Claim.id.in_(among.with_only_columns(Claim.id).order_by(None)))
    return add_claims(filing, db.session.execute(query).scalars(), actor=actor)


def remove_claim(filing: Filing, claim: Claim, *, actor: User) -> None:
    _require_draft(filing)
    member = next((m for m in filing.members if m.claim_id == claim.id), None)
    if member is None:
        raise FilingError("not_a_member")
    filing.members.remove(member)
    if claim.status == ClaimStatus.IN_FILING:
        change_status(claim, ClaimStatus.ACCEPTED, actor=actor, action="removed_from_filing")
    db.session.flush()
    _audit("filing.claim_removed", filing, actor, claim=str(claim.id))


def exhibits_of(claim: Claim) -> list[Evidence]:
    """A claimant's exhibits in their numbering order: usable pieces, oldest first."""
    return sorted(
        (e for e in claim.evidence if e.status in BUNDLED_EVIDENCE),
        key=lambda e: (e.created_at, str(e.id)),
    )


def snapshot_hash(snapshot: dict[str, Any]) -> str:
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def lock_filing(filing: Filing, *, actor: User) -> None:
    """Freeze the list, each claimant's exhibit numbering and every file's SHA-256.

    Refused (FilingError with the references concerned) while a member is no longer in
    filing, or has a piece whose sanitised copy is not made yet.
    """
    _require_draft(filing)
    if not filing.members:
        raise FilingError("empty")
    members = sorted(filing.members, key=lambda m: m.position)
    not_in_filing = [m.claim.reference for m in members if m.claim.status != ClaimStatus.IN_FILING]
    if not_in_filing:
        raise FilingError("member_not_in_filing", not_in_filing)
    pending = [
        m.claim.reference
        for m in members
        if any(e.status == EvidenceStatus.PENDING for e in m.claim.evidence)
    ]
    if pending:
        raise FilingError("evidence_pending", pending)
    parties = []
    for number, member in enumerate(members, start=1):
        member.position = number  # civil parties numbered 1..n without gaps, from now on frozen
        parties.append(
            {
                "party": number,
                "claim": str(member.claim_id),
                "reference": member.claim.reference,
                "exhibits": [
                    {
                        "number": n,
                        "evidence": str(e.id),
                        "sha256": e.sha256,
                        "derivative_sha256": e.derivative_sha256,
                    }
                    for n, e in enumerate(exhibits_of(member.claim), start=1)
                ],
            }
        )
    snapshot = {"filing": filing.id, "case": filing.case_id, "parties": parties}
    filing.lock_snapshot = snapshot
    filing.snapshot_sha256 = snapshot_hash(snapshot)
    filing.state = FilingState.LOCKED
    filing.locked_at = utcnow()
    db.session.flush()
    _audit("filing.locked", filing, actor, parties=len(parties), snapshot=filing.snapshot_sha256)


def record_filed(filing: Filing, filed_on: date, *, actor: User) -> int:
    """The lawyer filed it with the court on ``filed_on``: its claims become filed."""
    if filing.state == FilingState.DRAFT:
        raise FilingError("not_locked")
    if filing.filed_on is not None:
        raise FilingError("already_filed")
    if filed_on > date.today():
        raise FilingError("future_date")
    filing.filed_on = filed_on
    filed = 0
    for member in filing.members:
        if member.claim.status == ClaimStatus.IN_FILING:
            change_status(member.claim, ClaimStatus.FILED, actor=actor, action="filed")
            filed += 1
    db.session.flush()
    _audit("filing.filed", filing, actor, filed_on=filed_on.isoformat(), claims=filed)
    return filed


@dataclass(frozen=True)
class Mismatch:
    party: int
    reference: str
    exhibit: int
    what: str  # "original", "derivative", "missing", "unreadable"


def verify_filing(filing: Filing) -> tuple[int, list[Mismatch]]:
    """Re-read every stored file of a locked filing against its snapshot.

    Returns (files checked, mismatches). The vault checks each chunk's integrity as well:
    a tampered file is "unreadable"; a changed hash means the file is not the one locked.
    """
    if filing.lock_snapshot is None:
        raise FilingError("not_locked")
    if snapshot_hash(filing.lock_snapshot) != filing.snapshot_sha256:
        raise FilingError("snapshot_altered")
    checked, mismatches = 0, []
    for party in filing.lock_snapshot["parties"]:
        for exhibit in party["exhibits"]:
            evidence = db.session.get(Evidence, uuid.UUID(exhibit["evidence"]))

            def mismatch(what: str, party: dict = party, exhibit: dict = exhibit) -> Mismatch:
                return Mismatch(party["party"], party["reference"], exhibit["number"], what)

            if evidence is None:
                mismatches.append(mismatch("missing"))
                continue
            for what, opener, expected in (
                ("original", open_evidence, exhibit["sha256"]),
                ("derivative", open_derivative, exhibit["derivative_sha256"]),
            ):
                checked += 1
                digest = hashlib.sha256()
                try:
                    for chunk in opener(evidence):
                        digest.update(chunk)
                except (StreamIntegrityError, DecryptionError, StorageError, KeyDestroyed, LookupError):
                    mismatches.append(mismatch("unreadable"))  # tampered, truncated, missing, shredded
                    continue
                if digest.hexdigest() != expected:
                    mismatches.append(mismatch(what))
    return checked, mismatches


def tell_lawyers_of_change(claim: Claim, what: str) -> list[Any]:
    """A claim of a locked (or exported) filing changed (the claimant's contact details): mail
    the filing's author, so the lawyer decides whether to generate its documents again.
    Flush; returns the mail jobs to dispatch after the commit. The reference only, never the
    person's name or the new values."""
    from ..accounts.models import UserState
    from ..mail.operations import delivery_job, queue_mail

    jobs = []
    filings = db.session.execute(
        sa.select(Filing)
        .join(FilingMember)
        .where(
            FilingMember.claim_id == claim.id, Filing.state != FilingState.DRAFT, Filing.filed_on.is_(None)
        )
    ).scalars()
    for filing in filings:
        author = filing.created_by
        record_event(
            "filing.member_changed",
            object_type="filing",
            object_id=filing.id,
            details={"claim": str(claim.id), "what": what},
        )
        if author is None or author.state == UserState.DISABLED:
            continue
        body = (
            f"Bonjour,\n\nLa personne de la demande {claim.reference}, dans le dépôt n° {filing.id} "
            f"({filing.court}), déjà verrouillé, vient de modifier ses coordonnées ({what}) depuis son "
            "espace. Les actes déjà générés montrent les anciennes : générez de nouveau les documents du "
            "dépôt avant de le déposer.\n"
        )
        message = queue_mail(
            author.email,
            f"Demande {claim.reference} modifiée — dépôt n° {filing.id}",
            body,
            data_key=author.data_key,
            purpose="filing_member_changed",
        )
        jobs.append(delivery_job(message))
    return jobs
