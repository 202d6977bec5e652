"""Cookies carry the right attributes; every form refuses a missing CSRF token."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from claims.testing import FreshContextClient
from tests.conftest import STAFF_PASSWORD, database_url


def test_staff_cookie_attributes_in_production(
    make_app: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, make_staff: Any
) -> None:
    monkeypatch.setenv("RECOURS_DATABASE_URL", database_url(tmp_path))
    monkeypatch.setenv("RECOURS_SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("RECOURS_MASTER_KEYS", "mk:" + base64.b64encode(os.urandom(32)).decode())
    monkeypatch.setenv("RECOURS_BLIND_INDEX_KEY", base64.b64encode(os.urandom(32)).decode())
    monkeypatch.setenv("RECOURS_MAIL_BACKEND", "smtp")
    monkeypatch.setenv("RECOURS_MAIL_SERVER", "smtp.example.org")
    user = make_staff("lawyer")
    app = make_app("production", WTF_CSRF_ENABLED=False)
    app.test_client_class = FreshContextClient
    client = app.test_client()
    with app.app_context():
        response = client.post(
            "/console/login",
            data={"email": user.email, "password": STAFF_PASSWORD},
            base_url="https://console.example",
        )
    cookies = response.headers.getlist("Set-Cookie")
    staff = next(c for c in cookies if c.startswith("__Host-recours_staff="))
    for attribute in ("Secure", "HttpOnly", "Path=/", "SameSite=Lax"):
        assert attribute in staff
    assert "Domain" not in staff and "Expires" not in staff
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_every_form_refuses_a_missing_csrf_token(make_app: Any, make_staff: Any) -> None:
    """With CSRF on (as outside tests), every POST endpoint of the URL map answers 400 without a token."""
    from tests.accounts.test_access import console_routes

    user = make_staff("admin")
    app = make_app(WTF_CSRF_ENABLED=True)
    app.test_client_class = FreshContextClient
    client = app.test_client()
    with app.app_context():
        posts = [(endpoint, url) for endpoint, url, method in console_routes(app) if method == "POST"]
        assert len(posts) >= 8
        for endpoint, url in posts:
            response = client.post(url, data={"email": user.email, "password": STAFF_PASSWORD})
            assert response.status_code == 400, endpoint
            assert "Requête invalide" in response.get_data(as_text=True)
        page = client.get("/console/login").get_data(as_text=True)
        assert 'name="csrf_token"' in page


def test_logout_is_post_only(client: FlaskClient, login_as: Any) -> None:
    login_as("lawyer")
    assert client.get("/console/logout").status_code == 405
    assert client.get("/console/").status_code == 200
