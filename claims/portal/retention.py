"""Retention: erasing a claim's personal data, and the daily purge (``flask retention purge``).

Erasing is crypto-shredding. The claimant's data key is destroyed, so every
copy of their fields and files becomes unreadable; the ciphertexts and blind
indexes in the live database are cleared as well. (A database backup taken
before the erasure still holds the wrapped key: it is readable with the master
key until that backup expires, so backups must not be kept longer than
needed, or the master key must be rotated and retired after the backup window.) What
stays is what the firm must be able to show: the claim's reference, case,
dates and status, its status history (without free text) and the audit log.

A claimant may have claims in several cases. Erasing one claim while another
is still live destroys no key: that claim's own rows are cleared and the
claim is moved to an erased stand-in claimant, so that nothing links it to
the person any more (no name on the console, no blind-index match).

``purge`` applies every case's keeping periods:

* unfinished drafts untouched for ``draft_retention_days``: deleted;
* rejected claims closed ``rejected_retention_days`` ago: erased, their files
  and leftover rows deleted;
* withdrawn claims: erased at once if something left them unerased, and
  ``withdrawn_retention_days`` after the withdrawal their files and leftover
  rows (revoked sign-in links, ended sessions, unreadable mail) are deleted.

It commits claim by claim: a crash loses nothing already done and the next
run carries on from there. Files are deleted before the commit that deletes
their rows, so a crash in between leaves rows that the next run finds again
(deleting a missing file is not an error).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..audit.operations import record_event
from ..cases.models import Case
from ..claimants.models import Claim, Claimant, ClaimHarm, ClaimStatus, ResumeLink
from ..crypto.fields import Encrypted
from ..crypto.models import DataKey
from ..crypto.operations import shred_data_key
from ..evidence.models import Evidence
from ..extensions import db
from ..filings.models import FilingMember
from ..mail.models import OutboxMessage
from ..review.models import InfoRequest, Note, ReviewEvent
from ..types import utcnow
from ..vault import current_vault
from .models import DataCopy, EmailChange, PortalLink, PortalSession

# Rows of a claim that hold nothing the firm must keep once it is erased.
_LEFTOVER_TABLES: tuple[Any, ...] = (
    Evidence,
    DataCopy,
    PortalLink,
    PortalSession,
    EmailChange,
    ResumeLink,
    Note,
    InfoRequest,
    ClaimHarm,
)


def _ciphertext_columns(model: type) -> list[str]:
    return [attr.column for attr in vars(model).values() if isinstance(attr, Encrypted)]


def _clear_personal_columns(obj: Any) -> None:
    """Set every ciphertext and blind-index column of ``obj`` to None.

    The columns are written directly: going through the ``Encrypted``
    attributes would recompute blind indexes, which decrypts (and fails on a
    destroyed key).
    """
    for column in _ciphertext_columns(type(obj)):
        setattr(obj, column, None)
    for column in sa.inspect(type(obj)).columns.keys():  # noqa: SIM118 (a ColumnCollection)
        if column.endswith("_bidx"):
            setattr(obj, column, None)


def is_erased(claim: Claim) -> bool:
    """The claim's personal data is gone (its claimant is erased, or it was moved to a stand-in)."""
    return claim.claimant.erased_at is not None


def _has_other_live_claim(claim: Claim) -> bool:
    return any(
        other.id != claim.id and other.status != ClaimStatus.WITHDRAWN for other in claim.claimant.claims
    )


def _drop_outbox(claim: Claim, *, keep_key: bool) -> None:
    """Mail to the claimant about this claim: never sent now, and not kept readable."""
    claimant = claim.claimant
    if not keep_key:
        # Under a destroyed key it could neither be sent nor read: anything that lists the outbox
        # and decrypts it would fail on it.
        db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.data_key_id == claimant.data_key_id))
        return
    # The key stays for the person's other claim: only the messages about this one go. They carry
    # no claim id; every message about a claim names its reference in its subject or body.
    messages = (
        db.session.execute(sa.select(OutboxMessage).where(OutboxMessage.data_key_id == claimant.data_key_id))
        .scalars()
        .all()
    )
    for message in messages:
        if claim.reference in (message.subject or "") or claim.reference in (message.body or ""):
            db.session.delete(message)


def _detach_from_claimant(claim: Claim, now: datetime) -> None:
    """Move the claim to an erased stand-in claimant whose key never existed."""
    stand_in = Claimant(
        data_key=DataKey(id=uuid.uuid4(), destroyed_at=now),
        language=claim.claimant.language,
        erased_at=now,
    )
    db.session.add(stand_in)
    claim.claimant = stand_in


def erase_claim(claim: Claim, *, reason: str) -> bool:
    """Erase a claim's personal data (flushes, never commits); idempotent.

    Kept: reference, case, status, dates, the versions of the texts accepted,
    the status history (reason texts cleared) and the audit log. Cleared or
    deleted: the claim's encrypted fields and blind index, its heads of
    damage, notes, information requests, pending email changes, resume links,
    the evidence file names and file keys, the data copy's file key; its
    sign-in links are revoked and its portal sessions ended. Then the
    claimant's data key is destroyed and their outbox deleted (it could be
    neither sent nor read); unless they have another live claim (see the
    module docstring): then only the mail naming this claim is deleted. Stored files stay in the vault, unreadable, for ``purge`` to
    delete: deleting them here could not be undone if the caller's
    transaction rolls back.

    Returns whether a data key was destroyed.
    """
    if is_erased(claim):
        return False
    now = utcnow()
    claimant = claim.claimant
    keep_key = _has_other_live_claim(claim)
    _drop_outbox(claim, keep_key=keep_key)

    _clear_personal_columns(claim)
    claim.draft_token_hash = None
    claim.harms.clear()
    for evidence in claim.evidence:
        _clear_personal_columns(evidence)
        # The file keys are wrapped by the claimant's data key, which may outlive this claim.
        evidence.wrapped_file_key = b""
        evidence.derivative_wrapped_key = None
    for copy in db.session.execute(sa.select(DataCopy).where(DataCopy.claim_id == claim.id)).scalars().all():
        copy.wrapped_file_key = None  # its file key, wrapped like the evidence's
        copy.expires_at = min(copy.expires_at, now)
    db.session.execute(
        sa.update(ReviewEvent).where(ReviewEvent.claim_id == claim.id).values(reason_text_ct=None)
    )
    for model in (Note, InfoRequest, EmailChange, ResumeLink):
        db.session.execute(sa.delete(model).where(model.claim_id == claim.id))
    db.session.execute(
        sa.update(PortalLink)
        .where(PortalLink.claim_id == claim.id, PortalLink.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.session.execute(
        sa.update(PortalSession)
        .where(PortalSession.claim_id == claim.id, PortalSession.ended_at.is_(None))
        .values(ended_at=now)
    )

    if keep_key:
        _detach_from_claimant(claim, now)
    else:
        _clear_personal_columns(claimant)
        claimant.erased_at = now
        shred_data_key(claimant.data_key, reason=reason)
    db.session.flush()
    record_event(
        "claim.erased",
        object_type="claim",
        object_id=claim.id,
        details={"cause": reason, "key_destroyed": not keep_key},
    )
    return not keep_key


def erase_by_key(data_key: DataKey, *, reason: str) -> int:
    """Erase every claim under this data key, then make sure the key is destroyed (flushes,
    never commits); idempotent. For a database restored from a backup taken before the key was
    destroyed (``flask keys destroy``): shredding the key alone would leave claims the console
    could no longer show, and the filings' generated files (pack, own bundle) that name the
    person are deleted as a withdrawal deletes them. The claims keep the status they had in
    the backup. Returns the number of claims erased."""
    from .withdrawal import forget_generated_files  # withdrawal imports this module

    erased = 0
    owners = db.session.execute(sa.select(Claimant).where(Claimant.data_key_id == data_key.id)).scalars()
    for claimant in owners.all():
        for claim in list(claimant.claims):
            if is_erased(claim):
                continue
            # As a withdrawal does: the filings' generated files that name the person go.
            for member in db.session.execute(
                sa.select(FilingMember).where(FilingMember.claim_id == claim.id)
            ).scalars():
                forget_generated_files(member.filing, claim)
            erase_claim(claim, reason=reason)  # the last one destroys the key
            erased += 1
    if not data_key.destroyed:  # no claim (or already all erased): a key of its own
        shred_data_key(data_key, reason=reason)
    return erased


def _delete_leftovers(claim: Claim) -> None:
    """Delete an erased claim's stored files, then the rows left around it (flush, no commit)."""
    vault = current_vault()
    evidence = db.session.execute(sa.select(Evidence).where(Evidence.claim_id == claim.id)).scalars().all()
    copies = db.session.execute(sa.select(DataCopy).where(DataCopy.claim_id == claim.id)).scalars().all()
    for key in [k for e in evidence for k in (e.storage_key, e.derivative_storage_key)] + [
        c.storage_key for c in copies
    ]:
        if key:
            vault.delete(key)
    for model in _LEFTOVER_TABLES:
        db.session.execute(sa.delete(model).where(model.claim_id == claim.id))
    claimant = claim.claimant
    if claimant.data_key.destroyed:
        # Sent mail under a destroyed key: unreadable, and nothing to show for it.
        db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.data_key_id == claimant.data_key_id))
    db.session.expire(claim)
    db.session.flush()


def _purge_draft(claim: Claim) -> None:
    """Delete an unfinished draft: files, rows, and the claimant with their key (flush, no commit)."""
    vault = current_vault()
    claimant = claim.claimant
    for evidence in claim.evidence:
        for key in (evidence.storage_key, evidence.derivative_storage_key):
            if key:
                vault.delete(key)
    for copy in db.session.execute(sa.select(DataCopy).where(DataCopy.claim_id == claim.id)).scalars():
        if copy.storage_key:
            vault.delete(copy.storage_key)
    for model in (*_LEFTOVER_TABLES, ReviewEvent, FilingMember):
        db.session.execute(sa.delete(model).where(model.claim_id == claim.id))
    db.session.execute(sa.update(Claim).where(Claim.duplicate_of_id == claim.id).values(duplicate_of_id=None))
    claim_id, data_key = claim.id, claimant.data_key
    db.session.expire(claim)
    db.session.delete(claim)
    db.session.flush()
    db.session.expire(claimant, ["claims"])
    if not claimant.claims:
        db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.data_key_id == data_key.id))
        db.session.delete(claimant)
        if not data_key.destroyed:
            shred_data_key(data_key, reason="draft_retention")
    record_event("claim.draft_purged", object_type="claim", object_id=claim_id)


@dataclass
class PurgeReport:
    """References of the claims erased (or, in a dry run, due), per category."""

    dry_run: bool = False
    drafts: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.drafts) + len(self.rejected) + len(self.withdrawn)


def _closed_at() -> Any:
    # Claims closed before closed_at existed: their last change is no earlier than their closing.
    return sa.func.coalesce(Claim.closed_at, Claim.updated_at)


def _has_leftovers() -> Any:
    exists = [sa.exists().where(model.claim_id == Claim.id) for model in _LEFTOVER_TABLES]
    exists.append(
        sa.exists().where(
            OutboxMessage.data_key_id == Claimant.data_key_id,
            DataKey.id == Claimant.data_key_id,
            DataKey.wrapped_key.is_(None),
        )
    )
    return sa.or_(*exists)


def _due(case: Case, now: datetime) -> dict[str, list[tuple[uuid.UUID, str]]]:
    """(id, reference) of the claims of ``case`` that the purge has work on, per category."""

    def select(*conditions: Any) -> list[tuple[uuid.UUID, str]]:
        rows = db.session.execute(
            sa.select(Claim.id, Claim.reference)
            .join(Claim.claimant)
            .where(Claim.case_id == case.id, *conditions)
            .order_by(Claim.created_at, Claim.id)
        ).all()
        return [(row.id, row.reference) for row in rows]

    unerased = Claimant.erased_at.is_(None)
    return {
        "drafts": select(
            Claim.status == ClaimStatus.DRAFT,
            Claim.updated_at <= now - timedelta(days=case.draft_retention_days),
        ),
        "rejected": select(
            Claim.status == ClaimStatus.REJECTED,
            _closed_at() <= now - timedelta(days=case.rejected_retention_days),
            sa.or_(unerased, _has_leftovers()),
        ),
        "withdrawn": select(
            Claim.status == ClaimStatus.WITHDRAWN,
            sa.or_(
                unerased,
                sa.and_(
                    _closed_at() <= now - timedelta(days=case.withdrawn_retention_days),
                    _has_leftovers(),
                ),
            ),
        ),
    }


def purge(now: datetime | None = None, *, dry_run: bool = False) -> PurgeReport:
    """Apply every case's keeping periods (commits after each claim; see the module docstring).

    ``dry_run`` only reports what a real run would erase now. Idempotent: a
    second run finds nothing left to do.
    """
    now = now or utcnow()
    report = PurgeReport(dry_run=dry_run)
    case_ids = db.session.execute(sa.select(Case.id).order_by(Case.id)).scalars().all()
    for case_id in case_ids:
        case = db.session.get_one(Case, case_id)
        due = _due(case, now)
        for category, claims in due.items():
            for claim_id, reference in claims:
                if dry_run:
                    getattr(report, category).append(reference)
                    continue
                claim = db.session.get(Claim, claim_id)
                if claim is not None and _PURGERS[category](claim, case, now):
                    getattr(report, category).append(reference)
                db.session.commit()
    if not dry_run:
        checkpoint_wal()
    return report


def checkpoint_wal() -> None:
    """SQLite (embedded default): copy the write-ahead log into the database and empty it.

    Until then the log still holds earlier versions of the pages just
    rewritten (destroyed data keys, cleared ciphertexts); secure_delete only
    zeroes freed space in the database file itself. Run after each purge, so
    that a withdrawal's destroyed key leaves the disk within a day at most; a
    view may also call it after committing a withdrawal. It waits for open
    readers (up to the busy timeout). PostgreSQL keeps dead row versions until
    VACUUM instead: not handled here.
    """
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _purge_due_draft(claim: Claim, case: Case, now: datetime) -> bool:
    if claim.status != ClaimStatus.DRAFT:  # submitted since the list was read
        return False
    _purge_draft(claim)
    return True


def _purge_rejected(claim: Claim, case: Case, now: datetime) -> bool:
    if claim.status != ClaimStatus.REJECTED:
        return False
    erase_claim(claim, reason="rejected_retention")
    _delete_leftovers(claim)
    record_event("claim.purged", object_type="claim", object_id=claim.id, details={"cause": "rejected"})
    return True


def _purge_withdrawn(claim: Claim, case: Case, now: datetime) -> bool:
    if claim.status != ClaimStatus.WITHDRAWN:
        return False
    erase_claim(claim, reason="withdrawn")
    closed = claim.closed_at or claim.updated_at
    if closed <= now - timedelta(days=case.withdrawn_retention_days):
        _delete_leftovers(claim)
        record_event("claim.purged", object_type="claim", object_id=claim.id, details={"cause": "withdrawn"})
    return True


_PURGERS: dict[str, Callable[[Claim, Case, datetime], bool]] = {
    "drafts": _purge_due_draft,
    "rejected": _purge_rejected,
    "withdrawn": _purge_withdrawn,
}
