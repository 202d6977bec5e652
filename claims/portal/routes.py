"""Portal views: thin, each one parses, calls an operation, commits, answers.

Every view but the sign-in pages works on ``g.portal_claim`` only (the claim the session is
bound to); an id in a URL is looked up *within* that claim, so another claimant's ids give 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from ..audit.operations import claimant_event
from ..cases.models import CaseText, TextKind
from ..claimants.models import Claim, ClaimStatus
from ..evidence.checks import UploadRefused
from ..evidence.models import Evidence, EvidenceKind
from ..evidence.operations import add_claim_evidence, derivative_jobs, open_evidence
from ..extensions import db, limiter
from ..filings.operations import tell_lawyers_of_change
from ..i18n import current_language
from ..intake.forms import EVIDENCE_LABELS
from ..intake.operations import texts_accepted
from ..jobs.operations import dispatch
from ..ratelimits import posted_email_key
from ..review.models import InfoRequest, InfoRequestStatus, ReviewEvent
from ..review.operations import ReviewError, answer_information_request
from . import CLAIMANT, PUBLIC, bp, portal_access
from .forms import (
    MAX_FILES_PER_ANSWER,
    ActionForm,
    AddressForm,
    AnswerForm,
    EmailForm,
    SignInForm,
    TokenForm,
    WithdrawForm,
)
from .labels import STATUS_EXPLAINED, TEXT_SLUGS
from .operations import claims_for_sign_in, find_sign_in_link, send_sign_in_link, use_sign_in_link
from .sessions import end_portal_sessions, start_portal_session


def _claim() -> Claim:
    return g.portal_claim  # type: ignore[no-any-return]


# Signing in ------------------------------------------------------------------------------


@bp.route("", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["PORTAL_LINK_RATE_LIMIT_IP"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["PORTAL_LINK_RATE_LIMIT_EMAIL"],
    methods=["POST"],
    key_func=posted_email_key("portal-email"),
)
@portal_access(PUBLIC)
def sign_in() -> str | Response:
    form = SignInForm()
    if form.validate_on_submit():
        jobs = [
            send_sign_in_link(claim, lambda token: url_for("portal.link", token=token, _external=True))
            for claim in claims_for_sign_in(form.email.data, form.reference.data)
        ]
        db.session.commit()
        for job in jobs:
            dispatch(job)
        # The same answer whether or not the address matched a claim.
        return render_template("portal/link_sent.html")
    return render_template("portal/sign_in.html", form=form, expired=request.args.get("expired") == "1")


@bp.get("/link/<token>")
@portal_access(PUBLIC)
def link(token: str) -> str | tuple[str, int]:
    """A page with a button: mail scanners that open links must not use them up."""
    if find_sign_in_link(token) is None:
        return render_template("portal/link_invalid.html"), 404
    return render_template("portal/link.html", form=TokenForm(token=token))


@bp.post("/link")
@portal_access(PUBLIC)
def use_link() -> str | tuple[str, int] | Response:
    form = TokenForm()
    claim = use_sign_in_link(form.token.data or "") if form.validate_on_submit() else None
    if claim is None:
        db.session.rollback()
        return render_template("portal/link_invalid.html"), 404
    start_portal_session(claim.id)
    db.session.commit()
    return redirect(url_for("portal.my_claim"))


@bp.post("/sign-out")
@portal_access(CLAIMANT)
def sign_out() -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    end_portal_sessions(_claim().id)
    claimant_event("portal.signed_out", _claim().id)
    db.session.commit()
    flash(_("Vous êtes déconnecté·e."), "info")
    return redirect(url_for("portal.sign_in"))


# My claim --------------------------------------------------------------------------------


def _timeline(claim: Claim) -> list[tuple[Any, str]]:
    labels = {
        ClaimStatus.IN_REVIEW: _("Examen en cours"),
        ClaimStatus.NEEDS_INFO: _("Informations demandées"),
        ClaimStatus.ACCEPTED: _("Demande acceptée"),
        ClaimStatus.REJECTED: _("Demande refusée"),
        ClaimStatus.IN_FILING: _("Dossier en préparation pour le tribunal"),
        ClaimStatus.FILED: _("Déposée au tribunal"),
    }
    items: list[tuple[Any, str]] = [(claim.submitted_at, _("Demande déposée"))]
    events = db.session.execute(
        sa.select(ReviewEvent).where(ReviewEvent.claim_id == claim.id).order_by(ReviewEvent.created_at)
    ).scalars()
    for event in events:
        if event.action == "information_received":
            items.append((event.created_at, _("Réponse envoyée au cabinet")))
        elif event.to_status in labels and event.from_status != event.to_status:
            items.append((event.created_at, labels[event.to_status]))
    return items


def _open_request(claim: Claim) -> InfoRequest | None:
    return db.session.execute(
        sa.select(InfoRequest)
        .where(InfoRequest.claim_id == claim.id, InfoRequest.status == InfoRequestStatus.OPEN)
        .order_by(InfoRequest.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def _render_claim(answer_form: AnswerForm | None = None, status: int = 200) -> tuple[str, int]:
    from .export import data_copy_state, latest_data_copy
    from .withdrawal import can_withdraw

    claim = _claim()
    heads = {h["code"]: h for h in claim.case.heads_of_damage}
    open_request = _open_request(claim)
    answered = db.session.execute(
        sa.select(InfoRequest)
        .where(InfoRequest.claim_id == claim.id, InfoRequest.status != InfoRequestStatus.OPEN)
        .order_by(InfoRequest.created_at.desc())
    ).scalars()
    page = render_template(
        "portal/claim.html",
        claim=claim,
        claimant=claim.claimant,
        explained=STATUS_EXPLAINED.get(claim.status),
        timeline=_timeline(claim),
        heads=heads,
        lang=current_language(),
        open_request=open_request,
        answered=list(answered),
        answer_form=answer_form or (AnswerForm() if open_request else None),
        max_files=MAX_FILES_PER_ANSWER,
        texts=texts_accepted(claim),
        text_slugs={kind: slug for slug, kind in TEXT_SLUGS.items()},
        evidence_labels=EVIDENCE_LABELS,
        data_copy=(copy := latest_data_copy(claim)),
        copy_state=data_copy_state(copy) if copy else None,
        can_withdraw=can_withdraw(claim),
        action=ActionForm(),
    )
    return page, status


@bp.get("/claim")
@portal_access(CLAIMANT)
def my_claim() -> tuple[str, int]:
    return _render_claim()


@bp.get("/claim/evidence/<uuid:evidence_id>")
@portal_access(CLAIMANT)
def evidence_original(evidence_id: uuid.UUID) -> Response:
    """The claimant's own original, as an attachment (never shown inline)."""
    claim = _claim()
    evidence = db.session.get(Evidence, evidence_id)
    if evidence is None or evidence.claim_id != claim.id:
        abort(404)
    claimant_event("evidence.downloaded", claim.id, evidence=str(evidence.id), file="original")
    db.session.commit()
    data = b"".join(open_evidence(evidence))  # every chunk checked before anything is sent
    response = Response(data, content_type="application/octet-stream")
    extension = {"image/jpeg": "jpg", "image/png": "png", "image/heic": "heic", "application/pdf": "pdf"}
    name = f"{claim.reference}-piece-{str(evidence.id)[:8]}.{extension.get(evidence.detected_type, 'bin')}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.get("/claim/texts/<any(confidentialite, mandat, honoraires):slug>")
@portal_access(CLAIMANT)
def accepted_text(slug: str) -> str:
    """A text in the version the claimant accepted."""
    text: CaseText | None = texts_accepted(_claim()).get(TextKind(TEXT_SLUGS[slug]))
    if text is None:
        abort(404)
    return render_template("portal/text.html", text=text, claim=_claim())


@bp.post("/claim/requests/<uuid:request_id>/answer")
@portal_access(CLAIMANT)
def answer(request_id: uuid.UUID) -> tuple[str, int] | Response:
    claim = _claim()
    info = db.session.get(InfoRequest, request_id)
    if info is None or info.claim_id != claim.id:
        abort(404)
    form = AnswerForm()
    if not form.validate_on_submit():
        return _render_claim(form, 400)
    files = [f for f in form.files.data or [] if f and f.filename]
    if len(files) > MAX_FILES_PER_ANSWER:
        form.files.errors = [_("Joignez au plus %(n)s fichiers à la fois.", n=MAX_FILES_PER_ANSWER)]
        return _render_claim(form, 400)
    try:
        added = [
            add_claim_evidence(
                claim, upload.stream, kind=EvidenceKind(form.kind.data), filename=upload.filename
            )
            for upload in files
        ]
        jobs = derivative_jobs(added)  # a submitted claim: its reviewer waits for them
        answer_information_request(info, form.response.data)
    except UploadRefused as refused:
        db.session.rollback()
        form.files.errors = [refused.message]
        return _render_claim(form, 400)
    except ReviewError:
        db.session.rollback()
        flash(_("Cette demande est déjà close."), "error")
        return redirect(url_for("portal.my_claim"))
    db.session.commit()
    for job in jobs:
        dispatch(job)
    flash(_("Merci : votre réponse est transmise au cabinet."), "info")
    return redirect(url_for("portal.my_claim"))


# Contact details -------------------------------------------------------------------------


@bp.route("/claim/contact", methods=["GET", "POST"])
@portal_access(CLAIMANT)
def contact() -> str | tuple[str, int] | Response:
    from .contact import ContactError, change_contact

    claimant = _claim().claimant
    form = AddressForm(
        data=None
        if request.method == "POST"
        else {
            name: getattr(claimant, name)
            for name in ("address_line1", "address_line2", "postal_code", "city", "country", "phone")
        }
    )
    email_form = EmailForm(prefix="new")
    if form.validate_on_submit():
        try:
            changed = change_contact(
                _claim(),
                address_line1=form.address_line1.data,
                address_line2=form.address_line2.data or None,
                postal_code=form.postal_code.data,
                city=form.city.data,
                country=form.country.data,
                phone=form.phone.data,
            )
        except ContactError as refused:
            db.session.rollback()
            target = getattr(form, refused.field or "phone", form.phone)
            target.errors = [
                _("Numéro de téléphone invalide (exemple : 06 12 34 56 78).")
                if refused.code == "invalid_phone"
                else _("Valeur manquante ou trop longue.")
            ]
        else:
            notices = tell_lawyers_of_change(_claim(), ",".join(changed)) if changed else []
            db.session.commit()
            for notice in notices:
                dispatch(notice)
            flash(_("Coordonnées enregistrées.") if changed else _("Aucune modification."), "info")
            return redirect(url_for("portal.my_claim"))
    status = 400 if form.errors else 200
    return render_template("portal/contact.html", form=form, email_form=email_form, claim=_claim()), status


@bp.post("/claim/email")
@portal_access(CLAIMANT)
def change_email() -> str | tuple[str, int] | Response:
    from .contact import ContactError, request_email_change

    email_form = EmailForm(prefix="new")
    if email_form.validate_on_submit():
        try:
            jobs = request_email_change(
                _claim(),
                email_form.email.data,
                lambda token: url_for("portal.confirm_email", token=token, _external=True),
            )
        except ContactError as refused:
            db.session.rollback()
            email_form.email.errors = [
                _("C’est déjà votre adresse.")
                if refused.code == "same_email"
                else _("Adresse électronique invalide (exemple : prenom.nom@exemple.fr).")
            ]
        else:
            db.session.commit()
            for one in jobs:
                dispatch(one)
            flash(
                _(
                    "Un lien de confirmation est envoyé à la nouvelle adresse. Elle remplacera l’ancienne une fois confirmée."
                ),
                "info",
            )
            return redirect(url_for("portal.my_claim"))
    return render_template(
        "portal/contact.html", form=AddressForm(), email_form=email_form, claim=_claim()
    ), 400


@bp.get("/email/<token>")
@portal_access(PUBLIC)
def confirm_email(token: str) -> str:
    return render_template("portal/confirm_email.html", form=TokenForm(token=token))


@bp.post("/email")
@portal_access(PUBLIC)
def confirm_email_post() -> str | tuple[str, int]:
    from .contact import confirm_email_change

    form = TokenForm()
    claim = confirm_email_change(form.token.data or "") if form.validate_on_submit() else None
    if claim is None:
        db.session.rollback()
        return render_template("portal/link_invalid.html"), 404
    notices = tell_lawyers_of_change(claim, "email")
    db.session.commit()
    for notice in notices:
        dispatch(notice)
    return render_template("portal/email_confirmed.html")


# Copy of my data -------------------------------------------------------------------------


@bp.post("/claim/copy")
@portal_access(CLAIMANT)
def request_copy() -> Response:
    from .export import DataCopyError, request_data_copy

    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        job = request_data_copy(_claim())
    except DataCopyError:
        db.session.rollback()
        flash(_("Une copie est déjà en préparation."), "info")
        return redirect(url_for("portal.my_claim", _anchor="copie"))
    db.session.commit()
    dispatch(job)
    flash(_("Votre copie est en préparation. Revenez sur cette page dans quelques minutes."), "info")
    return redirect(url_for("portal.my_claim", _anchor="copie"))


@bp.get("/claim/copy/<uuid:copy_id>")
@portal_access(CLAIMANT)
def download_copy(copy_id: uuid.UUID) -> Response:
    from .export import DataCopyError, discard_data_copy, mark_downloaded, open_data_copy
    from .models import DataCopy

    copy = db.session.get(DataCopy, copy_id)
    if copy is None or copy.claim_id != _claim().id:
        abort(404)
    try:
        mark_downloaded(copy)  # once, even if two downloads race
    except DataCopyError:
        db.session.rollback()
        flash(_("Cette copie n’est plus disponible. Vous pouvez en demander une nouvelle."), "error")
        return redirect(url_for("portal.my_claim", _anchor="copie"))
    db.session.commit()

    def body() -> Iterator[bytes]:
        # Streamed (up to the evidence limits, 60 MB and more), checked chunk by chunk by the
        # vault; the stored copy is deleted once sent.
        try:
            yield from open_data_copy(copy)
        finally:
            discard_data_copy(copy)
            db.session.commit()

    response = Response(stream_with_context(body()), content_type="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="mes-donnees-{_claim().reference}.zip"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# Withdrawal ------------------------------------------------------------------------------


@bp.route("/claim/withdraw", methods=["GET", "POST"])
@portal_access(CLAIMANT)
def withdraw() -> str | tuple[str, int] | Response:
    from .retention import checkpoint_wal
    from .withdrawal import WithdrawalRefused, can_withdraw, withdraw_claim

    claim = _claim()
    if not can_withdraw(claim):
        return render_template("portal/withdraw_impossible.html", claim=claim)
    form = WithdrawForm()
    if form.validate_on_submit():
        reference = claim.reference
        try:
            jobs = withdraw_claim(claim)  # the lawyer's notices, if it was in a filing
            end_portal_sessions(claim.id)
            db.session.commit()
        except (WithdrawalRefused, StaleDataError):  # a reviewer acted at the same moment
            db.session.rollback()
            flash(
                _("Votre demande vient d’être modifiée par le cabinet. Vérifiez-la, puis réessayez."), "error"
            )
            return redirect(url_for("portal.my_claim"))
        # The destroyed key must not linger in SQLite's write-ahead log.
        checkpoint_wal()
        for job in jobs:
            dispatch(job)
        return render_template("portal/withdrawn.html", reference=reference)
    status = 400 if form.errors else 200
    return render_template("portal/withdraw.html", form=form, claim=claim), status
