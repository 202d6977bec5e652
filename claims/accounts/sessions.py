"""Server-side staff sessions.

The cookie carries a random token; the ``staff_sessions`` row (found by the
token's SHA-256) says whose session it is, at which stage of sign-in, and
whether it is still valid: idle and absolute timeouts, sign-out and account
disabling take effect on the very next request.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request

from ..crypto import hash_token
from ..extensions import db
from ..security import clear_private_cookie, set_private_cookie
from ..types import utcnow
from .models import SessionStage, StaffSession, User, UserState

# last_seen_at is written at most this often, not on every request.
TOUCH_INTERVAL = timedelta(seconds=60)


def start_session(user: User, stage: SessionStage) -> StaffSession:
    """A new session with a new id (never reuse one from before sign-in)."""
    current = current_staff_session()
    if current is not None:
        current.revoked_at = utcnow()
    token = secrets.token_urlsafe(32)
    staff_session = StaffSession(
        token_hash=hash_token(token), user=user, stage=stage, remote_addr=request.remote_addr
    )
    db.session.add(staff_session)
    db.session.flush()
    g.staff_session = staff_session
    g.staff_session_token = token
    return staff_session


def advance_session(staff_session: StaffSession, stage: SessionStage) -> None:
    """Move to the next stage under a new token: the pre-2FA cookie is worthless afterwards."""
    token = secrets.token_urlsafe(32)
    staff_session.token_hash = hash_token(token)
    staff_session.stage = stage
    g.staff_session_token = token


def end_session(staff_session: StaffSession) -> None:
    staff_session.revoked_at = utcnow()
    g.staff_session = None
    g.staff_session_clear = True


def revoke_user_sessions(user: User) -> int:
    result = db.session.execute(
        sa.update(StaffSession)
        .where(StaffSession.user_id == user.id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount


def _is_valid(staff_session: StaffSession) -> bool:
    config = current_app.config
    now = utcnow()
    if staff_session.revoked_at is not None:
        return False
    if now - staff_session.last_seen_at > timedelta(seconds=config["STAFF_SESSION_IDLE_SECONDS"]):
        return False
    if now - staff_session.created_at > timedelta(seconds=config["STAFF_SESSION_MAX_SECONDS"]):
        return False
    if staff_session.stage != SessionStage.COMPLETE and now - staff_session.created_at > timedelta(
        seconds=config["STAFF_SIGN_IN_STEP_SECONDS"]
    ):
        return False
    return staff_session.user.state == UserState.ACTIVE


def current_staff_session() -> StaffSession | None:
    """The valid session of this request, or None (cached for the request)."""
    if "staff_session" in g:
        return g.staff_session
    g.staff_session = None
    token = request.cookies.get(current_app.config["STAFF_SESSION_COOKIE_NAME"])
    if not token or len(token) > 100:
        return None
    staff_session = db.session.execute(
        sa.select(StaffSession).where(StaffSession.token_hash == hash_token(token))
    ).scalar_one_or_none()
    if staff_session is None or not _is_valid(staff_session):
        g.staff_session_clear = True
        return None
    if utcnow() - staff_session.last_seen_at > TOUCH_INTERVAL:
        staff_session.last_seen_at = utcnow()
        db.session.commit()
    g.staff_session = staff_session
    return staff_session


def init_app(app: Flask) -> None:
    @app.after_request
    def set_staff_cookie(response: Response) -> Response:
        name = app.config["STAFF_SESSION_COOKIE_NAME"]
        token = g.get("staff_session_token")
        if token:
            set_private_cookie(response, name, token)
        elif g.get("staff_session_clear"):
            clear_private_cookie(response, name)
        return response
