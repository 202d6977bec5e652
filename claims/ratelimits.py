"""Rate-limit keys that must not put personal data in the limiter's storage."""

from __future__ import annotations

from collections.abc import Callable

from flask import request
from werkzeug.exceptions import HTTPException

from .crypto import compute_blind_index
from .crypto.blind_index import normalise_email


def posted_email_key(scope: str) -> Callable[[], str]:
    """A key per email address posted in the form's ``email`` field, as a keyed hash (the
    limiter's storage, Redis in production, never holds an address); spellings of one
    address (case, spaces, Unicode forms) share their key."""

    def key() -> str:
        try:
            email = request.form.get("email") or ""
        except HTTPException:  # an oversized body: the 413 is answered elsewhere
            email = ""
        return f"{scope}:" + compute_blind_index("ratelimit", normalise_email(email))[:32]

    return key
