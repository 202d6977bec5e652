"""The review console's reports: the dashboard and the CSV export of the queue.

The dashboard is a handful of SQL aggregates (GROUP BY), never a walk over the
claims; its chart is an SVG drawn on the server (the CSP allows no script and
no inline style). The export streams the current queue filter in batches, so
memory stays flat however many claims it holds; every cell a spreadsheet could
read as a formula is neutralised, and the export is audited (counts and filter
codes, never a name or a search term).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import defer, joinedload
from werkzeug.wrappers import Response as WerkzeugResponse

from ..accounts.access import access, guard, require_recent_auth
from ..accounts.permissions import Permission
from ..audit.operations import record_event
from ..cases.models import Case
from ..claimants.models import Claim, Claimant, ClaimHarm, ClaimStatus
from ..crypto import KeyDestroyed
from ..documents import euros
from ..evidence.models import Evidence
from ..extensions import db
from ..i18n import current_language
from ..types import utcnow
from .labels import STATUS_LABELS
from .models import InfoRequest, InfoRequestStatus
from .queue import (
    QUEUE_STATUSES,
    BadFilter,
    QueueFilter,
    SearchNotUnderstood,
    filter_from_args,
    filtered,
    with_claimant,
)

reports_bp = Blueprint("reports", __name__, url_prefix="/console")
reports_bp.before_request(guard)

CHART_DAYS = 30
BACKLOG_STATUSES = (ClaimStatus.SUBMITTED, ClaimStatus.IN_REVIEW, ClaimStatus.NEEDS_INFO)
EXPORT_BATCH = 500
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# The chart's geometry, in SVG user units (the viewBox scales it to the page).
CHART_WIDTH = 640
CHART_HEIGHT = 220
CHART_LEFT = 36
CHART_RIGHT = 8
CHART_TOP = 12
CHART_BOTTOM = 28


# Dashboard -----------------------------------------------------------------------


@dataclass(frozen=True)
class HeadRow:
    case_title: str
    code: str
    label: str
    claims: int
    amount: Decimal


@dataclass(frozen=True)
class Bar:
    day: date
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    days: list[tuple[date, int]]
    bars: list[Bar]
    maximum: int
    total: int
    # x positions of the day labels under the axis.
    ticks: list[tuple[date, float]]


def _day_of(column: Any) -> sa.ColumnElement[Any]:
    """The UTC calendar day of a timestamp, on PostgreSQL and on SQLite (stored as naive UTC)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.func.date(sa.func.timezone("UTC", column))
    return sa.func.date(column)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def head_labels(cases: Sequence[Case], language: str) -> dict[tuple[int, str], str]:
    """(case id, head code) -> the head's label in the interface language."""
    labels = {}
    for case in cases:
        for head in case.heads_of_damage:
            labels[case.id, head["code"]] = (
                head.get(f"label_{language}") or head.get("label_fr") or head["code"]
            )
    return labels


def status_counts() -> list[tuple[ClaimStatus, int]]:
    counts = dict(
        db.session.execute(
            sa.select(Claim.status, sa.func.count())
            .where(Claim.status != ClaimStatus.DRAFT)
            .group_by(Claim.status)
        ).all()
    )
    return [(status, counts.get(status, 0)) for status in QUEUE_STATUSES]


def head_rows(language: str) -> list[HeadRow]:
    """Claims and amounts per head of damage and case, drafts left out."""
    grouped = db.session.execute(
        sa.select(Claim.case_id, ClaimHarm.head, sa.func.count(), sa.func.sum(ClaimHarm.amount))
        .join(Claim, ClaimHarm.claim_id == Claim.id)
        .where(Claim.status != ClaimStatus.DRAFT)
        .group_by(Claim.case_id, ClaimHarm.head)
    ).all()
    case_ids = {row[0] for row in grouped}
    cases = (
        db.session.execute(sa.select(Case).where(Case.id.in_(case_ids))).scalars().all() if case_ids else []
    )
    labels = head_labels(cases, language)
    titles = {case.id: case.title for case in cases}
    rows = [
        HeadRow(titles.get(case_id, ""), head, labels.get((case_id, head), head), count, _money(amount))
        for case_id, head, count, amount in grouped
    ]
    return sorted(rows, key=lambda r: (r.case_title, -r.claims, r.label))


def _money(value: Decimal | float | int | None) -> Decimal:
    # SQLite sums NUMERIC as a float: back to cents.
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def total_claimed() -> Decimal:
    total = db.session.execute(
        sa.select(sa.func.sum(ClaimHarm.amount))
        .join(Claim, ClaimHarm.claim_id == Claim.id)
        .where(Claim.status != ClaimStatus.DRAFT)
    ).scalar_one()
    return _money(total)


def backlog(today: date) -> tuple[int, int | None]:
    """Claims waiting for staff, and the age in days of the oldest one (None if none)."""
    count, oldest = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(Claim.submitted_at)).where(Claim.status.in_(BACKLOG_STATUSES))
    ).one()
    if oldest is None:
        return count, None
    return count, max((today - oldest.date()).days, 0)


def overdue_requests(today: date) -> int:
    return db.session.execute(
        sa.select(sa.func.count())
        .select_from(InfoRequest)
        .where(InfoRequest.status == InfoRequestStatus.OPEN, InfoRequest.due_on < today)
    ).scalar_one()


def submissions_per_day(today: date, days: int = CHART_DAYS) -> list[tuple[date, int]]:
    """Claims submitted on each of the last ``days`` UTC days, today included (zeros kept)."""
    first = today - timedelta(days=days - 1)
    day = _day_of(Claim.submitted_at)
    counts = {
        _as_date(value): count
        for value, count in db.session.execute(
            sa.select(day, sa.func.count())
            .where(
                Claim.status != ClaimStatus.DRAFT,
                Claim.submitted_at >= datetime.combine(first, time.min, tzinfo=UTC),
            )
            .group_by(day)
        ).all()
        if value is not None
    }
    return [(first + timedelta(days=i), counts.get(first + timedelta(days=i), 0)) for i in range(days)]


def chart(days: list[tuple[date, int]]) -> Chart:
    """Bar geometry for the SVG: one bar per day with claims, scaled to the busiest day."""
    maximum = max((count for _day, count in days), default=0)
    plot_width = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    slot = plot_width / max(len(days), 1)
    bars = []
    ticks = []
    for i, (day, count) in enumerate(days):
        x = CHART_LEFT + i * slot
        if (len(days) - 1 - i) % 7 == 0:  # weekly, ending today
            ticks.append((day, round(x + slot / 2, 1)))
        if count:
            height = plot_height * count / maximum
            bars.append(
                Bar(
                    day,
                    count,
                    x=round(x + slot * 0.15, 1),
                    y=round(CHART_TOP + plot_height - height, 1),
                    width=round(slot * 0.7, 1),
                    height=round(height, 1),
                )
            )
    return Chart(days, bars, maximum, sum(count for _day, count in days), ticks)


@reports_bp.get("/dashboard")
@access(Permission.VIEW_CLAIMS)
def dashboard() -> str:
    today = utcnow().date()
    language = current_language()
    backlog_count, oldest_days = backlog(today)
    return render_template(
        "console/dashboard.html",
        statuses=status_counts(),
        status_labels=STATUS_LABELS,
        heads=head_rows(language),
        total=euros(total_claimed()),
        euros=euros,
        backlog_count=backlog_count,
        oldest_days=oldest_days,
        overdue=overdue_requests(date.today()),
        chart=chart(submissions_per_day(today)),
        geometry={
            "width": CHART_WIDTH,
            "height": CHART_HEIGHT,
            "left": CHART_LEFT,
            "right": CHART_WIDTH - CHART_RIGHT,
            "top": CHART_TOP,
            "baseline": CHART_HEIGHT - CHART_BOTTOM,
        },
    )


# Export --------------------------------------------------------------------------


def filter_codes(queue_filter: QueueFilter, user_id: uuid.UUID) -> str:
    """The filter for the audit log: codes and dates, never the search term or a person."""
    f = queue_filter
    codes = []
    if f.case_id is not None:
        codes.append(f"case={f.case_id}")
    if f.status is not None:
        codes.append(f"status={f.status.value}")
    if f.assignee is not None:
        codes.append(
            "assignee=" + ("me" if f.assignee == user_id else "none" if f.assignee == "none" else "user")
        )
    if f.head:
        codes.append(f"head={f.head}")
    if f.has_warnings:
        codes.append("warnings")
    if f.overdue:
        codes.append("overdue")
    if f.submitted_from:
        codes.append(f"from={f.submitted_from.isoformat()}")
    if f.submitted_to:
        codes.append(f"to={f.submitted_to.isoformat()}")
    if f.search:
        codes.append("search")
    if f.oldest_first:
        codes.append("order=oldest")
    return ",".join(codes) or "all"


def safe_cell(value: object) -> str:
    """A cell no spreadsheet will run: a leading formula character gets a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _amount(value: Decimal) -> str:
    # French spreadsheets read "1500,00" as a number; no thousands separator, no symbol.
    return f"{value:.2f}".replace(".", ",")


def _personal(claimant: Claimant) -> list[str | None]:
    try:
        return [
            claimant.last_name,
            claimant.first_name,
            claimant.email,
            claimant.phone,
            claimant.postal_code,
            claimant.city,
        ]
    except KeyDestroyed:  # erased claimant: the claim stays, the person is gone
        return [None] * 6


def export_header() -> list[str]:
    return [
        _("Référence"),
        _("Statut"),
        _("Déposée le"),
        _("Nom"),
        _("Prénom"),
        _("Courriel"),
        _("Téléphone"),
        _("Code postal"),
        _("Ville"),
        _("Chefs de préjudice"),
        _("Montant total (€)"),
        _("Pièces"),
        _("Attribuée à"),
    ]


def export_rows(claims: Sequence[Claim], labels: Mapping[tuple[int, str], str]) -> Iterator[list[str]]:
    """CSV rows for one batch of claims, with its harms and evidence counts in two grouped queries."""
    ids = [claim.id for claim in claims]
    harms: dict[uuid.UUID, list[tuple[str, Decimal]]] = defaultdict(list)
    for claim_id, head, amount in db.session.execute(
        sa.select(ClaimHarm.claim_id, ClaimHarm.head, ClaimHarm.amount)
        .where(ClaimHarm.claim_id.in_(ids))
        .order_by(ClaimHarm.claim_id, ClaimHarm.head)
    ):
        harms[claim_id].append((head, _money(amount)))
    evidence = dict(
        db.session.execute(
            sa.select(Evidence.claim_id, sa.func.count())
            .where(Evidence.claim_id.in_(ids))
            .group_by(Evidence.claim_id)
        ).all()
    )
    for claim in claims:
        claim_harms = harms.get(claim.id, [])
        row: list[object] = [
            claim.reference,
            claim.status.value,
            claim.submitted_at.isoformat() if claim.submitted_at else "",
            *_personal(claim.claimant),
            ", ".join(labels.get((claim.case_id, head), head) for head, _amount_ in claim_harms),
            _amount(sum((amount for _head, amount in claim_harms), Decimal("0.00"))),
            evidence.get(claim.id, 0),
            claim.assignee.full_name if claim.assignee else "",
        ]
        yield [safe_cell(cell) for cell in row]


def _csv_text(rows: Iterator[list[str]] | list[list[str]]) -> str:
    buffer = io.StringIO()
    # Semicolons: what a French spreadsheet expects, and amounts carry a decimal comma.
    csv.writer(buffer, delimiter=";").writerows(rows)
    return buffer.getvalue()


def stream_export(query: sa.Select[tuple[Claim]], header: list[str], language: str) -> Iterator[str]:
    """The CSV, batch by batch: only one batch of claims is in memory at a time."""
    yield "\ufeff" + _csv_text([header])
    labels = head_labels(db.session.execute(sa.select(Case)).scalars().all(), language)
    result = db.session.execute(query.execution_options(yield_per=EXPORT_BATCH)).scalars()
    for batch in result.partitions():
        # The identity map holds loaded claims weakly: a written batch is let go.
        yield _csv_text(export_rows(batch, labels))


@reports_bp.get("/claims/export.csv")
@access(Permission.EXPORT_DATA)
@require_recent_auth
def export_claims() -> WerkzeugResponse:
    try:
        queue_filter = filter_from_args(request.args, current_user.id, strict=True)
    except BadFilter:
        abort(400)  # never an export wider than the filter asked
    try:
        query = filtered(queue_filter)
    except SearchNotUnderstood:
        # Back to the queue, without the term (it may be a person's name or number).
        flash(
            _(
                "Recherche non comprise : saisissez une référence, un courriel, un téléphone, un NIR, "
                "ou un nom suivi de la date de naissance (JJ/MM/AAAA)."
            ),
            "error",
        )
        keep = {k: v for k, v in request.args.items() if k != "q" and v}
        return redirect(url_for("review.queue", **keep))
    rows = db.session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    record_event(
        "claims.exported",
        actor_type="staff",
        actor_id=current_user.id,
        object_type="claim_export",
        details={"rows": rows, "filter": filter_codes(queue_filter, current_user.id)},
    )
    db.session.commit()
    key = (Claim.submitted_at, Claim.id)
    order = [k.asc() for k in key] if queue_filter.oldest_first else [k.desc() for k in key]
    query = (
        with_claimant(query)
        .order_by(*order)
        .options(
            joinedload(Claim.assignee),
            defer(Claim.statement_ct),
            defer(Claim.extra_ct),
            defer(Claim.eligibility_answers_ct),
        )
    )
    filename = f"claims-{utcnow():%Y%m%d}.csv"
    response = Response(
        stream_with_context(stream_export(query, export_header(), current_language())),
        mimetype="text/csv",
    )
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
