"""The staff console shell: layout and home page. Access as in claims.accounts.access."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ..accounts.access import SIGNED_IN, access, guard
from ..accounts.forms import ActionForm
from ..accounts.permissions import PERMISSIONS, Permission
from ..audit.operations import record_event
from ..extensions import db
from ..mail.models import MailStatus, OutboxMessage

bp = Blueprint("console", __name__, url_prefix="/console")
bp.before_request(guard)


@bp.get("/")
@access(SIGNED_IN)
def index() -> str:
    allowed = PERMISSIONS[current_user.role]
    # In the order of the permission table, as the admin pages show it.
    return render_template("console/index.html", permissions=[p for p in Permission if p in allowed])


@bp.get("/mail")
@access(Permission.MANAGE_MAIL)
def outbox() -> str:
    """The outbox: when, why, delivered or not. Never the address or the content (those are the claimant's)."""
    messages = (
        db.session.execute(sa.select(OutboxMessage).order_by(OutboxMessage.created_at.desc()).limit(200))
        .scalars()
        .all()
    )
    return render_template("console/outbox.html", messages=messages, action=ActionForm())


@bp.post("/mail/<uuid:message_id>/requeue")
@access(Permission.MANAGE_MAIL)
def requeue(message_id: uuid.UUID) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    message = db.get_or_404(OutboxMessage, message_id)
    if message.status == MailStatus.FAILED:
        message.status = MailStatus.QUEUED
        message.attempts = 0
        record_event(
            "mail.requeued",
            actor_type="staff",
            actor_id=current_user.id,
            object_type="outbox_message",
            object_id=message.id,
        )
        db.session.commit()
        flash(_("Courriel remis dans la file d’envoi."), "info")
    return redirect(url_for("console.outbox"))
