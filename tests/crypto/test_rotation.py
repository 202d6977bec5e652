"""flask keys rotate: new master key, data keys re-wrapped, data untouched and readable."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from claims.claimants.models import Claim, Claimant
from claims.crypto import current_keyring
from claims.crypto.models import DataKey
from claims.evidence.models import Evidence, EvidenceKind
from claims.evidence.operations import open_evidence, store_evidence
from claims.extensions import db


def snapshot() -> dict[str, Any]:
    return {
        "wrapped": dict(db.session.execute(sa.select(DataKey.id, DataKey.wrapped_key)).all()),
        "fields": dict(db.session.execute(sa.select(Claimant.id, Claimant.email_ct)).all()),
        "statements": dict(db.session.execute(sa.select(Claim.id, Claim.statement_ct)).all()),
    }


def test_rotate_rewraps_keys_and_leaves_data_readable(
    app: Flask, runner: FlaskCliRunner, make_claim: Any
) -> None:
    claims = [make_claim(statement=f"déclaration {i}") for i in range(3)]
    evidence = store_evidence(
        claims[0],
        [b"%PDF-1.4 lettre"],
        kind=EvidenceKind.OTHER,
        original_filename="lettre.pdf",
        detected_type="application/pdf",
    )
    db.session.commit()
    claim_ids, evidence_id = [c.id for c in claims], evidence.id
    old_key_id = current_keyring().current_master_key_id
    key_file = current_keyring().path
    before = snapshot()

    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    new_key_id = current_keyring().current_master_key_id
    assert f"re-wrapped 3 data keys under {new_key_id}" in result.output
    assert new_key_id != old_key_id
    assert f"retired master keys no longer in use: {old_key_id}" in result.output

    # The key file holds only the new key; the data keys are wrapped under it.
    content = json.loads(key_file.read_text())
    assert list(content["master_keys"]) == [new_key_id]
    assert set(db.session.execute(sa.select(DataKey.master_key_id)).scalars()) == {new_key_id}

    db.session.expunge_all()
    after = snapshot()
    assert after["fields"] == before["fields"]
    assert after["statements"] == before["statements"]
    assert all(after["wrapped"][k] != before["wrapped"][k] for k in before["wrapped"])

    for i, claim_id in enumerate(claim_ids):
        assert db.session.get(Claim, claim_id).statement == f"déclaration {i}"
    assert b"".join(open_evidence(db.session.get(Evidence, evidence_id))) == b"%PDF-1.4 lettre"


def test_rotate_keep_old_keeps_both_keys(app: Flask, runner: FlaskCliRunner, make_claimant: Any) -> None:
    make_claimant()
    old_key_id = current_keyring().current_master_key_id
    result = runner.invoke(args=["keys", "rotate", "--keep-old"])
    assert result.exit_code == 0, result.output
    assert f"no longer in use, safe to remove: {old_key_id}" in result.output
    assert old_key_id in current_keyring().master_keys
    status = runner.invoke(args=["keys", "status"]).output
    assert f"{current_keyring().current_master_key_id}: 1 data keys" in status
    assert f"{old_key_id}: 0 data keys" in status


def test_interrupted_rotation_can_be_resumed(app: Flask, runner: FlaskCliRunner, make_claimant: Any) -> None:
    """Old and new master keys both unwrap: data keys still under the old one stay readable."""
    claimants = [make_claimant(email=f"p{i}@example.fr") for i in range(3)]
    keyring = current_keyring().with_new_master_key()
    # Re-wrap only one data key, as if the command had died part way.
    claimants[0].data_key.rewrap(keyring)
    db.session.commit()
    app.extensions["recours_keyring"] = keyring
    db.session.expunge_all()
    emails = sorted(c.email for c in db.session.execute(sa.select(Claimant)).scalars())
    assert emails == ["p0@example.fr", "p1@example.fr", "p2@example.fr"]
