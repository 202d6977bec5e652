"""Key operations: rotation of the master key and crypto-shredding."""

from __future__ import annotations

import sqlalchemy as sa

from ..audit.operations import record_event
from ..extensions import db
from .keys import Keyring
from .models import DataKey


def rewrap_data_keys(keyring: Keyring, batch_size: int = 500) -> int:
    """Re-wrap every live data key under the keyring's current master key.

    Commits per batch so a rotation over millions of keys neither holds one
    huge transaction nor loses its progress; it can be interrupted and run
    again. Field and file ciphertexts are not touched.
    """
    total = 0
    while True:
        batch = (
            db.session.execute(
                sa.select(DataKey)
                .where(
                    DataKey.wrapped_key.is_not(None),
                    DataKey.master_key_id != keyring.current_master_key_id,
                )
                .limit(batch_size)
            )
            .scalars()
            .all()
        )
        if not batch:
            return total
        for data_key in batch:
            data_key.rewrap(keyring)
        total += len(batch)
        db.session.commit()


def master_keys_in_use() -> dict[str, int]:
    rows = db.session.execute(
        sa.select(DataKey.master_key_id, sa.func.count())
        .where(DataKey.master_key_id.is_not(None))
        .group_by(DataKey.master_key_id)
    ).all()
    return {key_id: count for key_id, count in rows}


def shred_data_key(data_key: DataKey, *, reason: str) -> None:
    """Destroy a data key (flushes, no commit): its owner's fields and files become unreadable."""
    data_key.destroy()
    db.session.flush()
    record_event(
        "data_key.destroyed", object_type="data_key", object_id=data_key.id, details={"reason": reason}
    )
