"""Staff account operations: invitation, sign-in steps, two-factor, administration.

Each operation flushes and writes its audit event; the caller commits. Audit
events name the account by id, never by email, and never carry a password,
code or secret.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ..audit.operations import record_event
from ..crypto import hash_token
from ..extensions import db
from ..types import utcnow
from . import totp
from .models import Invitation, RecoveryCode, Role, SessionStage, StaffSession, User, UserState
from .passwords import hash_password, verify_password
from .sessions import advance_session, revoke_user_sessions, start_session


class AccountError(Exception):
    """An operation refused; ``code`` says why (for the message shown)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _staff_event(action: str, user: User | None, actor: User | None = None, **details: object) -> None:
    record_event(
        action,
        actor_type="staff" if actor or user else "anonymous",
        actor_id=(actor or user).id if (actor or user) else None,
        object_type="user" if user else None,
        object_id=user.id if user else None,
        details=details,
    )


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.execute(
        sa.select(User).where(User.email == normalise_email(email))
    ).scalar_one_or_none()


# Invitations -----------------------------------------------------------------


def create_user(
    email: str, full_name: str, role: Role, *, invited_by: User | None = None
) -> tuple[User, str]:
    """Create an invited account; return it and the one-time invitation token."""
    email = normalise_email(email)
    if find_user(email) is not None:
        raise AccountError("email_taken")
    user = User(email=email, full_name=full_name.strip(), role=role, state=UserState.INVITED)
    db.session.add(user)
    db.session.flush()
    token = issue_invitation(user, invited_by=invited_by)
    _staff_event("user.invited", user, invited_by, role=role.value)
    return user, token


def issue_invitation(user: User, *, invited_by: User | None = None) -> str:
    """A new one-time link for ``user``; earlier unused links stop working."""
    db.session.execute(
        sa.update(Invitation)
        .where(Invitation.user_id == user.id, Invitation.used_at.is_(None))
        .values(used_at=utcnow())
    )
    token = secrets.token_urlsafe(32)
    days = current_app.config["INVITATION_DAYS"]
    db.session.add(
        Invitation(
            token_hash=hash_token(token),
            user=user,
            created_by_id=invited_by.id if invited_by else None,
            expires_at=utcnow() + timedelta(days=days),
        )
    )
    db.session.flush()
    return token


def find_invitation(token: str) -> Invitation | None:
    invitation = db.session.execute(
        sa.select(Invitation).where(Invitation.token_hash == hash_token(token))
    ).scalar_one_or_none()
    if invitation is None or invitation.used_at is not None or invitation.expires_at < utcnow():
        return None
    if invitation.user.state == UserState.DISABLED:
        return None
    return invitation


def accept_invitation(invitation: Invitation, password: str) -> StaffSession:
    """Set the password, activate, and open a session that must enrol 2FA next."""
    claimed = db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if claimed.rowcount != 1:
        raise AccountError("invitation_used")
    user = invitation.user
    user.password_hash = hash_password(password)
    user.state = UserState.ACTIVE
    user.failed_logins = 0
    user.locked_until = None
    _staff_event("user.invitation_accepted", user)
    return start_session(user, SessionStage.ENROL)


# Sign-in ---------------------------------------------------------------------


def _register_failure(user: User, step: str) -> None:
    config = current_app.config
    user.failed_logins += 1
    _staff_event("staff.sign_in_failed", user, step=step, failures=user.failed_logins)
    excess = user.failed_logins - config["LOCKOUT_THRESHOLD"]
    if excess >= 0:
        delay = min(config["LOCKOUT_BASE_SECONDS"] * 2**excess, config["LOCKOUT_MAX_SECONDS"])
        user.locked_until = utcnow() + timedelta(seconds=delay)
        _staff_event("staff.locked_out", user, seconds=delay)


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def sign_in_with_password(email: str, password: str) -> StaffSession:
    """First step. Raises AccountError("sign_in_failed") whatever the reason,
    so the answer never tells whether the account exists or is locked."""
    user = find_user(email)
    if user is None:
        verify_password(None, password)  # same time as a real check
        _staff_event("staff.sign_in_failed", None, step="password", reason="unknown_account")
        raise AccountError("sign_in_failed")
    if user.state != UserState.ACTIVE or is_locked(user):
        verify_password(None, password)
        _staff_event(
            "staff.sign_in_failed",
            user,
            step="password",
            reason="locked" if is_locked(user) else user.state.value,
        )
        raise AccountError("sign_in_failed")
    ok, new_hash = verify_password(user.password_hash, password)
    if not ok:
        _register_failure(user, "password")
        raise AccountError("sign_in_failed")
    if new_hash:
        user.password_hash = new_hash
    stage = SessionStage.SECOND_FACTOR if user.has_two_factor else SessionStage.ENROL
    return start_session(user, stage)


def _accept_totp(user: User, code: str) -> bool:
    """Accept a code once: the step is recorded atomically, so a replay (even a
    concurrent one) of the same or an older code fails."""
    if not user.totp_secret:
        return False
    step = totp.matching_step(user.totp_secret, code)
    if step is None:
        return False
    result = db.session.execute(
        sa.update(User)
        .where(User.id == user.id, sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount == 1


def _accept_recovery_code(user: User, code: str) -> bool:
    result = db.session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == totp.recovery_code_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    if result.rowcount:
        _staff_event("staff.recovery_code_used", user)
        return True
    return False


def check_second_factor(user: User, code: str) -> bool:
    cleaned = code.strip()
    if "-" in cleaned or len(cleaned.replace(" ", "")) > 6:
        return _accept_recovery_code(user, cleaned)
    return _accept_totp(user, cleaned)


def complete_second_factor(staff_session: StaffSession, code: str) -> None:
    user = staff_session.user
    if is_locked(user):
        _staff_event("staff.sign_in_failed", user, step="second_factor", reason="locked")
        raise AccountError("sign_in_failed")
    if not check_second_factor(user, code):
        _register_failure(user, "second_factor")
        raise AccountError("bad_code")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    advance_session(staff_session, SessionStage.COMPLETE)
    staff_session.reauthenticated_at = utcnow()
    _staff_event("staff.signed_in", user)


def reauthenticate(staff_session: StaffSession, password: str, code: str) -> None:
    user = staff_session.user
    ok, _ = verify_password(user.password_hash, password)
    if not ok or is_locked(user) or not check_second_factor(user, code):
        _register_failure(user, "reauthentication")
        raise AccountError("reauth_failed")
    staff_session.reauthenticated_at = utcnow()
    _staff_event("staff.reauthenticated", user)


def sign_out(staff_session: StaffSession) -> None:
    from .sessions import end_session

    _staff_event("staff.signed_out", staff_session.user)
    end_session(staff_session)


# Two-factor enrolment ----------------------------------------------------------


def pending_totp_secret(user: User) -> str:
    """The secret being enrolled; made once so a page reload shows the same QR code."""
    if user.has_two_factor:
        raise AccountError("already_enrolled")
    if not user.totp_secret:
        user.totp_secret = totp.new_secret()
        db.session.flush()
    return user.totp_secret


@dataclass(frozen=True)
class Enrolment:
    recovery_codes: list[str]


def confirm_enrolment(staff_session: StaffSession, code: str) -> Enrolment:
    user = staff_session.user
    if user.has_two_factor or not user.totp_secret:
        raise AccountError("already_enrolled")
    if not _accept_totp(user, code):
        _register_failure(user, "enrolment")
        raise AccountError("bad_code")
    user.totp_confirmed_at = utcnow()
    user.failed_logins = 0
    user.last_login_at = utcnow()
    codes = totp.new_recovery_codes()
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=totp.recovery_code_hash(c)) for c in codes)
    advance_session(staff_session, SessionStage.COMPLETE)
    staff_session.reauthenticated_at = utcnow()
    _staff_event("staff.2fa_enrolled", user)
    _staff_event("staff.signed_in", user)
    return Enrolment(codes)


# Administration ----------------------------------------------------------------


def _refuse_self(admin: User, user: User) -> None:
    if admin.id == user.id:
        raise AccountError("not_on_yourself")


def change_role(admin: User, user: User, role: Role) -> None:
    _refuse_self(admin, user)
    if user.role == role:
        return
    previous = user.role
    user.role = role
    _staff_event("user.role_changed", user, admin, **{"from": previous.value, "to": role.value})


def disable_user(admin: User, user: User) -> int:
    """Disable the account and end all its sessions at once."""
    _refuse_self(admin, user)
    user.state = UserState.DISABLED
    ended = revoke_user_sessions(user)
    _staff_event("user.disabled", user, admin, sessions_ended=ended)
    return ended


def enable_user(admin: User, user: User) -> None:
    _refuse_self(admin, user)
    user.state = UserState.ACTIVE if user.password_hash else UserState.INVITED
    user.failed_logins = 0
    user.locked_until = None
    _staff_event("user.enabled", user, admin)


def reset_two_factor(admin: User, user: User) -> None:
    """Forget the TOTP secret and recovery codes: enrolment again at next sign-in."""
    _refuse_self(admin, user)
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    revoke_user_sessions(user)
    _staff_event("user.2fa_reset", user, admin)


def unlock_user(admin: User, user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None
    _staff_event("user.unlocked", user, admin)
