"""flask retention ...: erase what must not be kept."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..extensions import db
from .operations import purge_stale_drafts

retention_cli = AppGroup("retention", help="Retention: erase data past its keeping period.")


@retention_cli.command("purge")
def purge() -> None:
    """Erase unfinished drafts older than their case's draft retention (safe to run daily from cron).

    Their files are deleted from the vault, their rows removed and the
    claimant's data key destroyed; the audit log keeps the claim id only.
    """
    purged = purge_stale_drafts()
    db.session.commit()
    click.echo(f"purged {purged} unfinished drafts")
