"""The claimant portal: sign-in by one-time link, sessions, my claim, answers, isolation."""

from __future__ import annotations

import io
import logging
import re
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from claims.claimants.models import Claim, ClaimStatus
from claims.evidence.models import EvidenceKind
from claims.evidence.operations import accept_evidence
from claims.extensions import db
from claims.logs import RedactTokens
from claims.mail.models import OutboxMessage
from claims.portal.models import PortalLink, PortalSession
from claims.review.models import InfoRequest, InfoRequestStatus
from claims.review.operations import assign, request_information
from claims.review.queue import QueueFilter, page
from claims.types import utcnow
from tests.evidence.test_uploads import jpeg

LINK = re.compile(r"/me/link/([A-Za-z0-9_\-]+)")


def mailed_links(email: str) -> list[str]:
    """Tokens of the sign-in links mailed to ``email`` (read back from the encrypted outbox)."""
    db.session.expire_all()
    messages = db.session.execute(sa.select(OutboxMessage).where(OutboxMessage.purpose == "portal_link"))
    return [m for msg in messages.scalars() if msg.recipient == email for m in LINK.findall(msg.body)]


def sign_in(client: FlaskClient, claim: Claim) -> None:
    email = claim.claimant.email
    before = set(mailed_links(email))
    response = client.post("/me", data={"email": email, "reference": claim.reference})
    assert response.status_code == 200
    (token,) = set(mailed_links(email)) - before
    assert client.post("/me/link", data={"token": token}).status_code == 302


def open_request(claim: Claim, reviewer: Any, message: str) -> InfoRequest:
    """The claim assigned to ``reviewer``, who asks the claimant for something (committed)."""
    assign(claim, reviewer, actor=reviewer)
    info, _job = request_information(
        claim, actor=reviewer, message=message, due_on=date.today() + timedelta(days=10)
    )
    db.session.commit()
    return info


@pytest.fixture
def two_claims(make_claim: Any, make_claimant: Any) -> tuple[Claim, Claim]:
    a = make_claim(make_claimant(email="alice@example.fr", last_name="Aubert", phone="06 11 11 11 11"))
    b = make_claim(
        make_claimant(
            email="bruno@example.fr",
            last_name="Barthélémy",
            phone="06 22 22 22 22",
            address_line1="9 rue Bichat",
        ),
        statement="Déclaration confidentielle de Bruno.",
    )
    return a, b


def test_the_answer_is_the_same_whether_or_not_the_address_matched(
    app: Flask, client: FlaskClient, two_claims: Any
) -> None:
    known = client.post("/me", data={"email": "alice@example.fr"})
    unknown = client.post("/me", data={"email": "personne@example.fr"})
    assert known.status_code == unknown.status_code == 200
    strip = lambda r: re.sub(r'name="csrf_token"[^>]*', "", r.get_data(as_text=True))  # noqa: E731
    assert strip(known) == strip(unknown)
    assert len(mailed_links("alice@example.fr")) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PortalLink)) == 1


def test_link_signs_in_once_and_a_get_alone_does_not_use_it(
    app: Flask, client: FlaskClient, two_claims: Any
) -> None:
    alice, _ = two_claims
    client.post("/me", data={"email": "alice@example.fr"})
    (token,) = mailed_links("alice@example.fr")
    for _ in range(2):  # a mail scanner opening the link does not use it up
        page_ = client.get(f"/me/link/{token}")
        assert page_.status_code == 200 and "Me connecter" in page_.get_data(as_text=True)
    assert client.get("/me/claim").status_code == 302  # not signed in yet
    response = client.post("/me/link", data={"token": token})
    assert response.status_code == 302 and response.location.endswith("/me/claim")
    mine = client.get("/me/claim").get_data(as_text=True)
    assert alice.reference in mine and "Reçue" in mine
    # Used: refused with a clear page, by GET and by POST.
    other = FlaskClient(app, app.response_class)
    for response in (other.get(f"/me/link/{token}"), other.post("/me/link", data={"token": token})):
        assert response.status_code == 404 and "ne fonctionne pas" in response.get_data(as_text=True)
    assert other.get("/me/claim").status_code == 302


def test_expired_revoked_and_forged_links_are_refused(
    app: Flask, client: FlaskClient, two_claims: Any
) -> None:
    client.post("/me", data={"email": "alice@example.fr"})
    client.post("/me", data={"email": "alice@example.fr"})
    expired, revoked = mailed_links("alice@example.fr")
    links = {link.id: link for link in db.session.execute(sa.select(PortalLink)).scalars()}
    first, second = sorted(links)
    links[first].expires_at = utcnow() - timedelta(seconds=1)
    links[second].revoked_at = utcnow()
    db.session.commit()
    for token in (expired, revoked, "forged-token", "x" * 500):
        assert client.post("/me/link", data={"token": token}).status_code == 404
        assert client.get(f"/me/link/{token}").status_code == 404
    assert client.get("/me/claim").status_code == 302


def test_no_link_for_drafts_or_withdrawn_claims(
    app: Flask, client: FlaskClient, make_claim: Any, make_claimant: Any
) -> None:
    make_claim(make_claimant(email="draft@example.fr"), status=ClaimStatus.DRAFT)
    make_claim(make_claimant(email="gone@example.fr"), status=ClaimStatus.WITHDRAWN)
    client.post("/me", data={"email": "draft@example.fr"})
    client.post("/me", data={"email": "gone@example.fr"})
    assert mailed_links("draft@example.fr") == mailed_links("gone@example.fr") == []


def test_sessions_end_at_sign_out_and_when_idle(app: Flask, client: FlaskClient, two_claims: Any) -> None:
    alice, _ = two_claims
    sign_in(client, alice)
    assert client.get("/me/claim").status_code == 200
    assert client.post("/me/sign-out").status_code == 302
    assert client.get("/me/claim").status_code == 302
    sign_in(client, alice)
    session = db.session.execute(
        sa.select(PortalSession).where(PortalSession.ended_at.is_(None))
    ).scalar_one()
    session.last_seen_at = utcnow() - timedelta(minutes=app.config["PORTAL_SESSION_IDLE_MINUTES"] + 1)
    db.session.commit()
    response = client.get("/me/claim")
    assert response.status_code == 302 and "expired=1" in response.location
    assert client.post("/me/sign-out").status_code == 401


def test_the_portal_session_is_not_a_staff_session(app: Flask, client: FlaskClient, two_claims: Any) -> None:
    sign_in(client, two_claims[0])
    assert client.get("/console/claims").status_code == 302  # to the staff sign-in
    assert client.get("/console/claims").location.startswith("/console/login")


def test_my_claim_shows_status_harms_evidence_and_texts(
    app: Flask, client: FlaskClient, two_claims: Any
) -> None:
    alice, _ = two_claims
    evidence = accept_evidence(alice, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="sms <b>.jpg")
    db.session.commit()
    sign_in(client, alice)
    html = client.get("/me/claim").get_data(as_text=True)
    assert "sms &lt;b&gt;.jpg" in html and "1\u202f500,00\u00a0€" in html
    download = client.get(f"/me/claim/evidence/{evidence.id}")
    assert download.status_code == 200 and download.data == jpeg()
    assert download.headers["Content-Disposition"].startswith("attachment;")


def test_a_claimant_answers_a_request_with_a_photo_and_the_reviewer_sees_it(
    app: Flask, client: FlaskClient, two_claims: Any, make_staff: Any
) -> None:
    alice, _ = two_claims
    paralegal = make_staff("paralegal")
    info = open_request(alice, paralegal, "Ajoutez la capture du SMS.")
    sign_in(client, alice)
    html = client.get("/me/claim").get_data(as_text=True)
    assert "Ajoutez la capture du SMS." in html and "Informations demandées" in html
    response = client.post(
        f"/me/claim/requests/{info.id}/answer",
        data={
            "response": "Voici la capture.",
            "kind": "phishing_message",
            "files": [(io.BytesIO(jpeg()), "sms.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    db.session.expire_all()
    claim = db.session.get_one(Claim, alice.id)
    assert claim.status == ClaimStatus.IN_REVIEW and claim.assignee_id == paralegal.id
    assert [e.kind for e in claim.evidence] == [EvidenceKind.PHISHING_MESSAGE]
    answered = db.session.get_one(InfoRequest, info.id)
    assert answered.status == InfoRequestStatus.ANSWERED and answered.response == "Voici la capture."
    mine = page(QueueFilter(assignee=paralegal.id, status=ClaimStatus.IN_REVIEW))
    assert [row.claim.reference for row in mine.rows] == [alice.reference]
    # A second answer to the closed request is refused, nothing changes.
    again = client.post(f"/me/claim/requests/{info.id}/answer", data={"response": "encore"})
    assert again.status_code == 302
    db.session.expire_all()
    assert db.session.get_one(InfoRequest, info.id).response == "Voici la capture."


def test_a_refused_file_in_an_answer_keeps_the_request_open(
    app: Flask, client: FlaskClient, two_claims: Any, make_staff: Any
) -> None:
    alice, _ = two_claims
    paralegal = make_staff("paralegal")
    info = open_request(alice, paralegal, "?")
    sign_in(client, alice)
    response = client.post(
        f"/me/claim/requests/{info.id}/answer",
        data={"response": "Voici.", "kind": "other", "files": [(io.BytesIO(b"<?php echo 1;"), "x.jpg")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "type de fichier" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get_one(InfoRequest, info.id).status == InfoRequestStatus.OPEN
    assert db.session.get_one(Claim, alice.id).evidence == []


def portal_rules(app: Flask) -> list[Any]:
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/me")]


def test_every_portal_view_declares_its_access(app: Flask) -> None:
    from claims.portal import CLAIMANT, PUBLIC

    for rule in portal_rules(app):
        assert getattr(app.view_functions[rule.endpoint], "portal_access", None) in (PUBLIC, CLAIMANT), rule


def test_claimant_a_can_never_reach_anything_of_claimant_b(
    app: Flask, client: FlaskClient, two_claims: Any, make_staff: Any
) -> None:
    """Every portal route, tried with B's ids while signed in as A: nothing of B is shown or changed."""
    from claims.portal.models import DataCopy

    alice, bruno = two_claims
    paralegal = make_staff("paralegal")
    b_request = open_request(bruno, paralegal, "Question pour Bruno")
    b_evidence = accept_evidence(bruno, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="bruno.jpg")
    b_copy = DataCopy(claim=bruno, expires_at=utcnow() + timedelta(days=7), ready_at=utcnow())
    db.session.add(b_copy)
    db.session.commit()
    b_ids = {"evidence_id": b_evidence.id, "request_id": b_request.id, "copy_id": b_copy.id}
    secrets_of_b = ["Barthélémy", "bruno@example.fr", "06 22 22 22 22", "9 rue Bichat", "Question pour Bruno",
                    bruno.reference, "Déclaration confidentielle"]  # fmt: skip
    sign_in(client, alice)
    tried = 0
    # Withdrawal last: tried with confirmation, it withdraws A's own claim and ends the session.
    for rule in sorted(portal_rules(app), key=lambda r: r.endpoint == "portal.withdraw"):
        values = {arg: b_ids.get(arg, "x") for arg in rule.arguments}
        if "slug" in rule.arguments:
            values["slug"] = "mandat"
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"response": "piratage", "confirm": "y", "token": "x", "email": "pirate@example.fr",
                    "address_line1": "1 rue du Pirate", "postal_code": "75001", "city": "Paris",
                    "country": "France", "phone": "06 99 99 99 99"}  # fmt: skip
            response = client.open(url, method=method, data=data if method == "POST" else None)
            body = response.get_data(as_text=True)
            assert not any(value in body for value in secrets_of_b), (method, url)
            if any(arg in b_ids for arg in rule.arguments):
                assert response.status_code == 404, (method, url, response.status_code)
            tried += 1
        if rule.endpoint == "portal.sign_out":
            sign_in(client, alice)
    assert tried >= 15
    db.session.expire_all()
    b = db.session.get_one(Claim, bruno.id)
    assert b.status == ClaimStatus.NEEDS_INFO and b.claimant.email == "bruno@example.fr"
    assert b.claimant.address_line1 == "9 rue Bichat" and len(b.evidence) == 1
    assert db.session.get_one(InfoRequest, b_request.id).status == InfoRequestStatus.OPEN
    assert db.session.get_one(DataCopy, b_copy.id).downloaded_at is None


def test_sign_in_requests_are_rate_limited_per_address(app: Flask, client: FlaskClient) -> None:
    codes = [
        client.post(
            "/me", data={"email": "cible@example.fr"}, environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}
        ).status_code
        for i in range(6)
    ]
    assert codes == [200] * 5 + [429]


def test_link_tokens_never_reach_access_logs(app: Flask, caplog: Any) -> None:
    logger = logging.getLogger("werkzeug")  # the development server's access log
    assert any(isinstance(f, RedactTokens) for f in logger.filters)
    token = "s3cr3t-" + uuid.uuid4().hex
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logger.info('%s - - "%s" %s -', "127.0.0.1", f"GET /me/link/{token} HTTP/1.1", 200)
        logger.info('%s - - "%s" %s -', "127.0.0.1", f"GET /me/email/{token}?x=1 HTTP/1.1", 200)
    assert token not in caplog.text and caplog.text.count("/me/link/[redacted]") == 1
    assert "/me/email/[redacted]?x=1" in caplog.text


def test_withdrawal_through_the_portal(app: Flask, client: FlaskClient, two_claims: Any) -> None:
    alice, _ = two_claims
    sign_in(client, alice)
    explained = client.get("/me/claim/withdraw").get_data(as_text=True)
    assert "effacées de façon définitive" in explained
    unconfirmed = client.post("/me/claim/withdraw", data={})
    assert unconfirmed.status_code == 400 and "Cochez la case" in unconfirmed.get_data(as_text=True)
    done = client.post("/me/claim/withdraw", data={"confirm": "y"})
    assert done.status_code == 200 and "est retirée" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get_one(Claim, alice.id).status == ClaimStatus.WITHDRAWN
    assert client.get("/me/claim").status_code == 302  # the session ended with the claim


def test_a_filed_claim_cannot_be_withdrawn_online(
    app: Flask, client: FlaskClient, make_claim: Any, make_claimant: Any
) -> None:
    filed = make_claim(make_claimant(email="depose@example.fr"), status=ClaimStatus.FILED)
    sign_in(client, filed)
    assert "plus être retirée en ligne" in client.get("/me/claim/withdraw").get_data(as_text=True)
    response = client.post("/me/claim/withdraw", data={"confirm": "y"})
    assert "Écrivez au cabinet" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get_one(Claim, filed.id).status == ClaimStatus.FILED


def test_the_portal_speaks_english(app: Flask, client: FlaskClient) -> None:
    html = client.get("/me?lang=en").get_data(as_text=True)
    assert "Follow my claim" in html and "Get a sign-in link" in html


def test_a_change_to_a_claim_of_a_locked_filing_is_told_to_its_lawyer(
    app: Flask, client: FlaskClient, case: Any, make_claim: Any, make_claimant: Any, make_staff: Any
) -> None:
    from claims.cases.models import Procedure
    from claims.filings.operations import add_claims, create_filing, lock_filing

    lawyer = make_staff("lawyer")
    claim = make_claim(make_claimant(email="verrou@example.fr"), status=ClaimStatus.ACCEPTED)
    filing = create_filing(case, court="TJ Paris", chamber="", court_case_number="",
                           procedure=Procedure.JOIN_INVESTIGATION, counsel="Me Test", actor=lawyer)  # fmt: skip
    add_claims(filing, [claim], actor=lawyer)
    lock_filing(filing, actor=lawyer)
    db.session.commit()
    sign_in(client, claim)
    form = {"address_line1": "3 rue Neuve", "postal_code": "75003", "city": "Paris", "country": "France",
            "phone": "07 98 76 54 32"}  # fmt: skip
    assert client.post("/me/claim/contact", data=form).status_code == 302
    db.session.expire_all()
    (notice,) = db.session.execute(
        sa.select(OutboxMessage).where(OutboxMessage.purpose == "filing_member_changed")
    ).scalars()
    assert notice.recipient == lawyer.email and claim.reference in notice.subject
    assert "3 rue Neuve" not in notice.body and "98 76" not in notice.body and "address_line1" in notice.body
