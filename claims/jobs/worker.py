"""Entry point of Celery workers: ``celery -A claims.jobs.worker worker --loglevel=info``.

The worker builds the same app as the web processes, from the same environment
(RECOURS_ENV, RECOURS_JOBS_RUNNER=celery, RECOURS_CELERY_BROKER_URL, ...).
"""

from __future__ import annotations

from .. import create_app

# Not named "app": Celery looks for an "app" attribute first and would find the Flask one.
flask_app = create_app()
celery = flask_app.extensions["celery"]
