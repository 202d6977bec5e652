"""Fixtures: an app per test on SQLite (default) or PostgreSQL.

Set RECOURS_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)
to run the whole suite on PostgreSQL; every table is dropped and created
again around each test, so that database must be one the tests may wipe.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from claims import create_app
from claims.cases.models import Case, CaseStatus, Procedure
from claims.claimants.models import Claim, Claimant, ClaimHarm, ClaimStatus
from claims.claimants.operations import generate_reference
from claims.extensions import db
from claims.testing import FreshContextClient
from claims.types import utcnow

TEST_DATABASE_URL = os.environ.get("RECOURS_TEST_DATABASE_URL")


def database_url(tmp_path: Path) -> str:
    # Inside the instance folder, like the embedded default: tests that look
    # for plaintext at rest read the whole folder.
    return TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'instance' / 'test.sqlite3'}"


def drop_everything() -> None:
    """Drop all tables, including Alembic's, whatever state a previous run left."""
    engine = db.engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        else:
            meta = sa.MetaData()
            meta.reflect(conn)
            meta.drop_all(conn)


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Any]:
    """Build an app with its instance folder under tmp_path; extra config as keywords."""
    apps: list[Flask] = []

    def build(config_name: str = "testing", **overrides: Any) -> Flask:
        if config_name != "production":  # production must get it from the environment
            overrides.setdefault("DATABASE_URL", database_url(tmp_path))
        app = create_app(config_name, overrides, instance_path=str(tmp_path / "instance"))
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app: Any) -> Iterator[Flask]:
    app = make_app()
    app.test_client_class = FreshContextClient
    with app.app_context():
        drop_everything()
        db.create_all()
        yield app
        db.session.remove()
        drop_everything()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def case(app: Flask) -> Case:
    case = Case(
        slug="test-case",
        reference_prefix="TEST",
        title="Fuite de test",
        data_controller="Responsable de test",
        procedure=Procedure.COMPLAINT_CIVIL_PARTY,
        status=CaseStatus.OPEN,
        heads_of_damage=[
            {
                "code": "moral_harm",
                "label_fr": "Préjudice moral",
                "label_en": "Moral harm",
                "suggested_amount": "1500.00",
            }
        ],
        optional_fields=["nir"],
    )
    db.session.add(case)
    db.session.commit()
    return case


@pytest.fixture
def make_claimant(app: Flask) -> Any:
    def make(**fields: Any) -> Claimant:
        values = {
            "civility": "Mme",
            "first_name": "Élodie",
            "last_name": "Lefèvre-Dubois",
            "birth_date": date(1984, 3, 7),
            "birth_place": "Montreuil (93)",
            "nir": "2 84 03 93 048 123 78",
            "address_line1": "12, rue de la Fontaine-au-Roi",
            "postal_code": "75011",
            "city": "Paris",
            "country": "France",
            "email": "elodie.lefevre@example.fr",
            "phone": "06 12 34 56 78",
        }
        values.update(fields)
        claimant = Claimant(**values)
        db.session.add(claimant)
        db.session.commit()
        return claimant

    return make


@pytest.fixture
def make_claim(case: Case, make_claimant: Any) -> Any:
    case_id = case.id

    def make(claimant: Claimant | None = None, **fields: Any) -> Claim:
        claimant = claimant or make_claimant()
        # By id: the test may have expunged the fixture's objects since.
        claim_case = db.session.get_one(Case, case_id)
        values: dict[str, Any] = {
            "reference": generate_reference(claim_case.reference_prefix),
            "case": claim_case,
            "claimant": claimant,
            "status": ClaimStatus.SUBMITTED,
            "statement": "J’ai reçu des SMS frauduleux après la fuite.",
        }
        values.update(fields)
        if values["status"] != ClaimStatus.DRAFT:
            values.setdefault("submitted_at", utcnow())  # as submission sets it
        claim = Claim(**values)
        claim.harms.append(ClaimHarm(head="moral_harm", amount=Decimal("1500.00")))
        db.session.add(claim)
        db.session.commit()
        return claim

    return make


# Staff ---------------------------------------------------------------------------

STAFF_PASSWORD = "une phrase de passe tout à fait correcte"


def fresh_totp_code(user: Any) -> str:
    """A valid code the server has not seen yet (codes are accepted once)."""
    from claims.accounts.totp import unused_code

    return unused_code(user.totp_secret, user.totp_last_step)


@pytest.fixture
def make_staff(app: Flask) -> Any:
    from claims.accounts.models import Role, User, UserState
    from claims.accounts.passwords import hash_password
    from claims.accounts.totp import new_secret

    def make(role: Any = "lawyer", *, enrolled: bool = True, email: str | None = None) -> User:
        role = Role(role)
        user = User(
            email=email or f"{role.value}-{os.urandom(3).hex()}@cabinet.example",
            full_name=f"Test {role.value}",
            role=role,
            state=UserState.ACTIVE,
            password_hash=hash_password(STAFF_PASSWORD),
        )
        if enrolled:
            user.totp_secret = new_secret()
            user.totp_confirmed_at = utcnow()
        db.session.add(user)
        db.session.commit()
        return user

    return make


def sign_in(
    client: FlaskClient, user: Any, *, password: str = STAFF_PASSWORD, second_factor: bool = True
) -> Any:
    """Sign in through the real pages: password, then (if asked) a fresh TOTP code."""
    response = client.post("/console/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    if second_factor:
        db.session.refresh(user)
        response = client.post("/console/2fa", data={"code": fresh_totp_code(user)})
        assert response.status_code == 302 and response.location.endswith("/console/"), response.location
    return response


@pytest.fixture
def login_as(client: FlaskClient, make_staff: Any) -> Any:
    """``login_as("paralegal")``: a new enrolled staff member of that role, signed in."""

    def login(role: str = "lawyer") -> Any:
        user = make_staff(role)
        sign_in(client, user)
        return user

    return login
