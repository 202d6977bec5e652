"""Staff sign-in, two-factor, re-authentication and account administration views."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from ..extensions import db, limiter
from ..ratelimits import posted_email_key
from . import bp, totp
from .access import PUBLIC, SIGN_IN_STEP, SIGNED_IN, access, guard, require_recent_auth, safe_next
from .forms import (
    ActionForm,
    CodeForm,
    EnrolForm,
    InviteForm,
    LoginForm,
    ReauthForm,
    RoleForm,
    SetPasswordForm,
)
from .models import Role, SessionStage, User
from .operations import (
    AccountError,
    accept_invitation,
    change_role,
    complete_second_factor,
    confirm_enrolment,
    create_user,
    disable_user,
    enable_user,
    find_invitation,
    is_locked,
    issue_invitation,
    pending_totp_secret,
    reauthenticate,
    reset_two_factor,
    sign_in_with_password,
    sign_out,
    unlock_user,
)
from .permissions import PERMISSIONS, Permission
from .sessions import current_staff_session

bp.before_request(guard)

SIGN_IN_FAILED = _l("Connexion impossible. Vérifiez vos identifiants, ou réessayez dans quelques minutes.")


def _invite_link(token: str) -> str:
    return url_for("accounts.accept", token=token, _external=True)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_IP"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT_ACCOUNT"],
    methods=["POST"],
    key_func=posted_email_key("account"),
)
@access(PUBLIC)
def login() -> str | Response:
    staff_session = current_staff_session()
    if staff_session is not None and staff_session.stage == SessionStage.COMPLETE:
        return redirect(url_for("console.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            staff_session = sign_in_with_password(form.email.data, form.password.data)
        except AccountError:
            db.session.commit()  # the failure count and audit event
            flash(str(SIGN_IN_FAILED), "error")
            return render_template("accounts/login.html", form=form), 200
        db.session.commit()
        if staff_session.stage == SessionStage.ENROL:
            return redirect(url_for("accounts.enrol"))
        target = safe_next(request.args.get("next"), "")
        return redirect(url_for("accounts.second_factor", **({"next": target} if target else {})))
    return render_template("accounts/login.html", form=form)


@bp.route("/2fa", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CODE_RATE_LIMIT"], methods=["POST"])
@access(SIGN_IN_STEP)
def second_factor() -> str | Response:
    staff_session = current_staff_session()
    if staff_session.stage == SessionStage.ENROL:
        return redirect(url_for("accounts.enrol"))
    if staff_session.stage == SessionStage.COMPLETE:
        return redirect(url_for("console.index"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            complete_second_factor(staff_session, form.code.data)
        except AccountError as exc:
            db.session.commit()
            if exc.code == "sign_in_failed":
                flash(str(SIGN_IN_FAILED), "error")
            else:
                flash(_("Code incorrect ou déjà utilisé. Attendez le code suivant."), "error")
            return render_template("accounts/second_factor.html", form=form)
        db.session.commit()
        return redirect(safe_next(request.args.get("next"), url_for("console.index")))
    return render_template("accounts/second_factor.html", form=form)


@bp.route("/2fa/setup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CODE_RATE_LIMIT"], methods=["POST"])
@access(SIGN_IN_STEP)
def enrol() -> str | Response:
    staff_session = current_staff_session()
    if staff_session.stage != SessionStage.ENROL:
        return redirect(url_for("accounts.second_factor"))
    user = staff_session.user
    secret = pending_totp_secret(user)
    db.session.commit()
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            enrolment = confirm_enrolment(staff_session, form.code.data)
        except AccountError:
            db.session.commit()
            flash(
                _("Code incorrect. Vérifiez l’heure de votre téléphone et saisissez le code affiché."),
                "error",
            )
        else:
            db.session.commit()
            # Shown once, in this response only; only their hashes are kept.
            return render_template("accounts/recovery_codes.html", codes=enrolment.recovery_codes)
    uri = totp.provisioning_uri(secret, user.email)
    return render_template(
        "accounts/enrol.html",
        form=form,
        qr=totp.qr_svg_data_uri(uri),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    )


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CODE_RATE_LIMIT"], methods=["POST"])
@access(PUBLIC)
def accept(token: str) -> str | Response:
    invitation = find_invitation(token)
    if invitation is None:
        return render_template("accounts/invitation_invalid.html"), 404
    form = SetPasswordForm(invitation.user.email)
    if form.validate_on_submit():
        try:
            accept_invitation(invitation, form.password.data)
        except AccountError:
            db.session.rollback()
            return render_template("accounts/invitation_invalid.html"), 404
        db.session.commit()
        return redirect(url_for("accounts.enrol"))
    return render_template("accounts/invitation.html", form=form, user=invitation.user)


@bp.post("/logout")
@access(SIGN_IN_STEP)
def logout() -> Response:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    sign_out(current_staff_session())
    db.session.commit()
    flash(_("Vous êtes déconnecté·e."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/reauth", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CODE_RATE_LIMIT"], methods=["POST"])
@access(SIGNED_IN)
def reauth() -> str | Response:
    form = ReauthForm()
    if form.validate_on_submit():
        try:
            reauthenticate(current_staff_session(), form.password.data, form.code.data)
        except AccountError:
            db.session.commit()
            flash(_("Mot de passe ou code incorrect."), "error")
        else:
            db.session.commit()
            return redirect(safe_next(request.args.get("next"), url_for("console.index")))
    return render_template("accounts/reauth.html", form=form)


# Administration -------------------------------------------------------------------


def _get_user(user_id: uuid.UUID) -> User:
    return db.get_or_404(User, user_id)


@bp.get("/users")
@access(Permission.MANAGE_USERS)
def users() -> str:
    staff = db.session.execute(sa.select(User).order_by(User.role, User.full_name)).scalars().all()
    return render_template(
        "accounts/users.html",
        users=staff,
        permissions=PERMISSIONS,
        all_permissions=list(Permission),
        roles=list(Role),
        is_locked=is_locked,
    )


@bp.route("/users/invite", methods=["GET", "POST"])
@access(Permission.MANAGE_USERS)
@require_recent_auth
def invite() -> str | Response:
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user, token = create_user(
                form.email.data, form.full_name.data, Role(form.role.data), invited_by=current_user
            )
        except AccountError:
            form.email.errors.append(_("Un compte existe déjà avec cette adresse."))
        else:
            db.session.commit()
            return render_template("accounts/invitation_link.html", user=user, link=_invite_link(token))
    return render_template("accounts/invite.html", form=form)


@bp.get("/users/<uuid:user_id>")
@access(Permission.MANAGE_USERS)
def user_detail(user_id: uuid.UUID) -> str:
    user = _get_user(user_id)
    return render_template(
        "accounts/user.html",
        user=user,
        role_form=RoleForm(role=user.role.value),
        action=ActionForm(),
        permissions=PERMISSIONS,
        all_permissions=list(Permission),
        roles=list(Role),
        locked=is_locked(user),
    )


def _admin_action(
    user_id: uuid.UUID,
    operation: Callable[[User, User], object],
    message: str,
    form: FlaskForm | None = None,
) -> Response:
    """Validate the (CSRF) form, apply ``operation(admin, user)``, commit, say so."""
    if not (form or ActionForm()).validate_on_submit():
        abort(400)
    user = _get_user(user_id)
    try:
        operation(current_user, user)
    except AccountError:
        db.session.rollback()
        flash(_("Cette action ne peut pas porter sur votre propre compte."), "error")
    else:
        db.session.commit()
        flash(message, "info")
    return redirect(url_for("accounts.user_detail", user_id=user_id))


@bp.post("/users/<uuid:user_id>/role")
@access(Permission.MANAGE_USERS)
@require_recent_auth
def set_role(user_id: uuid.UUID) -> Response:
    form = RoleForm()
    return _admin_action(
        user_id, lambda admin, user: change_role(admin, user, Role(form.role.data)), _("Rôle modifié."), form
    )


@bp.post("/users/<uuid:user_id>/disable")
@access(Permission.MANAGE_USERS)
def disable(user_id: uuid.UUID) -> Response:
    return _admin_action(user_id, disable_user, _("Compte désactivé ; ses sessions sont terminées."))


@bp.post("/users/<uuid:user_id>/enable")
@access(Permission.MANAGE_USERS)
@require_recent_auth
def enable(user_id: uuid.UUID) -> Response:
    return _admin_action(user_id, enable_user, _("Compte réactivé."))


@bp.post("/users/<uuid:user_id>/reset-2fa")
@access(Permission.MANAGE_USERS)
@require_recent_auth
def reset_2fa(user_id: uuid.UUID) -> Response:
    return _admin_action(
        user_id,
        reset_two_factor,
        _("Double authentification réinitialisée : nouvel enrôlement à la prochaine connexion."),
    )


@bp.post("/users/<uuid:user_id>/unlock")
@access(Permission.MANAGE_USERS)
def unlock(user_id: uuid.UUID) -> Response:
    return _admin_action(user_id, unlock_user, _("Compte déverrouillé."))


@bp.post("/users/<uuid:user_id>/invitation")
@access(Permission.MANAGE_USERS)
@require_recent_auth
def reissue_invitation(user_id: uuid.UUID) -> str | Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    user = _get_user(user_id)
    token = issue_invitation(user, invited_by=current_user)
    db.session.commit()
    return render_template("accounts/invitation_link.html", user=user, link=_invite_link(token))
