"""The claimant portal at /me: sign in by one-time link, follow the claim, answer requests,
change contact details, get a copy of one's data, withdraw.

Access: deny by default. Each view declares ``@portal_access(PUBLIC)`` (the sign-in pages)
or ``@portal_access(CLAIMANT)`` (a signed-in claimant, who then reaches only the claim the
session is bound to: ``g.portal_claim``); the guard refuses any other view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, abort, current_app, g, redirect, request, url_for

bp = Blueprint("portal", __name__, url_prefix="/me")

PUBLIC = "public"
CLAIMANT = "claimant"
F = TypeVar("F", bound=Callable[..., Any])


def portal_access(level: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        view.portal_access = level  # type: ignore[attr-defined]
        return view

    return decorate


@bp.before_request
def guard() -> Response | None:
    from .sessions import current_portal_session

    view = current_app.view_functions.get(request.endpoint or "")
    level = getattr(view, "portal_access", None)
    if level == PUBLIC:
        return None
    if level != CLAIMANT:
        abort(403)  # a view that declares nothing is refused to everyone
    session = current_portal_session()
    if session is None:
        if request.method in ("GET", "HEAD"):
            return redirect(url_for("portal.sign_in", expired=1))
        abort(401)
    g.portal_claim = session.claim
    return None


def init_app(app: Flask) -> None:
    from . import routes  # noqa: F401  (registers the views on bp)
    from .sessions import write_portal_cookie

    app.register_blueprint(bp)
    app.after_request(write_portal_cookie)
