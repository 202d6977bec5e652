"""Migrations build the schema from nothing, and match the models exactly."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_migrate import check, downgrade, upgrade

from claims.extensions import db
from tests.conftest import drop_everything


def test_upgrade_from_empty_then_check_and_downgrade(make_app: Any) -> None:
    app = make_app()
    with app.app_context():
        drop_everything()
        try:
            upgrade()
            tables = set(sa.inspect(db.engine).get_table_names())
            assert set(db.metadata.tables) <= tables
            assert "alembic_version" in tables
            check()  # raises (exits) on any difference between models and migrations
            downgrade(revision="base")
            assert set(sa.inspect(db.engine).get_table_names()) == {"alembic_version"}
        finally:
            drop_everything()


def test_upgrade_keeps_existing_rows(make_app: Any) -> None:
    """A database with claims and evidence pointing at them upgrades through every later migration
    (on SQLite, batch migrations recreate tables that other rows reference)."""
    import uuid

    app = make_app()
    with app.app_context():
        drop_everything()
        try:
            upgrade(revision="c2c2c32cf650")  # staff sessions: before the intake and case changes
            postgres = db.engine.dialect.name == "postgresql"

            def uid() -> str:
                value = uuid.uuid4()
                return str(value) if postgres else value.hex

            key, claimant, claim, evidence = uid(), uid(), uid(), uid()
            now = "2026-01-01 00:00:00"
            statements = [
                "INSERT INTO data_keys (id, created_at) VALUES (:key, :now)",
                "INSERT INTO claimants (id, data_key_id, language, created_at) VALUES (:claimant, :key, 'fr', :now)",
                "INSERT INTO cases (slug, reference_prefix, title, summary, description, data_controller, "
                "eligibility_questions, heads_of_damage, optional_fields, court, jurisdiction, procedure, "
                "fee_summary, status, draft_retention_days, created_at) VALUES ('c', 'C', 't', '', '', 'd', "
                "'[]', '[]', '[]', '', '', 'join_at_trial', '', 'open', 30, :now)",
                "INSERT INTO claims (id, reference, case_id, claimant_id, status, civil_party_will, legal_aid, "
                "honeypot_filled, created_at, updated_at, version) VALUES (:claim, 'C-AAAA-BBBB', "
                "(SELECT id FROM cases), :claimant, 'submitted', false, false, false, :now, :now, 1)",
                "INSERT INTO evidence (id, claim_id, kind, status, detected_type, size, sha256, storage_key, "
                "wrapped_file_key, warnings, created_at) VALUES (:evidence, :claim, 'other', 'pending', "
                "'application/pdf', 1, 'x', 'k', :blob, '[]', :now)",
            ]
            params = {
                "key": key,
                "claimant": claimant,
                "claim": claim,
                "evidence": evidence,
                "now": now,
                "blob": b"\x00",
            }
            with db.engine.begin() as conn:
                for statement in statements:
                    conn.execute(sa.text(statement), params)
            upgrade()
            check()
            with db.engine.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM evidence")).scalar() == 1
                assert conn.execute(sa.text("SELECT reference FROM claims")).scalar() == "C-AAAA-BBBB"
                # A submitted claim from before the queue's constraint gets a submission date.
                assert conn.execute(sa.text("SELECT submitted_at FROM claims")).scalar() is not None
        finally:
            drop_everything()


def test_the_audit_log_is_append_only_once_migrated(make_app: Any) -> None:
    """The migration's triggers refuse an UPDATE or a DELETE of an event; its downgrade removes them."""
    from claims.audit.operations import record_event

    app = make_app()
    with app.app_context():
        drop_everything()
        try:
            upgrade()
            record_event(
                "claim.viewed", actor_type="staff", actor_id="u1", object_type="claim", object_id="c1"
            )
            db.session.commit()
            for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
                with db.engine.connect() as conn:
                    try:
                        conn.execute(sa.text(statement))
                    except sa.exc.DatabaseError as error:
                        assert "append-only" in str(error)
                    else:
                        raise AssertionError(f"{statement}: not refused")
            db.session.remove()
            downgrade(revision="e4d856043766")
            with db.engine.begin() as conn:
                assert conn.execute(sa.text("DELETE FROM audit_events")).rowcount == 1
        finally:
            db.session.remove()
            drop_everything()
