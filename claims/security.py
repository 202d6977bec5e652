"""Security headers on every response, and the attributes of every cookie the app sets."""

from __future__ import annotations

import io
from typing import IO

from flask import Flask, Request, Response, current_app, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)


class CappedBuffer(io.BytesIO):
    """Keeps the first ``cap + 1`` bytes written and only counts the rest.

    Enough to tell "too large" (the size reads as over the cap) without
    holding the whole part in memory.
    """

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap

    def write(self, data: bytes) -> int:  # type: ignore[override]
        room = self.cap + 1 - self.tell()
        if room > 0:
            super().write(bytes(data[:room]))
        return len(data)


class InMemoryUploadsRequest(Request):
    """Uploaded files are kept in memory, never spooled to a temporary file.

    Werkzeug writes any upload over 500 KB to an unencrypted temporary file:
    an identity document would sit in /tmp in clear until deleted, and its
    blocks on disk after that. Here each file part is held in memory up to
    the largest accepted file (one byte more, so that it is refused as too
    large in the form), the body is bounded by MAX_CONTENT_LENGTH, and the
    file goes from memory straight into the encrypted vault.
    """

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        from .evidence.checks import MAX_FILE_BYTES

        return CappedBuffer(MAX_FILE_BYTES)


def init_app(app: Flask) -> None:
    app.request_class = InMemoryUploadsRequest

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        if app.config["SEND_HSTS"]:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        # Deny caching by default: only static assets may be cached.
        if request.endpoint != "static":
            headers["Cache-Control"] = "no-store"
        return response


def set_private_cookie(response: Response, name: str, value: str, *, max_age: int | None = None) -> None:
    """A cookie no script can read, sent only to this site (and only over HTTPS in production)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        samesite="Lax",
        path="/",
    )


def clear_private_cookie(response: Response, name: str) -> None:
    response.delete_cookie(
        name, path="/", secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True, samesite="Lax"
    )
