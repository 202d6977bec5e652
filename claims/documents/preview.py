"""A sample claimant bundle from synthetic data, to look at: ``python -m claims.documents.preview OUT_DIR``.

Writes OUT_DIR/bundle.pdf and, when poppler's ``pdftoppm`` is installed
(apt package poppler-utils), one PNG per page at 60 dpi. The data is made up
and deliberately hostile in places (markup, a 5 000-character word, right-to-left
text, emoji, bidi overrides, an unreadable exhibit).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from hashlib import sha256
from pathlib import Path

from PIL import Image, ImageDraw
from pypdf import PdfWriter
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfgen.canvas import Canvas

from .bundle import JPEG, PDF, BundleData, Exhibit, HeadAmount, build_bundle


def sample_jpeg() -> bytes:
    """A fake screenshot of a breach notice, wider than tall."""
    image = Image.new("RGB", (1400, 900), (250, 250, 246))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1400, 110), fill=(20, 60, 120))
    draw.text((40, 40), "Notification de violation de données", fill=(255, 255, 255))
    for row in range(12):
        draw.rectangle(
            (40, 160 + row * 55, 40 + 1320 - (row % 4) * 190, 185 + row * 55), fill=(190, 190, 190)
        )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


# The court and case of every sample document (the preview, the benchmarks).
SAMPLE_FILING = {
    "case_title": "Fuite de données de l’AP-HP (2021)",
    "court": "Tribunal judiciaire de Paris",
    "chamber": "Cabinet de Mme X, juge d’instruction",
    "court_case_number": "JI 21/0042",
    "procedure": "join_investigation",
    "counsel": "Me Claire Martin, avocate au barreau de Paris",
}


def sample_pdf(pages: int = 3) -> bytes:
    """A letter of several pages: the second one turned by /Rotate, the last one landscape."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)
    for number in range(1, pages + 1):
        size = landscape(A4) if number == pages else A4
        canvas.setPageSize(size)
        canvas.setFont("Helvetica-Bold", 16)
        canvas.drawString(60, size[1] - 80, f"Courrier de l'hôpital - page {number}")
        canvas.setFont("Helvetica", 10)
        for line in range(30):
            canvas.drawString(
                60, size[1] - 120 - line * 16, f"Ligne {line + 1} du courrier, texte de la page {number}."
            )
        canvas.showPage()
    canvas.save()
    writer = PdfWriter(clone_from=io.BytesIO(out.getvalue()))
    writer.pages[1].rotate(90)
    rotated = io.BytesIO()
    writer.write(rotated)
    return rotated.getvalue()


def _exhibit(number: int, title: str, media_type: str, content: bytes, day: date) -> Exhibit:
    return Exhibit(
        number=number,
        title=title,
        date=day,
        sha256=sha256(content).hexdigest(),
        media_type=media_type,
        read=lambda: content,
    )


def sample_data() -> BundleData:
    hostile = "<b>gras</b> <img src=x> <font color=red>rouge</font> &amp; \u202eevil\u202c 😀 مرحبا שלום"
    statement = "\n\n".join(
        [
            "Le 12 mars 2021, j’ai reçu un courriel m’informant que mes données de santé avaient été "
            "dérobées lors de l’attaque informatique visant l’hôpital. " * 3,
            "Depuis, je reçois des appels et des SMS frauduleux ; j’ai dû changer mes identifiants, "
            "surveiller mes comptes et déposer plainte. " * 4,
            f"Texte hostile : {hostile}",
            "Mot très long : " + "x" * 5000,
            "Je demande réparation de mon préjudice moral et du temps perdu. " * 6,
        ]
    )
    return BundleData(
        **SAMPLE_FILING,
        reference="APHP-7KQ2-M9XD",
        party_number=12,
        civility="Mme",
        first_name="Élodie",
        last_name="Lefèvre-Durand",
        birth_date=date(1984, 6, 1),
        birth_place="Lyon (France)",
        address_lines=["12 rue des Lilas", "Bâtiment B, 3e étage", "75011 Paris", "France"],
        statement=statement,
        heads=[
            HeadAmount("Préjudice moral (anxiété, crainte d’un usage frauduleux)", Decimal("3000")),
            HeadAmount("Perte de maîtrise de ses données", Decimal("1500")),
            HeadAmount("Temps perdu", Decimal("450.50")),
            HeadAmount(f"Préjudice financier {hostile}", Decimal("1234.56")),
        ],
        exhibits=[
            _exhibit(1, "Capture d’écran — notification.jpg", JPEG, sample_jpeg(), date(2021, 3, 12)),
            _exhibit(2, "Courrier de l’hôpital — courrier.pdf", PDF, sample_pdf(), date(2021, 3, 20)),
            _exhibit(3, f"Relevé bancaire {hostile} — releve.pdf", PDF, b"%PDF-1.7 broken", date(2021, 4, 2)),
        ],
        signature_name="Élodie Lefèvre-Durand",
        signed_at=datetime(2024, 5, 3, 14, 5, tzinfo=UTC),
        accepted_texts=[
            ("Notice d’information sur les données personnelles", 2),
            ("Mandat de représentation", 3),
            ("Convention d’honoraires", 1),
        ],
        legal_aid=False,
    )


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m claims.documents.preview OUT_DIR", file=sys.stderr)
        return 2
    out_dir = Path(argv[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf = out_dir / "bundle.pdf"
    with pdf.open("wb") as out:
        pages = build_bundle(sample_data(), out)
    print(f"{pdf}: {pages} pages")
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        print("pdftoppm not found (apt-get install -y poppler-utils): no PNG", file=sys.stderr)
        return 0
    # Fixed arguments and our own output path: no untrusted input reaches the command.
    subprocess.run([pdftoppm, "-r", "60", "-png", str(pdf), str(out_dir / "page")], check=True)  # noqa: S603
    print(f"{out_dir}/page-*.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
