"""The review console's dashboard and CSV export."""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from claims.accounts.models import StaffSession
from claims.audit.models import AuditEvent
from claims.cases.models import Case
from claims.claimants.models import Claim, ClaimHarm, ClaimStatus
from claims.documents import euros
from claims.evidence.models import EvidenceKind
from claims.evidence.operations import accept_evidence
from claims.extensions import db
from claims.review import reports
from claims.review.models import InfoRequest, InfoRequestStatus
from claims.review.reports import safe_cell
from claims.types import utcnow
from tests.conftest import STAFF_PASSWORD, fresh_totp_code, sign_in
from tests.evidence.test_uploads import jpeg

_serial = itertools.count(1)
EXPORT = "/console/claims/export.csv"


@pytest.fixture
def two_heads(case: Case) -> Case:
    case.heads_of_damage = [
        *case.heads_of_damage,
        {"code": "fraud_costs", "label_fr": "Frais de fraude", "label_en": "Fraud costs"},
    ]
    db.session.commit()
    return case


def submitted(
    make_claim: Any,
    make_claimant: Any,
    *,
    days_ago: float = 0,
    status: ClaimStatus = ClaimStatus.SUBMITTED,
    extra_head: tuple[str, str] | None = None,
    **claimant_fields: Any,
) -> Claim:
    """A claim submitted ``days_ago``, its claimant sharing no identifier with another."""
    n = next(_serial)
    fields = {
        "email": f"personne{n}@example.fr",
        "phone": f"06 30 00 {n // 100:02d} {n % 100:02d}",
        "nir": None,
        "last_name": "Nom" + "".join(chr(97 + int(d)) for d in str(n)),
    }
    fields.update(claimant_fields)
    claim = make_claim(make_claimant(**fields), status=status)
    if status != ClaimStatus.DRAFT:
        claim.submitted_at = utcnow() - timedelta(days=days_ago)
    if extra_head:
        claim.harms.append(ClaimHarm(head=extra_head[0], amount=Decimal(extra_head[1])))
    db.session.commit()
    return claim


def info_request(claim: Claim, staff: Any, due_on: date, status: InfoRequestStatus) -> None:
    db.session.add(
        InfoRequest(
            claim=claim,
            requested_by_id=staff.id,
            message="Merci d’envoyer une pièce.",
            due_on=due_on,
            status=status,
        )
    )
    db.session.commit()


def cell(html: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">(.*?)</dd>', html, re.S)
    assert found, testid
    return found[1]


def table_row(html: str, attribute: str, value: str) -> list[str]:
    found = re.search(rf'<tr {attribute}="{value}">(.*?)</tr>', html, re.S)
    assert found, value
    return [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", found[1], re.S)
    ]


def export(client: FlaskClient, query: str = "") -> Any:
    # buffered: the streamed body is read inside the request's app context, as a server would.
    return client.get(f"{EXPORT}{query}", buffered=True)


def exports_recorded() -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "claims.exported")
    )


def csv_rows(response: Any) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


# Dashboard -----------------------------------------------------------------------


def test_dashboard_counts_and_chart(
    client: FlaskClient, login_as: Any, make_claim: Any, make_claimant: Any, two_heads: Case
) -> None:
    lawyer = login_as("lawyer")
    today_claim = submitted(make_claim, make_claimant, days_ago=0)
    submitted(make_claim, make_claimant, days_ago=3, extra_head=("fraud_costs", "250.50"))
    submitted(make_claim, make_claimant, days_ago=3, status=ClaimStatus.ACCEPTED)
    submitted(make_claim, make_claimant, days_ago=10, status=ClaimStatus.IN_REVIEW)
    oldest = submitted(make_claim, make_claimant, days_ago=40, status=ClaimStatus.NEEDS_INFO)
    submitted(make_claim, make_claimant, status=ClaimStatus.DRAFT, extra_head=("fraud_costs", "999.00"))
    info_request(oldest, lawyer, date.today() - timedelta(days=2), InfoRequestStatus.OPEN)
    info_request(today_claim, lawyer, date.today() + timedelta(days=5), InfoRequestStatus.OPEN)
    info_request(today_claim, lawyer, date.today() - timedelta(days=9), InfoRequestStatus.ANSWERED)

    response = client.get("/console/dashboard")
    assert response.status_code == 200
    html = response.get_data(as_text=True)

    assert table_row(html, "data-status", "submitted")[1] == "2"
    assert table_row(html, "data-status", "in_review")[1] == "1"
    assert table_row(html, "data-status", "needs_info")[1] == "1"
    assert table_row(html, "data-status", "accepted")[1] == "1"
    assert table_row(html, "data-status", "rejected")[1] == "0"
    assert 'data-status="draft"' not in html
    moral = table_row(html, "data-head", "moral_harm")
    assert moral[1:] == ["Préjudice moral", "5", euros(Decimal("7500.00"))]
    fraud = table_row(html, "data-head", "fraud_costs")
    assert fraud[1:] == ["Frais de fraude", "1", euros(Decimal("250.50"))]  # not the draft's
    assert cell(html, "total").strip() == euros(Decimal("7750.50"))
    backlog = cell(html, "backlog")
    assert backlog.split()[0] == "4" and "40 jours" in backlog
    assert cell(html, "overdue").strip() == "1"

    svg = re.search(r"<svg(.*?)</svg>", html, re.S)
    assert svg and 'role="img"' in svg[1] and "<title" in svg[1]
    # One bar per day with claims in the last 30 days: today, 3 and 10 days ago.
    bars = re.findall(r'<rect class="bar"[^>]*><title>([^<]*)</title>', svg[1])
    assert len(bars) == 3
    assert any(title.endswith(": 2") for title in bars)
    assert len(re.findall(r"<time datetime=", html)) == 30
    assert " style=" not in html and "<script" not in html


def test_dashboard_is_for_reviewers(app: Flask, client: FlaskClient, login_as: Any, make_staff: Any) -> None:
    assert client.get("/console/dashboard").location.startswith("/console/login")
    login_as("admin")
    assert client.get("/console/dashboard").status_code == 403
    paralegal = app.test_client()
    sign_in(paralegal, make_staff("paralegal"))
    response = paralegal.get("/console/dashboard")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'href="/console/dashboard"' in html
    assert "Aucune demande." in html and 'class="bar"' not in html


# Export --------------------------------------------------------------------------


def test_export_streams_the_filtered_queue(
    client: FlaskClient,
    login_as: Any,
    make_claim: Any,
    make_claimant: Any,
    two_heads: Case,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reports, "EXPORT_BATCH", 2)  # several batches
    lawyer = login_as("lawyer")
    mine = submitted(
        make_claim,
        make_claimant,
        days_ago=1,
        extra_head=("fraud_costs", "250.50"),
        first_name="Élodie",
        last_name="Lefèvre",
        email="elodie@example.fr",
        phone="06 11 22 33 44",
        postal_code="75011",
        city="Paris",
    )
    mine.assignee_id = lawyer.id
    accept_evidence(mine, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="cni.jpg")
    db.session.commit()
    others = [submitted(make_claim, make_claimant, days_ago=2 + i) for i in range(4)]
    reviewed = submitted(make_claim, make_claimant, days_ago=1, status=ClaimStatus.IN_REVIEW)
    submitted(make_claim, make_claimant, status=ClaimStatus.DRAFT)

    response = export(client, "?status=submitted")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (f'attachment; filename="claims-{utcnow():%Y%m%d}.csv"')
    header, *rows = csv_rows(response)
    assert header[0] == "Référence" and len(header) == 13
    assert [r[0] for r in rows] == [mine.reference] + [c.reference for c in others]  # newest first
    first = rows[0]
    assert first[1] == "submitted"
    assert first[2] == mine.submitted_at.isoformat()
    assert first[3:9] == ["Lefèvre", "Élodie", "elodie@example.fr", "06 11 22 33 44", "75011", "Paris"]
    assert first[9:] == ["Frais de fraude, Préjudice moral", "1750,50", "1", lawyer.full_name]
    assert rows[1][9:] == ["Préjudice moral", "1500,00", "0", ""]

    oldest = csv_rows(export(client, "?status=submitted&order=oldest"))[1:]
    assert [r[0] for r in oldest] == [c.reference for c in reversed(others)] + [mine.reference]
    assert [r[0] for r in csv_rows(export(client, "?assignee=me"))[1:]] == [mine.reference]
    assert [r[0] for r in csv_rows(export(client, "?head=fraud_costs"))[1:]] == [mine.reference]
    every = {r[0] for r in csv_rows(export(client))[1:]}
    assert every == {mine.reference, reviewed.reference, *(c.reference for c in others)}  # no draft
    assert export(client, "?status=accepted&assignee=none").status_code == 200
    assert export(client, "?status=draft").status_code == 400
    assert export(client, "?from=yesterday").status_code == 400


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x")', "+1", "@SUM(A1)", "-2", "\tcmd", "\rcmd"])
def test_formula_cells_are_neutralised(value: str) -> None:
    assert safe_cell(value) == "'" + value
    assert safe_cell("Dupont-" + value) == "Dupont-" + value


def test_exported_names_cannot_run_as_formulas(
    client: FlaskClient, login_as: Any, make_claim: Any, make_claimant: Any
) -> None:
    login_as("lawyer")
    names = ['=HYPERLINK("http://x")', "+1", "@SUM(A1)", "-2"]
    for i, name in enumerate(names):
        submitted(make_claim, make_claimant, days_ago=i, last_name=name, city="=cmd|' /C calc'!A0")
    rows = csv_rows(export(client))[1:]
    assert [r[3] for r in rows] == ["'" + name for name in names]
    assert all(r[8] == "'=cmd|' /C calc'!A0" for r in rows)


def test_export_asks_to_reauthenticate(
    client: FlaskClient, login_as: Any, make_claim: Any, make_claimant: Any
) -> None:
    lawyer = login_as("lawyer")
    submitted(make_claim, make_claimant)
    db.session.execute(sa.update(StaffSession).values(reauthenticated_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    response = client.get(f"{EXPORT}?status=submitted")
    assert response.status_code == 302
    assert response.location == f"/console/reauth?next={EXPORT}?status%3Dsubmitted"
    assert exports_recorded() == 0
    db.session.refresh(lawyer)
    again = client.post(response.location, data={"password": STAFF_PASSWORD, "code": fresh_totp_code(lawyer)})
    assert again.location == f"{EXPORT}?status=submitted"
    assert len(csv_rows(export(client, "?status=submitted"))) == 2
    assert exports_recorded() == 1


def test_paralegal_cannot_export(client: FlaskClient, login_as: Any) -> None:
    login_as("paralegal")
    assert client.get(EXPORT).status_code == 403


def test_export_is_audited_without_personal_values(
    client: FlaskClient,
    login_as: Any,
    make_claim: Any,
    make_claimant: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    lawyer = login_as("lawyer")
    personal = {
        "first_name": "Gwendoline",
        "last_name": "Kerbrat-Quéré",
        "email": "gwendoline.kerbrat@example.fr",
        "phone": "06 98 76 54 32",
        "postal_code": "29200",
        "city": "Brest",
    }
    target = submitted(make_claim, make_claimant, **personal)
    submitted(make_claim, make_claimant)

    response = export(client, f"?q={personal['email']}&status=submitted&order=oldest")
    rows = csv_rows(response)[1:]
    assert [r[0] for r in rows] == [target.reference]
    event = db.session.execute(
        sa.select(AuditEvent).where(AuditEvent.action == "claims.exported")
    ).scalar_one()
    assert event.actor_type == "staff" and event.actor_id == str(lawyer.id)
    assert event.object_type == "claim_export"
    assert event.details == {"rows": 1, "filter": "status=submitted,search,order=oldest"}
    recorded = json.dumps(event.details, ensure_ascii=False)
    for value in personal.values():
        assert value not in recorded
        assert value not in caplog.text


def test_unintelligible_search_goes_back_to_the_queue(
    client: FlaskClient, login_as: Any, make_claim: Any, make_claimant: Any
) -> None:
    login_as("lawyer")
    submitted(make_claim, make_claimant)
    response = client.get(f"{EXPORT}?q=Martin&status=submitted")
    assert response.status_code == 302
    assert response.location == "/console/claims?status=submitted"
    assert exports_recorded() == 0
