"""flask vault ...: remove stored files that no row refers to."""

from __future__ import annotations

from datetime import timedelta

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from ..audit.operations import record_event
from ..evidence.models import Evidence
from ..extensions import db
from ..types import utcnow
from . import current_vault

vault_cli = AppGroup("vault", help="The encrypted file vault.")


def referenced_storage_keys() -> set[str]:
    keys: set[str] = set()
    from ..filings.models import FilingExport
    from ..portal.models import DataCopy

    columns = (
        Evidence.storage_key,
        Evidence.derivative_storage_key,
        DataCopy.storage_key,
        FilingExport.storage_key,
    )
    for column in columns:
        keys.update(k for k in db.session.execute(sa.select(column)).scalars() if k)
    return keys


@vault_cli.command("sweep")
@click.option(
    "--older-than-hours",
    default=24,
    show_default=True,
    type=click.IntRange(min=1),
    help="Leave younger files alone: an upload may still be committing.",
)
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
def sweep(older_than_hours: int, dry_run: bool) -> None:
    """Delete stored files with no database row (left by rolled-back requests or crashes)."""
    storage = current_vault().storage
    cutoff = utcnow() - timedelta(hours=older_than_hours)
    referenced = referenced_storage_keys()
    orphans = [name for name, mtime in storage.names() if name not in referenced and mtime < cutoff]
    if dry_run:
        click.echo(f"would remove {len(orphans)} orphan files")
        return
    for name in orphans:
        storage.delete(name)
    temporaries = storage.remove_stale_temporaries(cutoff)
    record_event("vault.swept", details={"removed": len(orphans), "temporaries": temporaries})
    db.session.commit()
    click.echo(f"removed {len(orphans)} orphan files and {temporaries} partial writes")
