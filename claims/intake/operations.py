"""Intake operations: drafts, the steps, submission. Flush, never commit."""

from __future__ import annotations

import secrets
import uuid
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ..audit.operations import claimant_event
from ..cases.models import Case, CaseText, TextKind
from ..claimants.models import Claim, Claimant, ClaimHarm, ClaimStatus, ResumeLink
from ..claimants.operations import generate_reference
from ..crypto import compute_blind_index, hash_token
from ..crypto.blind_index import normalise_email
from ..documents.receipt import receipt_pdf
from ..evidence.operations import derivative_jobs
from ..extensions import db
from ..jobs.models import Job
from ..jobs.operations import enqueue, handler
from ..mail.models import OutboxMessage
from ..mail.operations import Attachment, deliver_queued, delivery_job, queue_mail
from ..single_use import stamp_once
from ..types import utcnow

BASE_STEPS = ["eligibility", "identity", "contact", "details", "harm", "evidence", "review", "consent"]


class IntakeError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def steps_for(case: Case) -> list[str]:
    return [s for s in BASE_STEPS if s != "details" or case.optional_fields]


def start_draft(case: Case, remote_addr: str | None) -> tuple[Claim, str]:
    """A new draft claim and the token that gives access to it (kept in the claimant's cookie)."""
    token = secrets.token_urlsafe(32)
    claimant = Claimant()
    claim = Claim(
        reference=generate_reference(case.reference_prefix),
        case=case,
        claimant=claimant,
        status=ClaimStatus.DRAFT,
        draft_token_hash=hash_token(token),
        completed_steps=[],
        source_ip_day_bidx=compute_blind_index("ip_day", f"{remote_addr}|{date.today().isoformat()}"),
    )
    db.session.add_all([claimant, claim])
    db.session.flush()
    claimant_event("claim.draft_started", claim.id)
    return claim, token


@cache
def _claim_by_token() -> sa.Select[tuple[Claim]]:
    """Built once, on first use (the mappers are configured by then): every intake request
    runs it. Every step reads or writes the claimant's fields: one query instead of three."""
    return (
        sa.select(Claim)
        .where(Claim.draft_token_hash == sa.bindparam("token_hash"), Claim.case_id == sa.bindparam("case_id"))
        .options(sa.orm.joinedload(Claim.claimant).joinedload(Claimant.data_key))
    )


def find_claim_by_token(case: Case, token: str | None) -> Claim | None:
    if not token or len(token) > 100:
        return None
    claim = db.session.execute(
        _claim_by_token(), {"token_hash": hash_token(token), "case_id": case.id}
    ).scalar_one_or_none()
    if claim is None or claim.status not in (ClaimStatus.DRAFT, ClaimStatus.SUBMITTED):
        return None
    return claim


def complete_step(claim: Claim, step: str) -> None:
    if step not in claim.completed_steps:
        claim.completed_steps = [*claim.completed_steps, step]


def save_eligibility(claim: Claim, answers: dict[str, bool]) -> list[dict[str, Any]]:
    """Record the answers; return the questions answered differently from what the case requires."""
    claim.eligibility_answers = answers
    failed = [q for q in claim.case.eligibility_questions if answers.get(q["code"]) != q["expected"]]
    if not failed:
        complete_step(claim, "eligibility")
    elif "eligibility" in claim.completed_steps:
        claim.completed_steps = [s for s in claim.completed_steps if s != "eligibility"]
    db.session.flush()
    return failed


def save_fields(claim: Claim, step: str, fields: dict[str, Any]) -> None:
    """Identity, contact or details: onto the claimant (encrypted), or the claim's extra."""
    for name, value in fields.items():
        if isinstance(value, str):
            value = value.strip() or None
        setattr(claim.claimant, name, value)
    complete_step(claim, step)
    db.session.flush()


def save_details(claim: Claim, nir: str | None, test: dict[str, str] | None) -> None:
    if nir is not None:
        claim.claimant.nir = nir
    claim.extra = {"covid_test": test} if test else None
    complete_step(claim, "details")
    db.session.flush()


def save_harms(claim: Claim, amounts: dict[str, Decimal], statement: str) -> None:
    claim.harms = [ClaimHarm(head=head, amount=amount) for head, amount in amounts.items()]
    claim.statement = statement
    complete_step(claim, "harm")
    db.session.flush()


def missing_steps(claim: Claim) -> list[str]:
    required = [s for s in steps_for(claim.case) if s not in ("evidence", "review", "consent")]
    return [s for s in required if s not in claim.completed_steps]


def current_texts(case: Case, language: str) -> dict[TextKind, CaseText]:
    """The latest version of each text, in the claimant's language if it exists, else French."""
    texts: dict[TextKind, CaseText] = {}
    for text in sorted(case.texts, key=lambda t: t.version):
        if text.language in (language, "fr") and (
            text.kind not in texts or text.language == language or texts[text.kind].language != language
        ):
            texts[text.kind] = text
    return texts


def submit_claim(
    claim: Claim,
    *,
    signature: str,
    legal_aid: bool,
    honeypot: str,
    language: str,
    remote_addr: str | None,
    idempotency_key: str,
) -> list[Job]:
    """Submit the draft (flush, no commit); returns the jobs to dispatch after the commit:
    the receipt, then the derivatives of the evidence.

    Nothing if it was already submitted (a double click, a retry).
    """
    if claim.status == ClaimStatus.SUBMITTED:
        return []
    if missing_steps(claim):
        raise IntakeError("incomplete")
    texts = current_texts(claim.case, language)
    now = utcnow()
    claim.status = ClaimStatus.SUBMITTED
    claim.submitted_at = claim.signed_at = claim.consented_at = now
    claim.privacy_notice_version = (
        texts[TextKind.PRIVACY_NOTICE].version if TextKind.PRIVACY_NOTICE in texts else None
    )
    claim.mandate_version = texts[TextKind.MANDATE].version if TextKind.MANDATE in texts else None
    claim.fee_agreement_version = (
        texts[TextKind.FEE_AGREEMENT].version if TextKind.FEE_AGREEMENT in texts else None
    )
    claim.civil_party_will = True
    claim.legal_aid = legal_aid
    claim.signature_name = signature.strip()
    claim.consent_ip = remote_addr or ""
    claim.honeypot_filled = bool(honeypot.strip())
    claim.form_seconds = int((now - claim.created_at).total_seconds())
    claim.idempotency_key = idempotency_key or None
    claim.claimant.language = language
    db.session.flush()
    # The receipt (a PDF of the answers, by mail) is built by a job committed with the claim:
    # the claimant's page does not wait on it, and it cannot be lost.
    receipt = enqueue("intake.receipt", claim_id=str(claim.id))
    # The pieces' sanitised derivatives are made now, not at each upload: a draft's files serve
    # nobody until it is submitted (many are never submitted), and re-encoding beside the
    # claimant's next steps would slow them down on a small server.
    jobs = [receipt, *derivative_jobs(claim.evidence)]
    claimant_event("claim.submitted", claim.id, evidence=len(claim.evidence), harms=len(claim.harms))
    return jobs


@handler("intake.receipt")
def receipt_job(claim_id: str) -> dict[str, str]:
    """Build the receipt PDF, queue the mail that carries it, and send it."""
    claim = db.session.get_one(Claim, uuid.UUID(claim_id))
    message = _queue_receipt(claim, texts_accepted(claim))
    db.session.commit()
    deliver_queued(only=message.id)
    return {"message": str(message.id)}


def texts_accepted(claim: Claim) -> dict[TextKind, CaseText]:
    """The versions of the case's texts the claimant accepted, as recorded at submission."""
    versions = {
        TextKind.PRIVACY_NOTICE: claim.privacy_notice_version,
        TextKind.MANDATE: claim.mandate_version,
        TextKind.FEE_AGREEMENT: claim.fee_agreement_version,
    }
    language = claim.claimant.language or "fr"
    accepted: dict[TextKind, CaseText] = {}
    for text in sorted(claim.case.texts, key=lambda t: (t.language == language, t.language == "fr")):
        if versions.get(text.kind) == text.version:
            accepted[text.kind] = text
    return accepted


def _queue_receipt(claim: Claim, texts: dict[TextKind, CaseText]) -> OutboxMessage:
    claimant = claim.claimant
    labels = {h["code"]: h["label_fr"] for h in claim.case.heads_of_damage}
    identity = [
        ("Nom", f"{claimant.civility or ''} {claimant.first_name} {claimant.last_name}".strip()),
        ("Né(e) le", f"{claimant.birth_date:%d/%m/%Y} à {claimant.birth_place}"),
        (
            "Adresse",
            " ".join(
                filter(
                    None,
                    [
                        claimant.address_line1,
                        claimant.address_line2,
                        claimant.postal_code,
                        claimant.city,
                        claimant.country,
                    ],
                )
            ),
        ),
        ("Courriel", claimant.email),
        ("Téléphone", claimant.phone),
    ]
    pdf = receipt_pdf(
        case_title=claim.case.title,
        reference=claim.reference,
        submitted_at=claim.submitted_at,
        identity=identity,
        harms=[(labels.get(h.head, h.head), h.amount) for h in claim.harms],
        statement=claim.statement or "",
        evidence=[(e.original_filename, e.detected_type, e.sha256) for e in claim.evidence],
        accepted_texts=[f"{t.title}, version {t.version}" for t in texts.values()],
        invariant=current_app.testing,
    )
    english = claimant.language == "en"
    subject = (
        f"Your claim {claim.reference} is registered"
        if english
        else f"Votre demande {claim.reference} est enregistrée"
    )
    body = (
        f"Hello,\n\nWe have received your claim in the collective action “{claim.case.title}”.\n"
        f"Your reference: {claim.reference}\n\nA copy of your answers is attached. The firm will review "
        "your claim and write to you at this address.\n"
        if english
        else f"Bonjour,\n\nNous avons bien reçu votre demande dans l’action collective « {claim.case.title} ».\n"
        f"Votre référence : {claim.reference}\n\nVous trouverez en pièce jointe une copie de vos réponses. "
        "Le cabinet va examiner votre dossier et vous écrira à cette adresse.\n"
    )
    return queue_mail(
        claimant.email,
        subject,
        body,
        data_key=claimant.data_key,
        purpose="claim_receipt",
        attachments=(Attachment(f"accuse-reception-{claim.reference}.pdf", "application/pdf", pdf),),
    )


# Save and resume ---------------------------------------------------------------------


def find_draft_by_email(case: Case, email: str) -> Claim | None:
    index = compute_blind_index("email", normalise_email(email))
    return db.session.execute(
        sa.select(Claim)
        .join(Claim.claimant)
        .where(Claim.case_id == case.id, Claim.status == ClaimStatus.DRAFT, Claimant.email_bidx == index)
        .order_by(Claim.updated_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def send_resume_link(claim: Claim, link_for: Any) -> Job:
    """Queue a one-time link back to the draft to the claimant's address (flush, no commit).

    Returns the delivery job, to dispatch after the commit.
    """
    token = secrets.token_urlsafe(32)
    hours = current_app.config["RESUME_LINK_HOURS"]
    db.session.add(
        ResumeLink(token_hash=hash_token(token), claim=claim, expires_at=utcnow() + timedelta(hours=hours))
    )
    english = claim.claimant.language == "en"
    link = link_for(token)
    body = (
        f"Hello,\n\nTo continue your claim in “{claim.case.text('title', 'en')}”, open this link "
        f"(valid {hours} hours, once):\n\n{link}\n\nIf you did not ask for it, ignore this message.\n"
        if english
        else f"Bonjour,\n\nPour reprendre votre demande dans l’action « {claim.case.title} », ouvrez ce lien "
        f"(valable {hours} heures, une seule fois) :\n\n{link}\n\nSi vous ne l’avez pas demandé, ignorez ce message.\n"
    )
    message = queue_mail(
        claim.claimant.email,
        "Continue your claim" if english else "Reprendre votre demande",
        body,
        data_key=claim.claimant.data_key,
        purpose="resume_link",
    )
    claimant_event("claim.resume_link_sent", claim.id)
    return delivery_job(message)


def use_resume_link(case: Case, token: str) -> tuple[Claim, str] | None:
    """Consume a link: the draft gets a new access token (the old cookie stops working)."""
    link = db.session.execute(
        sa.select(ResumeLink).where(ResumeLink.token_hash == hash_token(token))
    ).scalar_one_or_none()
    if (
        link is None
        or link.used_at is not None
        or link.expires_at < utcnow()
        or link.claim.case_id != case.id
    ):
        return None
    if not stamp_once(ResumeLink.used_at, link.id) or link.claim.status != ClaimStatus.DRAFT:
        return None
    new_token = secrets.token_urlsafe(32)
    link.claim.draft_token_hash = hash_token(new_token)
    claimant_event("claim.resumed", link.claim.id)
    return link.claim, new_token
