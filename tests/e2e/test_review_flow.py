"""The review console clicked through in Chromium: filter, open, request, answer, accept."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from claims.claimants.models import Claim, ClaimStatus
from claims.extensions import db
from claims.review.models import InfoRequest
from claims.review.operations import answer_information_request
from tests.conftest import STAFF_PASSWORD, fresh_totp_code


def sign_in_page(page: Any, user: Any) -> None:
    page.goto("/console/login")
    page.fill("#email", user.email)
    page.fill("#password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/2fa**")
    db.session.refresh(user)
    page.fill("#code", fresh_totp_code(user))
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")


def test_paralegal_requests_claimant_answers_lawyer_accepts(
    page: Any, make_staff: Any, make_claim: Any, make_claimant: Any, check_accessibility: Any
) -> None:
    claim = make_claim(make_claimant(email="camille@example.fr", last_name="Moreau"))
    other = make_claim(
        make_claimant(email="autre@example.fr", last_name="Bernard"), status=ClaimStatus.ACCEPTED
    )
    reference = claim.reference
    paralegal, lawyer = make_staff("paralegal"), make_staff("lawyer")

    sign_in_page(page, paralegal)
    page.goto("/console/claims")
    check_accessibility(page, "queue")
    page.select_option("#status", "submitted")
    page.click("text=Filtrer")
    queue = page.inner_text("[data-testid=queue]")
    assert reference in queue and other.reference not in queue and "Moreau" in queue
    page.fill("#q", "camille@example.fr")
    page.click("text=Filtrer")
    page.click(f"text={reference}")
    page.wait_for_url(f"**/console/claims/{reference}")
    check_accessibility(page, "claim file")
    assert page.locator("[data-testid=accept]").count() == 0  # a paralegal does not decide
    page.click("text=M’attribuer")
    assert page.inner_text("[data-testid=claim-status]") == "En examen"
    page.click("summary:has-text('Demander des informations')")
    page.fill("#message", "Merci d’ajouter la capture d’écran du SMS frauduleux.")
    page.fill("#due_on", (date.today() + timedelta(days=14)).isoformat())
    page.click("[data-testid=request-info]")
    page.wait_for_url(f"**/console/claims/{reference}")
    assert page.inner_text("[data-testid=claim-status]") == "Informations demandées"
    page.click("text=Se déconnecter")
    page.wait_for_url("**/console/login")  # else the sign-out's answer could clear the next session's cookie

    # The claimant answers (through the portal once it exists; the operation it will call, until then).
    db.session.expire_all()
    answer_information_request(db.session.execute(sa.select(InfoRequest)).scalar_one(), "Voici la capture.")
    db.session.commit()

    sign_in_page(page, lawyer)
    page.goto("/console/claims?status=in_review")
    page.click(f"text={reference}")
    page.click("[data-testid=accept]")
    page.wait_for_url(f"**/console/claims/{reference}")
    assert page.inner_text("[data-testid=claim-status]") == "Acceptée"
    history = page.inner_text("[data-testid=history]")
    for line in (
        "Acceptée",
        "Réponse reçue",
        "Informations demandées",
        "Examen commencé",
        "Dossier consulté",
    ):
        assert line in history, line
    assert "Voici la capture." in page.inner_text("main")
    db.session.expire_all()
    assert db.session.execute(sa.select(Claim.status).where(Claim.reference == reference)).scalar_one() == (
        ClaimStatus.ACCEPTED
    )
