"""The public home page and the headers every response carries."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from claims.cases.models import CaseStatus
from claims.extensions import db


def test_home_lists_open_cases_only(client: FlaskClient, case: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Fuite de test" in page.get_data(as_text=True)
    case.status = CaseStatus.CLOSED
    db.session.commit()
    assert "Fuite de test" not in client.get("/").get_data(as_text=True)


def test_case_text_is_escaped(client: FlaskClient, case: Any) -> None:
    case.summary = '<script>alert("x")</script>'
    db.session.commit()
    body = client.get("/").get_data(as_text=True)
    assert "<script>alert" not in body and "&lt;script&gt;" in body


def test_security_headers(client: FlaskClient) -> None:
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers  # testing config: plain HTTP
    static = client.get("/static/recours.css")
    assert static.status_code == 200 and static.headers.get("Cache-Control") != "no-store"
    static.close()


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_data() == b"ok"


def test_interface_in_french_by_default_and_english_on_request(client: FlaskClient) -> None:
    assert "Connexion à la console" in client.get("/console/login").get_data(as_text=True)
    english = client.get("/console/login?lang=en")
    assert "Sign in to the console" in english.get_data(as_text=True)
    assert '<html lang="en">' in english.get_data(as_text=True)
    # The choice is remembered.
    assert "Sign in to the console" in client.get("/console/login").get_data(as_text=True)
    browser = client.application.test_client()
    page = browser.get("/console/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Sign in to the console" in page.get_data(as_text=True)
