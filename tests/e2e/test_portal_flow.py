"""The claimant portal in Chromium: the link comes through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from claims.claimants.models import Claim, ClaimStatus
from claims.extensions import db
from claims.review.operations import assign, request_information
from tests.e2e.test_review_flow import sign_in_page
from tests.evidence.test_uploads import jpeg
from tests.mail.test_mail import Inbox, free_port


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture
def live_config(smtp_inbox: tuple[Inbox, int]) -> dict[str, Any]:
    """The served app sends its mail through the test's SMTP server."""
    return {
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_inbox[1],
        "MAIL_USE_STARTTLS": False,
        "MAIL_FROM": "Cabinet <contact@cabinet.example>",
    }


def test_claimant_signs_in_by_mailed_link_answers_with_a_photo_and_the_paralegal_sees_it(
    page: Any,
    smtp_inbox: tuple[Inbox, int],
    make_staff: Any,
    make_claim: Any,
    make_claimant: Any,
    check_accessibility: Any,
    tmp_path: Path,
) -> None:
    inbox, _port = smtp_inbox
    claim = make_claim(make_claimant(email="camille@example.fr", last_name="Moreau"))
    paralegal = make_staff("paralegal")
    assign(claim, paralegal, actor=paralegal)
    request_information(
        claim,
        actor=paralegal,
        message="Merci d’ajouter la capture du SMS.",
        due_on=date.today() + timedelta(days=14),
    )
    db.session.commit()
    reference = claim.reference

    page.goto("/me")
    check_accessibility(page, "portal sign-in")
    page.fill("#email", "camille@example.fr")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Vérifiez votre messagerie")
    ((sender, recipients, message),) = inbox.messages
    assert sender == "contact@cabinet.example"
    assert recipients == ["camille@example.fr"] and reference in message["Subject"]
    link = re.search(r"http://\S+/me/link/\S+", message.get_body(("plain",)).get_content())
    assert link is not None

    page.goto(link.group(0))
    check_accessibility(page, "portal link")
    page.click("text=Me connecter")
    page.wait_for_url("**/me/claim")
    check_accessibility(page, "my claim")
    assert page.inner_text("[data-testid=portal-status]") == "Informations demandées"
    assert "Merci d’ajouter la capture du SMS." in page.inner_text("[data-testid=request-message]")
    photo = tmp_path / "capture.jpg"
    photo.write_bytes(jpeg())
    page.fill("#response", "Voici la capture du SMS reçu le 3 mars.")
    page.select_option("#kind", "phishing_message")
    page.set_input_files("#files", str(photo))
    page.click("[data-testid=send-answer]")
    page.wait_for_selector("text=votre réponse est transmise")
    assert page.inner_text("[data-testid=portal-status]") == "En cours d’examen"
    assert "capture.jpg" in page.inner_text("[data-testid=portal-evidence]")
    page.click("text=Se déconnecter")
    page.wait_for_url("**/me")

    db.session.expire_all()
    assert db.session.get_one(Claim, claim.id).status == ClaimStatus.IN_REVIEW
    sign_in_page(page, paralegal)
    page.goto("/console/claims?assignee=me")
    assert reference in page.inner_text("[data-testid=queue]")
    page.click(f"text={reference}")
    page.wait_for_url(f"**/console/claims/{reference}")
    text = page.inner_text("main")
    assert "Voici la capture du SMS reçu le 3 mars." in text and "capture.jpg" in text
