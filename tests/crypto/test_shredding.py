"""Crypto-shredding: once a claimant's data key is destroyed, nothing of theirs is readable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
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


def test_after_a_restore_the_keys_destroyed_since_are_destroyed_again(
    make_claimant: Any, make_claim: Any, runner: Any, client: Any, login_as: Any, tmp_path: Any
) -> None:
    """``flask keys destroyed`` lists what erasures destroyed (kept outside the database);
    ``flask keys destroy`` erases again, in a database restored from an older backup, the
    claims under those keys and destroys the keys; the console still shows every claim."""
    early, kept = make_claimant(), make_claimant(email="c@example.fr")
    late = make_claimant(email="b@example.fr")
    late_claims = [make_claim(late), make_claim(late)]  # two claims: the key goes with the last
    kept_claim = make_claim(kept)
    shred_data_key(early.data_key, reason="withdrawal")
    db.session.get_one(DataKey, early.data_key_id).destroyed_at = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    db.session.commit()
    early_key, late_key, kept_key = early.data_key_id, late.data_key_id, kept.data_key_id
    references = [c.reference for c in late_claims]

    listed = runner.invoke(args=["keys", "destroyed"])
    assert listed.exit_code == 0 and listed.output.split() == [str(early_key)]
    assert runner.invoke(args=["keys", "destroyed", "--since", "2026-01-05"]).output.split() == [
        str(early_key)
    ]
    assert runner.invoke(args=["keys", "destroyed", "--since", "2026-01-06"]).output == ""

    # In the restored database, "late" was erased after the backup: its key's id comes from the
    # list kept outside; one id is unknown here, one already destroyed.
    kept_list = tmp_path / "destroyed.txt"
    kept_list.write_text(f"{early_key}\n{late_key}\n\n{uuid.uuid4()}\n")
    result = runner.invoke(args=["keys", "destroy", "--from-file", str(kept_list)])
    assert result.exit_code == 0, result.output
    assert (
        result.output.strip()
        == "destroyed 1 data keys, 2 claims erased (1 already destroyed, 1 unknown here)"
    )
    db.session.expire_all()
    assert db.session.get_one(DataKey, late_key).destroyed
    assert not db.session.get_one(DataKey, kept_key).destroyed
    erased = db.session.get_one(Claimant, late.id)
    assert erased.erased_at is not None and erased.email_ct is None
    for reference in references:
        claim = db.session.execute(sa.select(Claim).where(Claim.reference == reference)).scalar_one()
        assert claim.claimant.erased_at is not None and claim.statement_ct is None
    restored = db.session.execute(
        sa.select(AuditEvent).where(
            AuditEvent.action == "data_key.destroyed", AuditEvent.object_id == str(late_key)
        )
    ).scalar_one()
    assert restored.details == {"reason": "restore"}
    # Run again: nothing more to do.
    again = runner.invoke(args=["keys", "destroy", str(late_key)])
    assert (
        again.output.strip() == "destroyed 0 data keys, 0 claims erased (1 already destroyed, 0 unknown here)"
    )

    login_as("lawyer")
    queue = client.get("/console/claims")
    assert queue.status_code == 200 and kept_claim.reference in queue.get_data(as_text=True)
    for reference in references:
        assert client.get(f"/console/claims/{reference}").status_code == 200

    refused = runner.invoke(args=["keys", "destroy", "not-a-uuid"])
    assert refused.exit_code == 2 and "not a valid UUID" in refused.output
    assert runner.invoke(args=["keys", "destroy"]).exit_code == 2
