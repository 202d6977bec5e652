"""Saved queue filters: a set of the queue's filters under a name, private or shared.

What is kept is the queue's query-string arguments, the keys of ``SAVED_FILTER_KEYS`` only,
in a canonical form checked by the queue's strict parser. The exact search term is never kept
(it is personal data). Operations flush, never commit.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..accounts.models import Role, User
from ..audit.operations import record_event
from ..extensions import db
from .models import SAVED_FILTER_KEYS, SavedFilter
from .queue import QueueFilter, filter_from_args

NAME_LENGTH = 80


class SavedFilterError(Exception):
    """A saved filter operation refused; ``code`` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def saved_args(values: Mapping[str, str], user_id: uuid.UUID) -> dict[str, str]:
    """The filter worth keeping from the queue's arguments, canonical; the search term is dropped.

    Raises ``queue.BadFilter`` on a malformed value (the strict parser): a saved filter
    must select exactly what it says.
    """
    raw = {key: values.get(key, "").strip() for key in SAVED_FILTER_KEYS}
    parsed = filter_from_args(raw, user_id, strict=True)
    return _as_args(parsed, assignee_is_me=raw["assignee"] == "me")


def _as_args(f: QueueFilter, *, assignee_is_me: bool) -> dict[str, str]:
    args: dict[str, str] = {}
    if f.case_id is not None:
        args["case"] = str(f.case_id)
    if f.status is not None:
        args["status"] = f.status.value
    if f.assignee is not None:
        # "me" stays "me": whoever applies the filter, not the one who saved it.
        args["assignee"] = "me" if assignee_is_me else str(f.assignee)
    if f.head:
        args["head"] = f.head
    if f.has_warnings:
        args["warnings"] = "1"
    if f.overdue:
        args["overdue"] = "1"
    if f.submitted_from:
        args["from"] = f.submitted_from.isoformat()
    if f.submitted_to:
        args["to"] = f.submitted_to.isoformat()
    if f.oldest_first:
        args["order"] = "oldest"
    return args


def clean_name(name: str) -> str:
    """NFC, one space between words, no control or invisible formatting characters."""
    name = " ".join(unicodedata.normalize("NFC", name).split())
    return "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")


def save_filter(owner: User, *, name: str, shared: bool, args: dict[str, str]) -> SavedFilter:
    """Keep ``args`` (from ``saved_args``) under ``name``; the name is unique per owner."""
    name = clean_name(name)
    if not name or len(name) > NAME_LENGTH:
        raise SavedFilterError("bad_name")
    taken = db.session.execute(
        sa.select(SavedFilter.id).where(SavedFilter.owner_id == owner.id, SavedFilter.name == name)
    ).first()
    if taken:
        raise SavedFilterError("name_taken")
    saved = SavedFilter(name=name, owner_id=owner.id, shared=shared, args=args)
    db.session.add(saved)
    db.session.flush()
    # Ids and flags only: the name is free text typed by staff.
    record_event(
        "queue_filter.saved",
        actor_type="staff",
        actor_id=owner.id,
        object_type="saved_filter",
        object_id=saved.id,
        details={"shared": shared},
    )
    return saved


def _visible_to(user: User) -> sa.ColumnElement[bool]:
    return sa.or_(SavedFilter.owner_id == user.id, SavedFilter.shared.is_(True))


def visible_filters(user: User) -> list[SavedFilter]:
    """The user's own filters and those shared by others, by name."""
    return list(
        db.session.execute(
            sa.select(SavedFilter)
            .where(_visible_to(user))
            .options(joinedload(SavedFilter.owner))
            .order_by(SavedFilter.name, SavedFilter.id)
        ).scalars()
    )


def visible_filter(filter_id: int, user: User) -> SavedFilter | None:
    """The filter if the user may see it (theirs, or shared), else None."""
    return db.session.execute(
        sa.select(SavedFilter).where(SavedFilter.id == filter_id, _visible_to(user))
    ).scalar_one_or_none()


def may_delete(saved: SavedFilter, user: User) -> bool:
    """Its owner; and a lawyer, for a shared one (the team's list, also when its owner has
    left). Admins manage accounts and cases: they never see the queue."""
    return saved.owner_id == user.id or (saved.shared and user.role == Role.LAWYER)


def delete_filter(saved: SavedFilter, *, actor: User) -> None:
    """Delete a saved filter (see ``may_delete``)."""
    if not may_delete(saved, actor):
        raise SavedFilterError("not_owner")
    record_event(
        "queue_filter.deleted",
        actor_type="staff",
        actor_id=actor.id,
        object_type="saved_filter",
        object_id=saved.id,
        details={"owner": str(saved.owner_id), "shared": saved.shared},
    )
    db.session.delete(saved)
    db.session.flush()
