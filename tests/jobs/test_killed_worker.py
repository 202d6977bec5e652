"""Workers killed in the middle of a filing export (issue 6): the job is run again, the files
come out the same as on the embedded path, and no half-written file is ever published."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner
from reportlab.pdfgen.canvas import Canvas

from claims.cases.models import Case
from claims.claimants.models import ClaimStatus
from claims.evidence.models import Evidence, EvidenceKind
from claims.evidence.operations import accept_evidence, make_derivative
from claims.extensions import db
from claims.filings.exports import open_export, start_export
from claims.filings.models import ExportKind, Filing, FilingExport
from claims.filings.operations import add_claims, lock_filing
from claims.jobs.models import Job, JobStatus
from claims.jobs.operations import dispatch, run_job
from claims.types import utcnow
from claims.vault import current_vault
from tests.filings.test_exports import locked_filing
from tests.filings.test_filings import new_filing
from tests.jobs.test_celery import REDIS_URL, forget_queue, start_worker, stop_worker, use_celery, wait_for

# The test's workers give a dead worker's message back after a second (production: hours).
VISIBILITY_TIMEOUT = 1
PARTIES = 3

T = TypeVar("T")


def statement_pages(pages: int) -> bytes:
    """A PDF exhibit of ``pages`` pages: each is stamped in the bundle, which takes a while."""
    out = io.BytesIO()
    canvas = Canvas(out, invariant=1)
    for n in range(pages):
        canvas.drawString(72, 720, f"Relevé de compte, page {n + 1}")
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def heavy_filing(case: Case, lawyer: Any, make_claim: Any, make_claimant: Any) -> Filing:
    """A locked filing whose bundles take about a second each to build."""
    exhibit = statement_pages(150)
    claims = []
    for n in range(PARTIES):
        claim = make_claim(make_claimant(last_name=f"Nom{chr(65 + n)}"), status=ClaimStatus.ACCEPTED)
        evidence = accept_evidence(claim, io.BytesIO(exhibit), kind=EvidenceKind.OTHER, filename="releve.pdf")
        make_derivative(evidence)
        db.session.commit()
        claims.append(claim)
    filing = new_filing(case, lawyer)
    add_claims(filing, claims, actor=lawyer)
    lock_filing(filing, actor=lawyer)
    db.session.commit()
    return filing


def poll(condition: Callable[[], T], what: str, seconds: float = 60) -> T:
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.01)
    return found


def running(kind: str) -> list[Job]:
    db.session.expire_all()
    return list(
        db.session.execute(sa.select(Job).where(Job.kind == kind, Job.status == JobStatus.RUNNING)).scalars()
    )


def just_started(kind: str) -> Callable[[], list[Job]]:
    """Jobs of ``kind`` started less than half a second ago: far from their end (a bundle
    takes a second or more), so that a kill now hits them in the middle."""

    def found() -> list[Job]:
        return [job for job in running(kind) if utcnow() - job.started_at < timedelta(seconds=0.5)]

    return found


def pool_processes(worker: subprocess.Popen[bytes]) -> list[int]:
    tasks = Path(f"/proc/{worker.pid}/task").iterdir()
    return [int(pid) for task in tasks for pid in (task / "children").read_text().split()]


def kill(worker: subprocess.Popen[bytes]) -> float:
    """SIGKILL to the worker and its pool processes at once (the machine is lost): no handler,
    no cleanup, no acknowledgement. Returns the time of death."""
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=20)
    return time.monotonic()


def vault_root() -> Path:
    return Path(current_vault().storage.root)  # type: ignore[attr-defined]


def temporaries() -> list[Path]:
    return list(vault_root().glob("??/.*.tmp"))


def stored_names() -> set[str]:
    return {name for name, _ in current_vault().storage.names()}


def names_with_rows() -> set[str]:
    names = set(db.session.execute(sa.select(FilingExport.storage_key)).scalars())
    for column in (Evidence.storage_key, Evidence.derivative_storage_key):
        names.update(name for name in db.session.execute(sa.select(column)).scalars() if name)
    return names


def generation_files(filing_id: int, generation: int) -> dict[tuple[ExportKind, uuid.UUID | None], bytes]:
    exports = db.session.execute(
        sa.select(FilingExport).where(
            FilingExport.filing_id == filing_id, FilingExport.generation == generation
        )
    ).scalars()
    return {(export.kind, export.claim_id): b"".join(open_export(export)) for export in exports}


def verify_every_export() -> int:
    """Each generated file's row: its stored file opens, decrypts, verifies and matches."""
    rows = list(db.session.execute(sa.select(FilingExport)).scalars())
    for row in rows:
        content = b"".join(open_export(row))
        assert (len(content), hashlib.sha256(content).hexdigest()) == (row.size, row.sha256)
    return len(rows)


def sweep_later(runner: FlaskCliRunner) -> None:
    """``flask vault sweep`` as the daily cron runs it, once the files are a day old."""
    day_ago = (utcnow() - timedelta(days=1)).timestamp()
    for path in vault_root().glob("??/*"):  # pathlib's glob includes the dot files
        os.utime(path, (day_ago, day_ago))
    result = runner.invoke(args=["vault", "sweep"])
    assert result.exit_code == 0, result.output


@pytest.mark.skipif(not REDIS_URL, reason="RECOURS_TEST_REDIS_URL is not set")
def test_a_killed_worker_s_job_is_run_again_and_no_half_written_file_is_published(
    app: Flask,
    case: Case,
    make_claim: Any,
    make_claimant: Any,
    make_staff: Any,
    runner: FlaskCliRunner,
    tmp_path: Path,
) -> None:
    lawyer = make_staff("lawyer")
    filing = heavy_filing(case, lawyer, make_claim, make_claimant)
    job = start_export(filing, actor=lawyer)
    db.session.commit()
    dispatch(job)  # the embedded path (inline): the reference files
    assert db.session.get_one(Job, job.id).status == JobStatus.SUCCEEDED
    embedded = generation_files(filing.id, 1)

    environment = use_celery(app, CELERY_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT)
    log = tmp_path / "workers.log"
    worker = start_worker(environment, pool="prefork", log=log)
    try:
        job = start_export(db.session.get_one(Filing, filing.id), actor=lawyer)
        db.session.commit()
        export_id = job.id
        dispatch(job)

        # 1. The pool process building a bundle is killed (the OOM killer): its worker gives
        #    the message back at once, and its next pool process takes the bundle over.
        (bundle,) = poll(just_started("filings.bundle"), "a bundle being built")
        (pool_process,) = pool_processes(worker)
        os.kill(pool_process, signal.SIGKILL)
        killed = {bundle.id: bundle.started_at}

        # 2. The whole worker is killed (the machine is lost) while the pack is being written.
        poll(lambda: running("filings.pack") and temporaries(), "the pack being written")
        died = kill(worker)
        for pack in running("filings.pack"):  # the pack's files are written by jobs of their own
            killed[pack.id] = pack.started_at
        # What it was writing: a temporary file (and whole files before it?); no row has them.
        partial, orphans = temporaries(), stored_names() - names_with_rows()
        assert partial or orphans

        # 3. Once the dead worker's message is visible again, a new worker takes the pack over.
        time.sleep(max(0.0, died + VISIBILITY_TIMEOUT - time.monotonic()))
        worker = start_worker(environment, log=log)
        assert wait_for(export_id, JobStatus.SUCCEEDED, seconds=60) == JobStatus.SUCCEEDED
    finally:
        if worker.poll() is None:
            stop_worker(worker)
        app.config["JOBS_RUNNER"] = "inline"
        forget_queue(app.config["CELERY_QUEUE"])

    db.session.expire_all()
    # The killed jobs ran again, taken over; nothing is left running or queued; each bundle
    # was counted once and each file of the pack queued once.
    for job_id, started in killed.items():
        again = db.session.get_one(Job, job_id)
        assert again.status == JobStatus.SUCCEEDED and again.started_at > started
        assert f"job {job_id} ({again.kind}) taken over" in log.read_text()
    statuses = db.session.execute(sa.select(Job.status, sa.func.count()).group_by(Job.status)).all()
    assert dict(statuses) == {JobStatus.SUCCEEDED: 2 * (1 + PARTIES + 3)}
    kinds = db.session.execute(sa.select(Job.kind, sa.func.count()).group_by(Job.kind)).all()
    assert dict(kinds) == {"filings.export": 2, "filings.bundle": 2 * PARTIES, "filings.pack": 2 * 3}
    export = db.session.get_one(Job, export_id)
    assert export.progress_done == export.progress_total == PARTIES + 3

    # The same files as the embedded path, byte for byte: the bundles, the PDF, the ZIP, the CSV.
    distributed = generation_files(filing.id, 2)
    assert len(distributed) == len(embedded) == PARTIES + 3
    for name, content in embedded.items():
        assert distributed[name] == content, name

    # Every published file verifies; what the dead worker was writing is no published file, and
    # the sweep of orphans removes it: the vault then holds exactly the files that have rows.
    assert verify_every_export() == 2 * (PARTIES + 3)
    assert all(path.exists() for path in partial)
    sweep_later(runner)
    assert stored_names() == names_with_rows() and not temporaries()
    assert not orphans & stored_names()
    assert verify_every_export() == 2 * (PARTIES + 3)


@pytest.mark.skipif(not REDIS_URL, reason="RECOURS_TEST_REDIS_URL is not set")
def test_an_export_taken_over_after_its_commits_queues_nothing_twice(
    app: Flask, case: Case, make_claim: Any, make_claimant: Any, make_staff: Any
) -> None:
    """The narrow windows a kill rarely hits, made on purpose: a worker dies after a job's commit
    and before its messages are sent or its own is acknowledged. The messages go to a queue no
    worker reads (they are lost with the worker); the jobs are run here, as a worker would."""
    lawyer = make_staff("lawyer")
    filing = locked_filing(case, lawyer, make_claim, make_claimant, parties=2)
    use_celery(app)  # no worker: whatever is sent is never run
    try:
        job = start_export(filing, actor=lawyer)
        db.session.commit()
        export_id = job.id
        assert run_job(export_id) == JobStatus.RUNNING  # fanned out: 2 bundle jobs, messages lost
        # Its own message again: its worker died before acknowledging it.
        assert run_job(export_id, take_over=True) == JobStatus.RUNNING
        bundles = list(db.session.execute(sa.select(Job.id).where(Job.kind == "filings.bundle")).scalars())
        assert len(bundles) == 2  # not fanned out twice
        for bundle_id in bundles:
            assert run_job(bundle_id) == JobStatus.SUCCEEDED  # the last one queues the pack's jobs: lost
        packs = list(db.session.execute(sa.select(Job).where(Job.kind == "filings.pack")).scalars())
        assert len(packs) == 3 and all(pack.status == JobStatus.QUEUED for pack in packs)
        # The last bundle's worker had died after its commit, before the pack's message was
        # sent (and before its own row said SUCCEEDED): its message comes back.
        last = db.session.get_one(Job, bundles[-1])
        last.status = JobStatus.RUNNING
        db.session.commit()
        app.config["JOBS_RUNNER"] = "inline"
        assert run_job(last.id, take_over=True) == JobStatus.SUCCEEDED  # and starts the pack
    finally:
        app.config["JOBS_RUNNER"] = "inline"
        forget_queue(app.config["CELERY_QUEUE"])
    db.session.expire_all()
    export = db.session.get_one(Job, export_id)
    assert export.status == JobStatus.SUCCEEDED and export.progress_done == export.progress_total == 2 + 3
    assert all(db.session.get_one(Job, pack.id).status == JobStatus.SUCCEEDED for pack in packs)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 1 + 2 + 3
    assert len(generation_files(filing.id, 1)) == 2 + 3


def test_the_sweep_keeps_the_generated_files_and_removes_what_a_crash_left(
    app: Flask, case: Case, make_claim: Any, make_claimant: Any, make_staff: Any, runner: FlaskCliRunner
) -> None:
    lawyer = make_staff("lawyer")
    filing = locked_filing(case, lawyer, make_claim, make_claimant, parties=2)
    job = start_export(filing, actor=lawyer)
    db.session.commit()
    dispatch(job)  # inline
    # What a worker killed while storing a file leaves: a whole file its row never came with,
    # and a temporary one.
    orphan = current_vault().put([b"pack written, row never committed"], key=os.urandom(32), aad=b"x")
    stored = current_vault().storage.path_of(orphan.storage_key)  # type: ignore[attr-defined]
    partial = stored.with_name(f".{orphan.storage_key}.tmp")
    partial.write_bytes(b"half a bundle")
    sweep_later(runner)
    assert stored_names() == names_with_rows() and not partial.exists()
    assert verify_every_export() == 2 + 3
