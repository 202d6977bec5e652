"""The Celery runner (JOBS_RUNNER = "celery"): jobs on workers over Redis, on any number of machines.

A job is still a row committed with the change that needs it; Celery only carries its id
to a worker (``recours.run_job``), which runs it exactly as the local runner does. Messages
are acknowledged after the job has run (``acks_late``). If the pool process running a job
dies, its worker gives the message back at once (``reject_on_worker_lost``); if the whole
worker dies (SIGKILL, a machine lost), Redis gives it back after CELERY_VISIBILITY_TIMEOUT.
Either way the message comes back marked "redelivered" and the worker that gets it takes the
job over (``run_job(take_over=True)``); the job's handlers are written to be run again (see
``claims.filings.exports``). Start workers with ``celery -A claims.jobs.worker worker`` (same
configuration as the web).
"""

from __future__ import annotations

import uuid
from typing import Any

from celery import Celery, Task
from flask import Flask

from ..extensions import db


def make_celery(app: Flask) -> Celery:
    celery = Celery(app.import_name, broker=app.config["CELERY_BROKER_URL"])
    queue = app.config["CELERY_QUEUE"]
    celery.conf.update(
        broker_transport_options={
            # A message taken by a worker that died unacknowledged goes back to the queue after
            # this many seconds (Redis has no consumer connection to watch, as AMQP has).
            "visibility_timeout": app.config["CELERY_VISIBILITY_TIMEOUT"],
            # The messages being run are recorded per queue, not in Redis's shared "unacked"
            # hash: another deployment (or test) on the same Redis, with its own timeout, then
            # never hands this queue's running jobs to a second worker.
            "unacked_key": f"{queue}:unacked",
            "unacked_index_key": f"{queue}:unacked_index",
            "unacked_mutex_key": f"{queue}:unacked_mutex",
        },
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a long bundle does not hold other jobs back
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # results live in the job's row
        task_default_queue=queue,
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
