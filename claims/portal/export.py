"""The claimant's copy of their data (GDPR access and portability, art. 15 and 20).

A job builds one ZIP: ``donnees.json`` (everything held about the claimant and the claim, in
a structured, machine-readable form) and each evidence original as uploaded under
``pieces/<n>-<name>``. The ZIP never exists in clear outside memory: it is streamed, chunk
by chunk, into the vault, which encrypts it under a new file key wrapped by the claimant's
data key and bound to the copy's row (the evidence scheme, role "data_copy"), so erasing the
claimant erases their copies too. It is downloadable once, for ``DATA_COPY_DAYS`` days.

Left out, on purpose:

* staff notes (``Note``): internal working notes of the firm about the litigation, covered
  by professional secrecy and by the limit of art. 15(4) on the rights of others; the lawyer
  in charge decides on a request for them, case by case;
* the identity of staff members (who decided, who asked, who was assigned);
* mail bodies: they carry one-time links; the copy lists each message (date, subject,
  purpose, address);
* fraud signals (keyed hash of the source IP and day, honeypot, form timing) and the
  blind indexes: keyed hashes, meaningless without the server's key;
* the audit log, which is the firm's security record.
"""

from __future__ import annotations

import json
import re
import uuid
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..audit.operations import claimant_event, record_event
from ..claimants.models import Claim
from ..evidence.checks import clean_filename
from ..evidence.models import Evidence
from ..evidence.operations import open_evidence
from ..extensions import db
from ..intake.operations import texts_accepted
from ..jobs.models import Job, JobStatus
from ..jobs.operations import enqueue, handler
from ..mail.models import OutboxMessage
from ..review.models import InfoRequest, ReviewEvent
from ..single_use import stamp_once
from ..types import utcnow
from ..vault import current_vault
from .models import DataCopy, EmailChange

DATA_COPY_DAYS = 7
# A copy still unmade after this long is given up (a worker that died with the server):
# the claimant may ask again.
PENDING_HOURS = 24
# A downloaded copy is removed by the download view; purge_data_copies catches those a
# broken connection left behind, once no download can still be streaming.
DOWNLOAD_GRACE = timedelta(hours=1)
DOCUMENT_NAME = "donnees.json"
FORMAT = "recours-data-copy/1"
_ROLE = "data_copy"
# Characters some systems refuse or interpret in file names (Windows, shells).
_UNSAFE_IN_NAME = re.compile(r'[<>:"/\\|?*]')


class DataCopyError(Exception):
    """``code``: "pending", "not_ready", "already_downloaded", "expired"."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _file_aad(copy_id: uuid.UUID) -> bytes:
    return f"recours:file:{copy_id}:{_ROLE}".encode()


def _key_aad(copy_id: uuid.UUID) -> bytes:
    return f"recours:file-key:{copy_id}:{_ROLE}".encode()


# Requesting ---------------------------------------------------------------------------


def _pending_copy(claim: Claim) -> DataCopy | None:
    return db.session.execute(
        sa.select(DataCopy)
        .join(Job, DataCopy.job_id == Job.id)
        .where(
            DataCopy.claim_id == claim.id,
            DataCopy.ready_at.is_(None),
            DataCopy.created_at > utcnow() - timedelta(hours=PENDING_HOURS),
            Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
        )
        .limit(1)
    ).scalar_one_or_none()


def request_data_copy(claim: Claim) -> Job:
    """Ask for a new copy (flush, no commit); returns the job to dispatch after the commit.

    Raises DataCopyError("pending") while one is being made for this claim.
    """
    if _pending_copy(claim) is not None:
        raise DataCopyError("pending")
    now = utcnow()
    copy = DataCopy(claim=claim, created_at=now, expires_at=now + timedelta(days=DATA_COPY_DAYS))
    db.session.add(copy)
    db.session.flush()
    job = enqueue("portal.data_copy", copy_id=str(copy.id))
    copy.job_id = job.id
    db.session.flush()
    claimant_event("claim.data_copy_requested", claim.id, data_copy=str(copy.id))
    return job


# Building -----------------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def entry_name(index: int, filename: str | None) -> str:
    """The name of an original in the ZIP: numbered, no folders, nothing a system would interpret."""
    name = _UNSAFE_IN_NAME.sub("_", clean_filename(filename, limit=100)).rstrip(" .")
    return f"pieces/{index}-{name or 'document'}"


def collect_data(claim: Claim, entry_names: dict[uuid.UUID, str]) -> dict[str, Any]:
    """Everything held about the claimant and this claim (see the module docstring for what is not)."""
    claimant = claim.claimant
    case = claim.case
    english = claimant.language == "en"
    labels = {h["code"]: h["label_en" if english else "label_fr"] for h in case.heads_of_damage}
    questions = {
        q["code"]: q.get("text_en" if english else "text_fr", q["code"]) for q in case.eligibility_questions
    }
    review_events = (
        db.session.execute(
            sa.select(ReviewEvent).where(ReviewEvent.claim_id == claim.id).order_by(ReviewEvent.created_at)
        )
        .scalars()
        .all()
    )
    info_requests = (
        db.session.execute(
            sa.select(InfoRequest).where(InfoRequest.claim_id == claim.id).order_by(InfoRequest.created_at)
        )
        .scalars()
        .all()
    )
    mail = (
        db.session.execute(
            sa.select(OutboxMessage)
            .where(OutboxMessage.data_key_id == claimant.data_key_id)
            .order_by(OutboxMessage.created_at)
        )
        .scalars()
        .all()
    )
    email_changes = (
        db.session.execute(
            sa.select(EmailChange).where(EmailChange.claim_id == claim.id).order_by(EmailChange.created_at)
        )
        .scalars()
        .all()
    )
    return {
        "format": FORMAT,
        "generated_at": _iso(utcnow()),
        "notice": (
            "A copy of the personal data the firm holds about you for this claim. "
            "The firm's internal working notes are not included."
            if english
            else "Copie des données personnelles que le cabinet détient sur vous pour cette demande. "
            "Les notes de travail internes du cabinet n’y figurent pas."
        ),
        "identity": {
            "civility": claimant.civility,
            "first_name": claimant.first_name,
            "last_name": claimant.last_name,
            "birth_date": _iso(claimant.birth_date),
            "birth_place": claimant.birth_place,
            "nir": claimant.nir,
            "language": claimant.language,
            "registered_at": _iso(claimant.created_at),
        },
        "contact": {
            "address_line1": claimant.address_line1,
            "address_line2": claimant.address_line2,
            "postal_code": claimant.postal_code,
            "city": claimant.city,
            "country": claimant.country,
            "email": claimant.email,
            "phone": claimant.phone,
        },
        "claim": {
            "reference": claim.reference,
            "case": {
                "title": case.text("title", claimant.language),
                "data_controller": case.data_controller,
                "procedure": case.procedure.value,
            },
            "status": claim.status.value,
            "started_at": _iso(claim.created_at),
            "submitted_at": _iso(claim.submitted_at),
            "closed_at": _iso(claim.closed_at),
            "eligibility_answers": [
                {"code": code, "question": questions.get(code, code), "answer": answer}
                for code, answer in (claim.eligibility_answers or {}).items()
            ],
            "details": claim.extra,
            "harms": [
                {"head": h.head, "label": labels.get(h.head, h.head), "amount_eur": str(h.amount)}
                for h in claim.harms
            ],
            "total_claimed_eur": str(claim.total_claimed),
            "statement": claim.statement,
            "civil_party_will": claim.civil_party_will,
            "legal_aid": claim.legal_aid,
            "signature": {"name": claim.signature_name, "signed_at": _iso(claim.signed_at)},
            "consent": {
                "consented_at": _iso(claim.consented_at),
                "ip_address": claim.consent_ip,
                "texts_accepted": [
                    {
                        "kind": kind.value,
                        "version": text.version,
                        "language": text.language,
                        "title": text.title,
                    }
                    for kind, text in texts_accepted(claim).items()
                ],
            },
        },
        "evidence": [
            {
                "file": entry_names[e.id],
                "kind": e.kind.value,
                "original_filename": e.original_filename,
                "type": e.detected_type,
                "size": e.size,
                "sha256": e.sha256,
                "received_at": _iso(e.created_at),
                "status": e.status.value,
                "details": e.details,
            }
            for e in claim.evidence
        ],
        "status_history": [
            {
                "date": _iso(event.created_at),
                "from": event.from_status.value if event.from_status else None,
                "to": event.to_status.value,
                "reason_code": event.reason_code,
                # Written for the claimant: the rejection mail carries it.
                "reason_text": event.reason_text,
            }
            for event in review_events
        ],
        "information_requests": [
            {
                "date": _iso(info.created_at),
                "due_on": _iso(info.due_on),
                "message": info.message,
                "status": info.status.value,
                "answer": info.response,
                "answered_at": _iso(info.answered_at),
            }
            for info in info_requests
        ],
        "email_changes": [
            {
                "requested_at": _iso(change.created_at),
                "new_email": change.new_email,
                "confirmed_at": _iso(change.confirmed_at),
            }
            for change in email_changes
        ],
        "mail_sent": [
            {
                "date": _iso(message.created_at),
                "sent_at": _iso(message.sent_at),
                "to": message.recipient,
                "subject": message.subject,
                "purpose": message.purpose,
                "status": message.status.value,
            }
            for message in mail
        ],
    }


class _Sink:
    """Where zipfile writes: collected in memory and handed on in pieces.

    No ``tell``/``seek``: zipfile then writes each entry with a data descriptor and never
    goes back, so the archive can be streamed.
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _zip_info(name: str, when: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])  # UTC
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16  # once extracted, readable by its owner only
    return info


def zip_chunks(
    document: bytes, pieces: list[tuple[Evidence, str]], progress: Callable[[int], None]
) -> Iterator[bytes]:
    """The ZIP, in pieces of about one vault chunk: memory stays bounded by a chunk, not the files."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w") as archive:  # type: ignore[arg-type]
        archive.writestr(_zip_info(DOCUMENT_NAME, utcnow()), document)
        yield sink.drain()
        progress(1)
        for done, (evidence, name) in enumerate(pieces, start=2):
            with archive.open(_zip_info(name, evidence.created_at), "w") as entry:
                for chunk in open_evidence(evidence):
                    entry.write(chunk)
                    if data := sink.drain():
                        yield data
            progress(done)
    yield sink.drain()


@handler("portal.data_copy")
def build_data_copy(copy_id: str) -> dict[str, Any]:
    """Build the copy into the vault and mark it ready (commits). Older copies not yet
    downloaded are discarded: only the newest can be downloaded."""
    copy = db.session.get_one(DataCopy, uuid.UUID(copy_id))
    if copy.ready_at is not None:  # run twice (``flask jobs run`` after a crash)
        return {"data_copy": copy_id}
    claim = copy.claim
    evidence = list(claim.evidence)
    pieces = [(e, entry_name(n, e.original_filename)) for n, e in enumerate(evidence, start=1)]
    document = json.dumps(
        collect_data(claim, {e.id: name for e, name in pieces}), ensure_ascii=False, indent=2
    ).encode("utf-8")
    job_id = copy.job_id
    total = 1 + len(pieces)

    def progress(done: int) -> None:
        if job_id is not None:
            db.session.execute(
                sa.update(Job).where(Job.id == job_id).values(progress_done=done, progress_total=total)
            )
            db.session.commit()  # at once: the console and the portal see it, and SQLite is not held

    progress(0)
    blob, copy.wrapped_file_key = current_vault().put_sealed(
        zip_chunks(document, pieces, progress),
        owner_key=claim.field_key(),
        aad=_file_aad(copy.id),
        key_aad=_key_aad(copy.id),
    )
    copy.storage_key = blob.storage_key
    copy.size = blob.size
    copy.ready_at = utcnow()
    db.session.flush()
    record_event(
        "claim.data_copy_ready",
        object_type="claim",
        object_id=claim.id,
        details={"data_copy": copy_id, "files": len(pieces), "size": blob.size},
    )
    db.session.commit()
    older = (
        db.session.execute(
            sa.select(DataCopy).where(
                DataCopy.claim_id == copy.claim_id,
                DataCopy.id != copy.id,
                DataCopy.storage_key.is_not(None),
                DataCopy.created_at <= copy.created_at,
            )
        )
        .scalars()
        .all()
    )
    for stale in older:
        discard_data_copy(stale)
    db.session.commit()
    return {"data_copy": copy_id, "files": len(pieces), "discarded": len(older)}


# Reading ------------------------------------------------------------------------------


def latest_data_copy(claim: Claim) -> DataCopy | None:
    return db.session.execute(
        sa.select(DataCopy).where(DataCopy.claim_id == claim.id).order_by(DataCopy.created_at.desc()).limit(1)
    ).scalar_one_or_none()


def data_copy_state(copy: DataCopy) -> str:
    """For the portal page: "pending", "failed", "ready", "downloaded" or "expired"."""
    if copy.downloaded_at is not None:
        return "downloaded"
    if copy.ready_at is None:
        job = db.session.get(Job, copy.job_id) if copy.job_id else None
        if (
            job is None
            or job.status == JobStatus.FAILED
            or copy.created_at <= utcnow() - timedelta(hours=PENDING_HOURS)
        ):
            return "failed"
        return "pending"
    if copy.expires_at <= utcnow() or copy.storage_key is None:
        return "expired"
    return "ready"


def data_copy_filename(copy: DataCopy) -> str:
    return f"donnees-{copy.claim.reference}.zip"


def mark_downloaded(copy: DataCopy) -> None:
    """Take the one download of a copy (flush, no commit); raises DataCopyError otherwise.

    Conditional: of two concurrent downloads, one wins, the other gets "already_downloaded".
    The view commits this, then streams ``open_data_copy`` and calls ``discard_data_copy``
    at the end (a broken connection loses this copy: the claimant asks for a new one).
    """
    now = utcnow()
    if copy.downloaded_at is not None:
        raise DataCopyError("already_downloaded")
    if copy.ready_at is None:
        raise DataCopyError("not_ready")
    if copy.expires_at <= now or copy.storage_key is None:
        raise DataCopyError("expired")
    ready = (DataCopy.ready_at.is_not(None), DataCopy.storage_key.is_not(None))
    if not stamp_once(DataCopy.downloaded_at, copy.id, *ready, when=now):
        raise DataCopyError("already_downloaded")
    claimant_event("claim.data_copy_downloaded", copy.claim_id, data_copy=str(copy.id))


def open_data_copy(copy: DataCopy) -> Iterator[bytes]:
    """The ZIP's verified plaintext, chunk by chunk (raises StreamIntegrityError if tampered)."""
    if copy.storage_key is None or copy.wrapped_file_key is None:
        raise DataCopyError("not_ready" if copy.ready_at is None else "expired")
    return current_vault().open_sealed(
        copy.storage_key,
        owner_key=copy.claim.field_key(),
        wrapped_key=copy.wrapped_file_key,
        aad=_file_aad(copy.id),
        key_aad=_key_aad(copy.id),
    )


def discard_data_copy(copy: DataCopy) -> None:
    """Remove the stored ZIP (flush, no commit); the row stays, as a record of the request.

    The stored object goes at once: once downloaded or superseded nothing may read it again,
    whether or not the caller's transaction commits.
    """
    storage_key = copy.storage_key
    copy.storage_key = None
    copy.wrapped_file_key = None
    now = utcnow()
    if copy.expires_at > now:
        copy.expires_at = now
    db.session.flush()
    if storage_key is not None:
        current_vault().delete(storage_key)
        record_event(
            "claim.data_copy_discarded",
            object_type="claim",
            object_id=copy.claim_id,
            details={"data_copy": str(copy.id), "downloaded": copy.downloaded_at is not None},
        )


def purge_data_copies() -> int:
    """Remove the stored ZIPs of expired copies and of downloads a broken connection left
    behind (flush, no commit; for a periodic task). Returns how many were removed."""
    now = utcnow()
    stale = (
        db.session.execute(
            sa.select(DataCopy).where(
                DataCopy.storage_key.is_not(None),
                sa.or_(DataCopy.expires_at <= now, DataCopy.downloaded_at <= now - DOWNLOAD_GRACE),
            )
        )
        .scalars()
        .all()
    )
    for copy in stale:
        discard_data_copy(copy)
    return len(stale)
