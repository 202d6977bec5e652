"""flask filings ...: check a locked filing's files against its snapshot."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from ..extensions import db
from .models import Filing
from .operations import FilingError, verify_filing

filings_cli = AppGroup("filings", help="Collective filings.")
bundles_cli = AppGroup("bundles", help="Claimant bundles (PDF).")


@bundles_cli.command("build")
@click.argument("reference")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, writable=True))
def build(reference: str, out_path: str) -> None:
    """Write the bundle of claim REFERENCE (its filing's, if it is in one) to OUT as a PDF.

    The file holds the civil party's personal data in clear (mode 0600, written
    atomically): keep it on encrypted storage and delete it once used.
    """
    import io
    from pathlib import Path

    import sqlalchemy as sa

    from ..audit.operations import record_event
    from ..claimants.models import Claim
    from ..fileio import write_atomically
    from .bundles import BundleError, write_bundle

    claim = db.session.execute(
        sa.select(Claim).where(Claim.reference == reference.strip().upper())
    ).scalar_one_or_none()
    if claim is None:
        click.echo(f"no claim {reference}", err=True)
        sys.exit(2)
    buffer = io.BytesIO()
    try:
        pages = write_bundle(claim, buffer)
    except BundleError as error:
        click.echo(f"claim {claim.reference}: {error.code}", err=True)
        sys.exit(2)
    write_atomically(Path(out_path), [buffer.getvalue()])
    record_event("bundle.exported", object_type="claim", object_id=claim.id, details={"pages": pages})
    db.session.commit()
    click.echo(f"{claim.reference}: {pages} pages written")


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
