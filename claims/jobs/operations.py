"""Background jobs: queued as rows in the caller's transaction, run after the commit.

Runners (JOBS_RUNNER): "thread" (embedded default: one local worker thread),
"inline" (tests: right after the commit, in the request). ``flask jobs run``
runs whatever is still queued, e.g. after a crash. Handlers are registered
by kind and take the job's params (ids only).
"""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from ..extensions import db
from ..types import utcnow
from .models import Job, JobStatus

HANDLERS: dict[str, Callable[..., dict[str, Any] | None]] = {}


def handler(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        HANDLERS[kind] = function
        return function

    return register


def enqueue(kind: str, **params: Any) -> Job:
    """Queue a job (flush, no commit): it exists only if the caller's transaction commits."""
    if kind not in HANDLERS:
        raise KeyError(f"no handler for job kind {kind!r}")
    job = Job(kind=kind, params=params, progress_total=1)
    db.session.add(job)
    db.session.flush()
    return job


def run_job(job_id: uuid.UUID) -> JobStatus:
    """Run one queued job to its end (commits). A job taken by another runner is left alone."""
    claimed = db.session.execute(
        sa.update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, started_at=utcnow())
    )
    db.session.commit()
    if claimed.rowcount != 1:
        return JobStatus.RUNNING
    job = db.session.get_one(Job, job_id)
    try:
        result = HANDLERS[job.kind](**job.params)
    except Exception as exc:
        db.session.rollback()
        job = db.session.get_one(Job, job_id)
        job.status = JobStatus.FAILED
        job.error = type(exc).__name__
        current_app.logger.error(
            "job %s (%s) failed: %s\n%s",
            job_id,
            job.kind,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
    else:
        job.status = JobStatus.SUCCEEDED
        job.result = result
        job.progress_done = job.progress_total
    job.finished_at = utcnow()
    db.session.commit()
    return job.status


def run_queued(limit: int = 100) -> int:
    ids = (
        db.session.execute(
            sa.select(Job.id).where(Job.status == JobStatus.QUEUED).order_by(Job.created_at).limit(limit)
        )
        .scalars()
        .all()
    )
    for job_id in ids:
        run_job(job_id)
    return len(ids)


_executor: ThreadPoolExecutor | None = None


def dispatch(job: Job) -> None:
    """Start a committed job on the configured runner."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["JOBS_RUNNER"] == "inline":
        run_job(job.id)
        return
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recours-jobs")
    _executor.submit(_run_in_app, app, job.id)


def _run_in_app(app: Flask, job_id: uuid.UUID) -> None:
    with app.app_context():
        run_job(job_id)
        db.session.remove()


def stop_runner() -> None:
    """Wait for the local worker to finish what it has (tests, benchmarks, shutdown)."""
    global _executor
    if _executor is not None:
        _executor.shutdown(wait=True)
        _executor = None
