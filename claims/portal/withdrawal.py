"""A claimant withdraws their claim: it leaves the action and their data is erased.

Possible from every state before the claim is filed with the court (the
review state machine allows it); drafts are abandoned, not withdrawn (the
retention purge deletes them). Withdrawal is final: the claimant's data key
is destroyed at once (``retention.erase_claim``), so nothing they gave can be
read again from the live system (a database backup taken before still holds
the wrapped key until that backup expires). The firm keeps the claim's reference,
dates and status, and the fact of the withdrawal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..accounts.models import UserState
from ..audit.operations import record_event
from ..claimants.models import Claim, ClaimStatus
from ..extensions import db
from ..filings.exports import PACK_PARTS
from ..filings.models import ExportKind, Filing, FilingExport, FilingMember, FilingState
from ..mail.operations import delivery_job, queue_mail
from ..review.operations import ReviewError, change_status
from .retention import erase_claim

if TYPE_CHECKING:
    from ..jobs.models import Job


class WithdrawalRefused(Exception):
    """The claim cannot be withdrawn; ``code`` says why: "draft", "filed", "already_withdrawn"."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _refusal(claim: Claim) -> str | None:
    if claim.status == ClaimStatus.DRAFT:
        return "draft"
    if claim.status == ClaimStatus.FILED:
        return "filed"
    if claim.status == ClaimStatus.WITHDRAWN:
        return "already_withdrawn"
    return None


def can_withdraw(claim: Claim) -> bool:
    return _refusal(claim) is None


def withdraw_claim(claim: Claim) -> list[Job]:
    """Withdraw the claim and erase the claimant's data (flushes, never commits).

    Raises WithdrawalRefused. Returns the jobs that send the mails to staff
    (a filing's author is told its filing lost a party): dispatch them after
    the commit. Stored files stay in the vault, unreadable, until ``flask
    retention purge`` deletes them.
    """
    code = _refusal(claim)
    if code is not None:
        raise WithdrawalRefused(code)
    try:
        change_status(claim, ClaimStatus.WITHDRAWN, actor=None, action="withdrawn")
    except ReviewError:
        raise WithdrawalRefused("illegal_transition") from None
    jobs = _leave_filings(claim)
    erase_claim(claim, reason="withdrawn")
    return jobs


def _leave_filings(claim: Claim) -> list[Job]:
    """Out of a draft filing; a locked or exported one keeps its frozen member. Tell the author."""
    members = (
        db.session.execute(
            sa.select(FilingMember).join(FilingMember.filing).where(FilingMember.claim_id == claim.id)
        )
        .scalars()
        .all()
    )
    jobs = []
    for member in members:
        filing = member.filing
        state = filing.state
        removed = state == FilingState.DRAFT
        if removed:
            db.session.delete(member)
        forgotten = forget_generated_files(filing, claim)
        db.session.flush()
        record_event(
            "filing.member_withdrawn",
            object_type="filing",
            object_id=filing.id,
            details={
                "claim": str(claim.id),
                "state": state.value,
                "removed": removed,
                "files_deleted": forgotten,
            },
        )
        author = filing.created_by
        if author is not None and author.state != UserState.DISABLED:
            message = queue_mail(
                author.email,
                *_filing_mail(claim, filing, removed, state, forgotten),
                data_key=author.data_key,
                purpose="filing_member_withdrawn",
            )
            jobs.append(delivery_job(message))
    return jobs


def forget_generated_files(filing: Filing, claim: Claim) -> int:
    """Delete the filing's generated files that hold the person's data (flush, no commit):
    every generation of the pack (its PDF, ZIP and CSV list every party) and their own
    bundles; returns how many.

    Deleting a row deletes its wrapped file key: the file can no longer be decrypted, and
    ``flask vault sweep`` removes it from the disk. The other parties' bundles stay. An
    exported filing goes back to locked: its pack is to be generated again, without the party
    (an erased claim gets no bundle).
    """
    generated = sa.or_(
        FilingExport.kind.in_(PACK_PARTS),
        sa.and_(FilingExport.kind == ExportKind.BUNDLE, FilingExport.claim_id == claim.id),
    )
    deleted = db.session.execute(
        sa.delete(FilingExport).where(FilingExport.filing_id == filing.id, generated)
    ).rowcount
    if deleted and filing.state == FilingState.EXPORTED:
        filing.state = FilingState.LOCKED
    return deleted


def _filing_mail(
    claim: Claim, filing: Filing, removed: bool, state: FilingState, forgotten: int
) -> tuple[str, str]:
    """Subject and body of the mail to the filing's author: the reference, never the person's name.

    In French, the firm's language (staff have no language setting, and the
    withdrawal happens in the claimant's language).
    """
    subject = f"Demande {claim.reference} retirée — dépôt n° {filing.id}"
    if removed:
        situation = (
            f"Elle a été enlevée du dépôt n° {filing.id} ({filing.court}), qui est encore en préparation."
        )
    else:
        done = "verrouillé" if state == FilingState.LOCKED else "exporté"
        situation = (
            f"Le dépôt n° {filing.id} ({filing.court}) est déjà {done} : il contient désormais une "
            "demande retirée. Vérifiez-le avant de le déposer au tribunal."
        )
        if forgotten:
            situation += (
                " Les documents générés qui contenaient ses données (le dossier complet, le ZIP, la "
                "liste des parties civiles et son bordereau) ont été supprimés. Générez-les de "
                "nouveau : la demande retirée n’y figurera plus."
            )
    body = (
        f"Bonjour,\n\nLa personne a retiré sa demande {claim.reference} depuis son espace. {situation}\n\n"
        "Ses données personnelles ont été effacées ; seuls la référence, les dates et l’état de la "
        "demande sont conservés.\n"
    )
    return subject, body
