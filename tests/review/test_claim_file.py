"""The claim file: its history (the audit log keeps every event, the page groups a person's run of
reads), the names it shows, the other claims it links to."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from claims.audit.models import AuditEvent
from claims.audit.operations import claimant_event, record_event, verify_chain
from claims.claimants.models import Claim, ClaimStatus
from claims.evidence.models import EvidenceKind, EvidenceStatus
from claims.evidence.operations import accept_evidence, make_derivative
from claims.extensions import db
from claims.review.history import claim_history
from claims.review.labels import WARNING_LABELS
from claims.review.models import InfoRequest
from claims.review.operations import add_note, assign, record_view
from claims.review.queue import SAME_IP_DAY_LIMIT, QueueFilter, page
from tests.evidence.test_uploads import jpeg
from tests.review.test_review import submitted


def named(make_staff: Any, role: str, name: str) -> Any:
    user = make_staff(role)
    user.full_name = name
    db.session.commit()
    return user


def read(claim: Claim, user: Any, action: str = "claim.viewed") -> None:
    """A staff member's read of the claim, as the views record it."""
    if action == "claim.viewed":
        record_view(claim, actor=user)
    else:
        record_event(
            action,
            actor_type="staff",
            actor_id=user.id,
            object_type="claim",
            object_id=claim.id,
            details={"evidence": "e1", "file": "preview"},
        )
    db.session.commit()


def history_lines(html: str) -> list[str]:
    """The history's lines as the page shows them, whitespace collapsed."""
    section = html[html.index('data-testid="history"') :]
    section = section[: section.index("</ol>")]
    return [" ".join(line.split()) for line in re.findall(r"<li>(.*?)</li>", section, re.S)]


def views_of(claim: Claim) -> int:
    return db.session.execute(
        sa.select(sa.func.count()).where(
            AuditEvent.action == "claim.viewed", AuditEvent.object_id == str(claim.id)
        )
    ).scalar_one()


def test_consecutive_views_by_one_person_make_one_line_with_their_count(
    app: Flask,
    client: FlaskClient,
    make_claim: Any,
    make_claimant: Any,
    make_staff: Any,
    login_as: Any,
) -> None:
    claim = submitted(make_claim, make_claimant)
    anne = named(make_staff, "paralegal", "Anne Relectrice")
    bruno = named(make_staff, "lawyer", "Bruno Avocat")
    for reader in (anne, anne, bruno, anne):
        read(claim, reader)

    history = claim_history(claim.id)
    assert [(line.actor_id, line.action, line.counts) for line in history] == [
        (str(anne.id), "claim.viewed", ()),
        (str(bruno.id), "claim.viewed", ()),
        (str(anne.id), "claim.viewed", (("claim.viewed", 2),)),
    ]
    assert history[0].since is None and history[2].since is not None
    assert history[2].since <= history[2].at <= history[1].at

    login_as("lawyer")  # named "Test lawyer"
    html = client.get(f"/console/claims/{claim.reference}").get_data(as_text=True)
    lines = history_lines(html)
    assert len(lines) == 4
    assert "Dossier consulté — Test lawyer" in lines[0]
    assert "Dossier consulté — Anne Relectrice" in lines[1] and "fois" not in lines[1]
    assert "Dossier consulté — Bruno Avocat" in lines[2]
    assert lines[3].startswith("du ") and "Dossier consulté (2 fois) — Anne Relectrice" in lines[3]
    # The display groups; the audit log keeps every view, its chain intact.
    assert views_of(claim) == 5
    assert verify_chain().ok


def test_any_other_event_ends_a_run_of_reads(
    app: Flask, make_claim: Any, make_claimant: Any, make_staff: Any
) -> None:
    claim = submitted(make_claim, make_claimant)
    anne = named(make_staff, "paralegal", "Anne Relectrice")
    read(claim, anne)
    assign(claim, anne, actor=anne)  # the claim enters review, then is assigned
    db.session.commit()
    read(claim, anne)
    read(claim, anne)
    claimant_event("portal.signed_in", claim.id)
    claimant_event("portal.signed_in", claim.id)
    db.session.commit()

    assert [(line.action, line.counts) for line in claim_history(claim.id)] == [
        ("portal.signed_in", ()),  # the claimant's events are never grouped
        ("portal.signed_in", ()),
        ("claim.viewed", (("claim.viewed", 2),)),
        ("claim.assigned", ()),
        ("claim.review_started", ()),
        ("claim.viewed", ()),
    ]


def test_previews_join_the_line_each_kind_with_its_count_a_download_stands_apart(
    app: Flask, client: FlaskClient, make_claim: Any, make_claimant: Any, make_staff: Any
) -> None:
    from tests.conftest import sign_in

    claim = submitted(make_claim, make_claimant)
    anne = named(make_staff, "paralegal", "Anne Relectrice")
    read(claim, anne)
    read(claim, anne, "evidence.previewed")
    read(claim, anne, "evidence.previewed")
    read(claim, anne, "evidence.downloaded")
    read(claim, anne, "evidence.previewed")
    sign_in(client, anne)
    html = client.get(f"/console/claims/{claim.reference}").get_data(as_text=True)

    assert [(line.action, line.counts) for line in claim_history(claim.id)] == [
        ("claim.viewed", (("claim.viewed", 1), ("evidence.previewed", 1))),
        ("evidence.downloaded", ()),
        ("evidence.previewed", (("claim.viewed", 1), ("evidence.previewed", 2))),
    ]
    shown = history_lines(html)
    assert "Dossier consulté (1 fois), Pièce affichée (2 fois) — Anne Relectrice" in shown[2]
    assert "Pièce téléchargée — Anne Relectrice" in shown[1] and "fois" not in shown[1]
    client.get("/console/claims?lang=en")
    html = client.get(f"/console/claims/{claim.reference}").get_data(as_text=True)
    shown = history_lines(html)
    assert shown[0].startswith("from ") and "File viewed (2 times)" in shown[0] and "(1 time)" in shown[0]


def test_a_claim_read_over_and_over_keeps_its_status_changes_in_view(
    app: Flask, make_claim: Any, make_claimant: Any, make_staff: Any
) -> None:
    """The limit counts lines: reads, however many, no longer push the decisions out of the page."""
    claim = submitted(make_claim, make_claimant)
    anne, bruno = make_staff("paralegal"), make_staff("lawyer")
    assign(claim, anne, actor=anne)
    db.session.commit()
    for reader in [anne] * 8 + [bruno] * 8:
        read(claim, reader)

    history = claim_history(claim.id, limit=4)
    assert [(line.action, line.counts) for line in history] == [
        ("claim.viewed", (("claim.viewed", 8),)),
        ("claim.viewed", (("claim.viewed", 8),)),
        ("claim.assigned", ()),
        ("claim.review_started", ()),
    ]
    assert [line.details.get("to") for line in history][3] == "in_review"
    assert claim_history(claim.id, limit=2)[-1].actor_id == str(anne.id)


def test_the_file_names_the_assignee_the_note_authors_and_no_one_else(
    app: Flask,
    client: FlaskClient,
    make_claim: Any,
    make_claimant: Any,
    make_staff: Any,
    login_as: Any,
) -> None:
    claim = submitted(make_claim, make_claimant)
    anne = named(make_staff, "paralegal", "Anne Relectrice")
    named(make_staff, "lawyer", "Personne Absente")  # staff with nothing to do with this claim
    assign(claim, anne, actor=anne)
    add_note(claim, "Pièce d’identité à vérifier.", author=anne)
    db.session.commit()
    login_as("lawyer")
    html = client.get(f"/console/claims/{claim.reference}").get_data(as_text=True)
    assert "Attribuée à : Anne Relectrice" in " ".join(html.split())
    notes = html[html.index('id="notes"') : html.index('data-testid="history"')]
    assert "Anne Relectrice" in notes and "Pièce d’identité à vérifier." in notes
    assert "Personne Absente" not in html


def test_the_file_links_the_claims_sharing_an_identifier_with_their_status(
    app: Flask, client: FlaskClient, make_claim: Any, make_claimant: Any, login_as: Any
) -> None:
    claim = submitted(make_claim, make_claimant, email="meme@example.fr")
    other = submitted(make_claim, make_claimant, email="meme@example.fr", status=ClaimStatus.IN_REVIEW)
    submitted(make_claim, make_claimant)  # shares nothing
    login_as("paralegal")
    html = client.get(f"/console/claims/{claim.reference}").get_data(as_text=True)
    related = html[html.index('id="h-related"') : html.index('id="h-signals"')]
    assert re.findall(r'href="/console/claims/([^"]+)"', related) == [other.reference]
    assert "(En examen)" in related and "Même courriel" in related and "Même téléphone" not in related


def test_the_file_is_read_with_its_view_in_one_transaction_then_rendered_without_a_query(
    app: Flask,
    client: FlaskClient,
    make_claim: Any,
    make_claimant: Any,
    make_staff: Any,
    login_as: Any,
) -> None:
    claim = submitted(make_claim, make_claimant)
    evidence = accept_evidence(claim, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="cni.jpg")
    make_derivative(evidence)
    add_note(claim, "Pièce d’identité à vérifier.", author=named(make_staff, "paralegal", "Anne Relectrice"))
    db.session.commit()
    login_as("lawyer")
    sent: list[str] = []

    def statement(conn: Any, cursor: Any, text: str, *args: Any) -> None:
        sent.append(text.split()[0].upper())

    def commit(conn: Any) -> None:
        sent.append("COMMIT")

    sa.event.listen(db.engine, "before_cursor_execute", statement)
    sa.event.listen(db.engine, "commit", commit)
    try:
        html = client.get(f"/console/claims/{claim.reference}").get_data(as_text=True)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", statement)
        sa.event.remove(db.engine, "commit", commit)
    # One commit, the view's; the page (evidence names, notes, history with this view) needs no query after it.
    assert sent.count("COMMIT") == 1 and sent[-1] == "COMMIT" and sent.count("INSERT") == 1
    assert "cni.jpg" in html and "Anne Relectrice" in html and "Pièce d’identité à vérifier." in html
    assert "Dossier consulté — Test lawyer" in history_lines(html)[0]


def signals_of(html: str) -> str:
    return " ".join(html[html.index('id="h-signals"') : html.index('id="h-identity"')].split())


def test_the_file_shows_the_queue_s_badges_each_with_its_explanation(
    app: Flask, client: FlaskClient, make_claim: Any, make_claimant: Any, make_staff: Any, login_as: Any
) -> None:
    reviewer = make_staff("paralegal")
    clean = submitted(make_claim, make_claimant, form_seconds=600)
    suspicious = submitted(
        make_claim, make_claimant, email="meme@example.fr", honeypot_filled=True, form_seconds=30,
        source_ip_day_bidx="ip-day", status=ClaimStatus.IN_REVIEW,
    )  # fmt: skip
    submitted(make_claim, make_claimant, email="meme@example.fr", form_seconds=600)
    for _ in range(SAME_IP_DAY_LIMIT):
        submitted(make_claim, make_claimant, form_seconds=600, source_ip_day_bidx="ip-day")
    flagged = accept_evidence(suspicious, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="x.jpg")
    flagged.status = EvidenceStatus.FLAGGED
    db.session.add(
        InfoRequest(
            claim=suspicious,
            requested_by_id=reviewer.id,
            due_on=date.today() - timedelta(days=1),
            message="x",
        )
    )
    db.session.commit()
    queue_badges = {row.claim.reference: row.warnings for row in page(QueueFilter()).rows}
    login_as("paralegal")

    shown = signals_of(client.get(f"/console/claims/{suspicious.reference}").get_data(as_text=True))
    expected = ["duplicate_email", "honeypot", "fast_form", "same_ip", "evidence_flagged", "overdue"]
    assert queue_badges[suspicious.reference] == expected  # the same badges as the queue's line
    for code in expected:
        label, explanation = WARNING_LABELS[code]
        assert f'<span class="badge badge-warning">{label}</span> {explanation}' in shown, code
    assert "Aucun signal" not in shown

    assert queue_badges[clean.reference] == []
    shown = signals_of(client.get(f"/console/claims/{clean.reference}").get_data(as_text=True))
    assert "Aucun signal d’alerte." in shown and "badge-warning" not in shown
