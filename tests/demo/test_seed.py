"""flask demo seed: realistic data, every personal value encrypted at rest."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskCliRunner
from stdnum.fr import nir as stdnum_nir

from claims.accounts.models import Role, User
from claims.audit.operations import verify_chain
from claims.cases.models import Case
from claims.claimants.models import Claim, Claimant, ClaimStatus
from claims.evidence.models import Evidence
from claims.evidence.operations import open_evidence
from claims.extensions import db
from claims.vault import current_vault

SEEDED = 200


@pytest.fixture
def seeded(app: Flask, runner: FlaskCliRunner) -> str:
    result = runner.invoke(args=["demo", "seed", "--claimants", str(SEEDED), "--seed", "7"])
    assert result.exit_code == 0, result.output
    db.session.expunge_all()
    return result.output


def stored_bytes(app: Flask) -> list[tuple[str, bytes]]:
    """Every byte the app keeps: the instance folder (SQLite file, WAL, vault, keys)
    and, on PostgreSQL, every row of every table as text."""
    found = [(str(p), p.read_bytes()) for p in Path(app.instance_path).rglob("*") if p.is_file()]
    if db.engine.dialect.name == "postgresql":
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(sa.text(f"SELECT CAST(t AS text) FROM {table.name} t"))  # noqa: S608
            found.append((table.name, "\n".join(rows.scalars()).encode()))
    else:
        assert any(name.endswith(".sqlite3") for name, _ in found)
    return found


def test_seed_creates_case_staff_and_claimants(app: Flask, seeded: str) -> None:
    case = db.session.execute(sa.select(Case)).scalar_one()
    assert case.reference_prefix == "APHP" and "AP-HP" in case.title
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Claimant)) == SEEDED
    claims = db.session.execute(sa.select(Claim)).scalars().all()
    assert len(claims) == SEEDED
    statuses = Counter(c.status for c in claims)
    assert statuses[ClaimStatus.SUBMITTED] > 0 and statuses[ClaimStatus.ACCEPTED] > 0
    assert all(c.reference.startswith("APHP-") and len(c.reference) == 14 for c in claims)
    submitted = [c for c in claims if c.status != ClaimStatus.DRAFT]
    assert all(c.harms and c.total_claimed > 0 for c in submitted)
    assert all(c.evidence for c in submitted)
    kinds = Counter(e.detected_type for c in submitted for e in c.evidence)
    assert set(kinds) == {"application/pdf", "image/png", "image/jpeg"}
    assert verify_chain().ok


def test_seeded_identities_look_real_and_nirs_are_valid(app: Flask, seeded: str) -> None:
    claimants = db.session.execute(sa.select(Claimant)).scalars().all()
    for claimant in claimants:
        assert stdnum_nir.is_valid(claimant.nir)
        # The NIR's sex digit and birth year/month agree with the identity.
        assert claimant.nir[0] == ("2" if claimant.civility == "Mme" else "1")
        assert claimant.nir[1:5] == claimant.birth_date.strftime("%y%m")
        assert "@" in claimant.email and claimant.postal_code[:2] in {
            "75",
            "77",
            "78",
            "91",
            "92",
            "93",
            "94",
            "95",
        }
    assert len({c.last_name for c in claimants}) > SEEDED // 4


def test_staff_accounts_one_per_role_printed_once(app: Flask, runner: FlaskCliRunner, seeded: str) -> None:
    users = db.session.execute(sa.select(User)).scalars().all()
    assert sorted(u.role for u in users) == sorted(Role)
    hasher = PasswordHasher()
    for user in users:
        line = next(line for line in seeded.splitlines() if user.email in line)
        password = line.split()[-1]
        assert len(password) >= 12
        assert hasher.verify(user.password_hash, password)
        assert user.password_hash.startswith("$argon2id$")
    again = runner.invoke(args=["demo", "seed", "--claimants", "3"])
    assert again.exit_code == 0 and "Demo staff accounts" not in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Claimant)) == SEEDED + 3
    skipped = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert "nothing seeded" in skipped.output


def test_no_personal_value_in_clear_anywhere(app: Flask, seeded: str) -> None:
    staff_names = {n for u in db.session.execute(sa.select(User)).scalars() for n in u.full_name.split()}
    needles: set[str] = set()
    for claimant in db.session.execute(sa.select(Claimant)).scalars():
        needles |= {
            claimant.full_name,
            claimant.email,
            claimant.phone,
            claimant.nir,
            stdnum_nir.format(claimant.nir),
            claimant.nir[:13],
            claimant.address_line1,
        }
        if claimant.last_name not in staff_names and len(claimant.last_name) >= 5:
            needles.add(claimant.last_name)
        for claim in claimant.claims:
            needles.add(claim.statement)
            needles.add(claim.statement[:40])
    needles.discard("")
    stores = stored_bytes(app)
    leaks = [(needle, name) for name, data in stores for needle in needles if needle.encode() in data]
    assert leaks == []
    assert len(needles) > SEEDED * 5


def test_every_evidence_file_on_disk_differs_from_its_plaintext(app: Flask, seeded: str) -> None:
    storage = current_vault().storage
    evidence = db.session.execute(sa.select(Evidence)).scalars().all()
    assert len(evidence) >= SEEDED // 2
    for item in evidence:
        plaintext = b"".join(open_evidence(item))
        on_disk = storage.path_of(item.storage_key).read_bytes()
        assert len(plaintext) == item.size
        assert on_disk != plaintext
        assert plaintext[:32] not in on_disk and plaintext[-32:] not in on_disk
        assert b"%PDF" not in on_disk and b"PNG" not in on_disk[:16] and b"JFIF" not in on_disk
