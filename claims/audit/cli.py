"""flask audit ...: verify the hash chain."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from .operations import verify_chain

audit_cli = AppGroup("audit", help="The audit log.")


@audit_cli.command("verify")
def verify() -> None:
    """Check every link of the audit chain; print "ok" or the first broken event.

    Keep the printed head hash somewhere else (a ticket, a notebook): a later
    run whose chain does not pass through it shows that events were removed
    from the end.
    """
    report = verify_chain()
    if report.ok:
        click.echo(f"ok: {report.count} events, head {report.head}")
        return
    click.echo(f"BROKEN at event {report.broken_at}: {report.problem}", err=True)
    raise SystemExit(1)
