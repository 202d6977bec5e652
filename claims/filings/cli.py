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


@filings_cli.command("export")
@click.argument("filing_id", type=int)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--again", is_flag=True, help="Generate anew even if a complete export exists.")
def export(filing_id: int, out_dir: str, again: bool) -> None:
    """Write a locked filing's pack to OUT: one PDF, a ZIP of the bundles, a CSV of the parties.

    Uses the newest complete export, or generates one here (the same jobs the console starts,
    run in this process). The files hold personal data in clear (mode 0600, each written
    atomically): keep them on encrypted storage.
    """
    from pathlib import Path

    from flask import current_app

    from ..fileio import make_dirs_durably, write_atomically
    from ..jobs.operations import dispatch
    from .exports import latest_exports, open_export, start_export
    from .models import ExportKind

    filing = db.session.get(Filing, filing_id)
    if filing is None:
        click.echo(f"no filing {filing_id}", err=True)
        sys.exit(2)
    exports = [] if again else latest_exports(filing)
    if not exports:
        try:
            job = start_export(filing, actor=None)
        except FilingError as error:
            click.echo(f"filing {filing_id}: {error.code}", err=True)
            sys.exit(2)
        db.session.commit()
        current_app.config["JOBS_RUNNER"] = "inline"  # this process does the work
        dispatch(job)
        db.session.expire_all()
        exports = latest_exports(db.session.get_one(Filing, filing_id))
        if not exports:
            click.echo(f"filing {filing_id}: the export failed (see the log)", err=True)
            sys.exit(1)
    names = {ExportKind.PACK_PDF: "depot-{id}.pdf", ExportKind.PACK_ZIP: "depot-{id}-actes.zip",
             ExportKind.PACK_CSV: "depot-{id}-liste.csv"}  # fmt: skip
    target = Path(out_dir)
    make_dirs_durably(target)
    for generated in exports:
        if generated.kind in names:
            path = target / names[generated.kind].format(id=filing_id)
            write_atomically(path, open_export(generated))
            click.echo(f"{path} ({generated.size} bytes, SHA-256 {generated.sha256})")
