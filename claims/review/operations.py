"""Review operations: the claim state machine, assignment, decisions, requests, notes.

Every status change goes through ``change_status``, which refuses a
transition the state machine does not allow (whatever the page showed) and
records a ReviewEvent and an audit event. Operations flush, never commit;
the claim's version column makes a second reviewer's stale write fail with
StaleDataError at the commit (optimistic locking), which the views turn
into a message.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..audit.operations import record_event
from ..claimants.models import Claim, ClaimStatus
from ..claimants.operations import normal_reference
from ..extensions import db
from ..mail.operations import delivery_job, queue_mail
from ..types import utcnow
from .models import InfoRequest, InfoRequestStatus, Note, ReviewEvent

if TYPE_CHECKING:
    from ..accounts.models import User
    from ..jobs.models import Job

S = ClaimStatus
# DESIGN.md: draft → submitted → in_review → (needs_info ↔ in_review) → accepted | rejected;
# accepted → in_filing → filed; withdrawn from any state before filed.
TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.SUBMITTED: frozenset({S.IN_REVIEW, S.WITHDRAWN}),
    S.IN_REVIEW: frozenset({S.NEEDS_INFO, S.ACCEPTED, S.REJECTED, S.WITHDRAWN}),
    S.NEEDS_INFO: frozenset({S.IN_REVIEW, S.WITHDRAWN}),
    S.ACCEPTED: frozenset({S.IN_FILING, S.WITHDRAWN}),
    S.REJECTED: frozenset({S.WITHDRAWN}),
    # Back to accepted when taken out of a filing that is still a draft.
    S.IN_FILING: frozenset({S.FILED, S.ACCEPTED, S.WITHDRAWN}),
    S.FILED: frozenset(),
    S.WITHDRAWN: frozenset(),
}

# Reasons for a rejection: codes stored, labels in the interface (review/labels.py).
REJECTION_REASONS = (
    "not_eligible",
    "not_affected",
    "insufficient_evidence",
    "duplicate",
    "time_barred",
    "fraud_suspected",
    "other",
)

INFO_REQUEST_MIN_DAYS = 3
INFO_REQUEST_MAX_DAYS = 90


class ReviewError(Exception):
    """An operation the claim's state does not allow; ``code`` says which."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def can_transition(current: ClaimStatus, target: ClaimStatus) -> bool:
    return target in TRANSITIONS[current]


def change_status(
    claim: Claim,
    target: ClaimStatus,
    *,
    actor: User | None,
    action: str,
    reason_code: str | None = None,
    reason_text: str | None = None,
) -> ReviewEvent:
    """Move the claim to ``target`` if the state machine allows it; record it (flush)."""
    current = claim.status
    if not can_transition(current, target):
        raise ReviewError("illegal_transition")
    claim.status = target
    if target in (S.REJECTED, S.WITHDRAWN):
        claim.closed_at = utcnow()  # retention counts from here (flask retention purge)
    event = ReviewEvent(
        claim=claim,
        actor_id=actor.id if actor else None,
        action=action,
        from_status=current,
        to_status=target,
        reason_code=reason_code,
    )
    if reason_text:
        event.reason_text = reason_text
    db.session.add(event)
    db.session.flush()
    record_event(
        f"claim.{action}",
        actor_type="staff" if actor else "system",
        actor_id=actor.id if actor else None,
        object_type="claim",
        object_id=claim.id,
        details={
            "from": current.value,
            "to": target.value,
            **({"reason": reason_code} if reason_code else {}),
        },
    )
    return event


def _start_review_if_new(claim: Claim, actor: User) -> None:
    if claim.status == S.SUBMITTED:
        change_status(claim, S.IN_REVIEW, actor=actor, action="review_started")


def assign(claim: Claim, assignee: User | None, *, actor: User) -> None:
    """Give the claim to a reviewer (or to nobody); a new claim enters review."""
    if claim.status in (S.DRAFT, S.WITHDRAWN, S.FILED):
        raise ReviewError("not_assignable")
    claim.assignee = assignee
    _start_review_if_new(claim, actor)
    db.session.flush()
    record_event(
        "claim.assigned",
        actor_type="staff",
        actor_id=actor.id,
        object_type="claim",
        object_id=claim.id,
        details={"assignee": str(assignee.id) if assignee else ""},
    )


def start_review(claim: Claim, *, actor: User) -> None:
    if claim.status != S.SUBMITTED:
        raise ReviewError("illegal_transition")
    _start_review_if_new(claim, actor)


def accept(claim: Claim, *, actor: User) -> ReviewEvent:
    return change_status(claim, S.ACCEPTED, actor=actor, action="accepted")


def reject(
    claim: Claim,
    *,
    actor: User,
    reason_code: str,
    reason_text: str,
    duplicate_of: Claim | None = None,
) -> tuple[ReviewEvent, Job]:
    """Reject with a reason; the claimant is told by mail in their language. Returns the mail job."""
    if reason_code not in REJECTION_REASONS:
        raise ReviewError("unknown_reason")
    if reason_code == "duplicate":
        if duplicate_of is None or duplicate_of.id == claim.id:
            raise ReviewError("duplicate_of_required")
        claim.duplicate_of_id = duplicate_of.id
    event = change_status(
        claim, S.REJECTED, actor=actor, action="rejected", reason_code=reason_code, reason_text=reason_text
    )
    from .mails import rejection_mail

    return event, delivery_job(
        queue_mail(*rejection_mail(claim, reason_code, reason_text), **_mail_to(claim))
    )


def request_information(claim: Claim, *, actor: User, message: str, due_on: date) -> tuple[InfoRequest, Job]:
    """Ask the claimant for what is missing, by a deadline; they are told by mail. Returns the mail job."""
    today = date.today()
    if (
        not today + timedelta(days=INFO_REQUEST_MIN_DAYS)
        <= due_on
        <= today + timedelta(days=INFO_REQUEST_MAX_DAYS)
    ):
        raise ReviewError("bad_deadline")
    change_status(claim, S.NEEDS_INFO, actor=actor, action="information_requested")
    info = InfoRequest(claim=claim, requested_by_id=actor.id, due_on=due_on, message=message)
    db.session.add(info)
    db.session.flush()
    from .mails import information_request_mail

    return info, delivery_job(queue_mail(*information_request_mail(claim, info), **_mail_to(claim)))


def answer_information_request(info: InfoRequest, response: str) -> None:
    """The claimant's answer (the portal; a direct call until then): the claim goes back to review."""
    if info.status != InfoRequestStatus.OPEN:
        raise ReviewError("request_closed")
    info.response = response
    info.status = InfoRequestStatus.ANSWERED
    info.answered_at = utcnow()
    change_status(info.claim, S.IN_REVIEW, actor=None, action="information_received")


def add_note(claim: Claim, body: str, *, author: User) -> Note:
    note = Note(claim=claim, author_id=author.id, body=body)
    db.session.add(note)
    db.session.flush()
    record_event(
        "claim.note_added", actor_type="staff", actor_id=author.id, object_type="claim", object_id=claim.id
    )
    return note


def record_view(claim: Claim, *, actor: User) -> None:
    """Every opening of a claim file is an audit event (and shows in the claim's history)."""
    record_event(
        "claim.viewed", actor_type="staff", actor_id=actor.id, object_type="claim", object_id=claim.id
    )


def send_reminders(today: date | None = None) -> list[Job]:
    """One reminder per open request, two days before its deadline (flush; returns the mail jobs)."""
    from .mails import reminder_mail

    today = today or date.today()
    due = db.session.execute(
        sa.select(InfoRequest).where(
            InfoRequest.status == InfoRequestStatus.OPEN,
            InfoRequest.reminded_at.is_(None),
            InfoRequest.due_on <= today + timedelta(days=2),
            InfoRequest.due_on >= today,
        )
    ).scalars()
    jobs = []
    for info in due:
        info.reminded_at = utcnow()
        jobs.append(delivery_job(queue_mail(*reminder_mail(info.claim, info), **_mail_to(info.claim))))
        record_event("claim.reminder_sent", object_type="claim", object_id=info.claim_id)
    db.session.flush()
    return jobs


def _mail_to(claim: Claim) -> dict[str, object]:
    return {"data_key": claim.claimant.data_key, "purpose": "review"}


def find_claim(reference: str) -> Claim | None:
    return db.session.execute(
        sa.select(Claim).where(Claim.reference == normal_reference(reference))
    ).scalar_one_or_none()


def claim_by_id(claim_id: uuid.UUID) -> Claim | None:
    return db.session.get(Claim, claim_id)
