"""flask retention purge: every case's keeping periods, by crypto-shredding, once."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from claims.audit.models import AuditEvent
from claims.cases.models import Case
from claims.claimants.models import Claim, Claimant, ClaimStatus
from claims.crypto import hash_token
from claims.crypto.models import DataKey
from claims.evidence.models import Evidence, EvidenceKind
from claims.evidence.operations import accept_evidence, make_derivative
from claims.extensions import db
from claims.portal.models import PortalLink, PortalSession
from claims.portal.retention import purge
from claims.portal.withdrawal import withdraw_claim
from claims.review.operations import change_status
from claims.types import utcnow
from claims.vault import current_vault
from tests.evidence.test_uploads import jpeg


@dataclass
class Person:
    claim: Claim
    email: str
    last_name: str
    files: list[Path]


def _vault_files(claim: Claim) -> list[Path]:
    storage = current_vault().storage
    return [
        storage.path_of(key)
        for e in claim.evidence
        for key in (e.storage_key, e.derivative_storage_key)
        if key is not None
    ]


@pytest.fixture
def person(make_claim: Any, make_claimant: Any) -> Any:
    serial = iter(range(1, 100))

    def make(status: ClaimStatus = ClaimStatus.IN_REVIEW, *, claimant: Claimant | None = None) -> Person:
        n = next(serial)
        letters = "".join(chr(97 + int(d)) for d in f"{n:02d}")
        last_name = f"Conservation{letters}"
        email = f"personne.{letters}@retention.example"
        claimant = claimant or make_claimant(last_name=last_name, email=email, phone=f"06 30 00 00 {n:02d}")
        claim = make_claim(claimant, status=status, statement=f"Déclaration de {last_name}.")
        evidence = accept_evidence(
            claim, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename=f"{last_name}.jpg"
        )
        make_derivative(evidence)
        db.session.add(PortalSession(token_hash=hash_token(f"session-{n}"), claim=claim))
        db.session.add(
            PortalLink(
                token_hash=hash_token(f"link-{n}"), claim=claim, expires_at=utcnow() + timedelta(minutes=15)
            )
        )
        db.session.commit()
        return Person(claim, email, last_name, _vault_files(claim))

    return make


def _age(claim: Claim, *, closed_days: int | None = None, updated_days: int | None = None) -> None:
    values: dict[str, Any] = {}
    if closed_days is not None:
        values["closed_at"] = utcnow() - timedelta(days=closed_days)
    if updated_days is not None:
        values["updated_at"] = utcnow() - timedelta(days=updated_days)
    db.session.execute(sa.update(Claim).where(Claim.id == claim.id).values(**values))
    db.session.commit()


def _reject(claim: Claim) -> None:
    change_status(claim, ClaimStatus.REJECTED, actor=None, action="rejected", reason_code="not_affected")
    db.session.commit()


def _withdraw(claim: Claim) -> None:
    withdraw_claim(claim)
    db.session.commit()


def _state() -> dict[str, Any]:
    """Everything a purge changes, to prove a dry run changes nothing."""
    return {
        "claims": db.session.execute(
            sa.select(Claim.reference, Claim.status).order_by(Claim.reference)
        ).all(),
        "evidence": db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)),
        "links": db.session.scalar(sa.select(sa.func.count()).select_from(PortalLink)),
        "live keys": db.session.scalar(
            sa.select(sa.func.count()).select_from(DataKey).where(DataKey.wrapped_key.is_not(None))
        ),
        "erased": db.session.scalar(
            sa.select(sa.func.count()).select_from(Claimant).where(Claimant.erased_at.is_not(None))
        ),
        "files": sorted(p.name for p in current_vault().storage.root.rglob("*") if p.is_file()),
        "audit": db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)),
    }


def test_purge_applies_every_period_once_and_lists_references_only(
    app: Flask, runner: FlaskCliRunner, case: Case, person: Any
) -> None:
    old_draft = person(ClaimStatus.DRAFT)
    _age(old_draft.claim, updated_days=case.draft_retention_days + 1)
    recent_draft = person(ClaimStatus.DRAFT)
    old_rejected, recent_rejected = person(), person()
    for p, days in ((old_rejected, case.rejected_retention_days + 1), (recent_rejected, 10)):
        _reject(p.claim)
        _age(p.claim, closed_days=days)
    old_withdrawn, recent_withdrawn = person(), person()
    for p, days in ((old_withdrawn, case.withdrawn_retention_days + 1), (recent_withdrawn, 5)):
        _withdraw(p.claim)
        _age(p.claim, closed_days=days)
    # Withdrawn by some other path, its data never erased: erased at the first run, whatever its age.
    stray = person()
    change_status(stray.claim, ClaimStatus.WITHDRAWN, actor=None, action="withdrawn")
    db.session.commit()
    accepted = person(ClaimStatus.ACCEPTED)
    _age(accepted.claim, updated_days=400)
    everyone = [
        old_draft,
        recent_draft,
        old_rejected,
        recent_rejected,
        old_withdrawn,
        recent_withdrawn,
        stray,
        accepted,
    ]
    personal = [v for p in everyone for v in (p.email, p.last_name)]
    expected = (
        f"{{verb}} 1 unfinished drafts\n  {old_draft.claim.reference}\n"
        f"{{verb}} 1 rejected claims\n  {old_rejected.claim.reference}\n"
        f"{{verb}} 2 withdrawn claims\n  {old_withdrawn.claim.reference}\n  {stray.claim.reference}\n"
    )
    ids = {p.last_name: p.claim.id for p in everyone}

    before = _state()
    dry = runner.invoke(args=["retention", "purge", "--dry-run"])
    assert dry.exit_code == 0 and dry.output == expected.format(verb="would purge")
    assert _state() == before

    result = runner.invoke(args=["retention", "purge"])
    assert result.exit_code == 0 and result.output == expected.format(verb="purged")
    assert not [v for v in personal if v in result.output + dry.output]
    db.session.expire_all()

    def claim_of(p: Person) -> Claim | None:
        return db.session.get(Claim, ids[p.last_name])

    # The old draft is gone entirely; the recent one is untouched.
    assert claim_of(old_draft) is None and not any(f.exists() for f in old_draft.files)
    # The old rejected claim keeps its reference, dates and status; nothing else.
    rejected = claim_of(old_rejected)
    assert rejected.status == ClaimStatus.REJECTED and rejected.reference == old_rejected.claim.reference
    assert rejected.closed_at is not None and rejected.submitted_at is not None
    assert rejected.claimant.erased_at is not None and rejected.claimant.data_key.destroyed
    assert rejected.statement_ct is None and rejected.claimant.email_ct is None and rejected.harms == []
    assert rejected.evidence == [] and not any(f.exists() for f in old_rejected.files)
    for model in (PortalLink, PortalSession):
        assert db.session.scalar(sa.select(sa.func.count()).where(model.claim_id == rejected.id)) == 0
    # Withdrawn long enough ago: its unreadable files and leftover rows are deleted.
    withdrawn = claim_of(old_withdrawn)
    assert withdrawn.status == ClaimStatus.WITHDRAWN and withdrawn.evidence == []
    assert not any(f.exists() for f in old_withdrawn.files)
    assert db.session.scalar(sa.select(sa.func.count()).where(PortalLink.claim_id == withdrawn.id)) == 0
    # The stray withdrawal is erased now; its files wait for the end of its period.
    stray_claim = claim_of(stray)
    assert stray_claim.claimant.data_key.destroyed and stray_claim.statement_ct is None
    assert all(f.exists() for f in stray.files) and len(stray_claim.evidence) == 1
    # Within their periods, or never due: untouched.
    for p in (recent_draft, recent_rejected, accepted):
        claim = claim_of(p)
        assert claim.statement == f"Déclaration de {p.last_name}." and claim.claimant.email == p.email
        assert all(f.exists() for f in p.files)
    recent = claim_of(recent_withdrawn)
    assert len(recent.evidence) == 1 and all(f.exists() for f in recent_withdrawn.files)
    # The audit log says what was erased, not what it held.
    events = (
        db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "claim.purged")).scalars().all()
    )
    assert sorted(e.object_id for e in events) == sorted(
        str(ids[p.last_name]) for p in (old_rejected, old_withdrawn)
    )
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "claim.draft_purged")
        )
        == 1
    )

    # A second run finds nothing to do, and says so.
    after = _state()
    again = runner.invoke(args=["retention", "purge"])
    assert again.output == (
        "purged 0 unfinished drafts\npurged 0 rejected claims\npurged 0 withdrawn claims\nnothing to purge\n"
    )
    assert _state() == after


def test_an_interrupted_run_loses_nothing_and_repeats_nothing(
    app: Flask, case: Case, person: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = person(), person()
    for p in (first, second):
        _reject(p.claim)
        _age(p.claim, closed_days=case.rejected_retention_days + 1)
    vault = current_vault()
    delete = vault.delete
    failing = second.claim.evidence[0].storage_key

    def crash_on_second(storage_key: str) -> None:
        if storage_key == failing:
            raise OSError("disk gone")
        delete(storage_key)

    monkeypatch.setattr(vault, "delete", crash_on_second)
    with pytest.raises(OSError, match="disk gone"):
        purge()
    db.session.rollback()
    db.session.expire_all()
    assert first.claim.claimant.data_key.destroyed and first.claim.evidence == []
    assert not second.claim.claimant.data_key.destroyed and second.claim.statement is not None

    monkeypatch.setattr(vault, "delete", delete)
    report = purge()
    assert report.rejected == [second.claim.reference] and report.total == 1
    assert purge().total == 0
    purged = (
        db.session.execute(sa.select(AuditEvent.object_id).where(AuditEvent.action == "claim.purged"))
        .scalars()
        .all()
    )
    assert sorted(purged) == sorted([str(first.claim.id), str(second.claim.id)])
    assert not any(f.exists() for f in first.files + second.files)


def test_a_rejected_claim_is_erased_without_touching_the_persons_other_claim(
    app: Flask, client: FlaskClient, case: Case, person: Any, login_as: Any
) -> None:
    kept = person(ClaimStatus.ACCEPTED)
    claimant = kept.claim.claimant
    rejected = person(claimant=claimant)
    _reject(rejected.claim)
    _age(rejected.claim, closed_days=case.rejected_retention_days + 1)

    assert purge().rejected == [rejected.claim.reference]
    db.session.expire_all()
    assert not claimant.data_key.destroyed and claimant.email == kept.email
    assert kept.claim.statement == f"Déclaration de {kept.last_name}." and all(f.exists() for f in kept.files)
    assert rejected.claim.claimant_id != claimant.id and rejected.claim.claimant.erased_at is not None
    assert rejected.claim.evidence == [] and not any(f.exists() for f in rejected.files)

    login_as("lawyer")
    page = client.get(f"/console/claims/{rejected.claim.reference}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Refusée" in html and 'data-testid="erased"' in html
    assert kept.email not in html and kept.last_name not in html


def test_help_describes_the_command(runner: FlaskCliRunner) -> None:
    help_text = runner.invoke(args=["retention", "purge", "--help"]).output
    for words in ("--dry-run", "unfinished drafts", "rejected claims", "withdrawn claims", "daily from cron"):
        assert words in help_text
