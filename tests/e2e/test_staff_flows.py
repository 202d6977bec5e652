"""Staff flows clicked through in Chromium."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import sqlalchemy as sa

from claims.accounts.models import Role, User
from claims.accounts.operations import create_user
from claims.audit.models import AuditEvent
from claims.extensions import db
from tests.conftest import STAFF_PASSWORD, fresh_totp_code


def test_invitation_password_enrolment_console(page: Any) -> None:
    _, token = create_user("nouvelle@cabinet.example", "Claire Nouvelle", Role.PARALEGAL)
    db.session.commit()
    page.goto(f"/console/invitation/{token}")
    assert "Bienvenue, Claire Nouvelle" in page.inner_text("h1")
    page.fill("#password", "password2024")
    page.fill("#confirm", "password2024")
    page.click("button[type=submit]")
    assert "trop courant" in page.inner_text(".error")

    page.fill("#password", STAFF_PASSWORD)
    page.fill("#confirm", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/2fa/setup")
    assert page.locator("img.qr").evaluate("img => img.naturalWidth > 0")
    secret = page.inner_text("[data-testid=totp-secret]").replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")
    codes = page.inner_text("[data-testid=recovery-codes]").split()
    assert len(codes) == 10 and all(re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", c) for c in codes)
    page.click("text=J’ai noté mes codes, continuer")
    page.wait_for_url("**/console/")
    assert page.inner_text("[data-testid=signed-in-user]") == "Claire Nouvelle"


def test_sign_in_and_sign_out(page: Any, make_staff: Any) -> None:
    user = make_staff("lawyer")
    page.goto("/console/")
    page.wait_for_url("**/console/login**")
    page.fill("#email", user.email)
    page.fill("#password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/2fa**")
    page.fill("#code", fresh_totp_code(user))
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")
    assert "Bonjour" in page.inner_text("h1")

    page.click("text=Se déconnecter")
    page.wait_for_url("**/console/login")
    assert "Vous êtes déconnecté·e." in page.inner_text("main")
    page.goto("/console/")
    page.wait_for_url("**/console/login**")


def test_lockout_after_repeated_wrong_passwords(page: Any, make_staff: Any) -> None:
    user = make_staff("lawyer")
    page.goto("/console/login")
    for _ in range(5):
        page.fill("#email", user.email)
        page.fill("#password", "not the right password")
        page.click("button[type=submit]")
        assert "Connexion impossible" in page.inner_text("[role=alert]")
    # The right password no longer opens the door, and the page does not say why.
    page.fill("#email", user.email)
    page.fill("#password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    assert "Connexion impossible" in page.inner_text("[role=alert]")
    assert "/console/login" in page.url
    db.session.expire_all()
    locked = db.session.execute(sa.select(User.locked_until).where(User.id == user.id)).scalar_one()
    assert locked is not None
    assert (
        db.session.execute(sa.select(sa.func.count()).where(AuditEvent.action == "staff.locked_out")).scalar()
        == 1
    )


def test_english_interface(page: Any) -> None:
    page.goto("/console/login")
    page.click("text=English")
    assert page.inner_text("h1") == "Sign in to the console"
    page.goto("/console/login")
    assert page.inner_text("h1") == "Sign in to the console"
