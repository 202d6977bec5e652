"""Filings in the console (/console/filings): lawyers only (MANAGE_FILINGS)."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from ..accounts.access import access, guard, require_recent_auth
from ..accounts.forms import ActionForm
from ..accounts.permissions import Permission
from ..audit.operations import record_event
from ..cases.models import Case, Procedure
from ..claimants.models import Claim
from ..extensions import db
from ..jobs.models import Job, JobStatus
from ..jobs.operations import dispatch
from ..review.labels import STATUS_LABELS
from ..review.models import SavedFilter
from ..review.queue import BadFilter, filter_from_args, filtered
from ..review.saved_filters import visible_filter, visible_filters
from .exports import latest_exports, open_export, start_export
from .forms import PROCEDURE_LABELS, AddBySavedFilterForm, AddClaimsForm, FiledForm, FilingForm
from .models import ExportKind, Filing, FilingExport, FilingState
from .operations import (
    FilingError,
    accepted_not_in_filing,
    add_by_rule,
    add_claims,
    create_filing,
    lock_filing,
    record_filed,
    remove_claim,
)

bp = Blueprint("filings", __name__, url_prefix="/console/filings")
bp.before_request(guard)

REFERENCE = re.compile(r"[A-Z0-9]{2,8}-[A-Z0-9]{4}-[A-Z0-9]{4}")
ERRORS = {
    "locked": lambda: _("Ce dépôt est verrouillé : sa liste ne peut plus changer."),
    "empty": lambda: _("Ajoutez au moins une demande avant de verrouiller."),
    "member_not_in_filing": lambda: _(
        "Ces demandes ne sont plus en dépôt (retirées ?) : enlevez-les d’abord."
    ),
    "evidence_pending": lambda: _(
        "Des pièces de ces demandes sont encore en cours de traitement ; réessayez dans un instant."
    ),
    "not_locked": lambda: _("Verrouillez d’abord le dépôt."),
    "already_filed": lambda: _("La date de dépôt est déjà enregistrée."),
    "future_date": lambda: _("La date de dépôt ne peut pas être dans le futur."),
    "not_a_member": lambda: _("Cette demande n’est pas dans ce dépôt."),
    "export_running": lambda: _("Les documents sont déjà en cours de génération."),
    "filter_of_another_case": lambda: _("Ce filtre enregistré porte sur une autre action que ce dépôt."),
}


def _filters_for(filing: Filing) -> list[SavedFilter]:
    """The saved queue filters the user may see that can apply to the filing: of its case or of none."""
    return [
        f
        for f in visible_filters(current_user)
        if f.args.get("case", str(filing.case_id)) == str(filing.case_id)
    ]


def _saved_filter_form(filing: Filing) -> AddBySavedFilterForm:
    form = AddBySavedFilterForm()
    form.saved_filter.choices = [
        (f.id, f.name if f.owner_id == current_user.id else f"{f.name} — {f.owner.full_name}")
        for f in _filters_for(filing)
    ]
    return form


def _saved_filter_claims(filing: Filing) -> sa.Select[tuple[Claim]]:
    """The claims of the filing's case a saved queue filter selects (404: not a filter the user sees)."""
    form = AddBySavedFilterForm()
    saved = visible_filter(form.saved_filter.data, current_user) if form.validate_on_submit() else None
    if saved is None:
        abort(404)
    if saved.args.get("case", str(filing.case_id)) != str(filing.case_id):
        raise FilingError("filter_of_another_case")
    try:
        queue_filter = filter_from_args(saved.args, current_user.id, strict=True)
    except BadFilter:
        abort(400)
    # The filing's case, whatever the filter says (add_by_rule keeps to it as well).
    return filtered(replace(queue_filter, case_id=filing.case_id))


def _filing_or_404(filing_id: int) -> Filing:
    filing = db.session.get(Filing, filing_id)
    if filing is None:
        abort(404)
    return filing


def _back(filing: Filing, message: str, category: str = "info") -> Response:
    flash(message, category)
    return redirect(url_for("filings.detail", filing_id=filing.id))


def _refused(filing: Filing, error: FilingError) -> Response:
    db.session.rollback()
    message = ERRORS.get(error.code, lambda: error.code)()
    if error.references:
        message += " " + ", ".join(error.references[:20])
    return _back(filing, message, "error")


@bp.get("")
@access(Permission.MANAGE_FILINGS)
def index() -> str:
    filings = db.session.execute(sa.select(Filing).order_by(Filing.created_at.desc())).scalars().all()
    counts = dict(
        db.session.execute(
            sa.select(Filing.id, sa.func.count()).join(Filing.members).group_by(Filing.id)
        ).all()
    )
    return render_template("filings/index.html", filings=filings, counts=counts, procedures=PROCEDURE_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@access(Permission.MANAGE_FILINGS)
def new() -> str | Response:
    form = FilingForm()
    cases = db.session.execute(sa.select(Case).order_by(Case.title)).scalars().all()
    form.case.choices = [(c.id, c.title) for c in cases]
    if request.method == "GET" and cases:
        form.court.data = form.court.data or cases[0].court
        form.procedure.data = form.procedure.data or cases[0].procedure.value
    if form.validate_on_submit():
        filing = create_filing(
            db.session.get_one(Case, form.case.data),
            court=form.court.data,
            chamber=form.chamber.data or "",
            court_case_number=form.court_case_number.data or "",
            procedure=Procedure(form.procedure.data),
            counsel=form.counsel.data,
            actor=current_user,
        )
        db.session.commit()
        return _back(filing, _("Dépôt créé. Ajoutez-y les demandes acceptées."))
    return render_template("filings/new.html", form=form), 400 if form.errors else 200


@bp.get("/<int:filing_id>")
@access(Permission.MANAGE_FILINGS)
def detail(filing_id: int) -> str:
    filing = _filing_or_404(filing_id)
    waiting = db.session.scalar(
        sa.select(sa.func.count()).select_from(accepted_not_in_filing(filing.case_id).subquery())
    )
    job = db.session.get(Job, filing.export_job_id) if filing.export_job_id else None
    exports = latest_exports(filing)
    references = {m.claim_id: m.claim.reference for m in filing.members}
    return render_template(
        "filings/detail.html",
        filing=filing,
        job=job,
        running=job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING),
        pack_files=[e for e in exports if e.kind != ExportKind.BUNDLE],
        bundle_files=sorted(
            (e for e in exports if e.kind == ExportKind.BUNDLE), key=lambda e: references.get(e.claim_id, "")
        ),
        references=references,
        members=sorted(filing.members, key=lambda m: m.position),
        waiting=waiting,
        procedures=PROCEDURE_LABELS,
        status_labels=STATUS_LABELS,
        draft=filing.state == FilingState.DRAFT,
        add_form=AddClaimsForm(),
        saved_filter_form=_saved_filter_form(filing) if filing.state == FilingState.DRAFT else None,
        filed_form=FiledForm(),
        action=ActionForm(),
    )


@bp.post("/<int:filing_id>/add")
@access(Permission.MANAGE_FILINGS)
def add(filing_id: int) -> Response:
    filing = _filing_or_404(filing_id)
    form = AddClaimsForm()
    if not form.validate_on_submit():
        return _back(filing, _("Indiquez au moins une référence."), "error")
    references = sorted(set(REFERENCE.findall(form.references.data.upper())))[:5000]
    claims = db.session.execute(sa.select(Claim).where(Claim.reference.in_(references))).scalars().all()
    try:
        added = add_claims(filing, claims, actor=current_user)
        db.session.commit()
    except FilingError as error:
        return _refused(filing, error)
    skipped = len(references) - added
    message = _("%(n)s demande(s) ajoutée(s).", n=added)
    if skipped:
        message += " " + _(
            "%(n)s ignorée(s) : inconnues, d’une autre action, pas acceptées ou déjà dans un dépôt.",
            n=skipped,
        )
    return _back(filing, message)


@bp.post("/<int:filing_id>/add-by-rule")
@access(Permission.MANAGE_FILINGS)
def add_rule(filing_id: int) -> Response:
    """Every accepted claim of the case not yet in a filing, or only those of a queue filter
    (its fields in the form, or a saved queue filter)."""
    filing = _filing_or_404(filing_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    among = None
    try:
        if "saved_filter" in request.form:
            among = _saved_filter_claims(filing)
        elif any(request.form.get(k) for k in ("status", "assignee", "head", "warnings", "from", "to", "q")):
            try:
                among = filtered(filter_from_args(request.form, current_user.id, strict=True))
            except BadFilter:
                abort(400)
        added = add_by_rule(filing, actor=current_user, among=among)
        db.session.commit()
    except FilingError as error:
        return _refused(filing, error)
    return _back(filing, _("%(n)s demande(s) ajoutée(s).", n=added))


@bp.post("/<int:filing_id>/remove/<reference>")
@access(Permission.MANAGE_FILINGS)
def remove(filing_id: int, reference: str) -> Response:
    filing = _filing_or_404(filing_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    claim = db.session.execute(sa.select(Claim).where(Claim.reference == reference)).scalar_one_or_none()
    if claim is None:
        abort(404)
    try:
        remove_claim(filing, claim, actor=current_user)
        db.session.commit()
    except FilingError as error:
        return _refused(filing, error)
    except StaleDataError:
        db.session.rollback()
        return _back(filing, _("La demande vient d’être modifiée ; réessayez."), "error")
    return _back(filing, _("Demande %(ref)s retirée du dépôt.", ref=reference))


@bp.post("/<int:filing_id>/lock")
@access(Permission.MANAGE_FILINGS)
def lock(filing_id: int) -> Response:
    filing = _filing_or_404(filing_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        lock_filing(filing, actor=current_user)
        db.session.commit()
    except FilingError as error:
        return _refused(filing, error)
    return _back(
        filing, _("Dépôt verrouillé : la liste, la numérotation des pièces et leurs empreintes sont figées.")
    )


@bp.post("/<int:filing_id>/filed")
@access(Permission.MANAGE_FILINGS)
def filed(filing_id: int) -> Response:
    filing = _filing_or_404(filing_id)
    form = FiledForm()
    if not form.validate_on_submit():
        return _back(filing, _("Indiquez la date du dépôt."), "error")
    try:
        count = record_filed(filing, form.filed_on.data, actor=current_user)
        db.session.commit()
    except FilingError as error:
        return _refused(filing, error)
    return _back(filing, _("Dépôt enregistré : %(n)s demande(s) déposée(s).", n=count))


@bp.post("/<int:filing_id>/export")
@access(Permission.MANAGE_FILINGS)
def export(filing_id: int) -> Response:
    """Generate the bundles and the pack in background jobs (never in this request)."""
    filing = _filing_or_404(filing_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        job = start_export(filing, actor=current_user)
        db.session.commit()
    except FilingError as error:
        return _refused(filing, error)
    dispatch(job)
    return _back(filing, _("Génération lancée : la progression s’affiche ci-dessous."))


DOWNLOAD_NAMES = {
    ExportKind.PACK_PDF: ("depot-{id}.pdf", "application/pdf"),
    ExportKind.PACK_ZIP: ("depot-{id}-actes.zip", "application/zip"),
    ExportKind.PACK_CSV: ("depot-{id}-liste.csv", "text/csv; charset=utf-8"),
    ExportKind.BUNDLE: ("depot-{id}-{ref}.pdf", "application/pdf"),
}


@bp.get("/<int:filing_id>/files/<uuid:export_id>")
@access(Permission.MANAGE_FILINGS)
@require_recent_auth
def download(filing_id: int, export_id: uuid.UUID) -> Response:
    """A generated file, as an attachment (re-authentication required; audited)."""
    filing = _filing_or_404(filing_id)
    generated = db.session.get(FilingExport, export_id)
    if generated is None or generated.filing_id != filing.id:
        abort(404)
    record_event(
        "filing.file_downloaded",
        actor_type="staff",
        actor_id=current_user.id,
        object_type="filing",
        object_id=filing.id,
        details={"file": str(generated.id), "kind": generated.kind.value},
    )
    db.session.commit()
    name, content_type = DOWNLOAD_NAMES[generated.kind]
    reference = db.session.get_one(Claim, generated.claim_id).reference if generated.claim_id else ""
    response = Response(stream_with_context(open_export(generated)), content_type=content_type)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{name.format(id=filing.id, ref=reference)}"'
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Content-Length"] = str(generated.size)
    return response
