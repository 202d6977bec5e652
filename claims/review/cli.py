"""flask review ...: daily review chores."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..extensions import db
from ..jobs.operations import dispatch
from .operations import send_reminders

review_cli = AppGroup("review", help="Review of claims.")


@review_cli.command("remind")
def remind() -> None:
    """Mail one reminder for each information request due within two days; safe to run daily from cron."""
    jobs = send_reminders()
    db.session.commit()
    for job in jobs:
        dispatch(job)
    click.echo(f"sent {len(jobs)} reminders")
