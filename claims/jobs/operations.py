"""Background jobs: queued as rows in the caller's transaction, run after the commit.

Runners (JOBS_RUNNER):

* "local" (embedded default): one worker process started by the web process
  (spawned, not forked: it builds its own app from the same configuration).
  A separate process, not a thread, so that re-encoding images and building
  PDFs never compete with the requests for the interpreter lock, and so that
  a decoder crashing on a hostile file takes down the worker, not the site;
* "celery" (production, scale-out): Celery workers over Redis (``celery_runner``);
* "inline" (tests): right after the commit, in the request.

``flask jobs run`` runs whatever is still queued, e.g. after a crash, and takes over a job
left running for longer than JOBS_STALE_AFTER seconds (its runner died).
Handlers are registered by kind and take the job's params (ids only).
"""

from __future__ import annotations

import importlib
import multiprocessing
import threading
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from ..extensions import db
from ..types import utcnow
from .models import Job, JobStatus

HANDLERS: dict[str, Callable[..., dict[str, Any] | None]] = {}
# A handler's result with this key true: the job goes on in the jobs it started (fan-out),
# which finish it (``finish_job``); until then it stays RUNNING with their progress.
CONTINUES = "continues"
# Where handlers are registered (at import): a worker imports them all before its first job.
HANDLER_MODULES = (
    "claims.evidence.operations",
    "claims.intake.operations",
    "claims.mail.operations",
    "claims.portal.export",
    "claims.filings.exports",
)


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


def run_job(job_id: uuid.UUID, *, take_over: bool = False) -> JobStatus:
    """Run one queued job to its end (commits). A job taken by another runner is left alone,
    unless ``take_over``: that runner died mid-job (a Celery message delivered again)."""
    startable = [JobStatus.QUEUED, JobStatus.RUNNING] if take_over else [JobStatus.QUEUED]
    left_running = (
        take_over and db.session.scalar(sa.select(Job.status).where(Job.id == job_id)) == JobStatus.RUNNING
    )
    claimed = db.session.execute(
        sa.update(Job)
        .where(Job.id == job_id, Job.status.in_(startable))
        .values(status=JobStatus.RUNNING, started_at=utcnow())
    )
    db.session.commit()
    if claimed.rowcount != 1:
        return JobStatus.RUNNING
    job = db.session.get_one(Job, job_id)
    if left_running:
        current_app.logger.warning("job %s (%s) taken over: the worker running it died", job_id, job.kind)
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
        job = db.session.get_one(Job, job_id)
        if isinstance(result, dict) and result.get(CONTINUES):
            # Fanned out: the jobs it started report progress on it and the last one ends it
            # (with the inline runner, already done by now).
            db.session.commit()
            return job.status
        job.result = result
        job.status = JobStatus.SUCCEEDED
        job.progress_done = job.progress_total
    job.finished_at = utcnow()
    db.session.commit()
    return job.status


def finish_job(job_id: uuid.UUID, *, failed: str | None = None, result: dict[str, Any] | None = None) -> None:
    """End a fanned-out job (flush): succeeded, or failed with an error code."""
    values: dict[str, Any] = {"finished_at": utcnow()}
    if failed:
        values.update(status=JobStatus.FAILED, error=failed)
    else:
        values.update(status=JobStatus.SUCCEEDED, progress_done=Job.progress_total)
    if result is not None:
        values["result"] = result
    db.session.execute(
        sa.update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING).values(**values)
    )


def run_queued(limit: int = 100) -> tuple[int, int]:
    """Run the jobs left queued, oldest first, then take over those left running for longer
    than JOBS_STALE_AFTER seconds: their runner died with its process or its machine (a local
    worker goes with its web process; a Celery message can be lost with Redis). Returns
    (jobs run, of which taken over)."""
    queued = (
        db.session.execute(
            sa.select(Job.id).where(Job.status == JobStatus.QUEUED).order_by(Job.created_at).limit(limit)
        )
        .scalars()
        .all()
    )
    for job_id in queued:
        run_job(job_id)
    stale_since = utcnow() - timedelta(seconds=current_app.config["JOBS_STALE_AFTER"])
    stale = (
        db.session.execute(
            sa.select(Job.id)
            .where(Job.status == JobStatus.RUNNING, Job.started_at < stale_since)
            .order_by(Job.created_at)
            .limit(max(limit - len(queued), 0))
        )
        .scalars()
        .all()
    )
    for job_id in stale:
        run_job(job_id, take_over=True)
    return len(queued) + len(stale), len(stale)


FACTORY_KEY = "recours_factory"
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
_worker_app: Flask | None = None


def dispatch(job: Job) -> None:
    """Start a committed job on the configured runner."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    job_id = sa.inspect(job).identity[0]  # without reloading the row the commit expired
    if app.config["JOBS_RUNNER"] == "inline":
        run_job(job_id)
        return
    if app.config["JOBS_RUNNER"] == "celery":
        app.extensions["celery"].send_task("recours.run_job", args=[str(job_id)])
        return
    future = _local_pool(app).submit(_run_in_worker, job_id)
    future.add_done_callback(lambda done: _after_local_job(app, job_id, done))


def _local_pool(app: Flask) -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=app.extensions[FACTORY_KEY],
            )
        return _pool


def _start_worker(config_name: str, overrides: dict[str, Any] | None, instance_path: str) -> None:
    """In the worker process: build the app once, from the web process's own factory arguments."""
    from .. import create_app

    global _worker_app
    _worker_app = create_app(config_name, overrides, instance_path)
    import_handlers()


def import_handlers() -> None:
    for module in HANDLER_MODULES:
        importlib.import_module(module)


def _run_in_worker(job_id: uuid.UUID) -> str:
    if _worker_app is None:
        raise RuntimeError("the worker process has no app")
    with _worker_app.app_context():
        try:
            return run_job(job_id).value
        finally:
            db.session.remove()


def _after_local_job(app: Flask, job_id: uuid.UUID, done: Future[str]) -> None:
    """If the worker process died (a decoder crash, an OOM kill), record the job as failed."""
    error = done.exception()
    if error is None:
        return
    global _pool
    with _pool_lock:
        broken, _pool = _pool, None  # the next dispatch starts a fresh worker
    if broken is not None:
        broken.shutdown(wait=False, cancel_futures=False)
    with app.app_context():
        # The job it was running failed; one it had not started stays queued for `flask jobs run`.
        failed = db.session.execute(
            sa.update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.RUNNING)
            .values(status=JobStatus.FAILED, error=type(error).__name__, finished_at=utcnow())
        ).rowcount
        db.session.commit()
        db.session.remove()
        app.logger.error(
            "job %s: the worker process failed (%s); job %s",
            job_id,
            type(error).__name__,
            "marked failed" if failed else "left queued",
        )


def stop_runner() -> None:
    """Wait for the local worker to finish what it has (tests, benchmarks, shutdown)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True)
