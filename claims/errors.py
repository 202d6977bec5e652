"""Error pages in French and English, with a reference id and nothing else.

The reference ties what the user sees to the log line; neither carries a
stack trace, a form value or any personal data.
"""

from __future__ import annotations

import secrets
import traceback

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db

HANDLED = (400, 401, 403, 404, 405, 413, 429, 500)


def new_reference() -> str:
    return secrets.token_hex(4).upper()


def init_app(app: Flask) -> None:
    def render(error: HTTPException) -> tuple[str, int]:
        reference = new_reference()
        code = error.code or 500
        app.logger.warning(
            "http %s ref=%s endpoint=%s method=%s", code, reference, request.endpoint, request.method
        )
        return render_template("errors/error.html", code=code, reference=reference), code

    for code in HANDLED:
        app.register_error_handler(code, render)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        if isinstance(error, HTTPException):
            return render(error)
        db.session.rollback()
        reference = new_reference()
        # The exception type and the frames go to the log under the reference,
        # not the exception's message (it may quote a value); the page shows
        # the reference only.
        frames = "".join(traceback.format_tb(error.__traceback__))
        app.logger.error(
            "unhandled %s ref=%s endpoint=%s\n%s", type(error).__name__, reference, request.endpoint, frames
        )
        return render_template("errors/error.html", code=500, reference=reference), InternalServerError.code
