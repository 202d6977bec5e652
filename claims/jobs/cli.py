"""flask jobs ...: run queued background jobs."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from .operations import import_handlers, run_queued

jobs_cli = AppGroup("jobs", help="Background jobs.")


@jobs_cli.command("run")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1))
def run(limit: int) -> None:
    """Run jobs still queued (left by a crash or a restart), then take over jobs left running
    for longer than RECOURS_JOBS_STALE_AFTER seconds (their runner died); safe to run from cron."""
    import_handlers()
    ran, taken_over = run_queued(limit)
    click.echo(
        f"ran {ran} jobs"
        + (f", {taken_over} of them left running by a runner that died" if taken_over else "")
    )
