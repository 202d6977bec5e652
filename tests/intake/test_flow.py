"""A claim from the case page to the receipt, through the real pages."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from stdnum.fr import nir as stdnum_nir

from claims.claimants.models import Claim, ClaimStatus
from claims.demo.operations import create_demo_case
from claims.evidence.models import Evidence, EvidenceStatus
from claims.extensions import db
from claims.mail.models import OutboxMessage
from tests.evidence.test_uploads import jpeg, pdf, png_rgba

VALID_NIR = "2 84 03 93 048 123 " + stdnum_nir.calc_check_digits("2840393048123")
HOSTILE_TEXT = '<script>alert(1)</script><link href="http://evil.example">x</link><font size=80>big</font>'


@pytest.fixture
def demo_case(app: Flask) -> Any:
    case = create_demo_case()
    db.session.commit()
    return case


def post(client: FlaskClient, step: str, data: dict[str, Any], **kwargs: Any) -> Any:
    return client.post(f"/c/aphp-2021/demande/{step}", data=data, **kwargs)


def fill_claim(
    client: FlaskClient, statement: str = "J’ai reçu des SMS frauduleux après la fuite, plusieurs fois."
) -> None:
    # The case page's button is a link to the first step; its answers make the draft.
    case_page = client.get("/c/aphp-2021").get_data(as_text=True)
    assert 'href="/c/aphp-2021/demande/eligibility"' in case_page
    assert client.get("/c/aphp-2021/demande/eligibility").status_code == 200  # no draft yet: the questions
    assert post(client, "eligibility", {"q_tested_2020": "yes", "q_notified": "yes"}).location.endswith(
        "/identity"
    )
    assert (
        post(
            client,
            "identity",
            {
                "civility": "Mme",
                "first_name": "Élodie",
                "last_name": "Lefèvre",
                "birth_date": "1984-03-07",
                "birth_place": "Montreuil",
            },
        ).status_code
        == 302
    )
    assert post(
        client,
        "contact",
        {
            "address_line1": "12 rue de la Fontaine-au-Roi",
            "postal_code": "75011",
            "city": "Paris",
            "country": "France",
            "email": "Elodie@Example.fr",
            "phone": "06 12 34 56 78",
        },
    ).location.endswith("/details")
    assert post(
        client,
        "details",
        {"nir": "2 84 03 93 048 123 78", "test_date": "2020-07-01", "test_place": "Hôpital Bichat"},
    ).status_code in (200, 302)


def test_whole_claim_with_three_uploads(client: FlaskClient, demo_case: Any) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "AP-HP" in page and "Commencer ma demande" in page
    fill_claim(client)
    response = post(client, "details", {"nir": "2840393048123", "test_date": "", "test_place": ""})
    assert "Numéro de sécurité sociale invalide" in response.get_data(as_text=True)
    from stdnum.fr import nir

    valid = "284039304812" + "3"
    valid = valid + nir.calc_check_digits(valid)
    assert post(
        client, "details", {"nir": valid, "test_date": "2020-07-01", "test_place": "Hôpital Bichat"}
    ).location.endswith("/harm")
    assert post(
        client,
        "harm",
        {
            "claim_moral_harm": "y",
            "amount_moral_harm": "1500",
            "claim_time_lost": "y",
            "amount_time_lost": "300",
            "statement": HOSTILE_TEXT + " et beaucoup d’inquiétude.",
        },
    ).location.endswith("/evidence")
    for name, data, kind in [
        ("courrier.pdf", pdf(), "breach_notification"),
        ("sms.png", png_rgba(), "phishing_message"),
        ("cni.jpg", jpeg(), "proof_of_identity"),
    ]:
        response = post(
            client,
            "evidence",
            {"kind": kind, "file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )
        assert response.status_code == 302, response.get_data(as_text=True)
    assert post(client, "evidence", {"done": "1"}).location.endswith("/review")
    review = client.get("/c/aphp-2021/demande/review").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in review and "&lt;script&gt;alert(1)&lt;/script&gt;" in review
    assert "1\u202f800,00\u00a0€" in review
    assert 'href="/c/aphp-2021/demande/consent"' in review  # a link: the review saves nothing
    # The originals are stored; their derivatives wait for the submission (a draft's serve nobody).
    drafted = db.session.execute(sa.select(Evidence)).scalars().all()
    assert [(e.status, e.derivative_storage_key) for e in drafted] == [(EvidenceStatus.PENDING, None)] * 3
    db.session.expire_all()
    consent = {
        "accept_privacy": "y",
        "accept_mandate": "y",
        "accept_fees": "y",
        "civil_party": "y",
        "signature": "Élodie Lefèvre",
        "idempotency_key": "k-1",
    }
    assert post(client, "consent", consent).location == "/c/aphp-2021/recu"
    # A double click, a retry: the same receipt, never a second claim.
    assert post(client, "consent", consent).location == "/c/aphp-2021/recu"
    receipt = client.get("/c/aphp-2021/recu").get_data(as_text=True)
    reference = re.search(r'data-testid="claim-reference">(APHP-[A-Z0-9]{4}-[A-Z0-9]{4})<', receipt).group(1)

    claim = db.session.execute(sa.select(Claim)).scalar_one()
    assert claim.reference == reference and claim.status == ClaimStatus.SUBMITTED
    assert claim.total_claimed == 1800 and claim.signature_name == "Élodie Lefèvre"
    assert claim.privacy_notice_version == claim.mandate_version == claim.fee_agreement_version == 1
    assert claim.claimant.email == "Elodie@example.fr" and claim.claimant.phone == "+33 6 12 34 56 78"
    assert claim.form_seconds is not None and claim.honeypot_filled is False
    evidence = db.session.execute(sa.select(Evidence)).scalars().all()
    assert len(evidence) == 3 and all(e.status == EvidenceStatus.CLEAN for e in evidence)
    assert all(e.derivative_storage_key and e.derivative_sha256 for e in evidence)
    mail = db.session.execute(sa.select(OutboxMessage)).scalar_one()
    assert reference in mail.subject
    attachment = mail.attachments[0]
    import base64

    pdf_bytes = base64.b64decode(attachment["data"])
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf_bytes)).pages)
    # The spaces of "1 800,00 €" survive (text extraction turns the narrow
    # no-break space into a plain one), in a font that has their glyphs.
    assert reference in text and "1 800,00 €" in text and b"DejaVuSans" in pdf_bytes
    # Claimant text is printed as text: reportlab markup is not interpreted.
    assert "<script>alert(1)</script>" in text and '<link href="http://evil.example">' in text


def test_french_amounts_use_narrow_no_break_spaces() -> None:
    from decimal import Decimal

    from claims.documents import euros, para_text

    assert euros(Decimal("1234.5")) == "1\u202f234,50\u00a0€"
    assert (
        para_text("1\u202f234,50\u00a0€\u202e<b>") == "1\u202f234,50\u00a0€&lt;b&gt;"
    )  # bidi override dropped


def test_not_eligible_is_explained(client: FlaskClient, demo_case: Any) -> None:
    page = post(client, "eligibility", {"q_tested_2020": "yes", "q_notified": "no"}).get_data(as_text=True)
    assert "Vous ne pouvez pas vous joindre" in page and "informé(e) par l’AP-HP" in page
    assert client.get("/c/aphp-2021/demande/identity").status_code == 200  # can still correct answers


def test_steps_refuse_without_a_draft(client: FlaskClient, demo_case: Any) -> None:
    response = client.get("/c/aphp-2021/demande/identity")
    assert response.location == "/c/aphp-2021"


def test_another_claimants_draft_is_out_of_reach(app: Flask, client: FlaskClient, demo_case: Any) -> None:
    fill_claim(client)
    other = app.test_client()
    post(other, "eligibility", {"q_tested_2020": "yes", "q_notified": "yes"})
    page = other.get("/c/aphp-2021/demande/contact").get_data(as_text=True)
    assert "Fontaine-au-Roi" not in page and "Elodie" not in page
    mine = db.session.execute(sa.select(Evidence.id)).first()
    assert mine is None


def complete_claim(client: FlaskClient, **consent: str) -> None:
    fill_claim(client)
    post(client, "details", {"nir": VALID_NIR, "test_date": "", "test_place": ""})
    post(
        client,
        "harm",
        {
            "claim_moral_harm": "y",
            "amount_moral_harm": "1500",
            "statement": "Des SMS frauduleux depuis la fuite, chaque semaine.",
        },
    )
    post(client, "evidence", {"done": "1"})
    data = {
        "accept_privacy": "y",
        "accept_mandate": "y",
        "accept_fees": "y",
        "civil_party": "y",
        "signature": "Élodie Lefèvre",
        "idempotency_key": "k",
    }
    data.update(consent)
    assert post(client, "consent", data).location == "/c/aphp-2021/recu"


def test_honeypot_is_recorded_never_shown(client: FlaskClient, demo_case: Any) -> None:
    complete_claim(client, website="http://cheap-pills.example")
    claim = db.session.execute(sa.select(Claim)).scalar_one()
    assert claim.honeypot_filled is True and claim.status == ClaimStatus.SUBMITTED
    assert "cheap-pills" not in client.get("/c/aphp-2021/recu").get_data(as_text=True)


def test_consent_is_required_to_submit(client: FlaskClient, demo_case: Any) -> None:
    fill_claim(client)
    post(client, "details", {"nir": VALID_NIR, "test_date": "", "test_place": ""})
    response = post(client, "consent", {"signature": "Élodie Lefèvre"})
    assert response.status_code == 200 and "Il y a un problème" in response.get_data(as_text=True)
    assert db.session.execute(sa.select(Claim.status)).scalar_one() == ClaimStatus.DRAFT


MARKUP = '<b>x</b><img src=x onerror=alert(1)><link href="http://evil.example">y</link>'


def test_markup_in_every_text_field_stays_text(client: FlaskClient, demo_case: Any) -> None:
    """HTML and reportlab markup typed anywhere is stored as typed and shown escaped, page and PDF."""
    import base64

    post(client, "eligibility", {"q_tested_2020": "yes", "q_notified": "yes"})
    assert (
        post(
            client,
            "identity",
            {
                "civility": "",
                "first_name": "F" + MARKUP,
                "last_name": "L" + MARKUP,
                "birth_date": "1984-03-07",
                "birth_place": "P" + MARKUP,
            },
        ).status_code
        == 302
    )
    assert (
        post(
            client,
            "contact",
            {
                "address_line1": "A" + MARKUP,
                "address_line2": "B" + MARKUP,
                "postal_code": "75011",
                "city": "C" + MARKUP,
                "country": "D" + MARKUP,
                "email": "e@example.fr",
                "phone": "06 12 34 56 78",
            },
        ).status_code
        == 302
    )
    assert (
        post(client, "details", {"nir": VALID_NIR, "test_date": "", "test_place": "T" + MARKUP}).status_code
        == 302
    )
    post(client, "harm", {"claim_moral_harm": "y", "amount_moral_harm": "1", "statement": "S" + MARKUP})
    post(
        client,
        "evidence",
        {"kind": "other", "file": (io.BytesIO(pdf()), "N" + MARKUP + ".pdf")},
        content_type="multipart/form-data",
    )
    review = client.get("/c/aphp-2021/demande/review").get_data(as_text=True)
    assert "<img src=x" not in review and "<b>x</b>" not in review
    assert review.count("&lt;img src=x onerror=alert(1)&gt;") >= 8
    post(
        client,
        "consent",
        {
            "accept_privacy": "y",
            "accept_mandate": "y",
            "accept_fees": "y",
            "civil_party": "y",
            "signature": "Sig" + MARKUP,
            "idempotency_key": "m",
        },
    )
    claim = db.session.execute(sa.select(Claim)).scalar_one()
    assert claim.claimant.first_name == "F" + MARKUP and claim.signature_name == "Sig" + MARKUP
    mail = db.session.execute(sa.select(OutboxMessage)).scalar_one()
    pages = PdfReader(io.BytesIO(base64.b64decode(mail.attachments[0]["data"]))).pages
    text = " ".join(p.extract_text() for p in pages).replace("\n", " ")  # long values wrap at spaces
    assert text.count("<img src=x onerror=alert(1)>") >= 8
