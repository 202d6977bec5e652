"""Crypto-shredding: once a claimant's data key is destroyed, nothing of theirs is readable."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from claims.audit.models import AuditEvent
from claims.claimants.models import Claim, Claimant
from claims.crypto import KeyDestroyed
from claims.crypto.models import DataKey
from claims.crypto.operations import shred_data_key
from claims.evidence.models import Evidence, EvidenceKind
from claims.evidence.operations import open_evidence, store_evidence
from claims.extensions import db
from claims.review.models import Note


def test_destroying_the_data_key_makes_fields_and_files_unreadable(
    make_claim: Any, make_claimant: Any
) -> None:
    claim = make_claim()
    other = make_claim(make_claimant(email="autre@example.fr"), statement="Autre déclaration")
    evidence = store_evidence(
        claim,
        [b"photo de la carte d'identite"],
        kind=EvidenceKind.PROOF_OF_IDENTITY,
        original_filename="cni.jpg",
        detected_type="image/jpeg",
    )
    db.session.commit()
    claimant_id, other_id, evidence_id = claim.claimant.id, other.id, evidence.id

    shred_data_key(claim.claimant.data_key, reason="withdrawal")
    db.session.commit()
    db.session.expunge_all()

    claimant = db.session.get(Claimant, claimant_id)
    assert claimant.data_key.wrapped_key is None
    assert claimant.email_ct is not None  # the ciphertext is still there, and useless
    for read in (
        lambda: claimant.first_name,
        lambda: claimant.nir,
        lambda: claimant.claims[0].statement,
        lambda: db.session.get(Evidence, evidence_id).original_filename,
        lambda: b"".join(open_evidence(db.session.get(Evidence, evidence_id))),
    ):
        with pytest.raises(KeyDestroyed):
            read()
    # Nobody else is affected.
    assert db.session.get(Claim, other_id).statement == "Autre déclaration"
    # The audit log records the fact, not the data.
    event = db.session.execute(
        sa.select(AuditEvent).where(AuditEvent.action == "data_key.destroyed")
    ).scalar_one()
    assert event.object_id == str(claimant.data_key_id)
    assert event.details == {"reason": "withdrawal"}


def test_staff_notes_are_under_the_claimants_key(make_claim: Any, app: Any) -> None:
    from claims.accounts.models import Role, User

    claim = make_claim()
    author = User(email="juriste@example.fr", full_name="Juriste", role=Role.PARALEGAL)
    note = Note(claim=claim, author=author, body="Appelée le 3/10, confirme le vol de sa carte.")
    db.session.add_all([author, note])
    db.session.commit()
    shred_data_key(claim.claimant.data_key, reason="withdrawal")
    with pytest.raises(KeyDestroyed):
        _ = note.body


def test_destroyed_key_leaves_no_wrapped_copy(make_claimant: Any) -> None:
    claimant = make_claimant()
    key_id = claimant.data_key_id
    shred_data_key(claimant.data_key, reason="retention")
    db.session.commit()
    row = db.session.execute(
        sa.select(DataKey.wrapped_key, DataKey.master_key_id, DataKey.destroyed_at).where(
            DataKey.id == key_id
        )
    ).one()
    assert row.wrapped_key is None and row.master_key_id is None and row.destroyed_at is not None
