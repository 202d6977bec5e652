"""Security headers on every response, and the attributes of every cookie the app sets."""

from __future__ import annotations

from flask import Flask, Response, current_app, request

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


def init_app(app: Flask) -> None:
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
