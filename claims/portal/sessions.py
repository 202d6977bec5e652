"""Portal sessions: a random token in a cookie, its hash in ``portal_sessions``.

Separate from staff sessions (other table, other cookie), short (idle and absolute
limits), ended at sign-out, at withdrawal, and when a new link is used.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g
from werkzeug.wrappers import Response

from ..crypto import hash_token
from ..extensions import db
from ..security import clear_private_cookie, set_private_cookie
from ..types import utcnow
from .models import PortalSession

_UNSET = object()


def start_portal_session(claim_id: object) -> str:
    """A new session bound to one claim (flush); the cookie is written after the request."""
    token = secrets.token_urlsafe(32)
    db.session.add(PortalSession(token_hash=hash_token(token), claim_id=claim_id))
    db.session.flush()
    g.portal_cookie = token
    return token


def current_portal_session() -> PortalSession | None:
    """The request's live portal session, or None (expired ones are ended on the way)."""
    cached = g.get("portal_session", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    from flask import request

    token = request.cookies.get(current_app.config["PORTAL_COOKIE_NAME"])
    session = None
    if token and len(token) <= 100:
        session = db.session.execute(
            sa.select(PortalSession).where(
                PortalSession.token_hash == hash_token(token), PortalSession.ended_at.is_(None)
            )
        ).scalar_one_or_none()
    if session is not None:
        now = utcnow()
        idle = timedelta(minutes=current_app.config["PORTAL_SESSION_IDLE_MINUTES"])
        longest = timedelta(minutes=current_app.config["PORTAL_SESSION_MAX_MINUTES"])
        if now - session.last_seen_at > idle or now - session.created_at > longest:
            session.ended_at = now
            db.session.commit()
            g.portal_cookie = None
            session = None
        elif now - session.last_seen_at > timedelta(seconds=60):
            session.last_seen_at = now  # at most one write a minute
            db.session.commit()
    g.portal_session = session
    return session


def end_portal_sessions(claim_id: object) -> None:
    """End every session of a claim (flush): sign-out, withdrawal."""
    db.session.execute(
        sa.update(PortalSession)
        .where(PortalSession.claim_id == claim_id, PortalSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    g.portal_cookie = None


def write_portal_cookie(response: Response) -> Response:
    if "portal_cookie" not in g:
        return response
    name = current_app.config["PORTAL_COOKIE_NAME"]
    if g.portal_cookie:
        # A session cookie (no max-age): it also ends when the browser closes.
        set_private_cookie(response, name, g.portal_cookie)
    else:
        clear_private_cookie(response, name)
    return response
