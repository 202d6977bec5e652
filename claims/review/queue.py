"""The review queue: filters, exact search through the blind indexes, keyset pagination.

Pages are cut by (submitted_at, id), newest first by default: the last page
costs what the first does (no OFFSET), and the composite index
``ix_claims_queue`` serves each filter on case and status. Nothing here
searches an encrypted column: a search term is normalised and turned into
a blind index, then matched exactly.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from ..claimants.models import Claim, Claimant, ClaimHarm, ClaimStatus
from ..crypto import compute_blind_index
from ..crypto.blind_index import normalise_email, normalise_identity, normalise_nir, normalise_phone
from ..evidence.models import Evidence, EvidenceStatus
from ..extensions import db
from .models import InfoRequest, InfoRequestStatus

PAGE_SIZE = 50
# A claim completed faster than this is flagged: nobody reads the notice and types it all in 2 minutes.
FAST_FORM_SECONDS = 120
# More claims than this from one address in a day is flagged.
SAME_IP_DAY_LIMIT = 3
REFERENCE = re.compile(r"^[A-Z0-9]{2,8}-[A-Z0-9]{4}-[A-Z0-9]{4}$")
IDENTITY = re.compile(r"^(?P<name>.+?)\s+(?P<date>\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4})$")
QUEUE_STATUSES = tuple(s for s in ClaimStatus if s != ClaimStatus.DRAFT)
FLAGGED_EVIDENCE = (EvidenceStatus.FLAGGED, EvidenceStatus.REJECTED)


@dataclass(frozen=True)
class QueueFilter:
    case_id: int | None = None
    status: ClaimStatus | None = None
    # None: anyone; "none": unassigned; else a user id.
    assignee: uuid.UUID | str | None = None
    head: str | None = None
    has_warnings: bool = False
    overdue: bool = False
    submitted_from: date | None = None
    submitted_to: date | None = None
    search: str | None = None
    oldest_first: bool = False


@dataclass
class QueueRow:
    claim: Claim
    evidence_count: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class QueuePage:
    rows: list[QueueRow]
    # Cursors for the links: None when there is nothing that way.
    next_cursor: str | None
    prev_cursor: str | None


class SearchNotUnderstood(ValueError):
    """The term is none of: reference, email, phone, NIR, last name + birth date."""


def search_condition(term: str) -> sa.ColumnElement[bool]:
    """An exact match on the reference or a blind index; raises SearchNotUnderstood."""
    term = term.strip()
    if REFERENCE.match(term.upper()):
        return Claim.reference == term.upper()
    if "@" in term:
        return Claimant.email_bidx == compute_blind_index("email", normalise_email(term))
    digits = re.sub(r"[\s.\-]", "", term)
    if re.fullmatch(r"[12]\d{12}(\d{2})?|[12]\d{4}2[AB]\d{6}(\d{2})?", digits, re.IGNORECASE):
        return Claimant.nir_bidx == compute_blind_index("nir", normalise_nir(term))
    if re.fullmatch(r"\+?\d{9,15}", digits):
        try:
            normalised = normalise_phone(term)
        except (ValueError, phonenumbers.NumberParseException):
            raise SearchNotUnderstood(term) from None
        return Claimant.phone_bidx == compute_blind_index("phone", normalised)
    identity = IDENTITY.match(term)
    if identity:
        raw = identity["date"]
        try:
            born = date.fromisoformat(raw) if "-" in raw else datetime.strptime(raw, "%d/%m/%Y").date()
        except ValueError:
            raise SearchNotUnderstood(term) from None
        return Claimant.identity_bidx == compute_blind_index(
            "identity", normalise_identity(identity["name"], born)
        )
    raise SearchNotUnderstood(term)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def warnings_condition() -> sa.ColumnElement[bool]:
    """Claims with at least one of the warning badges ``describe`` shows (overdue has its own
    filter): every part is an index lookup per claim."""
    flagged_evidence = (
        sa.select(Evidence.id)
        .where(Evidence.claim_id == Claim.id, Evidence.status.in_(FLAGGED_EVIDENCE))
        .exists()
    )
    other = sa.orm.aliased(Claimant)
    shared = (
        sa.select(other.id)
        .where(
            other.id != Claimant.id,
            sa.or_(
                sa.and_(Claimant.email_bidx.is_not(None), other.email_bidx == Claimant.email_bidx),
                sa.and_(Claimant.phone_bidx.is_not(None), other.phone_bidx == Claimant.phone_bidx),
                sa.and_(Claimant.nir_bidx.is_not(None), other.nir_bidx == Claimant.nir_bidx),
                sa.and_(Claimant.identity_bidx.is_not(None), other.identity_bidx == Claimant.identity_bidx),
                sa.and_(Claimant.address_bidx.is_not(None), other.address_bidx == Claimant.address_bidx),
            ),
        )
        .exists()
    )
    same_day = sa.orm.aliased(Claim)
    same_ip = (
        sa.select(sa.func.count())
        .where(
            same_day.source_ip_day_bidx == Claim.source_ip_day_bidx,
            same_day.status != ClaimStatus.DRAFT,
        )
        .scalar_subquery()
    )
    return sa.or_(
        Claim.honeypot_filled.is_(True),
        Claim.form_seconds < FAST_FORM_SECONDS,
        flagged_evidence,
        shared,
        sa.and_(Claim.source_ip_day_bidx.is_not(None), same_ip > SAME_IP_DAY_LIMIT),
    )


def overdue_condition(today: date | None = None) -> sa.ColumnElement[bool]:
    today = today or date.today()
    return (
        sa.select(InfoRequest.id)
        .where(
            InfoRequest.claim_id == Claim.id,
            InfoRequest.status == InfoRequestStatus.OPEN,
            InfoRequest.due_on < today,
        )
        .exists()
    )


def filtered(queue_filter: QueueFilter) -> sa.Select[tuple[Claim]]:
    """The claims the filter selects, unordered (the page adds order and limit)."""
    f = queue_filter
    query = sa.select(Claim).join(Claim.claimant)
    if f.status is not None:
        query = query.where(Claim.status == f.status)
    else:
        # Every claim but drafts: submitted_at is set exactly then (a constraint holds it), and
        # this range of the (submitted_at, id) indexes comes in the queue's order.
        query = query.where(Claim.submitted_at.is_not(None))
    if f.case_id is not None:
        query = query.where(Claim.case_id == f.case_id)
    if f.assignee == "none":
        query = query.where(Claim.assignee_id.is_(None))
    elif f.assignee is not None:
        query = query.where(Claim.assignee_id == f.assignee)
    if f.head:
        query = query.where(
            sa.select(ClaimHarm.id).where(ClaimHarm.claim_id == Claim.id, ClaimHarm.head == f.head).exists()
        )
    if f.has_warnings:
        query = query.where(warnings_condition())
    if f.overdue:
        query = query.where(overdue_condition())
    if f.submitted_from:
        query = query.where(Claim.submitted_at >= _day_start(f.submitted_from))
    if f.submitted_to:
        query = query.where(Claim.submitted_at < _day_start(f.submitted_to + timedelta(days=1)))
    if f.search:
        query = query.where(search_condition(f.search))
    return query


def with_claimant(query: sa.Select[tuple[Claim]]) -> sa.Select[tuple[Claim]]:
    """Load each claim's claimant (already joined by ``filtered``) and data key with it."""
    return query.options(contains_eager(Claim.claimant).joinedload(Claimant.data_key))


def encode_cursor(claim: Claim) -> str:
    raw = f"{claim.submitted_at.isoformat()}|{claim.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, claim_id = raw.split("|")
        return datetime.fromisoformat(when), uuid.UUID(claim_id)
    except (ValueError, UnicodeDecodeError):
        return None


def page(
    queue_filter: QueueFilter,
    *,
    after: str | None = None,
    before: str | None = None,
    last: bool = False,
    size: int = PAGE_SIZE,
) -> QueuePage:
    """One page of the queue: the first, the one after/before a cursor, or the last."""
    newest_first = not queue_filter.oldest_first
    key = (Claim.submitted_at, Claim.id)
    forward = [k.desc() for k in key] if newest_first else [k.asc() for k in key]
    backward = [k.asc() for k in key] if newest_first else [k.desc() for k in key]
    query = with_claimant(filtered(queue_filter))
    position = decode_cursor(after or before or "") if (after or before) else None
    reverse = False
    if position and after:
        edge = sa.tuple_(*key) < position if newest_first else sa.tuple_(*key) > position
        query = query.where(edge).order_by(*forward)
    elif position and before:
        edge = sa.tuple_(*key) > position if newest_first else sa.tuple_(*key) < position
        query = query.where(edge).order_by(*backward)
        reverse = True
    elif last:
        query = query.order_by(*backward)
        reverse = True
    else:
        query = query.order_by(*forward)
    claims = list(db.session.execute(query.limit(size + 1)).scalars().unique())
    more = len(claims) > size
    claims = claims[:size]
    if reverse:
        claims.reverse()
    rows = describe(claims)
    if not claims:
        return QueuePage(rows, None, None)
    if position and after:
        has_prev, has_next = True, more
    elif position and before:
        has_prev, has_next = more, True
    elif last:
        has_prev, has_next = more, False
    else:
        has_prev, has_next = False, more
    return QueuePage(
        rows,
        next_cursor=encode_cursor(claims[-1]) if has_next else None,
        prev_cursor=encode_cursor(claims[0]) if has_prev else None,
    )


# The page's grouped queries, built once (Core, each page's ids bound as an expanding list).
_evidence, _requests, _claims = Evidence.__table__, InfoRequest.__table__, Claim.__table__
# One pass over the page's evidence: how many, and how many flagged or rejected.
_EVIDENCE_COUNTS = (
    sa.select(
        _evidence.c.claim_id,
        sa.func.count(),
        sa.func.sum(sa.case((_evidence.c.status.in_(FLAGGED_EVIDENCE), 1), else_=0)),
    )
    .where(_evidence.c.claim_id.in_(sa.bindparam("ids", expanding=True)))
    .group_by(_evidence.c.claim_id)
)
_OVERDUE = (
    sa.select(_requests.c.claim_id)
    .where(
        _requests.c.claim_id.in_(sa.bindparam("ids", expanding=True)),
        _requests.c.status == InfoRequestStatus.OPEN,
        _requests.c.due_on < sa.bindparam("today", type_=sa.Date),
    )
    .distinct()
)
_SAME_IP = (
    sa.select(_claims.c.source_ip_day_bidx, sa.func.count())
    .where(
        _claims.c.source_ip_day_bidx.in_(sa.bindparam("values", expanding=True)),
        _claims.c.status != ClaimStatus.DRAFT,
    )
    .group_by(_claims.c.source_ip_day_bidx)
)


def describe(claims: Sequence[Claim]) -> list[QueueRow]:
    """Evidence counts and warning badges for a page of claims, in a few grouped queries."""
    if not claims:
        return []
    ids = [c.id for c in claims]
    counts, flagged = {}, set()
    for claim_id, count, flags in db.session.execute(_EVIDENCE_COUNTS, {"ids": ids}):
        counts[claim_id] = count
        if flags:
            flagged.add(claim_id)
    overdue = set(db.session.execute(_OVERDUE, {"ids": ids, "today": date.today()}).scalars())
    shared = shared_identifiers(claims)
    same_ip = same_ip_counts(claims)
    return [
        QueueRow(
            claim,
            counts.get(claim.id, 0),
            badges(
                claim,
                shared=shared.get(claim.id, ()),
                same_ip=same_ip.get(claim.id, 0),
                flagged=claim.id in flagged,
                overdue=claim.id in overdue,
            ),
        )
        for claim in claims
    ]


def badges(claim: Claim, *, shared: Iterable[str], same_ip: int, flagged: bool, overdue: bool) -> list[str]:
    """The claim's warning badges (WARNING_LABELS' codes), in the order the queue and the
    claim file show them: the identifiers another claim shares, then the fraud signals."""
    found = [f"duplicate_{kind}" for kind in shared]
    if claim.honeypot_filled:
        found.append("honeypot")
    if claim.form_seconds is not None and claim.form_seconds < FAST_FORM_SECONDS:
        found.append("fast_form")
    if same_ip > SAME_IP_DAY_LIMIT:
        found.append("same_ip")
    if flagged:
        found.append("evidence_flagged")
    if overdue:
        found.append("overdue")
    return found


INDEXES = ("email", "phone", "nir", "identity", "address")


def shared_identifiers(claims: Sequence[Claim]) -> dict[uuid.UUID, list[str]]:
    """For each claim, which identifiers (blind indexes) another claimant also has.

    One query: for each kind, the page's values found more than once (each part an index range).
    """
    parts = []
    for kind in INDEXES:
        column = getattr(Claimant, f"{kind}_bidx")
        values = {getattr(c.claimant, f"{kind}_bidx") for c in claims} - {None}
        if values:
            parts.append(
                sa.select(sa.literal(kind).label("kind"), column.label("value"))
                .where(column.in_(values))
                .group_by(column)
                .having(sa.func.count() > 1)
            )
    if not parts:
        return {}
    repeated = {(kind, value) for kind, value in db.session.execute(sa.union_all(*parts))}
    found: dict[uuid.UUID, list[str]] = defaultdict(list)
    for claim in claims:
        for kind in INDEXES:
            if (kind, getattr(claim.claimant, f"{kind}_bidx")) in repeated:
                found[claim.id].append(kind)
    return found


def same_ip_counts(claims: Sequence[Claim]) -> dict[uuid.UUID, int]:
    """How many claims came from the same address on the same day (keyed hash, never the IP)."""
    values = {c.source_ip_day_bidx for c in claims} - {None}
    if not values:
        return {}
    counts: dict[str, int] = dict(db.session.execute(_SAME_IP, {"values": list(values)}).all())
    return {c.id: counts.get(c.source_ip_day_bidx, 0) for c in claims}


def _related_statement() -> sa.Select[Any]:
    """Built once, in Core: the other claims' references and statuses, each index's value bound
    (a NULL one matches nothing)."""
    claims, claimants = Claim.__table__, Claimant.__table__
    return (
        sa.select(claims.c.reference, claims.c.status, *(claimants.c[f"{kind}_bidx"] for kind in INDEXES))
        .join(claimants, claimants.c.id == claims.c.claimant_id)
        .where(
            sa.or_(*(claimants.c[f"{kind}_bidx"] == sa.bindparam(kind, type_=sa.String) for kind in INDEXES)),
            claims.c.id != sa.bindparam("claim_id"),
        )
        .order_by(claims.c.created_at)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )


_RELATED = _related_statement()


def related_claims(claim: Claim, limit: int = 50) -> list[tuple[sa.Row[Any], list[str]]]:
    """Other claims sharing an identifier with this one (their reference and status), and which ones.

    Columns, not objects: the page links to the others, it shows nothing else of them.
    """
    claimant = claim.claimant
    mine = {kind: getattr(claimant, f"{kind}_bidx") for kind in INDEXES}
    if not any(mine.values()):
        return []
    others = db.session.execute(_RELATED, {**mine, "claim_id": claim.id, "limit": limit})
    return [
        (other, [k for k, v in mine.items() if v and getattr(other, f"{k}_bidx") == v]) for other in others
    ]


class BadFilter(ValueError):
    """A malformed value in the queue's query string (only raised when parsing strictly)."""


HEAD_CODE = re.compile(r"^[a-z0-9_]{1,40}$")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
QUEUE_STATUS_VALUES = frozenset(s.value for s in QUEUE_STATUSES)


def filter_from_args(args: Mapping[str, str], user_id: uuid.UUID, *, strict: bool = False) -> QueueFilter:
    """The queue's filter from its query string (the queue page's and the CSV export's).

    A malformed value is ignored (the page shows the wider queue), or with ``strict``
    raises BadFilter (an export must never come out wider than asked).
    """
    values: dict[str, Any] = {}

    def bad(name: str) -> None:
        if strict:
            raise BadFilter(name)

    if case := args.get("case", "").strip():
        if case.isdigit():
            values["case_id"] = int(case)
        else:
            bad("case")
    if status := args.get("status", "").strip():
        if status in QUEUE_STATUS_VALUES:  # never drafts
            values["status"] = ClaimStatus(status)
        else:
            bad("status")
    if assignee := args.get("assignee", "").strip():
        if assignee == "me":
            values["assignee"] = user_id
        elif assignee == "none":
            values["assignee"] = "none"
        else:
            try:
                values["assignee"] = uuid.UUID(assignee)
            except ValueError:
                bad("assignee")
    if head := args.get("head", "").strip():
        if HEAD_CODE.match(head):
            values["head"] = head
        else:
            bad("head")
    for name, attribute in (("from", "submitted_from"), ("to", "submitted_to")):
        if raw := args.get(name, "").strip():
            try:
                if not ISO_DAY.match(raw):
                    raise ValueError(raw)
                values[attribute] = date.fromisoformat(raw)
            except ValueError:
                bad(name)
    values["has_warnings"] = args.get("warnings") == "1"
    values["overdue"] = args.get("overdue") == "1"
    values["search"] = args.get("q", "").strip()[:200] or None
    values["oldest_first"] = args.get("order") == "oldest"
    return QueueFilter(**values)


def with_search(queue_filter: QueueFilter, term: str | None) -> QueueFilter:
    return replace(queue_filter, search=term or None)
