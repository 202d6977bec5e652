"""The Celery runner (JOBS_RUNNER = "celery"): jobs on workers over Redis, on any number of machines.

A job is still a row committed with the change that needs it; Celery only carries its id
to a worker (``recours.run_job``), which runs it exactly as the local runner does. Messages
are acknowledged after the job has run (``acks_late``) and given back to the broker if the
worker dies (``reject_on_worker_lost``): another worker then takes the job over. Start
workers with ``celery -A claims.jobs.worker worker`` (same configuration as the web).
"""

from __future__ import annotations

import uuid
from typing import Any

from celery import Celery, Task
from flask import Flask

from ..extensions import db


def make_celery(app: Flask) -> Celery:
    celery = Celery(app.import_name, broker=app.config["CELERY_BROKER_URL"])
    celery.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a long bundle does not hold other jobs back
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # results live in the job's row
        task_default_queue=app.config["CELERY_QUEUE"],
        broker_connection_retry_on_startup=True,
    )

    class AppTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                try:
                    return self.run(*args, **kwargs)
                finally:
                    db.session.remove()

    celery.Task = AppTask

    @celery.task(name="recours.run_job", bind=True)
    def run_job_task(self: Task, job_id: str) -> str:
        from .operations import import_handlers, run_job

        import_handlers()
        # Delivered again: the worker that had it died mid-job; this one takes it over.
        taken_over = bool((self.request.delivery_info or {}).get("redelivered"))
        return run_job(uuid.UUID(job_id), take_over=taken_over).value

    app.extensions["celery"] = celery
    return celery
