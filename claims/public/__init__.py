"""Public pages: the case list (the intake issue grows this into the case page and form)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template

from ..cases.models import Case, CaseStatus
from ..extensions import db

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> str:
    """The case page itself when one action is open, the list when several are."""
    cases = (
        db.session.execute(sa.select(Case).where(Case.status == CaseStatus.OPEN).order_by(Case.created_at))
        .scalars()
        .all()
    )
    if len(cases) == 1:
        from ..intake.routes import case_page

        return case_page(cases[0].slug)
    return render_template("public/index.html", cases=cases)


@bp.get("/healthz")
def healthz() -> tuple[str, int, dict[str, str]]:
    """For load balancers and monitoring: the database answers."""
    db.session.execute(sa.text("SELECT 1"))
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}
