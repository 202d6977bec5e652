"""Generating a locked filing's documents in background jobs: one job per claimant bundle,
fanned out, then one job per file of the pack.

``start_export`` (from the console) queues the export job; it fans out one
``filings.bundle`` job per civil party and stays RUNNING; each bundle job stores its
PDF encrypted in the vault and counts itself on the export job's progress; the last one
queues three ``filings.pack`` jobs, which write the pack's files side by side (one PDF, a
ZIP of the bundles, a CSV); the last of those to finish ends the export. Every file is
written to the vault under a new random name, atomically, and its row is committed only
after: a worker killed mid-way leaves no half-written file published, and its job is run
again (Celery redelivers it, ``flask jobs run`` takes queued ones). Nothing here runs
inside a web request.
"""

from __future__ import annotations

import io
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, selectinload

from ..audit.operations import record_event
from ..claimants.models import Claim, Claimant
from ..crypto.models import DataKey
from ..crypto.stream import bytes_view
from ..extensions import db
from ..jobs.models import Job, JobStatus
from ..jobs.operations import CONTINUES, dispatch, enqueue, finish_job, handler
from ..vault import current_vault
from .bundles import BundleError, write_bundle
from .models import ExportKind, Filing, FilingExport, FilingState
from .operations import FilingError

if TYPE_CHECKING:
    from ..accounts.models import User


# The pack's three files, each written by a job of its own: they run side by side on as many
# workers as there are, and the one that completes the count ends the export.
PACK_PARTS = (ExportKind.PACK_PDF, ExportKind.PACK_ZIP, ExportKind.PACK_CSV)
_LOAD_BATCH = 200  # parties whose claims are loaded by one query


def _aad(export_id: uuid.UUID, what: str) -> bytes:
    return b"recours:filing-export:" + what.encode() + b":" + export_id.bytes


def export_running(filing: Filing) -> bool:
    if filing.export_job_id is None:
        return False
    job = db.session.get(Job, filing.export_job_id)
    return job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING)


def start_export(filing: Filing, *, actor: User | None) -> Job:
    """Queue the generation of the filing's documents (flush); dispatch the job after the commit."""
    if filing.state == FilingState.DRAFT:
        raise FilingError("not_locked")
    if export_running(filing):
        raise FilingError("export_running")
    filing.export_generation += 1
    parties = len(filing.lock_snapshot["parties"])
    job = enqueue("filings.export", filing_id=filing.id, generation=filing.export_generation)
    job.progress_total = parties + len(PACK_PARTS)  # each bundle, then each file of the pack
    if filing.pack_data_key_id is None:  # the pack's files are encrypted under a key of their own
        data_key = DataKey.generate()
        db.session.add(data_key)
        db.session.flush()
        filing.pack_data_key_id = data_key.id
    filing.export_job_id = job.id
    db.session.flush()
    record_event(
        "filing.export_started",
        actor_type="staff" if actor else "system",  # the console, or flask filings export
        actor_id=actor.id if actor else None,
        object_type="filing",
        object_id=filing.id,
        details={"generation": filing.export_generation, "parties": parties},
    )
    return job


def _started_by(export_job_id: str, kind: str) -> list[Job]:
    """The jobs of ``kind`` an export started, oldest first."""
    return list(
        db.session.execute(
            sa.select(Job)
            .where(Job.kind == kind, Job.params["export_job_id"].as_string() == export_job_id)
            .order_by(Job.created_at)
        ).scalars()
    )


@handler("filings.export")
def fan_out(filing_id: int, generation: int) -> dict[str, Any]:
    """One bundle job per civil party, in the lock's order; this job goes on in them."""
    filing = db.session.get_one(Filing, filing_id)
    export_job = filing.export_job_id
    tracker = db.session.get_one(Job, export_job)
    if tracker.result and "bundle_jobs" in tracker.result:
        # Run again: its worker died after the commit below. Queue no bundle twice; start
        # those it may not have sent (a duplicate message of a started job does nothing).
        bundles = _started_by(str(export_job), "filings.bundle")
        jobs = [job for job in bundles if job.status == JobStatus.QUEUED]
    else:
        jobs = bundles = [
            enqueue(
                "filings.bundle",
                filing_id=filing_id,
                generation=generation,
                claim_id=party["claim"],
                export_job_id=str(export_job),
                party=party,  # its own entry of the snapshot: no job loads the whole snapshot again
            )
            for party in filing.lock_snapshot["parties"]
        ]
        tracker.result = {"bundle_jobs": len(jobs)}  # until the pack ends it with its own
        db.session.commit()
    for job in jobs:
        dispatch(job)
    return {CONTINUES: True, "bundles": len(bundles)}


def _store(
    data: bytes | Iterator[bytes], *, key: bytes, export_id: uuid.UUID, what: str
) -> tuple[Any, bytes]:
    source = [data] if isinstance(data, bytes) else data
    return current_vault().put_sealed(
        source, owner_key=key, aad=_aad(export_id, what), key_aad=_aad(export_id, what + ":key")
    )


@handler("filings.bundle")
def bundle_job(
    filing_id: int, generation: int, claim_id: str, export_job_id: str, party: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Build one civil party's bundle into the vault, then count it on the export job."""
    tracker = uuid.UUID(export_job_id)
    claim = db.session.get_one(Claim, uuid.UUID(claim_id))
    filing = db.session.get_one(Filing, filing_id)
    done = db.session.execute(
        sa.select(FilingExport.id).where(
            FilingExport.filing_id == filing_id,
            FilingExport.generation == generation,
            FilingExport.kind == ExportKind.BUNDLE,
            FilingExport.claim_id == claim.id,
        )
    ).scalar_one_or_none()
    if done is None:  # not a job run again after its worker died past this point
        buffer = io.BytesIO()
        try:
            pages = write_bundle(claim, buffer, filing, party)
        except BundleError as error:  # erased since the lock: the pack lists it as withdrawn
            pages = None
            skipped = error.code
        except Exception:
            finish_job(tracker, failed="bundle_failed")
            db.session.commit()
            raise
        else:
            skipped = None
            export_id = uuid.uuid4()
            data = buffer.getvalue()
            blob, wrapped = _store(data, key=claim.field_key(), export_id=export_id, what="bundle")
            db.session.add(
                FilingExport(
                    id=export_id,
                    filing_id=filing_id,
                    generation=generation,
                    kind=ExportKind.BUNDLE,
                    claim_id=claim.id,
                    data_key_id=claim.claimant.data_key_id,
                    storage_key=blob.storage_key,
                    wrapped_file_key=wrapped,
                    size=blob.size,
                    sha256=blob.sha256,
                    pages=pages,
                )
            )
        counted = db.session.execute(
            sa.update(Job)
            .where(Job.id == tracker)
            .values(progress_done=Job.progress_done + 1)
            .returning(Job.progress_done, Job.progress_total)
        ).one()
        packs = []
        if counted.progress_done == counted.progress_total - len(PACK_PARTS):  # the last bundle
            # In the same transaction as the count: a worker dying in between cannot leave
            # every bundle counted and no pack to come.
            packs = [
                enqueue("filings.pack", filing_id=filing_id, generation=generation,
                        export_job_id=export_job_id, part=part.value)
                for part in PACK_PARTS
            ]  # fmt: skip
        db.session.commit()
        for pack in packs:
            dispatch(pack)
        return {"pages": pages, "skipped": skipped}
    # Run again after its worker died past the commit above: if that was the last bundle, the
    # pack's jobs may not all have been sent (a duplicate message of a started job does nothing).
    export = db.session.get_one(Job, tracker)
    if export.status == JobStatus.RUNNING and export.progress_done >= export.progress_total - len(PACK_PARTS):
        for pack in _started_by(export_job_id, "filings.pack"):
            if pack.status == JobStatus.QUEUED:
                dispatch(pack)
    return {"already_built": True}


def open_export(export: FilingExport) -> Iterator[bytes]:
    """Verified plaintext of a generated file."""
    if export.kind == ExportKind.BUNDLE:
        key = db.session.get_one(Claim, export.claim_id).field_key()
    else:
        key = db.session.get_one(DataKey, export.data_key_id).plaintext()
    what = "bundle" if export.kind == ExportKind.BUNDLE else export.kind.value
    return current_vault().open_sealed(
        export.storage_key,
        owner_key=key,
        wrapped_key=export.wrapped_file_key,
        aad=_aad(export.id, what),
        key_aad=_aad(export.id, what + ":key"),
    )


def latest_exports(filing: Filing) -> list[FilingExport]:
    """The files of the newest complete generation (pack included), bundles in party order."""
    complete = (
        sa.select(FilingExport.generation)
        .where(FilingExport.filing_id == filing.id, FilingExport.kind.in_(PACK_PARTS))
        .group_by(FilingExport.generation)
        .having(sa.func.count(sa.distinct(FilingExport.kind)) == len(PACK_PARTS))
    )
    generation = db.session.execute(
        sa.select(sa.func.max(complete.subquery().c.generation))
    ).scalar_one_or_none()
    if generation is None:
        return []
    return list(
        db.session.execute(
            sa.select(FilingExport).where(
                FilingExport.filing_id == filing.id, FilingExport.generation == generation
            )
        ).scalars()
    )


class _Abort(Exception):
    """The writer failed: the vault must not keep what it received."""


class _Handoff(io.RawIOBase):
    """The writer's output, passed to the vault's thread in batches of about ``BATCH`` bytes.

    Small writes (the PDF's object headers, the ZIP's local headers, CSV rows) are gathered
    into one buffer, copied once. Large ones made of ``bytes`` (a bundle's image streams, its
    decrypted chunks) go by reference, not copied: ``bytes`` cannot change under the reader.
    """

    BATCH = 256 * 1024
    LARGE = 32 * 1024

    def __init__(self, put: Callable[[list[Any]], None]) -> None:
        super().__init__()
        self._put = put
        self._small = bytearray()
        self._batch: list[Any] = []
        self._size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        held = bytes_view(data)
        size = memoryview(data).nbytes if held is None else held.nbytes
        if held is not None and size >= self.LARGE:
            self._gather()  # what came before it, in order
            self._batch.append(held)
            self._size += size
        else:
            self._small += data
            if len(self._small) >= self.LARGE:
                self._gather()
        if self._size >= self.BATCH:
            self._hand_over()
        return size

    def flush(self) -> None:
        self._gather()
        self._hand_over()

    def _gather(self) -> None:
        if self._small:
            self._batch.append(bytes(self._small))
            self._size += len(self._small)
            self._small.clear()

    def _hand_over(self) -> None:
        if self._batch:
            self._put(self._batch)
            self._batch, self._size = [], 0


def _store_written(
    write: Callable[[BinaryIO], Any], *, key: bytes, export_id: uuid.UUID, what: str
) -> tuple[Any, bytes]:
    """Store what ``write`` writes to a file object, encrypted, without a clear temporary file
    and without holding it whole in memory: at most 8 batches queued, each about 256 KiB
    (a large write goes into one whole, by reference: not copied, but kept in memory until
    its batch is stored, so the bundle it came from may outlive the writer's use of it).

    The writer runs here (it reads the database); the vault's encryption and write run in a
    thread that consumes the batches. If the writer fails, the vault discards the partial file.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    batches: queue.Queue[list[Any] | _Abort | None] = queue.Queue(maxsize=8)
    outcome: dict[str, Any] = {}

    def received() -> Iterator[bytes]:
        while (item := batches.get()) is not None:
            if isinstance(item, _Abort):
                raise item
            yield from item

    def consume() -> None:
        try:
            with app.app_context():
                outcome["stored"] = _store(received(), key=key, export_id=export_id, what=what)
        except BaseException as error:
            outcome["error"] = error
            while batches.get() is not None:  # let the writer finish its puts
                pass

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    try:
        out = _Handoff(batches.put)
        write(out)  # type: ignore[arg-type]
        out.flush()
    except BaseException:
        batches.put(_Abort())
        batches.put(None)
        consumer.join()
        raise
    batches.put(None)
    consumer.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["stored"]  # type: ignore[no-any-return]


class _Plaintext(io.RawIOBase):
    """A stored file's verified plaintext as a stream, its chunks handed out as they come: the
    ZIP copies a bundle chunk by chunk, without a copy of the whole; the PDF reads it whole."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._rest = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        while not self._rest:
            piece = next(self._chunks, None)
            if piece is None:
                return b""
            self._rest = piece
        data, self._rest = self._rest[:size], self._rest[size:]
        return data

    def readall(self) -> bytes:
        data = self._rest + b"".join(self._chunks)
        self._rest = b""
        return data

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()  # the stored file's handle, before the end of a file not read through
        super().close()


def _party_name(claim: Claim) -> str:
    person = claim.claimant
    return " ".join(p for p in (person.civility, person.first_name, (person.last_name or "").upper()) if p)


@handler("filings.pack")
def pack_job(filing_id: int, generation: int, export_job_id: str, part: str) -> dict[str, Any]:
    """Write one file of the pack (``part``: its ExportKind) from the stored bundles; the last
    of the three to finish ends the export."""
    tracker = uuid.UUID(export_job_id)
    try:
        return _assemble(filing_id, generation, tracker, ExportKind(part))
    except Exception:
        db.session.rollback()
        finish_job(tracker, failed="pack_failed")
        db.session.commit()
        raise


def _assemble(filing_id: int, generation: int, tracker: uuid.UUID, kind: ExportKind) -> dict[str, Any]:
    from ..documents.bundle import HeadAmount
    from ..documents.pack import (
        PackExhibit,
        PackInfo,
        PackParty,
        write_pack_csv,
        write_pack_pdf,
        write_pack_zip,
    )
    from ..evidence.models import Evidence
    from .bundles import as_exhibit

    filing = db.session.get_one(Filing, filing_id)
    done = db.session.execute(
        sa.select(FilingExport.id).where(
            FilingExport.filing_id == filing_id,
            FilingExport.generation == generation,
            FilingExport.kind == kind,
        )
    ).first()
    if done is not None:  # run again after its worker died past its commit
        return {"already_written": kind.value}
    bundles = {
        e.claim_id: e
        for e in db.session.execute(
            sa.select(FilingExport).where(
                FilingExport.filing_id == filing_id,
                FilingExport.generation == generation,
                FilingExport.kind == ExportKind.BUNDLE,
            )
        ).scalars()
    }
    labels = {h["code"]: h["label_fr"] for h in filing.case.heads_of_damage}
    info = PackInfo(
        case_title=filing.case.title, court=filing.court, chamber=filing.chamber,
        court_case_number=filing.court_case_number, procedure=filing.procedure.value, counsel=filing.counsel,
        filing_id=filing.id, locked_at=filing.locked_at, snapshot_sha256=filing.snapshot_sha256,
    )  # fmt: skip
    snapshot = filing.lock_snapshot["parties"]
    with_exhibits = kind == ExportKind.PACK_PDF  # the collective exhibit index

    def parties() -> Iterator[PackParty]:
        """The parties in the lock's order, their claims (claimant, harms, key) and exhibits
        loaded a batch at a time: a few queries per batch, never all of them in memory."""
        for start in range(0, len(snapshot), _LOAD_BATCH):
            batch = [p for p in snapshot[start : start + _LOAD_BATCH] if uuid.UUID(p["claim"]) in bundles]
            claims = {
                c.id: c
                for c in db.session.execute(
                    sa.select(Claim)
                    .where(Claim.id.in_([uuid.UUID(p["claim"]) for p in batch]))
                    .options(
                        joinedload(Claim.claimant).joinedload(Claimant.data_key), selectinload(Claim.harms)
                    )
                ).scalars()
            }
            pieces: dict[uuid.UUID, Evidence] = {}
            if with_exhibits:
                wanted = [uuid.UUID(item["evidence"]) for p in batch for item in p["exhibits"]]
                pieces = {
                    e.id: e
                    for e in db.session.execute(sa.select(Evidence).where(Evidence.id.in_(wanted))).scalars()
                }
            for party in batch:
                claim = claims[uuid.UUID(party["claim"])]
                export = bundles[claim.id]
                exhibits = []
                for item in party["exhibits"] if with_exhibits else ():
                    shown = as_exhibit(item["number"], pieces[uuid.UUID(item["evidence"])])
                    exhibits.append(PackExhibit(item["number"], shown.title, shown.date, item["sha256"]))
                yield PackParty(
                    number=party["party"],
                    name=_party_name(claim),
                    city=claim.claimant.city or "",
                    reference=claim.reference,
                    heads=[HeadAmount(labels.get(h.head, h.head), h.amount) for h in claim.harms],
                    bundle=lambda export=export: _Plaintext(open_export(export)),
                    exhibits=exhibits,
                )

    writers = {
        ExportKind.PACK_PDF: lambda out: write_pack_pdf(info, parties(), out),
        ExportKind.PACK_ZIP: lambda out: write_pack_zip(info, parties(), out),
        ExportKind.PACK_CSV: lambda out: write_pack_csv(
            info, parties(), io.TextIOWrapper(out, "utf-8", newline="", write_through=True)
        ),
    }
    key = db.session.get_one(DataKey, filing.pack_data_key_id).plaintext()
    export_id = uuid.uuid4()
    blob, wrapped = _store_written(writers[kind], key=key, export_id=export_id, what=kind.value)
    db.session.add(
        FilingExport(
            id=export_id,
            filing_id=filing_id,
            generation=generation,
            kind=kind,
            claim_id=None,
            data_key_id=filing.pack_data_key_id,
            storage_key=blob.storage_key,
            wrapped_file_key=wrapped,
            size=blob.size,
            sha256=blob.sha256,
        )
    )
    # Counted in the same transaction as the file's row; on an export that failed meanwhile
    # (another part, or a bundle) nothing is counted and the row is not kept either.
    counted = db.session.execute(
        sa.update(Job)
        .where(Job.id == tracker, Job.status == JobStatus.RUNNING)
        .values(progress_done=Job.progress_done + 1)
        .returning(Job.progress_done, Job.progress_total)
    ).one_or_none()
    if counted is None:
        db.session.rollback()  # the stored file has no row: the vault's sweep removes it
        return {"abandoned": kind.value}
    result: dict[str, Any] = {"written": kind.value}
    if counted.progress_done == counted.progress_total:  # the last part: the export is done
        missing = [p["reference"] for p in snapshot if uuid.UUID(p["claim"]) not in bundles]
        result = {"generation": generation, "parties": len(bundles), "not_included": missing}
        filing.state = FilingState.EXPORTED
        finish_job(tracker, result=result)
        record_event("filing.exported", object_type="filing", object_id=filing.id, details={
            "generation": generation, "parties": len(bundles), "not_included": len(missing)})  # fmt: skip
    db.session.commit()
    return result
