"""The claimant's copy of their data: built by a job into the vault, encrypted at rest, complete,
with the originals byte for byte under safe names, without staff notes, downloadable once."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from claims.audit.models import AuditEvent
from claims.claimants.models import Claim, ClaimStatus
from claims.evidence.models import Evidence, EvidenceKind
from claims.evidence.operations import accept_evidence, store_evidence
from claims.extensions import db
from claims.jobs.models import Job, JobStatus
from claims.jobs.operations import dispatch
from claims.portal.export import (
    DOCUMENT_NAME,
    DataCopyError,
    data_copy_state,
    discard_data_copy,
    entry_name,
    latest_data_copy,
    mark_downloaded,
    open_data_copy,
    purge_data_copies,
    request_data_copy,
)
from claims.portal.models import DataCopy
from claims.review.operations import add_note, answer_information_request, reject, request_information
from claims.types import utcnow
from claims.vault import current_vault
from tests.evidence.test_uploads import jpeg

HOSTILE_NAME = "../../etc/passwd\x07.jpg"


def built_copy(claim: Claim) -> DataCopy:
    job = request_data_copy(claim)
    db.session.commit()
    dispatch(job)  # inline runner: built now
    db.session.expire_all()
    assert db.session.get_one(Job, job.id).status == JobStatus.SUCCEEDED
    copy = latest_data_copy(claim)
    assert copy is not None
    return copy


def read_zip(copy: DataCopy) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(b"".join(open_data_copy(copy))))
    assert archive.testzip() is None
    return archive


def stored_bytes(storage_key: str) -> bytes:
    with current_vault().storage.open(storage_key) as fh:
        return fh.read()


@pytest.fixture
def claim_with_evidence(make_claim: Any) -> tuple[Claim, list[bytes]]:
    claim = make_claim(status=ClaimStatus.IN_REVIEW)
    photo, other = jpeg(), jpeg((64, 48), exif=False)
    accept_evidence(claim, io.BytesIO(photo), kind=EvidenceKind.OTHER, filename="a.jpg")
    # A name that reached the row unsanitised (an older import, a bug): the copy must not trust it.
    store_evidence(
        claim,
        io.BytesIO(other),
        kind=EvidenceKind.PROOF_OF_LOSS,
        original_filename=HOSTILE_NAME,
        detected_type="image/jpeg",
    )
    db.session.commit()
    return claim, [photo, other]


def test_copy_holds_the_data_and_the_originals(
    app: Flask, claim_with_evidence: tuple[Claim, list[bytes]], make_staff: Any
) -> None:
    claim, originals = claim_with_evidence
    lawyer = make_staff("lawyer")
    add_note(claim, "NOTE-STRATEGIE-INTERNE ne pas communiquer", author=lawyer)
    info, _ = request_information(
        claim,
        actor=lawyer,
        message="Merci d’envoyer la notification reçue.",
        due_on=date.today() + timedelta(days=15),
    )
    answer_information_request(info, "Je l’ai perdue, voici une capture.")
    db.session.commit()

    copy = built_copy(claim)
    assert copy.ready_at is not None and copy.size and data_copy_state(copy) == "ready"
    assert copy.expires_at - copy.created_at == timedelta(days=7)
    archive = read_zip(copy)
    names = archive.namelist()
    assert names == [DOCUMENT_NAME, "pieces/1-a.jpg", "pieces/2-passwd.jpg"]

    data = json.loads(archive.read(DOCUMENT_NAME))
    assert data["identity"]["first_name"] == "Élodie" and data["identity"]["last_name"] == "Lefèvre-Dubois"
    assert data["identity"]["birth_date"] == "1984-03-07"
    assert data["contact"]["email"] == "elodie.lefevre@example.fr" and data["contact"]["city"] == "Paris"
    assert data["claim"]["reference"] == claim.reference
    assert data["claim"]["harms"] == [
        {"head": "moral_harm", "label": "Préjudice moral", "amount_eur": "1500.00"}
    ]
    assert data["claim"]["statement"] == "J’ai reçu des SMS frauduleux après la fuite."
    evidence = data["evidence"]
    stored = db.session.execute(sa.select(Evidence).order_by(Evidence.created_at)).scalars().all()
    assert [e["sha256"] for e in evidence] == [e.sha256 for e in stored]
    assert evidence[1]["original_filename"] == HOSTILE_NAME  # data, faithfully, never a path
    assert evidence[1]["file"] == "pieces/2-passwd.jpg" and evidence[1]["kind"] == "proof_of_loss"
    assert [e["size"] for e in evidence] == [len(o) for o in originals]
    # Status history and the information request, answered; no staff identity anywhere.
    assert [(s["from"], s["to"]) for s in data["status_history"]] == [
        ("in_review", "needs_info"),
        ("needs_info", "in_review"),
    ]
    (request,) = data["information_requests"]
    assert request["message"].startswith("Merci") and request["answer"].startswith("Je l’ai perdue")
    document = archive.read(DOCUMENT_NAME).decode()
    assert (
        lawyer.email not in document and lawyer.full_name not in document and str(lawyer.id) not in document
    )
    assert {m["purpose"] for m in data["mail_sent"]} == {"review"}

    # The originals, byte for byte.
    assert archive.read("pieces/1-a.jpg") == originals[0]
    assert archive.read("pieces/2-passwd.jpg") == originals[1]
    # Staff notes are withheld: in no entry.
    for name in names:
        assert b"NOTE-STRATEGIE" not in archive.read(name)

    # Encrypted at rest: the stored object is no ZIP, and no clear copy lies anywhere on disk.
    raw = stored_bytes(copy.storage_key)
    assert b"donnees.json" not in raw and b"PK\x03\x04" not in raw and "Lefèvre".encode() not in raw
    for path in Path(app.instance_path).rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert b"donnees.json" not in content and b"pieces/1-a.jpg" not in content, path

    actions = db.session.execute(sa.select(AuditEvent.action)).scalars().all()
    assert "claim.data_copy_requested" in actions and "claim.data_copy_ready" in actions


def test_rejection_reason_is_in_the_history(make_claim: Any, make_staff: Any) -> None:
    claim = make_claim(status=ClaimStatus.IN_REVIEW)
    reject(claim, actor=make_staff("lawyer"), reason_code="time_barred", reason_text="Hors période.")
    db.session.commit()
    data = json.loads(read_zip(built_copy(claim)).read(DOCUMENT_NAME))
    (event,) = data["status_history"]
    assert event["to"] == "rejected" and event["reason_code"] == "time_barred"
    assert event["reason_text"] == "Hors période." and set(event) == {
        "date",
        "from",
        "to",
        "reason_code",
        "reason_text",
    }


def test_entry_names_are_safe() -> None:
    assert entry_name(3, HOSTILE_NAME) == "pieces/3-passwd.jpg"
    assert entry_name(1, "..\\..\\Windows\\system32\\x.pdf") == "pieces/1-x.pdf"
    assert entry_name(2, "..") == "pieces/2-document"
    assert entry_name(4, 'a<b>:c"|?*.pdf') == "pieces/4-a_b__c____.pdf"
    assert entry_name(5, "relevé\u202egpj.pdf") == "pieces/5-relevégpj.pdf"  # bidi override dropped
    assert entry_name(6, None) == "pieces/6-document"
    assert len(entry_name(7, "x" * 500)) <= len("pieces/7-") + 100


def test_downloadable_once(claim_with_evidence: tuple[Claim, list[bytes]]) -> None:
    claim, _ = claim_with_evidence
    copy = built_copy(claim)
    storage_key = copy.storage_key
    mark_downloaded(copy)
    db.session.commit()
    assert data_copy_state(copy) == "downloaded"
    assert read_zip(copy).namelist()[0] == DOCUMENT_NAME  # the view streams it after the commit
    with pytest.raises(DataCopyError) as second:
        mark_downloaded(copy)
    assert second.value.code == "already_downloaded"

    discard_data_copy(copy)
    db.session.commit()
    assert copy.storage_key is None and copy.wrapped_file_key is None
    assert storage_key not in {name for name, _ in current_vault().storage.names()}
    with pytest.raises(DataCopyError):
        open_data_copy(copy)
    actions = db.session.execute(sa.select(AuditEvent.action)).scalars().all()
    assert actions.count("claim.data_copy_downloaded") == 1


def test_concurrent_download_loses_on_the_conditional_update(make_claim: Any) -> None:
    copy = built_copy(make_claim())
    # Another request took the download just now, behind this session's back.
    db.session.execute(
        sa.update(DataCopy)
        .where(DataCopy.id == copy.id)
        .values(downloaded_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    assert copy.downloaded_at is None  # what this session still believes
    with pytest.raises(DataCopyError) as lost:
        mark_downloaded(copy)
    assert lost.value.code == "already_downloaded"


def test_pending_not_ready_and_expired(make_claim: Any) -> None:
    claim = make_claim()
    job = request_data_copy(claim)
    db.session.commit()
    copy = latest_data_copy(claim)
    assert copy is not None and data_copy_state(copy) == "pending"
    with pytest.raises(DataCopyError) as pending:
        request_data_copy(claim)
    assert pending.value.code == "pending"
    with pytest.raises(DataCopyError) as not_ready:
        mark_downloaded(copy)
    assert not_ready.value.code == "not_ready"
    db.session.rollback()

    dispatch(job)
    copy = latest_data_copy(claim)
    assert copy is not None
    copy.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert data_copy_state(copy) == "expired"
    with pytest.raises(DataCopyError) as expired:
        mark_downloaded(copy)
    assert expired.value.code == "expired"

    storage_key = copy.storage_key
    assert purge_data_copies() == 1
    db.session.commit()
    assert copy.storage_key is None
    assert storage_key not in {name for name, _ in current_vault().storage.names()}


def test_a_failed_build_leaves_nothing_and_can_be_asked_again(
    app: Flask, claim_with_evidence: tuple[Claim, list[bytes]]
) -> None:
    claim, _ = claim_with_evidence
    evidence = claim.evidence[0]
    vault = current_vault()
    held = stored_bytes(evidence.storage_key)
    vault.delete(evidence.storage_key)  # the original cannot be read: the build fails midway
    before = {name for name, _ in vault.storage.names()}

    job = request_data_copy(claim)
    db.session.commit()
    dispatch(job)
    db.session.expire_all()
    assert db.session.get_one(Job, job.id).status == JobStatus.FAILED
    copy = latest_data_copy(claim)
    assert copy is not None and copy.ready_at is None and copy.storage_key is None
    assert data_copy_state(copy) == "failed"
    assert {name for name, _ in vault.storage.names()} == before
    assert not list(Path(vault.storage.root).rglob(".*.tmp"))

    # Put the original back: a new request is accepted and succeeds.
    with vault.storage.path_of(evidence.storage_key).open("wb") as fh:
        fh.write(held)
    assert built_copy(claim).id != copy.id


def test_a_new_copy_replaces_the_one_not_downloaded(make_claim: Any) -> None:
    claim = make_claim()
    first = built_copy(claim)
    first_key = first.storage_key
    second = built_copy(claim)
    db.session.expire_all()
    first = db.session.get_one(DataCopy, first.id)
    assert second.id != first.id and latest_data_copy(claim).id == second.id
    assert first.storage_key is None and data_copy_state(first) == "expired"
    assert first_key not in {name for name, _ in current_vault().storage.names()}
    assert data_copy_state(second) == "ready"
