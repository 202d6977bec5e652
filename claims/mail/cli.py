"""flask mail ...: deliver the outbox, list it."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from ..extensions import db
from .models import OutboxMessage
from .operations import deliver_queued

mail_cli = AppGroup("mail", help="Outgoing mail (the encrypted outbox).")


@mail_cli.command("send")
@click.option("--limit", default=500, show_default=True, type=click.IntRange(min=1))
def send(limit: int) -> None:
    """Deliver queued messages (run every minute from cron; safe to run concurrently with the app)."""
    sent, failed = deliver_queued(limit)
    click.echo(f"sent {sent}, failed {failed}")


@mail_cli.command("outbox")
@click.option("--last", default=20, show_default=True, type=click.IntRange(min=1))
def outbox(last: int) -> None:
    """List the latest messages: id, purpose, status, attempts (no address, no content)."""
    rows = db.session.execute(
        sa.select(OutboxMessage).order_by(OutboxMessage.created_at.desc()).limit(last)
    ).scalars()
    for message in rows:
        click.echo(
            f"{message.id}  {message.created_at:%Y-%m-%d %H:%M}  {message.purpose:<20} "
            f"{message.status.value:<7} attempts={message.attempts} {message.last_error or ''}"
        )
