"""A victim completes a whole claim in Chromium, in French and in English."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from stdnum.fr import nir as stdnum_nir

from claims.claimants.models import Claim, ClaimStatus
from claims.demo.operations import create_demo_case
from claims.evidence.models import Evidence
from claims.extensions import db
from claims.vault import current_vault
from tests.evidence.test_uploads import jpeg, pdf, png_rgba

NIR = "2 84 03 93 048 123 " + stdnum_nir.calc_check_digits("2840393048123")
TEXTS = {
    "fr": {
        "start": "Commencer ma demande",
        "receipt": "Votre demande est enregistrée",
        "step": "Étape 1 sur 8",
    },
    "en": {"start": "Start my claim", "receipt": "Your claim is registered", "step": "Step 1 of 8"},
}


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_whole_claim_with_three_uploads(
    page: Any, check_accessibility: Any, tmp_path: Path, lang: str
) -> None:
    create_demo_case()
    db.session.commit()
    files = {"courrier.pdf": pdf(), "capture-sms.png": png_rgba(), "carte-identite.jpg": jpeg()}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    text = TEXTS[lang]

    def submit() -> None:
        page.click("main form button[type=submit]")

    page.goto(f"/?lang={lang}")
    check_accessibility(page, "case page")
    page.click(f"text={text['start']}")
    assert text["step"] in page.inner_text(".progress")
    check_accessibility(page, "eligibility")
    page.check("input[name=q_tested_2020][value=yes]")
    page.check("input[name=q_notified][value=yes]")
    submit()

    check_accessibility(page, "identity")
    page.select_option("#civility", "Mme")
    page.fill("#first_name", "Élodie")
    page.fill("#last_name", "Lefèvre")
    page.fill("#birth_date", "1984-03-07")
    page.fill("#birth_place", "Montreuil")
    submit()

    page.fill("#email", "elodie@example.fr")  # left wrong on purpose: the error summary
    page.fill("#phone", "12")
    submit()
    assert page.locator(".error-summary").is_visible()
    check_accessibility(page, "contact with errors")
    page.fill("#address_line1", "12 rue de la Fontaine-au-Roi")
    page.fill("#postal_code", "75011")
    page.fill("#city", "Paris")
    page.fill("#phone", "06 12 34 56 78")
    submit()

    check_accessibility(page, "details")
    page.fill("#nir", NIR)
    submit()

    check_accessibility(page, "harm")
    page.check("#claim_moral_harm")
    page.fill("#amount_moral_harm", "1500")
    page.fill("#statement", "Depuis la fuite je reçois des SMS frauduleux <b>chaque semaine</b>.")
    submit()

    kinds = ["breach_notification", "phishing_message", "proof_of_identity"]
    for (name, _), kind in zip(files.items(), kinds, strict=True):
        page.select_option("#kind", kind)
        page.set_input_files("#file", str(tmp_path / name))
        page.click("form[enctype] button[type=submit]")
        assert name in page.inner_text("[data-testid=evidence-list]")
    check_accessibility(page, "evidence")
    page.click("button[name=done]")

    check_accessibility(page, "review")
    assert "<b>chaque semaine</b>" in page.inner_text(".statement")  # shown as text, not markup
    page.click("main a.button[href$='/consent']")

    check_accessibility(page, "consent")
    for box in ("#accept_privacy", "#accept_mandate", "#accept_fees", "#civil_party"):
        page.check(box)
    page.fill("#signature", "Élodie Lefèvre")
    submit()
    page.wait_for_url("**/recu")
    assert text["receipt"] in page.inner_text("h1")
    check_accessibility(page, "receipt")
    reference = page.inner_text("[data-testid=claim-reference]")

    db.session.expire_all()
    claim = db.session.execute(sa.select(Claim)).scalar_one()
    assert claim.reference == reference and claim.status == ClaimStatus.SUBMITTED
    assert claim.claimant.language == lang
    evidence = db.session.execute(sa.select(Evidence)).scalars().all()
    assert sorted(e.original_filename for e in evidence) == sorted(files)
    storage = current_vault().storage
    for item in evidence:
        stored = storage.path_of(item.storage_key).read_bytes()
        original = files[item.original_filename]
        assert stored != original and original[:16] not in stored


def test_works_at_320_pixels_wide(page: Any, check_accessibility: Any) -> None:
    create_demo_case()
    db.session.commit()
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto("/")
    page.click("text=Commencer ma demande")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 320
    check_accessibility(page, "eligibility at 320 px")


def test_first_steps_with_the_keyboard_alone(page: Any) -> None:
    """Tab and Space/Enter only: the start button, the radios, the identity fields."""
    create_demo_case()
    db.session.commit()
    page.goto("/")
    button = page.locator("text=Commencer ma demande")
    for _ in range(30):
        page.keyboard.press("Tab")
        if button.evaluate("b => b === document.activeElement"):
            break
    page.keyboard.press("Enter")
    page.wait_for_url("**/demande/eligibility")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("() => document.activeElement.className") == "skip"
    page.keyboard.press("Enter")  # to the main content
    for _question in range(2):
        page.keyboard.press("Tab")
        page.keyboard.press("Space")  # the first option of the group: "Oui"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/demande/identity*")  # "#main" stays from the skip link
    page.wait_for_load_state("load")  # the stylesheet too: the focus style is what is checked
    # The browser focuses the "#main" target itself once the page has settled; a Tab pressed
    # before that would have its focus taken back by it.
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'main'")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.tagName + ':' + (document.activeElement.id || '')")
    assert focused, "nothing takes the focus"
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", focused  # the focus is visible
