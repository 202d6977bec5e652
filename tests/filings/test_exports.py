"""Generating a locked filing's documents: bundle jobs fanned out, then the pack; downloads."""

from __future__ import annotations

import contextlib
import csv
import io
import zipfile
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from claims.accounts.models import StaffSession
from claims.cases.models import Case
from claims.extensions import db
from claims.filings.exports import open_export, start_export
from claims.filings.models import ExportKind, Filing, FilingExport, FilingState
from claims.filings.operations import add_claims, lock_filing
from claims.jobs.models import Job, JobStatus
from claims.jobs.operations import dispatch
from claims.types import utcnow
from claims.vault import current_vault
from tests.filings.test_filings import accepted, new_filing
from tests.jobs.test_celery import REDIS_URL, celery_worker, wait_for


def locked_filing(case: Case, lawyer: Any, make_claim: Any, make_claimant: Any, parties: int) -> Filing:
    claims = [
        accepted(make_claim, make_claimant, pieces=1, last_name=f"Nom{chr(65 + n)}") for n in range(parties)
    ]
    filing = new_filing(case, lawyer)
    add_claims(filing, claims, actor=lawyer)
    lock_filing(filing, actor=lawyer)
    db.session.commit()
    return filing


def titles(outline: list[Any]) -> list[str]:
    """The bookmarks' titles, nested ones included, in order."""
    found: list[str] = []
    for item in outline:
        found.extend(titles(item) if isinstance(item, list) else [item.title])
    return found


def exports_of(filing_id: int) -> dict[ExportKind, list[FilingExport]]:
    found: dict[ExportKind, list[FilingExport]] = {}
    for export in db.session.execute(
        sa.select(FilingExport).where(FilingExport.filing_id == filing_id)
    ).scalars():
        found.setdefault(export.kind, []).append(export)
    return found


def test_export_fans_out_bundles_then_assembles_the_pack(
    app: Flask, case: Case, make_claim: Any, make_claimant: Any, make_staff: Any
) -> None:
    lawyer = make_staff("lawyer")
    filing = locked_filing(case, lawyer, make_claim, make_claimant, parties=3)
    job = start_export(filing, actor=lawyer)
    db.session.commit()
    dispatch(job)  # inline runner: the bundle jobs and the pack job run one after the other
    db.session.expire_all()
    job = db.session.get_one(Job, job.id)
    assert (
        job.status == JobStatus.SUCCEEDED and job.progress_done == job.progress_total == 3 + 3
    )  # the bundles, the pack's three files
    assert db.session.get_one(Filing, filing.id).state == FilingState.EXPORTED
    files = exports_of(filing.id)
    assert len(files[ExportKind.BUNDLE]) == 3
    bundle_pages = sum(e.pages for e in files[ExportKind.BUNDLE])

    (pack,) = files[ExportKind.PACK_PDF]
    reader = PdfReader(io.BytesIO(b"".join(open_export(pack))))
    assert len(reader.pages) > bundle_pages  # the front pages, then every bundle
    bookmarks = [title for title in titles(reader.outline) if title.startswith("n° ")]
    assert bookmarks == [f"n° {n} — Mme Élodie NOM{chr(64 + n)}" for n in (1, 2, 3)]
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert all(f"Partie civile n° {n}" in text for n in (1, 2, 3))
    # The collective exhibit index: every piece of the lock, titled as in the bordereaux, with its hash.
    (index,) = [
        item for item in reader.outline if not isinstance(item, list) and item.title == "Index des pièces"
    ]
    index_text = " ".join(reader.pages[reader.get_destination_page_number(index)].extract_text().split())
    locked = db.session.get_one(Filing, filing.id).lock_snapshot["parties"]
    assert [len(party["exhibits"]) for party in locked] == [1, 1, 1]
    for party in locked:
        (piece,) = party["exhibits"]
        row = f"{party['party']} Mme Élodie NOM{chr(64 + party['party'])} Pièce n° 1 Autre pièce (p0.jpg)"
        assert row in index_text and f"SHA-256 : {piece['sha256']}" in index_text

    (archive,) = files[ExportKind.PACK_ZIP]
    names = zipfile.ZipFile(io.BytesIO(b"".join(open_export(archive)))).namelist()
    assert len([n for n in names if n.endswith(".pdf")]) == 3 and not any("NomA" in n for n in names)

    (listing,) = files[ExportKind.PACK_CSV]
    rows = list(csv.reader(io.StringIO(b"".join(open_export(listing)).decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 4

    for export in (pack, archive, listing, *files[ExportKind.BUNDLE]):  # encrypted at rest
        stored = current_vault().storage.path_of(export.storage_key).read_bytes()
        assert b"%PDF" not in stored and b"PK\x03\x04" not in stored and b"NomA" not in stored


def test_the_console_starts_the_export_and_offers_the_files(
    app: Flask, client: FlaskClient, case: Case, make_claim: Any, make_claimant: Any, login_as: Any
) -> None:
    lawyer = login_as("lawyer")
    filing = locked_filing(case, lawyer, make_claim, make_claimant, parties=2)
    assert client.post(f"/console/filings/{filing.id}/export").status_code == 302
    page = client.get(f"/console/filings/{filing.id}").get_data(as_text=True)
    assert "Dossier complet (PDF)" in page
    pack = exports_of(filing.id)[ExportKind.PACK_PDF][0]
    url = f"/console/filings/{filing.id}/files/{pack.id}"
    response = client.get(url, buffered=True)
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"] == f'attachment; filename="depot-{filing.id}.pdf"'
    # Re-authentication when the last check is old; every download is in the audit log.
    db.session.execute(sa.update(StaffSession).values(reauthenticated_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert client.get(url).location.startswith("/console/reauth")
    from claims.audit.models import AuditEvent

    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "filing.file_downloaded")
        )
        == 1
    )


@pytest.mark.skipif(not REDIS_URL, reason="RECOURS_TEST_REDIS_URL is not set")
def test_the_celery_path_gives_the_same_pack_as_the_embedded_one(
    app: Flask, case: Case, make_claim: Any, make_claimant: Any, make_staff: Any
) -> None:
    """50 civil parties: bundles fanned out to a worker process over Redis, then the pack."""
    lawyer = make_staff("lawyer")
    filing = locked_filing(case, lawyer, make_claim, make_claimant, parties=50)
    packs = []
    for runner in ("inline", "celery"):
        context = celery_worker(app) if runner == "celery" else contextlib.nullcontext()
        with context:
            job = start_export(db.session.get_one(Filing, filing.id), actor=lawyer)
            db.session.commit()
            dispatch(job)
            assert wait_for(job.id, JobStatus.SUCCEEDED, seconds=240) == JobStatus.SUCCEEDED, runner
        db.session.expire_all()
        generation = db.session.get_one(Filing, filing.id).export_generation
        files = {
            e.kind: b"".join(open_export(e))
            for e in exports_of(filing.id)[ExportKind.PACK_PDF] + exports_of(filing.id)[ExportKind.PACK_ZIP]
            + exports_of(filing.id)[ExportKind.PACK_CSV]
            if e.generation == generation
        }  # fmt: skip
        packs.append(files)
    embedded, distributed = packs
    assert len(PdfReader(io.BytesIO(embedded[ExportKind.PACK_PDF])).pages) > 50 * 3
    for kind in (ExportKind.PACK_PDF, ExportKind.PACK_ZIP, ExportKind.PACK_CSV):
        assert distributed[kind] == embedded[kind], kind


def test_flask_filings_export_writes_the_three_files(
    app: Flask, case: Case, make_claim: Any, make_claimant: Any, make_staff: Any, runner: Any, tmp_path: Any
) -> None:
    filing = locked_filing(case, make_staff("lawyer"), make_claim, make_claimant, parties=2)
    result = runner.invoke(args=["filings", "export", str(filing.id), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [
        f"depot-{filing.id}-actes.zip",
        f"depot-{filing.id}-liste.csv",
        f"depot-{filing.id}.pdf",
    ]
    assert (tmp_path / "out" / f"depot-{filing.id}.pdf").read_bytes().startswith(b"%PDF")
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in (tmp_path / "out").iterdir())
    draft = new_filing(case, make_staff("lawyer"))
    assert (
        runner.invoke(args=["filings", "export", str(draft.id), "--out", str(tmp_path / "x")]).exit_code == 2
    )


def test_a_withdrawal_deletes_the_generated_files_that_hold_the_person_s_data(
    app: Flask, case: Case, make_claim: Any, make_claimant: Any, make_staff: Any
) -> None:
    """A withdrawn person's data must not outlive them in a pack: every generation of the pack
    and their bundle go (the other parties' bundles stay); generated again, the pack leaves
    them out."""
    from claims.audit.models import AuditEvent
    from claims.mail.models import OutboxMessage
    from claims.portal.withdrawal import withdraw_claim

    lawyer = make_staff("lawyer")
    filing = locked_filing(case, lawyer, make_claim, make_claimant, parties=2)
    for _ in range(2):  # two generations
        job = start_export(filing, actor=lawyer)
        db.session.commit()
        dispatch(job)
    db.session.expire_all()
    assert filing.state == FilingState.EXPORTED and len(exports_of(filing.id)[ExportKind.PACK_PDF]) == 2
    gone, kept = (m.claim for m in sorted(filing.members, key=lambda m: m.position))
    gone_reference, kept_reference = gone.reference, kept.reference

    withdraw_claim(gone)
    db.session.commit()

    found = exports_of(filing.id)
    assert set(found) == {ExportKind.BUNDLE}
    assert {e.claim_id for e in found[ExportKind.BUNDLE]} == {kept.id}
    assert filing.state == FilingState.LOCKED
    event = db.session.execute(
        sa.select(AuditEvent).where(AuditEvent.action == "filing.member_withdrawn")
    ).scalar_one()
    assert event.details["files_deleted"] == 2 * (3 + 1)
    mail = db.session.execute(
        sa.select(OutboxMessage).where(OutboxMessage.data_key_id == lawyer.data_key_id)
    ).scalar_one()
    assert "ont été supprimés" in mail.body and gone_reference in mail.body

    job = start_export(filing, actor=lawyer)
    db.session.commit()
    dispatch(job)
    db.session.expire_all()
    assert db.session.get_one(Job, job.id).status == JobStatus.SUCCEEDED
    listing = next(e for e in exports_of(filing.id)[ExportKind.PACK_CSV])
    text = b"".join(open_export(listing)).decode("utf-8-sig")
    assert kept_reference in text and gone_reference not in text


def test_replaying_an_erasure_after_a_restore_deletes_the_generated_files_too(
    app: Flask, case: Case, make_claim: Any, make_claimant: Any, make_staff: Any
) -> None:
    """``flask keys destroy`` in a database restored from before a withdrawal: the person's data
    must not stay in the packs the backup still lists, nor in their own bundle."""
    lawyer = make_staff("lawyer")
    filing = locked_filing(case, lawyer, make_claim, make_claimant, parties=2)
    job = start_export(filing, actor=lawyer)
    db.session.commit()
    dispatch(job)
    db.session.expire_all()
    gone, kept = (m.claim for m in sorted(filing.members, key=lambda m: m.position))
    key_id, kept_id = gone.claimant.data_key_id, kept.id

    result = app.test_cli_runner().invoke(args=["keys", "destroy", str(key_id)])
    assert (
        result.output.strip()
        == "destroyed 1 data keys, 1 claims erased (0 already destroyed, 0 unknown here)"
    )
    db.session.expire_all()
    found = exports_of(filing.id)
    assert set(found) == {ExportKind.BUNDLE} and {e.claim_id for e in found[ExportKind.BUNDLE]} == {kept_id}
    assert db.session.get_one(Filing, filing.id).state == FilingState.LOCKED


def test_the_pack_writer_hands_large_bytes_over_by_reference_and_copies_the_rest() -> None:
    from claims.filings.exports import _Handoff

    batches: list[list[Any]] = []
    out = _Handoff(batches.append)
    image = bytes(range(256)) * 1024  # 256 KiB: a bundle's image stream, say
    mutable = bytearray(b"m" * 40_000)  # large, but its owner may reuse it
    writes: list[bytes] = []
    for data in (b"%PDF-1.7\n", memoryview(image)[1000:], b"endstream\n" * 3, mutable, b"\n", image):
        assert out.write(data) == len(data)
        writes.append(bytes(data))
    mutable[:] = b"x" * len(mutable)
    out.flush()
    handed = [item for batch in batches for item in batch]
    assert b"".join(bytes(item) for item in handed) == b"".join(writes)  # all of it, in order
    by_reference = [item for item in handed if isinstance(item, memoryview)]
    assert [item.obj is image for item in by_reference] == [True, True]  # the two views of ``image``
    assert all(sum(len(item) for item in batch) >= _Handoff.BATCH for batch in batches[:-1])


def test_a_stored_file_is_read_chunk_by_chunk_and_its_handle_closed() -> None:
    from claims.filings.exports import _Plaintext

    closed = []

    def chunks() -> Any:
        try:
            yield b"abcdef"
            yield b""
            yield b"ghij"
            yield b"klmnop"
        finally:
            closed.append(True)

    stream = _Plaintext(chunks())
    assert [stream.read(4), stream.read(4), stream.read(100)] == [b"abcd", b"ef", b"ghij"]
    assert stream.read() == b"klmnop"
    assert stream.read(1) == b""
    partial = _Plaintext(chunks())
    assert partial.read(2) == b"ab"
    partial.close()  # not read through: the file's handle goes all the same
    assert closed == [True, True]
