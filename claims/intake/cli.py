"""flask retention ...: erase what must not be kept."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..extensions import db
from ..portal.retention import PurgeReport, purge

retention_cli = AppGroup("retention", help="Retention: erase data past its keeping period.")

CATEGORIES = (
    ("drafts", "unfinished drafts"),
    ("rejected", "rejected claims"),
    ("withdrawn", "withdrawn claims"),
)


@retention_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Only list what would be erased; change nothing.")
def purge_command(dry_run: bool) -> None:
    """Apply every case's keeping periods (safe to run daily from cron; a second run does nothing).

    \b
    - unfinished drafts untouched for the case's draft retention: deleted
      (files, rows, and the claimant's data key);
    - rejected claims closed longer than the case's rejected retention:
      the claimant's data key destroyed (or the claim detached from a
      claimant who has another live claim), files and leftover rows deleted;
    - withdrawn claims: erased at once if they were not yet, and past the
      case's withdrawn retention their files and leftover rows deleted;
    - copies of a claimant's data (portal): deleted once downloaded or
      expired (not in a dry run).

    The reference, dates and status of erased claims are kept. Prints, per
    category, how many claims were erased and their references (never a
    personal value). Commits claim by claim: an interrupted run can simply
    be run again.
    """
    from ..portal.export import purge_data_copies

    report = purge(dry_run=dry_run)
    click.echo(format_report(report))
    if not dry_run and (removed := purge_data_copies()):
        db.session.commit()
        click.echo(f"removed {removed} expired or downloaded data copies")


def format_report(report: PurgeReport) -> str:
    verb = "would purge" if report.dry_run else "purged"
    lines = []
    for name, label in CATEGORIES:
        references = getattr(report, name)
        lines.append(f"{verb} {len(references)} {label}")
        lines.extend(f"  {reference}" for reference in references)
    if not report.total:
        lines.append("nothing to purge")
    return "\n".join(lines)
