"""The audit chain: appends link by hash; any change to the past shows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from claims.audit.models import APPEND_ONLY_DDL, GENESIS_HASH, AuditEvent
from claims.audit.operations import record_event, verify_chain
from claims.extensions import db


def write_events(n: int) -> list[AuditEvent]:
    events = [
        record_event(
            "claim.viewed",
            actor_type="staff",
            actor_id="u1",
            object_type="claim",
            object_id=f"c{i}",
            details={"n": i},
            remote_addr="192.0.2.1",
        )
        for i in range(n)
    ]
    db.session.commit()
    return events


@contextmanager
def past_the_triggers() -> Iterator[None]:
    """What the table's owner can do: set the append-only triggers aside, change the past, put
    them back. The hash chain is what still shows the change."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        yield
        db.session.execute(sa.text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    else:
        for name in ("audit_events_no_update", "audit_events_no_delete"):
            db.session.execute(sa.text(f"DROP TRIGGER {name}"))
        yield
        for statement in APPEND_ONLY_DDL["sqlite"]:
            db.session.execute(sa.text(statement))
    db.session.commit()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'claim.accepted'",
        "UPDATE audit_events SET details = '{}' WHERE id = (SELECT min(id) FROM audit_events)",
        "DELETE FROM audit_events WHERE id = (SELECT max(id) FROM audit_events)",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ],
)
def test_the_database_refuses_to_change_or_remove_an_event(app: Flask, statement: str) -> None:
    events = write_events(2)
    if statement.startswith("TRUNCATE") and db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (its DELETE FROM is refused above)")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        db.session.execute(sa.text(statement))
    db.session.rollback()
    assert [e.hash for e in db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.id)).scalars()] == [
        e.hash for e in events
    ]
    assert verify_chain().ok
    record_event("claim.viewed", actor_type="staff", actor_id="u1", object_type="claim", object_id="c9")
    db.session.commit()  # appending still works
    assert verify_chain().count == 3


def test_events_are_chained(app: Flask) -> None:
    events = write_events(3)
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    report = verify_chain()
    assert report.ok and report.count == 3 and report.head == events[2].hash


def test_verify_cli_ok(app: Flask, runner: FlaskCliRunner) -> None:
    events = write_events(2)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert result.output.strip() == f"ok: 2 events, head {events[1].hash}"


def test_empty_chain_is_ok(app: Flask) -> None:
    assert verify_chain().ok


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("action", "claim.accepted"),
        ("object_id", "c999"),
        ("actor_id", "u2"),
        ("remote_addr", "198.51.100.7"),
        ("created_at", None),
    ],
)
def test_altered_event_is_detected(app: Flask, runner: FlaskCliRunner, column: str, value: str) -> None:
    events = write_events(4)
    target = events[2].id
    with past_the_triggers():
        _alter(events, target, column, value)
    report = verify_chain()
    assert not report.ok and report.broken_at == target and "altered" in report.problem
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at event {target}" in result.output


def _alter(events: list[AuditEvent], target: int, column: str, value: str) -> None:
    if column == "created_at":
        db.session.execute(
            sa.update(AuditEvent)
            .where(AuditEvent.id == target)
            .values(created_at=events[2].created_at.replace(year=2020))
        )
    else:
        # Behind the ORM's back, as someone with database access would.
        db.session.execute(
            sa.text(f"UPDATE audit_events SET {column} = :v WHERE id = :id"),  # noqa: S608
            {"v": value, "id": target},
        )


def test_altered_details_are_detected(app: Flask) -> None:
    events = write_events(3)
    with past_the_triggers():
        db.session.execute(
            sa.update(AuditEvent).where(AuditEvent.id == events[0].id).values(details={"n": 7})
        )
    report = verify_chain()
    assert report.broken_at == events[0].id


def test_removed_event_is_detected(app: Flask) -> None:
    events = write_events(4)
    with past_the_triggers():
        db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == events[1].id))
    report = verify_chain()
    assert not report.ok and report.broken_at == events[2].id and "removed" in report.problem


def test_rewriting_a_hash_does_not_hide_the_change(app: Flask) -> None:
    """Recomputing the altered event's hash breaks the next link instead."""
    from claims.audit.operations import event_digest

    events = write_events(3)
    event = events[1]
    with past_the_triggers():
        event.action = "claim.accepted"
        event.hash = event_digest(event)
        db.session.flush()
    assert verify_chain().broken_at == events[2].id


def test_chain_cannot_fork(app: Flask) -> None:
    events = write_events(1)
    db.session.add(
        AuditEvent(
            created_at=events[0].created_at,
            actor_type="system",
            action="x",
            details={},
            prev_hash=events[0].prev_hash,
            hash="f" * 64,
        )
    )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_details_take_flat_values_only(app: Flask) -> None:
    with pytest.raises(TypeError):
        record_event("claim.viewed", details={"statement": {"text": "..."}})


def test_remote_address_is_taken_from_the_request(app: Flask) -> None:
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "203.0.113.9"}):
        event = record_event("staff.signed_in", actor_type="staff", actor_id="u1")
    assert event.remote_addr == "203.0.113.9"
