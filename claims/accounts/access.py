"""Access control for every staff page: deny by default.

Each view of a staff blueprint declares who may reach it with ``@access``:
``PUBLIC`` (sign-in pages), ``SIGN_IN_STEP`` (the pages between password and
second factor), ``SIGNED_IN`` (any staff member with 2FA done), or a
``Permission``. ``guard`` runs before every request of those blueprints; a view
that declares nothing is refused to everyone. Tests walk the URL map and rely
on these declarations, so a new page is covered without editing them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, request, url_for
from werkzeug.wrappers import Response

from ..types import utcnow
from .models import SessionStage
from .permissions import Permission, role_can
from .sessions import current_staff_session

PUBLIC = "public"
SIGN_IN_STEP = "sign_in_step"
SIGNED_IN = "signed_in"

F = TypeVar("F", bound=Callable[..., Any])


def access(level: str | Permission) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        view.staff_access = level  # type: ignore[attr-defined]
        return view

    return decorate


def view_access(endpoint: str | None) -> str | Permission | None:
    view = current_app.view_functions.get(endpoint or "")
    return getattr(view, "staff_access", None)


def safe_next(target: str | None, default: str) -> str:
    """Only redirect to a path of this console (no open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/console") and "\\" not in target:
            return target
    return default


def guard() -> Response | None:
    level = view_access(request.endpoint)
    if level == PUBLIC:
        return None
    staff_session = current_staff_session()
    if level == SIGN_IN_STEP:
        if staff_session is None:
            return redirect(url_for("accounts.login"))
        return None
    if staff_session is None:
        if request.method in ("GET", "HEAD"):
            return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
        abort(401)
    if staff_session.stage == SessionStage.SECOND_FACTOR:
        return redirect(url_for("accounts.second_factor"))
    if staff_session.stage == SessionStage.ENROL:
        return redirect(url_for("accounts.enrol"))
    if level == SIGNED_IN:
        return None
    if isinstance(level, Permission) and role_can(staff_session.user.role, level):
        return None
    # No declaration, or a permission the role lacks.
    abort(403)


def require_recent_auth(view: F) -> F:
    """Sensitive actions: password and code asked again if the last check is too old."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        staff_session = current_staff_session()
        window = timedelta(seconds=current_app.config["REAUTH_SECONDS"])
        checked = staff_session.reauthenticated_at if staff_session else None
        if checked is None or utcnow() - checked > window:
            target = request.full_path.rstrip("?") if request.method == "GET" else request.referrer
            return redirect(url_for("accounts.reauth", next=safe_next(target, "/console/")))
        return view(*args, **kwargs)

    wrapper.requires_recent_auth = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
