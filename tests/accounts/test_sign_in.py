"""Staff sign-in: invitation, password, mandatory TOTP, sessions, lockout."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from claims.accounts.models import RecoveryCode, Role, SessionStage, StaffSession, User, UserState
from claims.accounts.operations import create_user
from claims.audit.models import AuditEvent
from claims.extensions import db
from claims.types import utcnow
from tests.conftest import STAFF_PASSWORD, fresh_totp_code, sign_in

GENERIC_FAILURE = "Connexion impossible"


def actions(user: User | None = None) -> list[str]:
    query = sa.select(AuditEvent.action).order_by(AuditEvent.id)
    if user is not None:
        query = query.where(AuditEvent.object_id == str(user.id))
    return list(db.session.execute(query).scalars())


def staff_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie("recours_staff")
    return cookie.value if cookie else None


def invite(email: str = "nouvelle@cabinet.example", role: Role = Role.PARALEGAL) -> tuple[User, str]:
    user, token = create_user(email, "Nouvelle Juriste", role)
    db.session.commit()
    return user, token


def test_invitation_password_enrolment_then_console(client: FlaskClient) -> None:
    user, token = invite()
    page = client.get(f"/console/invitation/{token}")
    assert page.status_code == 200 and "Nouvelle Juriste" in page.get_data(as_text=True)

    weak = client.post(
        f"/console/invitation/{token}", data={"password": "motdepasse2024", "confirm": "motdepasse2024"}
    )
    assert "trop courant" in weak.get_data(as_text=True)
    short = client.post(f"/console/invitation/{token}", data={"password": "court", "confirm": "court"})
    assert "Au moins 12 caractères" in short.get_data(as_text=True)

    done = client.post(
        f"/console/invitation/{token}", data={"password": STAFF_PASSWORD, "confirm": STAFF_PASSWORD}
    )
    assert done.status_code == 302 and done.location == "/console/2fa/setup"
    # The console is not reachable before enrolment.
    assert client.get("/console/").location == "/console/2fa/setup"

    setup = client.get("/console/2fa/setup").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in setup
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', setup).group(1).replace(" ", "")
    assert (
        client.get("/console/2fa/setup").get_data(as_text=True).count(secret[:4]) >= 1
    )  # same secret on reload

    wrong = client.post("/console/2fa/setup", data={"code": "000000"})
    assert "Code incorrect" in wrong.get_data(as_text=True)
    codes_page = client.post("/console/2fa/setup", data={"code": pyotp.TOTP(secret).now()})
    codes = re.findall(
        r"<code>([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})</code>", codes_page.get_data(as_text=True)
    )
    assert len(codes) == 10
    # Stored hashed only.
    stored = db.session.execute(sa.select(RecoveryCode.code_hash)).scalars().all()
    assert len(stored) == 10 and not any(c.replace("-", "") in h for c in codes for h in stored)

    home = client.get("/console/")
    assert home.status_code == 200 and "Nouvelle Juriste" in home.get_data(as_text=True)
    db.session.refresh(user)
    assert user.state == UserState.ACTIVE and user.has_two_factor
    assert client.get(f"/console/invitation/{token}").status_code == 404  # single use
    assert {"user.invited", "user.invitation_accepted", "staff.2fa_enrolled", "staff.signed_in"} <= set(
        actions(user)
    )


def test_expired_or_forged_invitation_is_refused(client: FlaskClient) -> None:
    _, token = invite()
    assert client.get("/console/invitation/forged-token").status_code == 404
    db.session.execute(
        sa.text("UPDATE invitations SET expires_at = :t"), {"t": utcnow() - timedelta(seconds=1)}
    )
    db.session.commit()
    page = client.get(f"/console/invitation/{token}")
    assert page.status_code == 404 and "plus valable" in page.get_data(as_text=True)


def test_sign_in_requires_password_then_code(client: FlaskClient, make_staff: Any) -> None:
    user = make_staff("lawyer")
    response = client.post("/console/login", data={"email": user.email.upper(), "password": STAFF_PASSWORD})
    assert response.location == "/console/2fa"
    assert client.get("/console/").location == "/console/2fa"
    db.session.refresh(user)
    response = client.post("/console/2fa", data={"code": fresh_totp_code(user)})
    assert response.location == "/console/"
    assert client.get("/console/").status_code == 200


def test_failure_message_never_tells_whether_the_account_exists(client: FlaskClient, make_staff: Any) -> None:
    user = make_staff("lawyer")
    disabled = make_staff("lawyer")
    disabled.state = UserState.DISABLED
    db.session.commit()
    pages = [
        client.post("/console/login", data={"email": "nobody@cabinet.example", "password": "x" * 20}),
        client.post("/console/login", data={"email": user.email, "password": "x" * 20}),
        client.post("/console/login", data={"email": disabled.email, "password": STAFF_PASSWORD}),
    ]
    # Identical pages but for the address typed back into the field.
    bodies = {re.sub(r'value="[^"]*"', "", p.get_data(as_text=True)) for p in pages}
    assert all(p.status_code == 200 for p in pages)
    assert len(bodies) == 1 and GENERIC_FAILURE in bodies.pop()
    # The unknown address is not written anywhere.
    assert (
        db.session.execute(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(sa.cast(AuditEvent.details, sa.String).contains("nobody"))
        ).scalar()
        == 0
    )


def test_totp_code_cannot_be_replayed(client: FlaskClient, make_staff: Any, app: Flask) -> None:
    user = make_staff("lawyer")
    client.post("/console/login", data={"email": user.email, "password": STAFF_PASSWORD})
    db.session.refresh(user)
    code = fresh_totp_code(user)
    assert client.post("/console/2fa", data={"code": code}).location == "/console/"
    # A captured code, replayed by someone with the password, in another browser.
    attacker = app.test_client()
    attacker.post("/console/login", data={"email": user.email, "password": STAFF_PASSWORD})
    replay = attacker.post("/console/2fa", data={"code": code})
    assert replay.status_code == 200 and "déjà utilisé" in replay.get_data(as_text=True)
    assert attacker.get("/console/").location == "/console/2fa"


def test_recovery_code_works_once(client: FlaskClient, make_staff: Any, app: Flask) -> None:
    from claims.accounts import totp

    user = make_staff("lawyer")
    db.session.add(RecoveryCode(user_id=user.id, code_hash=totp.recovery_code_hash("ABCD-EFGH-JKMN")))
    db.session.commit()
    client.post("/console/login", data={"email": user.email, "password": STAFF_PASSWORD})
    assert client.post("/console/2fa", data={"code": "abcd-efgh-jkmn"}).location == "/console/"
    other = app.test_client()
    other.post("/console/login", data={"email": user.email, "password": STAFF_PASSWORD})
    assert other.post("/console/2fa", data={"code": "ABCD-EFGH-JKMN"}).status_code == 200
    assert "staff.recovery_code_used" in actions(user)


def test_lockout_after_repeated_failures_with_growing_delay(
    client: FlaskClient, make_staff: Any, app: Flask
) -> None:
    user = make_staff("lawyer")
    threshold = app.config["LOCKOUT_THRESHOLD"]
    for _ in range(threshold):
        client.post("/console/login", data={"email": user.email, "password": "wrong password here"})
    db.session.refresh(user)
    first_lock = user.locked_until - utcnow()
    assert timedelta(seconds=50) < first_lock <= timedelta(seconds=60)
    # Even the right password fails while locked, with the same message.
    page = client.post("/console/login", data={"email": user.email, "password": STAFF_PASSWORD})
    assert GENERIC_FAILURE in page.get_data(as_text=True)
    assert staff_cookie(client) is None
    # Next failure after the lock: twice as long.
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    client.post("/console/login", data={"email": user.email, "password": "wrong password here"})
    db.session.refresh(user)
    assert timedelta(seconds=110) < user.locked_until - utcnow() <= timedelta(seconds=120)
    assert actions(user).count("staff.locked_out") == 2
    # Wrong TOTP codes count too; a success resets the counter.
    user.locked_until = None
    user.failed_logins = 0
    db.session.commit()
    sign_in(client, user)
    db.session.refresh(user)
    assert user.failed_logins == 0


def test_new_session_id_at_each_sign_in_step(client: FlaskClient, make_staff: Any) -> None:
    user = make_staff("lawyer")
    client.post("/console/login", data={"email": user.email, "password": STAFF_PASSWORD})
    pre_2fa = staff_cookie(client)
    db.session.refresh(user)
    client.post("/console/2fa", data={"code": fresh_totp_code(user)})
    signed_in = staff_cookie(client)
    assert pre_2fa and signed_in and pre_2fa != signed_in
    # The token is not stored in clear.
    hashes = db.session.execute(sa.select(StaffSession.token_hash)).scalars().all()
    assert signed_in not in hashes and pre_2fa not in hashes


def test_cookie_is_useless_after_sign_out(client: FlaskClient, login_as: Any, app: Flask) -> None:
    login_as("lawyer")
    token = staff_cookie(client)
    assert client.post("/console/logout").location == "/console/login"
    replay = app.test_client()
    replay.set_cookie("recours_staff", token)
    assert replay.get("/console/").location.startswith("/console/login")


def test_disabled_account_is_stopped_at_its_next_request(
    client: FlaskClient, login_as: Any, make_staff: Any, app: Flask
) -> None:
    victim = login_as("lawyer")
    assert client.get("/console/").status_code == 200
    admin_client = app.test_client()
    sign_in(admin_client, make_staff("admin"))
    response = admin_client.post(f"/console/users/{victim.id}/disable")
    assert response.status_code == 302
    assert client.get("/console/").location.startswith("/console/login")
    assert (
        db.session.execute(
            sa.select(sa.func.count())
            .select_from(StaffSession)
            .where(StaffSession.user_id == victim.id, StaffSession.revoked_at.is_(None))
        ).scalar()
        == 0
    )
    assert "user.disabled" in actions(victim)


@pytest.mark.parametrize(("column", "age"), [("last_seen_at", 31 * 60), ("created_at", 12 * 3600 + 60)])
def test_idle_and_absolute_timeouts(client: FlaskClient, login_as: Any, column: str, age: int) -> None:
    login_as("lawyer")
    assert client.get("/console/").status_code == 200
    db.session.execute(sa.update(StaffSession).values({column: utcnow() - timedelta(seconds=age)}))
    db.session.commit()
    assert client.get("/console/").location.startswith("/console/login")


def test_activity_keeps_the_session_alive(client: FlaskClient, login_as: Any) -> None:
    login_as("lawyer")
    db.session.execute(sa.update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=29)))
    db.session.commit()
    assert client.get("/console/").status_code == 200
    seen = db.session.execute(
        sa.select(StaffSession.last_seen_at).where(StaffSession.stage == SessionStage.COMPLETE)
    ).scalar_one()
    assert utcnow() - seen < timedelta(seconds=5)


def test_pending_second_factor_expires(client: FlaskClient, make_staff: Any) -> None:
    user = make_staff("lawyer")
    client.post("/console/login", data={"email": user.email, "password": STAFF_PASSWORD})
    db.session.execute(sa.update(StaffSession).values(created_at=utcnow() - timedelta(minutes=11)))
    db.session.commit()
    db.session.refresh(user)
    assert client.post("/console/2fa", data={"code": fresh_totp_code(user)}).location == "/console/login"


def test_sensitive_admin_action_asks_to_reauthenticate(client: FlaskClient, login_as: Any) -> None:
    admin = login_as("admin")
    db.session.execute(sa.update(StaffSession).values(reauthenticated_at=utcnow() - timedelta(minutes=11)))
    db.session.commit()
    response = client.get("/console/users/invite")
    assert response.location == "/console/reauth?next=/console/users/invite"
    bad = client.post(
        "/console/reauth?next=/console/users/invite", data={"password": STAFF_PASSWORD, "code": "000000"}
    )
    assert "incorrect" in bad.get_data(as_text=True)
    db.session.refresh(admin)
    ok = client.post(
        "/console/reauth?next=/console/users/invite",
        data={"password": STAFF_PASSWORD, "code": fresh_totp_code(admin)},
    )
    assert ok.location == "/console/users/invite"
    assert client.get("/console/users/invite").status_code == 200


def test_next_parameter_cannot_redirect_elsewhere(client: FlaskClient, make_staff: Any) -> None:
    user = make_staff("lawyer")
    client.post(
        "/console/login?next=https://evil.example/", data={"email": user.email, "password": STAFF_PASSWORD}
    )
    db.session.refresh(user)
    response = client.post("/console/2fa?next=//evil.example/x", data={"code": fresh_totp_code(user)})
    assert response.location == "/console/"


def test_admin_manages_roles_and_two_factor(
    client: FlaskClient, login_as: Any, make_staff: Any, app: Flask
) -> None:
    admin = login_as("admin")
    colleague = make_staff("paralegal")
    page = client.get(f"/console/users/{colleague.id}").get_data(as_text=True)
    assert 'data-testid="permission-table"' in page and "Accepter ou rejeter un dossier" in page
    assert client.post(f"/console/users/{colleague.id}/role", data={"role": "lawyer"}).status_code == 302
    db.session.refresh(colleague)
    assert colleague.role == Role.LAWYER
    event = db.session.execute(
        sa.select(AuditEvent).where(AuditEvent.action == "user.role_changed")
    ).scalar_one()
    assert event.details == {"from": "paralegal", "to": "lawyer"} and event.actor_id == str(admin.id)
    client.post(f"/console/users/{colleague.id}/reset-2fa")
    db.session.refresh(colleague)
    assert not colleague.has_two_factor and colleague.totp_secret is None
    # An admin cannot lock themself out.
    client.post(f"/console/users/{admin.id}/disable")
    db.session.refresh(admin)
    assert admin.state == UserState.ACTIVE


def test_admin_invites_through_the_console(client: FlaskClient, login_as: Any, app: Flask) -> None:
    login_as("admin")
    page = client.post(
        "/console/users/invite",
        data={"email": "Avocat@Cabinet.Example", "full_name": "Me Avocat", "role": "lawyer"},
    )
    link = re.search(r'data-testid="invitation-link">([^<]+)<', page.get_data(as_text=True)).group(1)
    new = app.test_client()
    assert new.get(link.replace("http://localhost", "")).status_code == 200
    user = db.session.execute(sa.select(User).where(User.email == "avocat@cabinet.example")).scalar_one()
    assert user.state == UserState.INVITED and user.role == Role.LAWYER


def test_cli_creates_an_account_with_a_working_link(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    result = runner.invoke(args=["users", "create", "Juriste@Cabinet.Example", "--role", "paralegal"])
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith("http://127.0.0.1:5000/console/invitation/")
    assert client.get(link.removeprefix("http://127.0.0.1:5000")).status_code == 200
    again = runner.invoke(args=["users", "create", "juriste@cabinet.example", "--role", "lawyer"])
    assert again.exit_code != 0 and "exists already" in again.output


def test_password_is_rehashed_when_parameters_change(client: FlaskClient, make_staff: Any) -> None:
    from argon2 import PasswordHasher

    user = make_staff("lawyer")
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash(STAFF_PASSWORD)
    db.session.commit()
    old = user.password_hash
    client.post("/console/login", data={"email": user.email, "password": STAFF_PASSWORD})
    db.session.refresh(user)
    assert user.password_hash != old and user.password_hash.startswith("$argon2id$")


def test_secrets_never_reach_logs_or_audit(
    client: FlaskClient, make_staff: Any, caplog: pytest.LogCaptureFixture
) -> None:
    user = make_staff("lawyer")
    caplog.set_level("DEBUG")
    client.post("/console/login", data={"email": user.email, "password": "a wrong password 123"})
    sign_in(client, user)
    db.session.refresh(user)
    logged = caplog.text
    audit = " ".join(str(row) for row in db.session.execute(sa.select(AuditEvent.__table__)).all())
    for secret in (STAFF_PASSWORD, "a wrong password 123", user.totp_secret, user.email):
        assert secret not in logged and secret not in audit
