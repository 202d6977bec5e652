"""The Celery runner against a real Redis, with a real worker process started by the test."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask

from claims.crypto.keys import KEY_FILE_NAME
from claims.evidence.models import EvidenceKind, EvidenceStatus
from claims.evidence.operations import accept_evidence
from claims.extensions import db
from claims.jobs.celery_runner import make_celery
from claims.jobs.models import Job, JobStatus
from claims.jobs.operations import dispatch, enqueue, run_job
from tests.evidence.test_uploads import jpeg

REDIS_URL = os.environ.get("RECOURS_TEST_REDIS_URL")


def wait_for(job_id: uuid.UUID, status: JobStatus, seconds: float = 60) -> JobStatus:
    deadline = time.monotonic() + seconds
    while True:
        db.session.expire_all()
        current = db.session.get_one(Job, job_id).status
        if current == status or time.monotonic() > deadline:
            return current
        time.sleep(0.1)


def use_celery(app: Flask, **config: Any) -> dict[str, str]:
    """Switch ``app`` to the Celery runner on a queue of its own (``config``: more settings);
    return the environment of a worker process for it (same database, keys, vault and settings)."""
    assert REDIS_URL
    queue = f"recours-test-{uuid.uuid4().hex[:8]}"  # this test's own queue on the shared Redis
    settings = {"JOBS_RUNNER": "celery", "CELERY_BROKER_URL": REDIS_URL, "CELERY_QUEUE": queue, **config}
    app.config.update(settings)
    make_celery(app)
    instance = Path(app.instance_path)
    return {
        **os.environ,
        "RECOURS_ENV": "testing",
        "RECOURS_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "RECOURS_KEY_FILE": app.config.get("KEY_FILE") or str(instance / KEY_FILE_NAME),
        "RECOURS_VAULT_PATH": app.config.get("VAULT_PATH") or str(instance / "vault"),
        **{f"RECOURS_{name}": str(value) for name, value in settings.items()},
    }


def start_worker(
    environment: dict[str, str], *, pool: str = "solo", log: Path | None = None
) -> subprocess.Popen[bytes]:
    """A Celery worker process (``pool``: "solo", the process that runs the jobs, or "prefork"
    with one child); its output goes to ``log`` if given."""
    command = [sys.executable, "-m", "celery", "-A", "claims.jobs.worker", "worker", f"--pool={pool}", "--concurrency=1",
               "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=WARNING"]  # fmt: skip
    output = log.open("ab") if log else None
    try:
        return subprocess.Popen(
            command,
            env=environment,
            cwd=Path(__file__).resolve().parents[2],
            stdout=output,
            stderr=output,
            start_new_session=True,  # its own process group: a test can kill it with its pool
        )
    finally:
        if output:
            output.close()  # the worker has its own copy


def forget_queue(queue: str) -> None:
    """Remove a test's queue and its bindings from the shared Redis."""
    assert REDIS_URL
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    client.close()


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(timeout=20)


@contextmanager
def celery_worker(app: Flask) -> Iterator[None]:
    """Switch ``app`` to the Celery runner on a queue of its own and run a worker process on it
    (same database, keys and vault), stopped on exit."""
    worker = start_worker(use_celery(app))
    try:
        yield
    finally:
        stop_worker(worker)
        app.config["JOBS_RUNNER"] = "inline"
        forget_queue(app.config["CELERY_QUEUE"])


@pytest.mark.skipif(not REDIS_URL, reason="RECOURS_TEST_REDIS_URL is not set")
def test_a_celery_worker_process_runs_the_jobs(app: Flask, make_claim: Any) -> None:
    with celery_worker(app):
        evidence = accept_evidence(
            make_claim(), io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="a.jpg"
        )
        job = enqueue("evidence.derivative", evidence_id=str(evidence.id))
        db.session.commit()
        dispatch(job)  # a message on Redis; the worker process runs it
        assert wait_for(job.id, JobStatus.SUCCEEDED) == JobStatus.SUCCEEDED
        db.session.expire_all()
        assert db.session.get_one(type(evidence), evidence.id).status == EvidenceStatus.CLEAN


def test_a_job_left_running_is_taken_over_only_when_asked(app: Flask, make_claim: Any) -> None:
    """A Celery message delivered again means its worker died mid-job: the next one takes it over."""
    evidence = accept_evidence(make_claim(), io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="a.jpg")
    job = enqueue("evidence.derivative", evidence_id=str(evidence.id))
    job.status = JobStatus.RUNNING  # as a killed worker leaves it
    db.session.commit()
    assert run_job(job.id) == JobStatus.RUNNING  # another runner has it: left alone
    assert db.session.get_one(type(evidence), evidence.id).status == EvidenceStatus.PENDING
    assert run_job(job.id, take_over=True) == JobStatus.SUCCEEDED
    db.session.expire_all()
    assert db.session.get_one(type(evidence), evidence.id).status == EvidenceStatus.CLEAN
