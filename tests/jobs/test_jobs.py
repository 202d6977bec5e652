"""Background jobs: the derivative of an upload is made after the original is stored."""

from __future__ import annotations

import io
import os
import struct
import time
import zlib
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from claims.evidence.models import EvidenceKind, EvidenceStatus
from claims.evidence.operations import accept_evidence
from claims.extensions import db
from claims.jobs import operations
from claims.jobs.models import Job, JobStatus
from claims.jobs.operations import dispatch, enqueue, stop_runner
from claims.types import utcnow
from tests.evidence.test_uploads import jpeg


def test_local_worker_process_makes_the_derivative(app: Flask, make_claim: Any) -> None:
    app.config["JOBS_RUNNER"] = "local"
    evidence = accept_evidence(make_claim(), io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="a.jpg")
    job = enqueue("evidence.derivative", evidence_id=str(evidence.id))
    db.session.commit()
    dispatch(job)
    stop_runner()  # waits for the worker process
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        db.session.expire_all()
        if db.session.get(Job, job.id).status == JobStatus.SUCCEEDED:
            break
        time.sleep(0.05)
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == JobStatus.SUCCEEDED
    assert db.session.get(type(evidence), evidence.id).status == EvidenceStatus.CLEAN


def png_with_corrupt_pixels() -> bytes:
    """Valid chunks and CRCs (the cheap check passes); pixel data that is not zlib: only decoding tells."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", b"not zlib data" * 50)
        + chunk(b"IEND", b"")
    )


def test_undecodable_image_is_rejected_by_the_job(app: Flask, make_claim: Any) -> None:
    evidence = accept_evidence(
        make_claim(), io.BytesIO(png_with_corrupt_pixels()), kind=EvidenceKind.OTHER, filename="b.png"
    )
    job = enqueue("evidence.derivative", evidence_id=str(evidence.id))
    db.session.commit()
    dispatch(job)  # inline in tests
    db.session.expire_all()
    stored = db.session.get(type(evidence), evidence.id)
    assert db.session.get(Job, job.id).status == JobStatus.SUCCEEDED
    assert stored.status == EvidenceStatus.REJECTED and "unreadable_image" in stored.warnings
    assert stored.derivative_storage_key is None


def test_cli_runs_jobs_left_queued(app: Flask, make_claim: Any) -> None:
    evidence = accept_evidence(make_claim(), io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="c.jpg")
    enqueue("evidence.derivative", evidence_id=str(evidence.id))
    db.session.commit()  # committed, never dispatched: as after a crash
    result = app.test_cli_runner().invoke(args=["jobs", "run"])
    assert result.output.strip() == "ran 1 jobs"
    db.session.expire_all()
    assert db.session.execute(sa.select(Job.status)).scalar_one() == JobStatus.SUCCEEDED
    assert db.session.get(type(evidence), evidence.id).derivative_storage_key is not None


def test_cli_takes_over_a_job_left_running_only_once_it_is_stale(app: Flask, make_claim: Any) -> None:
    """A job still RUNNING long after it started lost its runner (a local worker gone with
    its web process): ``flask jobs run`` runs it again. One that started recently is left
    to its runner."""
    claim = make_claim()
    pieces = [
        accept_evidence(claim, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename=f"{name}.jpg")
        for name in ("stale", "recent")
    ]
    stale, recent = (enqueue("evidence.derivative", evidence_id=str(e.id)) for e in pieces)
    limit = app.config["JOBS_STALE_AFTER"]
    for job, age in ((stale, limit + 60), (recent, limit - 60)):
        job.status = JobStatus.RUNNING
        job.started_at = utcnow() - timedelta(seconds=age)
    db.session.commit()
    stale_id, recent_id = stale.id, recent.id

    result = app.test_cli_runner().invoke(args=["jobs", "run"])
    assert result.output.strip() == "ran 1 jobs, 1 of them left running by a runner that died"
    db.session.expire_all()
    assert db.session.get_one(Job, stale_id).status == JobStatus.SUCCEEDED
    assert db.session.get(type(pieces[0]), pieces[0].id).derivative_storage_key is not None
    assert db.session.get_one(Job, recent_id).status == JobStatus.RUNNING
    assert db.session.get(type(pieces[1]), pieces[1].id).derivative_storage_key is None


def test_a_dead_worker_process_fails_its_job_and_a_fresh_one_takes_the_next(
    app: Flask, make_claim: Any
) -> None:
    app.config["JOBS_RUNNER"] = "local"
    claim = make_claim()
    first = accept_evidence(claim, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="a.jpg")
    job = enqueue("evidence.derivative", evidence_id=str(first.id))
    db.session.commit()
    pool = operations._local_pool(app)
    # The worker process is killed while it holds the job (as by the OOM killer or a decoder crash).
    db.session.execute(sa.update(Job).where(Job.id == job.id).values(status=JobStatus.RUNNING))
    db.session.commit()
    future = pool.submit(os.kill, 0, 0)  # start the worker process
    future.result(timeout=60)
    for process in list(pool._processes.values()):
        process.kill()
    crashed = pool.submit(time.sleep, 0)
    with pytest.raises(BrokenProcessPool):
        crashed.result(timeout=60)
    operations._after_local_job(app, job.id, crashed)
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == JobStatus.FAILED
    assert db.session.get(Job, job.id).error == "BrokenProcessPool"
    # The next job gets a new worker.
    second = accept_evidence(claim, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="b.jpg")
    next_job = enqueue("evidence.derivative", evidence_id=str(second.id))
    db.session.commit()
    dispatch(next_job)
    stop_runner()
    db.session.expire_all()
    assert db.session.get(Job, next_job.id).status == JobStatus.SUCCEEDED
