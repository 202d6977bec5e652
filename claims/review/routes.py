"""Review console views: the queue, the claim file, decisions. Thin: parse, call an operation, commit."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from ..accounts.access import access, guard
from ..accounts.forms import ActionForm
from ..accounts.models import Role, User, UserState
from ..accounts.permissions import Permission, role_can
from ..audit.operations import record_event
from ..cases.models import Case
from ..claimants.models import Claim, Claimant, ClaimStatus
from ..claimants.operations import normal_reference
from ..evidence.models import Evidence
from ..evidence.operations import open_derivative, open_evidence
from ..extensions import db
from ..i18n import current_language
from ..intake.forms import EVIDENCE_LABELS
from ..jobs.operations import dispatch
from .forms import InfoRequestForm, NoteForm, RejectForm, SavedFilterForm
from .history import claim_history
from .labels import EVENT_LABELS, REJECTION_LABELS, STATUS_LABELS, WARNING_LABELS
from .models import SAVED_FILTER_KEYS, InfoRequest, InfoRequestStatus, Note
from .operations import (
    ReviewError,
    accept,
    add_note,
    assign,
    can_transition,
    find_claim,
    record_view,
    reject,
    request_information,
    start_review,
)
from .queue import (
    FLAGGED_EVIDENCE,
    BadFilter,
    QueueFilter,
    SearchNotUnderstood,
    badges,
    filter_from_args,
    page,
    related_claims,
    same_ip_counts,
    shared_identifiers,
)
from .saved_filters import (
    SavedFilterError,
    delete_filter,
    may_delete,
    save_filter,
    saved_args,
    visible_filter,
    visible_filters,
)

bp = Blueprint("review", __name__, url_prefix="/console/claims")
bp.before_request(guard)


@bp.app_context_processor
def review_labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "warning_labels": WARNING_LABELS,
        "rejection_labels": REJECTION_LABELS,
        "evidence_labels": EVIDENCE_LABELS,
        "current_language": current_language,
    }


# The filter's choices, in Core: the ids and the names the lists show, not whole accounts
# (password hashes, second-factor secrets) or whole cases (their long texts).
_REVIEWERS = (
    sa.select(User.__table__.c.id, User.__table__.c.full_name)
    .where(
        User.__table__.c.role.in_([Role.PARALEGAL, Role.LAWYER]),
        User.__table__.c.state == UserState.ACTIVE,
    )
    .order_by(User.__table__.c.full_name)
)
_CASE_CHOICES = sa.select(
    Case.__table__.c.id, Case.__table__.c.title, Case.__table__.c.heads_of_damage
).order_by(Case.__table__.c.title)


@bp.get("")
@access(Permission.VIEW_CLAIMS)
def queue() -> str:
    queue_filter = filter_from_args(request.args, current_user.id)
    try:
        result = page(
            queue_filter,
            after=request.args.get("after"),
            before=request.args.get("before"),
            last=request.args.get("last") == "1",
        )
    except SearchNotUnderstood:
        flash(
            _(
                "Recherche non comprise : saisissez une référence, un courriel, un téléphone, un NIR, "
                "ou un nom suivi de la date de naissance (JJ/MM/AAAA)."
            ),
            "error",
        )
        result = page(QueueFilter(case_id=queue_filter.case_id, status=queue_filter.status))
    cases = db.session.execute(_CASE_CHOICES).all()
    heads = {h["code"]: h for case in cases for h in case.heads_of_damage}
    keep = {k: v for k, v in request.args.items() if k not in ("after", "before", "last") and v}
    current_filter = {k: v for k, v in keep.items() if k in SAVED_FILTER_KEYS}
    return render_template(
        "review/queue.html",
        page=result,
        args=keep,
        current_filter=current_filter,
        saved_filters=visible_filters(current_user),
        may_delete=lambda saved: may_delete(saved, current_user),
        save_form=SavedFilterForm(),
        cases=cases,
        heads=heads,
        reviewers=db.session.execute(_REVIEWERS).all(),
        statuses=[s for s in ClaimStatus if s != ClaimStatus.DRAFT],
        action=ActionForm(),
        can_assign=role_can(current_user.role, Permission.REVIEW_CLAIMS),
        can_export=role_can(current_user.role, Permission.EXPORT_DATA),
    )


@bp.post("/assign")
@access(Permission.REVIEW_CLAIMS)
def bulk_assign() -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    target = request.form.get("assignee", "")
    assignee = current_user if target == "me" else None
    if target not in ("me", "none"):
        try:
            assignee = db.session.get(User, uuid.UUID(target))
        except ValueError:
            abort(400)
        if assignee is None or not role_can(assignee.role, Permission.REVIEW_CLAIMS):
            abort(400)
    references = request.form.getlist("claim")[:200]
    done = 0
    for reference in references:
        claim = find_claim(reference)
        if claim is None:
            continue
        try:
            assign(claim, assignee, actor=current_user)
        except ReviewError:
            continue
        done += 1
    db.session.commit()
    flash(_("%(n)s demande(s) attribuée(s).", n=done), "info")
    return redirect(request.referrer or url_for("review.queue"))


@bp.post("/filters")
@access(Permission.VIEW_CLAIMS)
def save_queue_filter() -> Response:
    """Keep the queue's current filter under a name (never its search term), then apply it."""
    form = SavedFilterForm()
    back = {k: v for k in SAVED_FILTER_KEYS if (v := request.form.get(k, "").strip())}
    if not form.validate_on_submit():
        flash(_("Donnez un nom au filtre (80 caractères au plus)."), "error")
        return redirect(url_for("review.queue", **back))
    try:
        args = saved_args(request.form, current_user.id)
    except BadFilter:
        flash(_("Ce filtre contient une valeur invalide : il n’est pas enregistré."), "error")
        return redirect(url_for("review.queue", **back))
    try:
        saved = save_filter(current_user, name=form.name.data, shared=form.shared.data, args=args)
        db.session.commit()
    except (SavedFilterError, IntegrityError) as error:
        db.session.rollback()
        if isinstance(error, SavedFilterError) and error.code == "bad_name":
            flash(_("Donnez un nom au filtre (80 caractères au plus)."), "error")
        else:
            flash(_("Vous avez déjà un filtre de ce nom : choisissez-en un autre."), "error")
        return redirect(url_for("review.queue", **back))
    message = _("Filtre enregistré.")
    if request.form.get("q", "").strip():
        message += " " + _("La recherche exacte n’y est pas enregistrée : c’est une donnée personnelle.")
    flash(message, "info")
    return redirect(url_for("review.queue", **saved.args))


@bp.post("/filters/<int:filter_id>/delete")
@access(Permission.VIEW_CLAIMS)
def delete_queue_filter(filter_id: int) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    saved = visible_filter(filter_id, current_user)
    if saved is None:
        abort(404)
    try:
        delete_filter(saved, actor=current_user)
    except SavedFilterError:
        abort(403)
    db.session.commit()
    flash(_("Filtre supprimé."), "info")
    return redirect(url_for("review.queue"))


def _visible_or_404(claim: Claim | None) -> Claim:
    """A claim the console may show: not a draft (a draft is the claimant's alone)."""
    if claim is None or claim.status == ClaimStatus.DRAFT:
        abort(404)
    return claim


def _claim_or_404(reference: str) -> Claim:
    return _visible_or_404(find_claim(reference))


@cache
def _claim_file_statements() -> dict[str, sa.Select[Any]]:
    """The claim file's queries, built once (on first use: the mappers are configured by then).

    The claim comes with its claimant, data key, case and harms in one query; its evidence
    is a query of its own (joined, it would multiply the rows by the harms).
    """
    by_claim = sa.bindparam("claim_id")
    return {
        "claim": sa.select(Claim)
        .where(Claim.reference == sa.bindparam("reference"))
        .options(
            joinedload(Claim.claimant).joinedload(Claimant.data_key),
            joinedload(Claim.case),
            joinedload(Claim.harms),
        ),
        "evidence": sa.select(Evidence).where(Evidence.claim_id == by_claim).order_by(Evidence.created_at),
        "notes": sa.select(Note).where(Note.claim_id == by_claim).order_by(Note.created_at.desc()),
        "requests": sa.select(InfoRequest)
        .where(InfoRequest.claim_id == by_claim)
        .order_by(InfoRequest.created_at.desc()),
    }


def _commit_view() -> None:
    """Commit the view's audit event, keeping what the request has loaded as it is.

    The transaction wrote that event only, and the page is rendered from what it read
    a moment before: expiring it would reload each object, one query apiece.
    """
    session = db.session()
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire_on_commit


_STAFF_NAMES = sa.select(User.__table__.c.id, User.__table__.c.full_name).where(
    User.__table__.c.id.in_(sa.bindparam("ids", expanding=True))
)


def _staff_names(ids: set[str]) -> dict[str, str]:
    """The names of these staff members (ids as the audit log writes them): names only, no account."""
    wanted = set()
    for value in ids:
        try:
            wanted.add(uuid.UUID(value))
        except ValueError:
            continue
    if not wanted:
        return {}
    rows = db.session.execute(_STAFF_NAMES, {"ids": list(wanted)})
    return {str(user_id): name for user_id, name in rows}


@bp.get("/<reference>")
@access(Permission.VIEW_CLAIMS)
def claim_file(reference: str) -> str:
    queries = _claim_file_statements()
    claim = _visible_or_404(
        db.session.execute(queries["claim"], {"reference": normal_reference(reference)})
        .unique()
        .scalar_one_or_none()
    )
    by_claim = {"claim_id": claim.id}
    evidence = db.session.execute(queries["evidence"], by_claim).scalars().all()
    notes = db.session.execute(queries["notes"], by_claim).scalars().all()
    info_requests = db.session.execute(queries["requests"], by_claim).scalars().all()
    related = related_claims(claim)
    # The queue's badges, each with its explanation: the queue's own queries for the shared
    # identifiers and the same-address count, the rest from what the page has read.
    today = date.today()
    warnings = badges(
        claim,
        shared=shared_identifiers([claim]).get(claim.id, ()),
        same_ip=same_ip_counts([claim]).get(claim.id, 0),
        flagged=any(e.status in FLAGGED_EVIDENCE for e in evidence),
        overdue=any(r.status == InfoRequestStatus.OPEN and r.due_on < today for r in info_requests),
    )
    # The view is recorded, then the history read in the same transaction: it shows this view,
    # and no other event comes in between (the audit chain is locked until the commit).
    record_view(claim, actor=current_user)
    history = claim_history(claim.id)
    staff = _staff_names(
        {line.actor_id for line in history if line.actor_id and line.actor_type == "staff"}
        | {str(n.author_id) for n in notes}
        | ({str(claim.assignee_id)} if claim.assignee_id else set())
    )
    _commit_view()
    version = claim.version
    role = current_user.role
    may_decide = role_can(role, Permission.DECIDE_CLAIMS) and can_transition(
        claim.status, ClaimStatus.ACCEPTED
    )
    may_request = role_can(role, Permission.REQUEST_INFORMATION) and can_transition(
        claim.status, ClaimStatus.NEEDS_INFO
    )
    return render_template(
        "review/claim.html",
        claim=claim,
        claimant=claim.claimant,
        heads={h["code"]: h for h in claim.case.heads_of_damage},
        evidence=evidence,
        history=history,
        staff=staff,
        event_labels=EVENT_LABELS,
        notes=notes,
        requests=info_requests,
        related=related,
        warnings=warnings,
        action=ActionForm(),
        # The decision forms only where the page shows them.
        reject_form=RejectForm(version=version) if may_decide else None,
        info_form=InfoRequestForm(version=version, due_on=date.today() + timedelta(days=14))
        if may_request
        else None,
        note_form=NoteForm() if role_can(role, Permission.WRITE_NOTES) else None,
        may_decide=may_decide,
        may_request=may_request,
        can=lambda permission: role_can(role, Permission(permission)),
        can_transition=lambda target: can_transition(claim.status, ClaimStatus(target)),
        version=version,
    )


def _stale(claim: Claim) -> bool:
    """The page the reviewer acted on showed an older version of the claim."""
    return request.form.get("version", "") != str(claim.version)


def _back(claim: Claim, message: str, category: str = "error", anchor: str = "") -> Response:
    """Back to the claim file with a message."""
    flash(message, category)
    return redirect(url_for("review.claim_file", reference=claim.reference) + anchor)


def _decided(claim: Claim, message: str, job: Any = None) -> Response:
    try:
        db.session.commit()
    except StaleDataError:
        return _refuse_stale_or_illegal(claim)
    if job is not None:
        dispatch(job)
    return _back(claim, message, "info")


def _refuse_stale_or_illegal(claim: Claim, error: ReviewError | None = None) -> Response:
    db.session.rollback()
    if error is None:
        return _back(
            claim, _("Quelqu’un d’autre vient de modifier cette demande : relisez-la avant de décider.")
        )
    return _back(claim, _("Cette action n’est pas possible dans l’état actuel de la demande."))


def _button_decision(reference: str, decide: Any, message: str) -> Response:
    """A decision that is one button: CSRF, the version seen, the operation, the commit."""
    claim = _claim_or_404(reference)
    if not ActionForm().validate_on_submit():
        abort(400)
    if _stale(claim):
        return _refuse_stale_or_illegal(claim)
    try:
        decide(claim, actor=current_user)
    except ReviewError as error:
        return _refuse_stale_or_illegal(claim, error)
    return _decided(claim, message)


@bp.post("/<reference>/assign-me")
@access(Permission.REVIEW_CLAIMS)
def assign_me(reference: str) -> Response:
    claim = _claim_or_404(reference)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        assign(claim, current_user, actor=current_user)
    except ReviewError as error:
        return _refuse_stale_or_illegal(claim, error)
    return _decided(claim, _("Demande attribuée à vous."))


@bp.post("/<reference>/start")
@access(Permission.REVIEW_CLAIMS)
def start(reference: str) -> Response:
    return _button_decision(reference, start_review, _("Examen commencé."))


@bp.post("/<reference>/accept")
@access(Permission.DECIDE_CLAIMS)
def accept_claim(reference: str) -> Response:
    return _button_decision(reference, accept, _("Demande acceptée."))


@bp.post("/<reference>/reject")
@access(Permission.DECIDE_CLAIMS)
def reject_claim(reference: str) -> str | Response:
    claim = _claim_or_404(reference)
    form = RejectForm()
    if not form.validate_on_submit():
        return _back(claim, _("Choisissez un motif et écrivez une explication (10 caractères au moins)."))
    if _stale(claim):
        return _refuse_stale_or_illegal(claim)
    duplicate_of = None
    if form.reason.data == "duplicate":
        duplicate_of = find_claim(form.duplicate_of.data or "")
        if duplicate_of is None or duplicate_of.id == claim.id:
            return _back(claim, _("Indiquez la référence de l’autre demande, celle qui est conservée."))
    try:
        _event, job = reject(
            claim,
            actor=current_user,
            reason_code=form.reason.data,
            reason_text=form.explanation.data,
            duplicate_of=duplicate_of,
        )
    except ReviewError as error:
        return _refuse_stale_or_illegal(claim, error)
    return _decided(claim, _("Demande refusée ; la personne est prévenue par courriel."), job)


@bp.post("/<reference>/request")
@access(Permission.REQUEST_INFORMATION)
def request_info(reference: str) -> Response:
    claim = _claim_or_404(reference)
    form = InfoRequestForm()
    if not form.validate_on_submit():
        return _back(claim, _("Décrivez ce qui manque (10 caractères au moins) et une date limite."))
    if _stale(claim):
        return _refuse_stale_or_illegal(claim)
    try:
        _info, job = request_information(
            claim, actor=current_user, message=form.message.data, due_on=form.due_on.data
        )
    except ReviewError as error:
        if error.code == "bad_deadline":
            db.session.rollback()
            return _back(claim, _("La date limite doit être entre 3 et 90 jours à partir d’aujourd’hui."))
        return _refuse_stale_or_illegal(claim, error)
    return _decided(claim, _("Demande d’informations envoyée."), job)


@bp.post("/<reference>/notes")
@access(Permission.WRITE_NOTES)
def note(reference: str) -> Response:
    claim = _claim_or_404(reference)
    if claim.claimant.erased_at is not None:  # a note is encrypted under the erased claimant's key
        return _back(
            claim, _("Les données de cette demande ont été effacées : elle ne peut plus recevoir de note.")
        )
    form = NoteForm()
    if not form.validate_on_submit():
        return _back(claim, _("La note est vide ou trop longue."))
    add_note(claim, form.body.data, author=current_user)
    db.session.commit()
    return _back(claim, _("Note ajoutée."), "info", "#notes")


@bp.get("/<reference>/evidence/<uuid:evidence_id>/<any(preview, derivative, original):what>")
@access(Permission.VIEW_CLAIMS)
def evidence_file(reference: str, evidence_id: uuid.UUID, what: str) -> Response:
    """A piece of evidence: the sanitised image inline (preview), else always as an attachment."""
    claim = _claim_or_404(reference)
    evidence = db.session.get(Evidence, evidence_id)
    # An erased claim's files wait, unreadable, for the retention purge.
    if evidence is None or evidence.claim_id != claim.id or claim.claimant.erased_at is not None:
        abort(404)
    if what == "original":
        chunks, content_type = open_evidence(evidence), "application/octet-stream"
    else:
        if evidence.derivative_storage_key is None:
            abort(404)
        chunks, content_type = (
            open_derivative(evidence),
            evidence.derivative_type or "application/octet-stream",
        )
        if what == "preview" and content_type != "image/jpeg":
            abort(404)  # only re-encoded images are ever shown inline
    record_event(
        "evidence.previewed" if what == "preview" else "evidence.downloaded",
        actor_type="staff",
        actor_id=current_user.id,
        object_type="claim",
        object_id=claim.id,
        details={"evidence": str(evidence.id), "file": what},
    )
    db.session.commit()
    # Read through first: the vault checks every chunk, a tampered file fails before anything is sent.
    data = b"".join(chunks)
    response = Response(data, content_type=content_type)
    if what != "preview":
        extension = {"image/jpeg": "jpg", "application/pdf": "pdf"}.get(content_type, "bin")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{claim.reference}-{str(evidence.id)[:8]}-{what}.{extension}"'
        )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
