"""A claim's history as its file shows it: the audit events, a person's run of reads as one line.

Every opening of a claim file and every evidence preview (each image the page
shows) is an audit event, and the log keeps each one: it is the proof. Shown
one per line, they would bury the status changes, notes and requests under
"viewed" after a few days of work; so consecutive reads by the same staff
member (nobody else's event in between) make one line, with the count of each
kind and the first and last time. Any other event, a download included, is a
line of its own. The grouping is done in the database, over the claim's
events only: the page receives lines, and a claim read a thousand times
pushes no decision out of the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..audit.models import AuditEvent
from ..extensions import db

# The reads grouped when one staff member makes them one after the other: opening the file,
# and the previews its page loads. A download stays a line of its own.
READS = ("claim.viewed", "evidence.previewed")
HISTORY_LINES = 500


@dataclass(frozen=True)
class HistoryLine:
    at: datetime  # the line's last event
    since: datetime | None  # its first, when it groups several
    actor_type: str
    actor_id: str | None
    action: str  # the last event's action (a single event's own)
    details: dict[str, Any]
    # Reads grouped on this line, each action with its count, in READS order; empty for one event.
    counts: tuple[tuple[str, int], ...] = ()


def _history_statement() -> sa.Select[Any]:
    """Built once: a Core statement over the audit table, the claim's id and the limit bound."""
    audit = AuditEvent.__table__
    mine = sa.and_(audit.c.object_type == "claim", audit.c.object_id == sa.bindparam("claim_id"))
    # The reader of a read, NULL for any other event: a line starts where the reader changes.
    reader = sa.case((sa.and_(audit.c.action.in_(READS), audit.c.actor_type == "staff"), audit.c.actor_id))
    events = sa.select(audit.c.id, audit.c.created_at, audit.c.action, reader.label("reader")).where(mine)
    events = events.subquery()
    previous = sa.func.lag(events.c.reader).over(order_by=events.c.id)
    # NULL = NULL is not true: every event that is not a read starts a line of its own.
    marked = sa.select(events, sa.case((previous == events.c.reader, 0), else_=1).label("starts")).subquery()
    numbered = sa.select(marked, sa.func.sum(marked.c.starts).over(order_by=marked.c.id).label("line"))
    numbered = numbered.subquery()
    lines = (
        sa.select(
            sa.func.max(numbered.c.id).label("last_id"),
            sa.func.min(numbered.c.created_at).label("since"),
            sa.func.count().label("events"),
            *(
                sa.func.sum(sa.case((numbered.c.action == action, 1), else_=0)).label(f"n{i}")
                for i, action in enumerate(READS)
            ),
        )
        .group_by(numbered.c.line)
        .order_by(numbered.c.line.desc())
        .limit(sa.bindparam("lines", type_=sa.Integer))
        .subquery()
    )
    return (
        sa.select(
            audit.c.created_at, audit.c.actor_type, audit.c.actor_id, audit.c.action, audit.c.details, lines
        )
        .join(lines, audit.c.id == lines.c.last_id)
        .order_by(audit.c.id.desc())
    )


_HISTORY = _history_statement()


def claim_history(claim_id: object, limit: int = HISTORY_LINES) -> list[HistoryLine]:
    """The claim's history, newest line first, at most ``limit`` lines."""
    history = []
    for row in db.session.execute(_HISTORY, {"claim_id": str(claim_id), "lines": limit}):
        grouped = row.events > 1
        history.append(
            HistoryLine(
                at=row.created_at,
                since=row.since if grouped else None,
                actor_type=row.actor_type,
                actor_id=row.actor_id,
                action=row.action,
                details=row.details or {},
                counts=tuple((a, n) for a, n in zip(READS, row[-len(READS) :], strict=True) if n)
                if grouped
                else (),
            )
        )
    return history
