"""Error pages: French and English, a reference id, nothing else."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask, abort
from flask.testing import FlaskClient

from claims.extensions import db


def reference(body: str) -> str:
    match = re.search(r'data-testid="error-reference">([0-9A-F]{8})<', body)
    assert match, body
    return match.group(1)


def test_404_is_bilingual_with_a_reference(client: FlaskClient) -> None:
    response = client.get("/nulle-part")
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Page introuvable" in body and "Page not found" in body
    assert reference(body)
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("code", "french", "english"),
    [
        (400, "Requête invalide", "Bad request"),
        (403, "Accès refusé", "Access denied"),
        (413, "trop volumineux", "too large"),
        (429, "Trop de tentatives", "Too many attempts"),
    ],
)
def test_each_error_page(app: Flask, client: FlaskClient, code: int, french: str, english: str) -> None:
    @app.get(f"/fail/{code}")
    def fail() -> None:
        abort(code)

    response = client.get(f"/fail/{code}")
    body = response.get_data(as_text=True)
    assert response.status_code == code and french in body and english in body and reference(body)


def test_500_shows_no_trace_and_no_value_but_logs_the_reference(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    secret_value = "NIR 2 84 03 93 048 123 78"

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(f"failed while handling {secret_value}")

    response = client.get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Erreur interne" in body and "Internal error" in body
    assert "Traceback" not in body and "RuntimeError" not in body and secret_value not in body
    ref = reference(body)
    assert f"ref={ref}" in caplog.text and "RuntimeError" in caplog.text
    assert secret_value not in caplog.text


def test_database_errors_do_not_quote_values(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture, make_staff: Any
) -> None:
    from claims.accounts.models import Role, User

    user = make_staff("lawyer", email="doublon@cabinet.example")

    @app.get("/duplicate")
    def duplicate() -> str:
        db.session.add(User(email=user.email, full_name="Doublon", role=Role.LAWYER))
        db.session.commit()
        return "unreachable"

    assert client.get("/duplicate").status_code == 500
    assert "doublon@cabinet.example" not in caplog.text


def test_request_too_large(app: Flask, client: FlaskClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/console/login", data={"email": "x" * 5000, "password": "y"})
    assert response.status_code == 413
    assert "trop volumineux" in response.get_data(as_text=True)
