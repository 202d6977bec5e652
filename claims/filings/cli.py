"""flask filings ...: check a locked filing's files against its snapshot."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from ..extensions import db
from .models import Filing
from .operations import FilingError, verify_filing

filings_cli = AppGroup("filings", help="Collective filings.")


@filings_cli.command("verify")
@click.argument("filing_id", type=int)
def verify(filing_id: int) -> None:
    """Re-read every stored file of a locked filing and compare its SHA-256 with the lock snapshot.

    Prints one line per mismatch (civil party number, claim reference, exhibit number, what);
    exits with status 1 if there is any, 2 if the filing is unknown, not locked or its
    snapshot was altered.
    """
    filing = db.session.get(Filing, filing_id)
    if filing is None:
        click.echo(f"no filing {filing_id}", err=True)
        sys.exit(2)
    try:
        checked, mismatches = verify_filing(filing)
    except FilingError as error:
        click.echo(f"filing {filing_id}: {error.code}", err=True)
        sys.exit(2)
    for m in mismatches:
        click.echo(f"party {m.party} {m.reference} exhibit {m.exhibit}: {m.what} does not match")
    click.echo(f"filing {filing_id}: {checked} files checked, {len(mismatches)} mismatches")
    if mismatches:
        sys.exit(1)
