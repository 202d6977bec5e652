"""Intake views: thin. Parse the step's form, call one operation, commit, redirect."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from ..cases.models import Case, CaseStatus
from ..claimants.models import Claim, ClaimStatus
from ..evidence.checks import UploadRefused
from ..evidence.models import Evidence, EvidenceKind
from ..evidence.operations import MAX_FILES_PER_CLAIM, add_claim_evidence
from ..extensions import db, limiter
from ..i18n import current_language
from ..jobs.operations import dispatch
from . import bp
from .forms import (
    EVIDENCE_LABELS,
    ConsentForm,
    ContactForm,
    EvidenceForm,
    IdentityForm,
    ResumeForm,
    details_form,
    eligibility_form,
    harm_form,
)
from .operations import (
    BASE_STEPS,
    IntakeError,
    current_texts,
    find_claim_by_token,
    find_draft_by_email,
    missing_steps,
    save_details,
    save_eligibility,
    save_fields,
    save_harms,
    send_resume_link,
    start_draft,
    steps_for,
    submit_claim,
    use_resume_link,
)

_CASE_BY_SLUG = sa.select(Case).where(Case.slug == sa.bindparam("slug"))  # every request: built once


def _case(slug: str) -> Case:
    """The open case of the URL, looked up once per request (the start limit asks first)."""
    if g.get("intake_case_slug") != slug:
        g.intake_case = db.session.execute(_CASE_BY_SLUG, {"slug": slug}).scalar_one_or_none()
        g.intake_case_slug = slug
    case: Case | None = g.intake_case
    if case is None or case.status != CaseStatus.OPEN:
        abort(404)
    return case


def _draft(case: Case) -> Claim | None:
    """The claim of the draft cookie, looked up once per request (the start limit asks first)."""
    if "intake_draft" not in g:
        g.intake_draft = find_claim_by_token(
            case, request.cookies.get(current_app.config["DRAFT_COOKIE_NAME"])
        )
    return g.intake_draft  # type: ignore[no-any-return]


def _require_draft(case: Case, claim: Claim | None) -> Claim:
    if claim is None:
        flash(
            _(
                "Votre session a expiré ou a été ouverte dans un autre navigateur. Reprenez avec le lien "
                "reçu par courriel, ou commencez une nouvelle demande."
            ),
            "error",
        )
        abort(redirect(url_for("intake.case_page", slug=case.slug)))
    if claim.status == ClaimStatus.SUBMITTED:
        abort(redirect(url_for("intake.receipt", slug=case.slug)))
    return claim


def _steps(case: Case) -> list[str]:
    """The case's steps, read once per request (not again after the commit expires the case)."""
    if "intake_steps" not in g:
        g.intake_steps = steps_for(case)
    return g.intake_steps  # type: ignore[no-any-return]


def _next_step(case: Case, step: str) -> str:
    steps = _steps(case)
    return steps[min(steps.index(step) + 1, len(steps) - 1)]


def _go(case: Case, step: str) -> Response:
    # The slug from the URL: reading case.slug after a commit would reload the case.
    slug = (request.view_args or {}).get("slug") or case.slug  # (not a default: it would be evaluated)
    return redirect(url_for("intake.step", slug=slug, step=step))


@bp.get("/c/<slug>")
def case_page(slug: str) -> str:
    case = _case(slug)
    texts = current_texts(case, current_language())
    draft = _draft(case)
    steps = _steps(case)
    if draft is not None and draft.status == ClaimStatus.DRAFT:  # resumed where it was left
        first = next((s for s in steps if s not in draft.completed_steps), steps[0])
    else:
        first = steps[0]
    return render_template("intake/case.html", case=case, texts=texts, draft=draft, first_step=first)


def _new_claim(slug: str, step: str) -> bool:
    """The first step with no draft in progress: its answers make the draft (one request,
    not a "start" and then a step). A submitted claim's cookie does not stand in the way of
    a new claim from the same browser."""
    if step != BASE_STEPS[0]:
        return False
    draft = _draft(_case(slug))
    return draft is None or draft.status != ClaimStatus.DRAFT


def _starting(slug: str, step: str) -> bool:
    """This request starts a claim: the first step's answers sent with no draft yet."""
    return request.method == "POST" and _new_claim(slug, step)


@bp.route("/c/<slug>/demande/<step>", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["INTAKE_SUBMIT_RATE_LIMIT"],
    methods=["POST"],
    exempt_when=lambda: (request.view_args or {}).get("step") != "consent",
)
@limiter.shared_limit(
    lambda: current_app.config["INTAKE_START_RATE_LIMIT"],
    scope="intake-start",
    exempt_when=lambda: not _starting(**(request.view_args or {})),
)
def step(slug: str, step: str) -> str | Response:
    case = _case(slug)
    steps = _steps(case)
    if step not in steps:
        abort(404)
    if _new_claim(slug, step):  # the case page's button leads here
        return _eligibility(case, None)
    claim = _require_draft(case, _draft(case))
    handler = STEP_HANDLERS[step]
    return handler(case, claim)


def _render(case: Case, claim: Claim | None, step: str, template: str | None = None, **context: Any) -> str:
    steps = _steps(case)
    return render_template(
        f"intake/step_{template or step}.html",
        case=case,
        claim=claim,
        step=step,
        steps=steps,
        position=steps.index(step) + 1,
        **context,
    )


def _eligibility(case: Case, claim: Claim | None) -> str | Response:
    """The first step; ``claim`` None: no draft yet, made when the answers are sent."""
    answered = claim.eligibility_answers if claim is not None else None
    saved = {f"q_{k}": ("yes" if v else "no") for k, v in (answered or {}).items()}
    form = (
        eligibility_form(case.eligibility_questions, current_language(), **saved)
        if request.method == "GET"
        else eligibility_form(case.eligibility_questions, current_language(), formdata=request.form)
    )
    if request.method == "POST" and form.validate():
        answers = {q["code"]: form[f"q_{q['code']}"].data == "yes" for q in case.eligibility_questions}
        if claim is None:
            claim, g.draft_token = start_draft(case, request.remote_addr)
        failed = save_eligibility(claim, answers)
        db.session.commit()
        if failed:
            return _render(case, claim, "eligibility", "not_eligible", failed=failed, lang=current_language())
        return _go(case, _next_step(case, "eligibility"))
    return _render(case, claim, "eligibility", form=form)


def _simple(form_class: type, step_name: str, fields: tuple[str, ...]) -> Any:
    def handler(case: Case, claim: Claim) -> str | Response:
        if request.method == "GET":
            form = form_class(
                formdata=None,
                data={
                    f: getattr(claim.claimant, f) for f in fields if getattr(claim.claimant, f) is not None
                },
            )
        else:
            form = form_class()
        if request.method == "POST" and form.validate_on_submit():
            save_fields(claim, step_name, {f: form[f].data for f in fields})
            db.session.commit()
            return _go(case, _next_step(case, step_name))
        return _render(case, claim, step_name, "fields", form=form)

    return handler


def _details(case: Case, claim: Claim) -> str | Response:
    test = (claim.extra or {}).get("covid_test") or {}
    if request.method == "GET":
        form = details_form(case.optional_fields, nir=claim.claimant.nir, test_place=test.get("place"))
    else:
        form = details_form(case.optional_fields, formdata=request.form)
    if request.method == "POST" and form.validate():
        covid = None
        if "covid_test" in case.optional_fields:
            covid = {
                "date": form.test_date.data.isoformat() if form.test_date.data else "",
                "place": (form.test_place.data or "").strip(),
            }
        save_details(claim, form.nir.data if "nir" in case.optional_fields else None, covid)
        db.session.commit()
        return _go(case, _next_step(case, "details"))
    return _render(case, claim, "details", "fields", form=form)


def _harm(case: Case, claim: Claim) -> str | Response:
    heads = case.heads_of_damage
    if request.method == "GET":
        data: dict[str, Any] = {"statement": claim.statement}
        for harm in claim.harms:
            data[f"claim_{harm.head}"], data[f"amount_{harm.head}"] = True, harm.amount
        for head in heads:
            data.setdefault(f"amount_{head['code']}", None)
        form = harm_form(heads, current_language(), **data)
    else:
        form = harm_form(heads, current_language(), formdata=request.form)
    if request.method == "POST" and form.validate():
        amounts = {
            h["code"]: form[f"amount_{h['code']}"].data for h in heads if form[f"claim_{h['code']}"].data
        }
        save_harms(claim, amounts, form.statement.data)
        db.session.commit()
        return _go(case, _next_step(case, "harm"))
    return _render(case, claim, "harm", form=form, heads=heads, lang=current_language())


def _evidence(case: Case, claim: Claim) -> str | Response:
    form = EvidenceForm()
    if request.method == "POST" and request.form.get("done"):
        return _go(case, _next_step(case, "evidence"))
    if request.method == "POST" and form.validate_on_submit():
        upload = form.file.data
        try:
            add_claim_evidence(
                claim, upload.stream, kind=EvidenceKind(form.kind.data), filename=upload.filename
            )
        except UploadRefused as refused:
            db.session.rollback()
            form.file.errors.append(refused.message)
        else:
            # The original is durable; its derivative is made once the claim is submitted.
            db.session.commit()
            flash(_("Pièce ajoutée."), "info")
            return _go(case, "evidence")
    return _render(case, claim, "evidence", form=form, labels=EVIDENCE_LABELS, max_files=MAX_FILES_PER_CLAIM)


@bp.post("/c/<slug>/demande/evidence/<uuid:evidence_id>/remove")
def remove_evidence(slug: str, evidence_id: uuid.UUID) -> Response:
    case = _case(slug)
    claim = _require_draft(case, _draft(case))
    evidence = db.session.get(Evidence, evidence_id)
    if evidence is None or evidence.claim_id != claim.id:
        abort(404)
    db.session.delete(evidence)  # the stored files go with the next vault sweep
    db.session.commit()
    return _go(case, "evidence")


def _review(case: Case, claim: Claim) -> str | Response:
    if request.method == "POST":
        return _go(case, "consent")
    labels = {
        h["code"]: (h["label_en"] if current_language() == "en" else h["label_fr"])
        for h in case.heads_of_damage
    }
    return _render(
        case,
        claim,
        "review",
        missing=missing_steps(claim),
        harm_labels=labels,
        evidence_labels=EVIDENCE_LABELS,
    )


def _consent(case: Case, claim: Claim) -> str | Response:
    form = ConsentForm()
    if request.method == "GET":
        form.idempotency_key.data = secrets.token_urlsafe(24)
    if request.method == "POST" and form.validate_on_submit():
        if missing_steps(claim):
            flash(_("Certaines étapes ne sont pas terminées : complétez-les avant de signer."), "error")
            return _go(case, missing_steps(claim)[0])
        try:
            jobs = submit_claim(
                claim,
                signature=form.signature.data,
                legal_aid=form.legal_aid.data,
                honeypot=form.website.data or "",
                language=current_language(),
                remote_addr=request.remote_addr,
                idempotency_key=form.idempotency_key.data or "",
            )
            db.session.commit()
            for job in jobs:
                dispatch(job)
        except (StaleDataError, sa.exc.IntegrityError):
            # A double click: the other request submitted it; same receipt.
            db.session.rollback()
        except IntakeError:
            db.session.rollback()
            return _go(case, "review")
        return redirect(url_for("intake.receipt", slug=case.slug))
    return _render(case, claim, "consent", form=form, texts=current_texts(case, current_language()))


@bp.get("/c/<slug>/recu")
def receipt(slug: str) -> str | Response:
    case = _case(slug)
    claim = _draft(case)
    if claim is None or claim.status != ClaimStatus.SUBMITTED:
        return redirect(url_for("intake.case_page", slug=case.slug))
    return render_template("intake/receipt.html", case=case, claim=claim)


STEP_HANDLERS = {
    "eligibility": _eligibility,
    "identity": _simple(
        IdentityForm, "identity", ("civility", "first_name", "last_name", "birth_date", "birth_place")
    ),
    "contact": _simple(
        ContactForm,
        "contact",
        ("address_line1", "address_line2", "postal_code", "city", "country", "email", "phone"),
    ),
    "details": _details,
    "harm": _harm,
    "evidence": _evidence,
    "review": _review,
    "consent": _consent,
}


# Save and resume -----------------------------------------------------------------------


def _resume_url(case: Case) -> Any:
    return lambda token: url_for("intake.resume_with_link", slug=case.slug, token=token, _external=True)


@bp.route("/c/<slug>/reprendre", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESUME_LINK_RATE_LIMIT"], methods=["POST"])
def resume(slug: str) -> str | Response:
    case = _case(slug)
    form = ResumeForm()
    if form.validate_on_submit():
        claim = find_draft_by_email(case, form.email.data)
        if claim is not None:
            job = send_resume_link(claim, _resume_url(case))
            db.session.commit()
            dispatch(job)
        # The same answer whether or not a draft matched the address.
        return render_template("intake/resume_sent.html", case=case)
    return render_template("intake/resume.html", case=case, form=form)


@bp.post("/c/<slug>/demande/save-for-later")
@limiter.limit(lambda: current_app.config["RESUME_LINK_RATE_LIMIT"])
def save_for_later(slug: str) -> str | Response:
    case = _case(slug)
    claim = _require_draft(case, _draft(case))
    if not claim.claimant.email:
        flash(
            _("Indiquez d’abord votre adresse électronique (étape Coordonnées) pour recevoir un lien."),
            "error",
        )
        return _go(case, "contact")
    job = send_resume_link(claim, _resume_url(case))
    db.session.commit()
    dispatch(job)
    return render_template("intake/resume_sent.html", case=case)


@bp.get("/c/<slug>/reprendre/<token>")
def resume_with_link(slug: str, token: str) -> str | Response:
    case = _case(slug)
    resumed = use_resume_link(case, token)
    if resumed is None:
        db.session.rollback()
        return render_template("intake/resume_invalid.html", case=case), 404
    claim, new_token = resumed
    db.session.commit()
    g.draft_token = new_token
    missing = [s for s in steps_for(case) if s not in claim.completed_steps]
    return _go(case, missing[0] if missing else "review")
