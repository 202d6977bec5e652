"""Single use under concurrency: a one-time link, a confirmation, a download."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .extensions import db
from .types import utcnow


def stamp_once(column: Any, row_id: object, *conditions: Any, when: datetime | None = None) -> bool:
    """Set the timestamp ``column`` (e.g. ``ResumeLink.used_at``) of one row if it is still unset
    and ``conditions`` hold, in one conditional UPDATE (flush, no commit).

    True for the one caller that set it: of two concurrent uses, exactly one wins.
    """
    model = column.class_
    done = db.session.execute(
        sa.update(model)
        .where(model.id == row_id, column.is_(None), *conditions)
        .values({column.key: when or utcnow()})
    )
    return done.rowcount == 1
