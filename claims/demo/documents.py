"""Small synthetic evidence files: a breach notification letter (PDF), a
phishing SMS screenshot (PNG) and an identity document photo (JPEG), all
visibly marked as specimens."""

from __future__ import annotations

import io
import random
import unicodedata
from datetime import date

from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

PHISHING_MESSAGES = [
    "Assurance Maladie : votre carte Vitale expire. Renouvelez-la sur ameli-renouvellement.info",
    "AP-HP : resultat de votre test disponible. Consultez-le sur aphp-resultats.net",
    "Votre colis est en attente, frais de 1,99 EUR a regler : colis-suivi-fr.com",
    "Assurance Maladie : remboursement de 89,40 EUR en attente. Confirmez vos coordonnees.",
    "CPAM : votre dossier est incomplet, mettez a jour vos informations sous 48h.",
    "Votre compte Ameli est suspendu. Reactivez-le : ameli-securite.org",
]


def phishing_screenshot(rng: random.Random, received_on: date) -> bytes:
    """A phone screenshot of a phishing SMS."""
    image = Image.new("RGB", (360, 640), (245, 245, 247))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 360, 56), fill=(230, 230, 235))
    draw.text(
        (16, 20),
        f"+33 7 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
        fill=(20, 20, 20),
    )
    message = rng.choice(PHISHING_MESSAGES)
    draw.rounded_rectangle((16, 90, 330, 250), radius=16, fill=(229, 229, 234))
    words, line, y = message.split(), "", 104
    for word in words:
        if len(line) + len(word) > 38:
            draw.text((28, y), line, fill=(0, 0, 0))
            line, y = "", y + 18
        line = f"{line} {word}".strip()
    draw.text((28, y), line, fill=(0, 0, 0))
    draw.text((16, 270), received_on.strftime("%d/%m/%Y %H:%M"), fill=(120, 120, 120))
    draw.text((16, 600), "SPECIMEN - donnees fictives", fill=(200, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()


def identity_photo(rng: random.Random, last_name: str, first_name: str) -> bytes:
    """A photo of a (specimen) identity card, as a phone would take it."""
    image = Image.new("RGB", (640, 420), (rng.randint(90, 120), rng.randint(90, 120), rng.randint(90, 120)))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((40, 40, 600, 380), radius=18, fill=(214, 226, 240))
    draw.text((60, 60), "REPUBLIQUE FRANCAISE - CARTE NATIONALE D'IDENTITE", fill=(20, 40, 90))
    draw.rectangle((60, 100, 200, 280), fill=(180, 180, 190))
    draw.text((220, 110), f"Nom : {_ascii(last_name).upper()}", fill=(0, 0, 0))
    draw.text((220, 140), f"Prenom(s) : {_ascii(first_name)}", fill=(0, 0, 0))
    draw.text((220, 300), "SPECIMEN - SANS VALEUR", fill=(200, 0, 0))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def notification_letter(*, civility: str, full_name: str, address_lines: list[str], sent_on: date) -> bytes:
    """The letter AP-HP sent to the people whose data leaked (specimen)."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1, pageCompression=1)
    canvas.setTitle("Information relative a une violation de donnees")
    _, height = A4
    text = canvas.beginText(60, height - 80)
    text.setFont("Helvetica-Bold", 12)
    text.textLine("Assistance Publique - Hopitaux de Paris")
    text.setFont("Helvetica", 10)
    text.textLine("Delegue a la protection des donnees")
    text.moveCursor(300, 30)
    for line in [f"{civility} {full_name}", *address_lines]:
        text.textLine(_ascii(line))
    text.moveCursor(-300, 30)
    text.textLine(f"Paris, le {sent_on.strftime('%d/%m/%Y')}")
    text.moveCursor(0, 20)
    text.setFont("Helvetica-Bold", 10)
    text.textLine("Objet : information relative a une violation de vos donnees personnelles")
    text.setFont("Helvetica", 10)
    for line in [
        "",
        f"{_ascii(civility)},",
        "",
        "Nous vous informons qu'un acte malveillant a conduit a la recuperation, durant l'ete 2021,",
        "de donnees personnelles vous concernant, relatives a un test de depistage du Covid-19 :",
        "identite, numero de securite sociale, coordonnees et resultat du test.",
        "",
        "Nous vous invitons a la plus grande vigilance face aux messages frauduleux.",
        "",
        "SPECIMEN - document fictif genere pour la demonstration de Recours.",
    ]:
        text.textLine(line)
    canvas.drawText(text)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _ascii(value: str) -> str:
    """Built-in PDF/bitmap fonts lack some glyphs; specimens only need to be legible."""
    return unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
