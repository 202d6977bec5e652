"""A claimant's bundle from the database: flask bundles build, read back with pypdf."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskCliRunner
from pypdf import PdfReader

from claims.cases.models import Case
from claims.claimants.models import ClaimStatus
from claims.extensions import db
from claims.filings.operations import add_claims, lock_filing
from claims.portal.withdrawal import withdraw_claim
from tests.filings.test_filings import accepted, new_filing


def text_of(path: Path) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_bundle_of_a_claim_in_a_locked_filing(
    app: Flask, case: Case, make_claim: Any, make_claimant: Any, make_staff: Any, runner: FlaskCliRunner,
    tmp_path: Path,
) -> None:  # fmt: skip
    lawyer = make_staff("lawyer")
    first = accepted(make_claim, make_claimant, pieces=1, last_name="Aubert")
    claim = accepted(make_claim, make_claimant, pieces=2, last_name="Lefèvre-Dubois")
    filing = new_filing(case, lawyer)
    add_claims(filing, [first, claim], actor=lawyer)
    lock_filing(filing, actor=lawyer)
    db.session.commit()
    out = tmp_path / "bundle.pdf"
    result = runner.invoke(args=["bundles", "build", claim.reference.lower(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    pages, text = text_of(out)
    assert f"{claim.reference}: {pages} pages written" in result.output
    flat = " ".join(text.split())
    assert "Élodie LEFÈVRE-DUBOIS" in flat and claim.reference in flat  # surnames in capitals
    assert "Partie civile n° 2" in flat  # its number in the locked filing
    assert "Pièce n° 1" in flat and "Pièce n° 2" in flat and "Pièce n° 3" not in flat
    for evidence in claim.evidence:
        assert evidence.sha256 in text.replace("\n", "")
    assert f"page 1 / {pages}" in flat and f"page {pages} / {pages}" in flat
    assert out.stat().st_mode & 0o777 == 0o600


def test_no_bundle_for_an_erased_claim(
    app: Flask, make_claim: Any, make_claimant: Any, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    claim = make_claim(make_claimant(), status=ClaimStatus.ACCEPTED)
    withdraw_claim(claim)
    db.session.commit()
    result = runner.invoke(args=["bundles", "build", claim.reference, "--out", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2 and "erased" in result.output
    assert not (tmp_path / "x.pdf").exists()
    assert (
        runner.invoke(args=["bundles", "build", "NOPE-AAAA-BBBB", "--out", str(tmp_path / "y.pdf")]).exit_code
        == 2
    )


def test_preview_of_a_claim_not_yet_in_a_filing(
    app: Flask, make_claim: Any, make_claimant: Any, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    claim = accepted(make_claim, make_claimant, pieces=1)
    out = tmp_path / "preview.pdf"
    assert runner.invoke(args=["bundles", "build", claim.reference, "--out", str(out)]).exit_code == 0
    _pages, text = text_of(out)
    flat = " ".join(text.split())
    assert "Partie civile (numéro à venir)" in flat and "n° 0" not in flat and "Pièce n° 1" in flat
