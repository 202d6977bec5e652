"""Writing and verifying the audit chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request

from ..extensions import db
from ..types import utcnow
from .models import GENESIS_HASH, AuditEvent

# Any constant works; it names the lock that serialises appends on PostgreSQL.
_PG_ADVISORY_LOCK = 0x7265636F  # "reco"
_DETAIL_TYPES = (str, int, float, bool, type(None))


def event_digest(event: AuditEvent) -> str:
    """The hash of an event: every recorded field plus its predecessor's hash."""
    payload = {
        "created_at": event.created_at.isoformat(),
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "remote_addr": event.remote_addr,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


# Every event runs these: built once.
_PG_LOCK = sa.select(sa.func.pg_advisory_xact_lock(_PG_ADVISORY_LOCK))
_LAST_HASH = sa.select(AuditEvent.__table__.c.hash).order_by(AuditEvent.__table__.c.id.desc()).limit(1)


def record_event(
    action: str,
    *,
    actor_type: str = "system",
    actor_id: object | None = None,
    object_type: str | None = None,
    object_id: object | None = None,
    details: dict[str, Any] | None = None,
    remote_addr: str | None = None,
) -> AuditEvent:
    """Append an event to the chain (flushes, does not commit).

    ``details`` takes ids, counts and codes: flat values only, so that no
    document or free text is ever copied into the log by accident.
    """
    details = details or {}
    for key, value in details.items():
        if not isinstance(value, _DETAIL_TYPES):
            raise TypeError(f"audit detail {key!r} must be a flat value")
    if remote_addr is None and has_request_context():
        remote_addr = request.remote_addr
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_PG_LOCK)
    last_hash = session.execute(_LAST_HASH).scalar_one_or_none()
    event = AuditEvent(
        created_at=utcnow(),
        actor_type=actor_type,
        actor_id=None if actor_id is None else str(actor_id),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        remote_addr=remote_addr,
        details=details,
        prev_hash=last_hash or GENESIS_HASH,
    )
    event.hash = event_digest(event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    count: int
    head: str
    broken_at: int | None = None
    problem: str | None = None


def claimant_event(action: str, claim_id: object, **details: Any) -> AuditEvent:
    """A claimant's action on their own claim (intake form, portal); ``details`` as above."""
    return record_event(
        action, actor_type="claimant", object_type="claim", object_id=claim_id, details=details or None
    )


def verify_chain(batch_size: int = 1000) -> ChainReport:
    """Walk the chain in order; report the first event whose link or hash is wrong."""
    expected_prev = GENESIS_HASH
    count = 0
    result = db.session.execute(
        sa.select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=batch_size)
    )
    # Closed explicitly: stopping at a broken link must not leave a server-side cursor open.
    with result:
        for event in result.scalars():
            count += 1
            if event.prev_hash != expected_prev:
                return ChainReport(
                    False,
                    count,
                    expected_prev,
                    event.id,
                    "link to the previous event is broken (an event was removed or inserted)",
                )
            if event_digest(event) != event.hash:
                return ChainReport(
                    False,
                    count,
                    expected_prev,
                    event.id,
                    "content does not match its hash (the event was altered)",
                )
            expected_prev = event.hash
    return ChainReport(True, count, expected_prev)
