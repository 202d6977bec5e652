"""The review console: queue, search, claim file, decisions, state machine, locking, audit."""

from __future__ import annotations

import io
import itertools
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from claims.audit.models import AuditEvent
from claims.claimants.models import Claim, ClaimStatus
from claims.evidence.models import EvidenceKind, EvidenceStatus
from claims.evidence.operations import accept_evidence, make_derivative
from claims.extensions import db
from claims.mail.models import OutboxMessage
from claims.review.models import InfoRequest, InfoRequestStatus
from claims.review.operations import (
    ReviewError,
    accept,
    answer_information_request,
    change_status,
    request_information,
    send_reminders,
)
from claims.review.queue import SAME_IP_DAY_LIMIT, QueueFilter, page, search_condition
from claims.types import utcnow
from tests.evidence.test_uploads import jpeg

_serial = itertools.count(1)


def submitted(make_claim: Any, make_claimant: Any, minutes_ago: int = 0, **fields: Any) -> Claim:
    """A submitted claim whose claimant shares no identifier with another, unless told."""
    n = next(_serial)
    claimant_fields = {
        "email": f"personne{n}@example.fr",
        "phone": f"06 20 00 {n // 100:02d} {n % 100:02d}",
        "nir": None,
        "last_name": "Nom" + "".join(chr(97 + int(d)) for d in str(n)),  # names keep letters only
        "address_line1": f"{n} rue de la Paix",
    }
    claimant_fields.update({k: fields.pop(k) for k in list(fields) if k in claimant_fields})
    claim = make_claim(make_claimant(**claimant_fields), **fields)
    claim.submitted_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.commit()
    return claim


def refs(result: Any) -> list[str]:
    return [row.claim.reference for row in result.rows]


def test_keyset_pages_walk_forward_back_and_to_the_last(
    app: Flask, make_claim: Any, make_claimant: Any
) -> None:
    claims = [submitted(make_claim, make_claimant, minutes_ago=i) for i in range(7)]  # newest first
    expected = [c.reference for c in claims]
    first = page(QueueFilter(), size=3)
    assert refs(first) == expected[:3] and first.prev_cursor is None and first.next_cursor
    second = page(QueueFilter(), after=first.next_cursor, size=3)
    assert refs(second) == expected[3:6] and second.prev_cursor and second.next_cursor
    third = page(QueueFilter(), after=second.next_cursor, size=3)
    assert refs(third) == expected[6:] and third.next_cursor is None
    back = page(QueueFilter(), before=second.prev_cursor, size=3)
    assert refs(back) == expected[:3] and back.prev_cursor is None
    last = page(QueueFilter(), last=True, size=3)
    assert refs(last) == expected[4:] and last.next_cursor is None and last.prev_cursor
    oldest = page(QueueFilter(oldest_first=True), size=3)
    assert refs(oldest) == expected[::-1][:3]


def test_drafts_never_appear_in_the_queue(app: Flask, make_claim: Any, make_claimant: Any) -> None:
    kept = submitted(make_claim, make_claimant)
    make_claim(status=ClaimStatus.DRAFT)
    assert refs(page(QueueFilter())) == [kept.reference]


def test_exact_search_by_each_identifier(app: Flask, make_claim: Any, make_claimant: Any) -> None:
    target = submitted(
        make_claim,
        make_claimant,
        email="Cible@Example.fr",
        phone="07 11 22 33 44",
        nir="1 90 05 75 112 233 14",
        last_name="Martin",
    )
    submitted(make_claim, make_claimant, email="autre@example.fr", phone="06 00 00 00 01", nir=None)
    for term in (
        target.reference.lower(),
        "cible@example.fr",
        "+33 7 11 22 33 44",
        "0711223344",
        "190057511223314",
        "MARTIN 07/03/1984",
        "martin 1984-03-07",
    ):
        assert refs(page(QueueFilter(search=term))) == [target.reference], term
    with pytest.raises(ValueError):
        search_condition("lefèvre")  # a name alone: no plaintext search over encrypted columns


def test_filters(app: Flask, make_claim: Any, make_claimant: Any, make_staff: Any) -> None:
    reviewer = make_staff("paralegal")
    honeypot = submitted(make_claim, make_claimant, honeypot_filled=True, form_seconds=600)
    assigned = submitted(make_claim, make_claimant, form_seconds=600, assignee_id=reviewer.id)
    in_review = submitted(make_claim, make_claimant, form_seconds=600, status=ClaimStatus.IN_REVIEW)
    db.session.add(
        InfoRequest(
            claim=in_review, requested_by_id=reviewer.id, due_on=date.today() - timedelta(days=1), message="x"
        )
    )
    db.session.commit()
    assert refs(page(QueueFilter(has_warnings=True))) == [honeypot.reference]
    assert refs(page(QueueFilter(assignee=reviewer.id))) == [assigned.reference]
    assert set(refs(page(QueueFilter(assignee="none")))) == {honeypot.reference, in_review.reference}
    assert refs(page(QueueFilter(status=ClaimStatus.IN_REVIEW))) == [in_review.reference]
    assert refs(page(QueueFilter(overdue=True))) == [in_review.reference]
    assert len(refs(page(QueueFilter(head="moral_harm")))) == 3
    assert refs(page(QueueFilter(head="loss_of_chance"))) == []
    tomorrow = date.today() + timedelta(days=1)
    assert refs(page(QueueFilter(submitted_from=tomorrow))) == []
    assert len(refs(page(QueueFilter(submitted_to=tomorrow)))) == 3


def test_the_warnings_filter_matches_exactly_the_claims_with_a_warning_badge(
    app: Flask, make_claim: Any, make_claimant: Any
) -> None:
    clean = submitted(make_claim, make_claimant, form_seconds=600)
    same_address = [
        submitted(make_claim, make_claimant, form_seconds=600, address_line1="7 rue Oberkampf")
        for _ in range(2)
    ]
    same_ip = [
        submitted(make_claim, make_claimant, form_seconds=600, source_ip_day_bidx="ip-day")
        for _ in range(SAME_IP_DAY_LIMIT + 1)
    ]
    fast = submitted(make_claim, make_claimant, form_seconds=30)
    badges = {row.claim.reference: row.warnings for row in page(QueueFilter()).rows}
    assert all("duplicate_address" in badges[c.reference] for c in same_address)
    assert all("same_ip" in badges[c.reference] for c in same_ip)
    with_badges = {ref for ref, warnings in badges.items() if set(warnings) - {"overdue"}}
    assert with_badges == {c.reference for c in [*same_address, *same_ip, fast]}
    assert set(refs(page(QueueFilter(has_warnings=True)))) == with_badges
    assert clean.reference not in with_badges


def test_shared_identifiers_are_badges_with_an_explanation(
    app: Flask, client: FlaskClient, make_claim: Any, make_claimant: Any, login_as: Any
) -> None:
    first = submitted(make_claim, make_claimant, email="meme@example.fr", phone="06 10 00 00 01")
    second = submitted(make_claim, make_claimant, email="meme@example.fr", phone="06 10 00 00 02")
    rows = {row.claim.reference: row.warnings for row in page(QueueFilter()).rows}
    assert "duplicate_email" in rows[first.reference] and "duplicate_email" in rows[second.reference]
    assert "duplicate_phone" not in rows[first.reference]
    login_as("paralegal")
    html = client.get(f"/console/claims/{first.reference}").get_data(as_text=True)
    assert second.reference in html and "Doublons possibles" in html


def test_the_queue_page_shows_names_and_hostile_text_escaped(
    app: Flask, client: FlaskClient, make_claim: Any, make_claimant: Any, login_as: Any
) -> None:
    claim = submitted(make_claim, make_claimant, last_name="<script>alert(1)</script>")
    claim.statement = '<img src=x onerror=alert(1)> <font color="red">x</font>'
    db.session.commit()
    login_as("paralegal")
    html = client.get("/console/claims").get_data(as_text=True)
    assert claim.reference in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    html = client.get(f"/console/claims/{claim.reference}").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html


def test_every_view_of_a_claim_file_is_audited(
    app: Flask, client: FlaskClient, make_claim: Any, make_claimant: Any, login_as: Any
) -> None:
    claim = submitted(make_claim, make_claimant)
    user = login_as("paralegal")
    for _ in range(2):
        assert client.get(f"/console/claims/{claim.reference}").status_code == 200
    views = (
        db.session.execute(
            sa.select(AuditEvent).where(
                AuditEvent.action == "claim.viewed", AuditEvent.object_id == str(claim.id)
            )
        )
        .scalars()
        .all()
    )
    assert len(views) == 2 and {v.actor_id for v in views} == {str(user.id)}
    assert client.get("/console/claims/APHP-0000-0000").status_code == 404


def test_state_machine_is_enforced_by_the_operation(app: Flask, make_claim: Any, make_staff: Any) -> None:
    lawyer = make_staff("lawyer")
    claim = make_claim()  # submitted
    with pytest.raises(ReviewError):
        accept(claim, actor=lawyer)  # not in review yet
    change_status(claim, ClaimStatus.IN_REVIEW, actor=lawyer, action="review_started")
    accept(claim, actor=lawyer)
    for target in (ClaimStatus.REJECTED, ClaimStatus.NEEDS_INFO, ClaimStatus.SUBMITTED, ClaimStatus.FILED):
        with pytest.raises(ReviewError):
            change_status(claim, target, actor=lawyer, action="x")
    db.session.commit()
    assert db.session.get(Claim, claim.id).status == ClaimStatus.ACCEPTED


def test_roles_paralegal_requests_lawyer_decides(
    app: Flask, client: FlaskClient, make_claim: Any, make_claimant: Any, login_as: Any
) -> None:
    claim = submitted(make_claim, make_claimant, status=ClaimStatus.IN_REVIEW)
    login_as("paralegal")
    version = str(claim.version)
    assert (
        client.post(f"/console/claims/{claim.reference}/accept", data={"version": version}).status_code == 403
    )
    assert (
        client.post(
            f"/console/claims/{claim.reference}/reject",
            data={"version": version, "reason": "other", "explanation": "Pas de preuve du tout."},
        ).status_code
        == 403
    )
    response = client.post(
        f"/console/claims/{claim.reference}/request",
        data={
            "version": version,
            "message": "Merci d’envoyer le courrier de l’AP-HP.",
            "due_on": (date.today() + timedelta(days=10)).isoformat(),
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status == ClaimStatus.NEEDS_INFO
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1


def test_admin_cannot_read_claims(app: Flask, client: FlaskClient, make_claim: Any, login_as: Any) -> None:
    claim = make_claim()
    login_as("admin")
    assert client.get("/console/claims").status_code == 403
    assert client.get(f"/console/claims/{claim.reference}").status_code == 403


def test_a_decision_on_a_stale_page_is_refused(
    app: Flask, client: FlaskClient, make_claim: Any, make_claimant: Any, login_as: Any
) -> None:
    claim = submitted(make_claim, make_claimant, status=ClaimStatus.IN_REVIEW)
    seen = str(claim.version)
    login_as("lawyer")
    client.post(f"/console/claims/{claim.reference}/assign-me")  # someone changes the claim meanwhile
    response = client.post(f"/console/claims/{claim.reference}/accept", data={"version": seen})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status == ClaimStatus.IN_REVIEW
    page_html = client.get(response.location).get_data(as_text=True)
    assert "Quelqu’un d’autre vient de modifier cette demande" in page_html


def test_concurrent_decisions_fail_at_the_commit(app: Flask, make_claim: Any, make_staff: Any) -> None:
    """Two sessions load the same version; the second commit fails (optimistic locking)."""
    lawyer = make_staff("lawyer")
    claim = make_claim(status=ClaimStatus.IN_REVIEW)
    other_session = db.session.session_factory()
    try:
        theirs = other_session.get(Claim, claim.id)
        theirs.status = ClaimStatus.NEEDS_INFO
        accept(claim, actor=lawyer)
        db.session.commit()
        from sqlalchemy.orm.exc import StaleDataError

        with pytest.raises(StaleDataError):
            other_session.commit()
    finally:
        other_session.close()


def test_request_answer_accept_and_the_history_shows_it_all(
    app: Flask, client: FlaskClient, make_claim: Any, make_claimant: Any, make_staff: Any, capsys: Any
) -> None:
    from tests.conftest import sign_in

    claim = submitted(make_claim, make_claimant)
    paralegal, lawyer = make_staff("paralegal"), make_staff("lawyer")
    sign_in(client, paralegal)
    client.post(f"/console/claims/{claim.reference}/assign-me")
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status == ClaimStatus.IN_REVIEW
    client.post(
        f"/console/claims/{claim.reference}/request",
        data={
            "version": str(db.session.get(Claim, claim.id).version),
            "message": "Ajoutez la capture du SMS frauduleux.",
            "due_on": (date.today() + timedelta(days=14)).isoformat(),
        },
    )
    assert "Ajoutez la capture du SMS frauduleux." in capsys.readouterr().out  # the mail (console backend)
    db.session.expire_all()
    info = db.session.execute(sa.select(InfoRequest)).scalar_one()
    answer_information_request(info, "Voici la capture.")  # the portal will call this
    db.session.commit()
    client.post("/console/logout")
    sign_in(client, lawyer)
    db.session.expire_all()
    version = str(db.session.get(Claim, claim.id).version)
    client.post(f"/console/claims/{claim.reference}/accept", data={"version": version})
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status == ClaimStatus.ACCEPTED
    html = client.get(f"/console/claims/{claim.reference}").get_data(as_text=True)
    history = html[html.index('data-testid="history"') :]
    for label in (
        "Acceptée",
        "Réponse reçue",
        "Informations demandées",
        "Examen commencé",
        "Dossier consulté",
    ):
        assert label in history, label
    assert "Voici la capture." in html and info.status == InfoRequestStatus.ANSWERED


def test_rejection_mails_the_claimant_in_their_language(
    app: Flask, client: FlaskClient, make_claim: Any, make_claimant: Any, login_as: Any, capsys: Any
) -> None:
    claimant = make_claimant(language="en")
    claim = make_claim(claimant, status=ClaimStatus.IN_REVIEW)
    keeper = make_claim(status=ClaimStatus.IN_REVIEW)
    login_as("lawyer")
    response = client.post(
        f"/console/claims/{claim.reference}/reject",
        data={
            "version": str(claim.version),
            "reason": "duplicate",
            "explanation": "Your other claim is the one we keep.",
            "duplicate_of": keeper.reference,
        },
    )
    assert response.status_code == 302
    out = capsys.readouterr().out
    assert "You already have another claim in this action" in out and "Your other claim is the one" in out
    db.session.expire_all()
    rejected = db.session.get(Claim, claim.id)
    assert rejected.status == ClaimStatus.REJECTED and rejected.duplicate_of_id == keeper.id
    assert db.session.get(Claim, keeper.id).status == ClaimStatus.IN_REVIEW  # linked, nothing merged


def test_one_reminder_before_the_deadline(app: Flask, make_claim: Any, make_staff: Any, capsys: Any) -> None:
    lawyer = make_staff("lawyer")
    claim = make_claim(status=ClaimStatus.IN_REVIEW)
    request_information(
        claim, actor=lawyer, message="Il manque la pièce d’identité.", due_on=date.today() + timedelta(days=5)
    )
    db.session.commit()
    assert send_reminders() == []  # not yet
    jobs = send_reminders(today=date.today() + timedelta(days=3))
    db.session.commit()
    assert len(jobs) == 1
    assert send_reminders(today=date.today() + timedelta(days=4)) == []  # once only


def test_evidence_downloads_are_audited_and_never_inline_unless_reencoded(
    app: Flask, client: FlaskClient, make_claim: Any, login_as: Any
) -> None:
    claim = make_claim()
    evidence = accept_evidence(claim, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="cni.jpg")
    make_derivative(evidence)
    db.session.commit()
    login_as("paralegal")
    base = f"/console/claims/{claim.reference}/evidence/{evidence.id}"
    original = client.get(f"{base}/original")
    assert original.status_code == 200 and original.data == jpeg()
    assert original.headers["Content-Disposition"].startswith("attachment;")
    assert original.headers["Content-Type"] == "application/octet-stream"
    preview = client.get(f"{base}/preview")
    assert preview.status_code == 200 and preview.headers["Content-Type"] == "image/jpeg"
    assert "sandbox" in preview.headers["Content-Security-Policy"]
    events = db.session.execute(
        sa.select(AuditEvent.action, AuditEvent.details).where(AuditEvent.object_id == str(claim.id))
    ).all()
    assert ("evidence.downloaded", {"evidence": str(evidence.id), "file": "original"}) in [
        tuple(e) for e in events
    ]
    other = make_claim()
    assert client.get(f"/console/claims/{other.reference}/evidence/{evidence.id}/original").status_code == 404


def test_remind_command(app: Flask, make_claim: Any, make_staff: Any) -> None:
    claim = make_claim(status=ClaimStatus.IN_REVIEW)
    request_information(
        claim,
        actor=make_staff("lawyer"),
        message="Il manque un justificatif.",
        due_on=date.today() + timedelta(days=3),
    )
    db.session.commit()
    info = db.session.execute(sa.select(InfoRequest)).scalar_one()
    info.due_on = date.today() + timedelta(days=1)  # as if time had passed
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["review", "remind"]).output
    assert first.strip().endswith("sent 1 reminders") and "Rappel : votre demande" in first  # mailed
    assert runner.invoke(args=["review", "remind"]).output.strip() == "sent 0 reminders"


def test_the_queue_never_lists_drafts_even_when_asked(
    app: Flask, client: FlaskClient, make_claim: Any, login_as: Any
) -> None:
    draft = make_claim(status=ClaimStatus.DRAFT)
    login_as("lawyer")
    html = client.get("/console/claims?status=draft").get_data(as_text=True)
    assert draft.reference not in html
    # Malformed values widen the page's filter (never the export's: a 400 there), never a 500.
    response = client.get("/console/claims?case=x&assignee=zz&head=%3Cb%3E&from=hier&to=2026-13-40")
    assert response.status_code == 200 and draft.reference not in response.get_data(as_text=True)
    assert client.get(f"/console/claims/{draft.reference}").status_code == 404


def test_evidence_counts_and_flag_badges_per_claim(app: Flask, make_claim: Any) -> None:
    flagged_claim, clean_claim = make_claim(), make_claim()
    flagged = accept_evidence(flagged_claim, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="a.jpg")
    accept_evidence(flagged_claim, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="b.jpg")
    accept_evidence(clean_claim, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="c.jpg")
    flagged.status = EvidenceStatus.FLAGGED
    db.session.commit()
    rows = {row.claim.reference: row for row in page(QueueFilter()).rows}
    assert rows[flagged_claim.reference].evidence_count == 2
    assert "evidence_flagged" in rows[flagged_claim.reference].warnings
    assert rows[clean_claim.reference].evidence_count == 1
    assert "evidence_flagged" not in rows[clean_claim.reference].warnings
