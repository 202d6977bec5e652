"""Bundles: how fast one claimant's bundle is built, against the same content drawn by hand.

The typical claimant (``typical_claimant``): a statement of about 22,000 characters in
paragraphs of four to nine sentences (five pages of text on its own), three heads of
damage, two phone photos (4032 x 3024, one landscape and one portrait, about 1.4 MB each)
and a 2-page letter, both made into derivatives by the evidence sanitiser as uploads are
(re-encoded JPEG, rewritten PDF): a bundle of fourteen pages.

Measures, in the same run, after one untimed warm-up of each (fonts, templates, imports),
side by side N times (N = 30; 6 with --quick), each first in turn, garbage collected
before each run:
* ``build_bundle`` (``claims.documents.bundle``, what the bundle jobs call) writing the
  bundle into memory, exhibits read from memory;
* the baseline (``raw_canvas``), a minimal program writing the same content with
  reportlab's canvas: the same text (the constitution rendered from the same templates,
  the same statement) in the same DejaVu fonts and sizes, wrapped to the same widths with
  ``simpleSplit`` and justified by word spacing where the bundle justifies, laid out
  before drawing so that the total is known; the cover, identity, heads of damage,
  bordereau and closing tables as drawn text lines in boxes; the party's reference and
  "page X / Y" on every page; each photo on its own page by ``canvas.drawImage`` of the
  same JPEG bytes, written to a temporary file for it (given an ``ImageReader``,
  drawImage decodes every pixel to hash them; given a file name, it embeds the JPEG as
  it is, as the bundle does, once reportlab's ASCII85 is switched off for the baseline,
  whose pure-Python encoder would dominate it), with its caption and its "Pièce n° N"
  stamp. The canvas cannot draw a PDF, so the letter goes in as a minimal program would
  do it: the canvas draws a transparent page (footer, and the stamp on the first) for
  each of its pages, then pypdf's ``PdfWriter`` takes every canvas page in order, the
  letter's pages in place of those with ``merge_page`` laying the transparent page over
  each, and writes one PDF. No checks of the untrusted text, no placeholder for an
  unreadable exhibit, no metadata.

Both outputs are read back with pypdf (page count, the cover's title, the statement's
last words, the letter's text and the last page's "page N / N") so that a broken file
fails the run.

Figures: bundles_per_second (1 / median bundle time, one process), both medians and the
ratio of the two, page counts and sizes.

Ratios:
  bundle_vs_raw_canvas   bundle time / baseline time, the median over the N pairs (the
                         machine's load drifts; the two runs of a pair share it);
                         target <= 1.5

The same JSON line carries the filing pack's and the Celery workers' figures and ratios
(pack_time_10k_vs_1k, pack_memory_10k_vs_1k, celery_2_vs_1_speedup), measured by
``benchmarks._filing_pack`` (see its docstring).
"""

from __future__ import annotations

import gc
import io
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from hashlib import sha256
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from pypdf import PdfReader, PdfWriter
from reportlab import rl_config
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from benchmarks._common import parse_args, report
from benchmarks._filing_pack import measure_celery, measure_pack
from claims.documents import FONT, FONT_BOLD, euros, register_fonts
from claims.documents.bundle import (
    GREY,
    INK,
    JPEG,
    MARGIN,
    PDF,
    RULE,
    STAMP,
    BundleData,
    Exhibit,
    HeadAmount,
    _long_date,
    _moment,
    _party_name,
    _template_paragraphs,
    _wording,
    build_bundle,
    party_label,
)
from claims.documents.preview import SAMPLE_FILING
from claims.evidence.sanitise import sanitise

LAST_WORDS = "Je demande réparation de l’ensemble de ces préjudices."
SENTENCES = [
    "Le 12 mars 2021, j’ai reçu un courriel de l’hôpital m’informant que mes données avaient été dérobées.",
    "Depuis, je reçois chaque semaine des SMS et des appels frauduleux se réclamant de ma banque ou de "
    "l’Assurance maladie.",
    "J’ai dû changer mes identifiants, faire opposition à ma carte bancaire et surveiller mes comptes "
    "chaque jour.",
    "Cette situation me cause une anxiété permanente : je crains que mon numéro de sécurité sociale "
    "serve à usurper mon identité.",
    "J’ai passé de nombreuses heures au téléphone avec ma banque, mon opérateur et les services de police.",
    "Un prêt à la consommation a été demandé à mon nom auprès d’un organisme que je ne connaissais pas.",
    "Mon médecin m’a prescrit un traitement contre les troubles du sommeil apparus après la fuite.",
]


# --- the typical claimant --------------------------------------------------------------------


def photo(seed: int, width: int, height: int) -> bytes:
    """A phone photo of a screen or a letter, as the sanitiser makes its derivative."""
    rng = random.Random(seed)
    small = Image.frombytes(
        "RGB", (width // 64, height // 64), rng.randbytes(width // 64 * (height // 64) * 3)
    )
    image = small.resize((width, height), Image.Resampling.BICUBIC)
    grain = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    image = Image.blend(image, grain, 0.06)
    draw = ImageDraw.Draw(image)
    for row in range(14):
        top = height // 8 + row * height // 20
        right = width // 10 + (row * 7919 % 5 + 4) * width // 10
        draw.rectangle((width // 10, top, right, top + height // 40), fill=(235, 235, 235))
    original = io.BytesIO()
    image.save(original, "JPEG", quality=95)
    original.seek(0)
    return sanitise(original, JPEG)[0]


def letter(pages: int = 2) -> bytes:
    """The hospital's letter, as the sanitiser rewrites an uploaded PDF."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)
    for number in range(1, pages + 1):
        canvas.setFont("Helvetica-Bold", 14)
        canvas.drawString(60, 770, f"Assistance Publique - Hopitaux de Paris - page {number} / {pages}")
        canvas.setFont("Helvetica", 10)
        for line in range(44):
            canvas.drawString(
                60,
                740 - line * 15.5,
                f"Ligne {line + 1} : vos donnees ont pu etre exposees lors de l'incident.",
            )
        canvas.showPage()
    canvas.save()
    out.seek(0)
    return sanitise(out, PDF)[0]


def statement(characters: int = 22_000) -> str:
    rng = random.Random(7)
    paragraphs: list[str] = []
    while sum(len(paragraph) + 2 for paragraph in paragraphs) < characters:
        paragraphs.append(" ".join(rng.choice(SENTENCES) for _ in range(rng.randint(4, 9))))
    return "\n\n".join([*paragraphs, LAST_WORDS])


def _exhibit(number: int, title: str, media_type: str, content: bytes) -> Exhibit:
    return Exhibit(
        number=number,
        title=title,
        date=date(2021, 3, 10 + number),
        sha256=sha256(content).hexdigest(),
        media_type=media_type,
        read=lambda: content,
    )


def typical_claimant() -> BundleData:
    return BundleData(
        **SAMPLE_FILING,
        reference="APHP-7KQ2-M9XD",
        party_number=12,
        civility="Mme",
        first_name="Élodie",
        last_name="Lefèvre-Durand",
        birth_date=date(1984, 6, 1),
        birth_place="Lyon",
        address_lines=["12 rue des Lilas", "Bâtiment B", "75011 Paris", "France"],
        statement=statement(),
        heads=[
            HeadAmount("Préjudice moral (anxiété, crainte d’un usage frauduleux)", Decimal("3000")),
            HeadAmount("Perte de maîtrise de ses données", Decimal("1500")),
            HeadAmount("Temps perdu", Decimal("450.50")),
        ],
        exhibits=[
            _exhibit(1, "Message frauduleux (sms.jpg)", JPEG, photo(1, 4032, 3024)),
            _exhibit(2, "Notification de la violation (courrier.jpg)", JPEG, photo(2, 3024, 4032)),
            _exhibit(3, "Courrier de l’hôpital (courrier-aphp.pdf)", PDF, letter()),
        ],
        signature_name="Élodie Lefèvre-Durand",
        signed_at=datetime(2024, 5, 3, 12, 5, tzinfo=UTC),
        accepted_texts=[
            ("Notice d’information sur les données personnelles", 2),
            ("Mandat de représentation", 3),
            ("Convention d’honoraires", 1),
        ],
        legal_aid=False,
    )


# --- the baseline: the same content with reportlab's canvas ---------------------------------

TOP = A4[1] - 20 * mm
BOTTOM = 20 * mm
WIDTH = A4[0] - 2 * MARGIN
LABEL = 48 * mm


@dataclass
class _Line:
    x: float
    y: float
    text: str
    font: str = FONT
    size: float = 10
    word_space: float = 0.0
    align: str = "left"  # left, centre or right (x is then the centre or the right edge)
    colour: Any = INK


@dataclass
class _Page:
    lines: list[_Line] = field(default_factory=list)
    rules: list[tuple[float, float, float, float]] = field(default_factory=list)  # x0, y0, x1, y1
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)  # x, y, w, h
    # What the page is when it is not text: ("photo", exhibit) or ("letter", exhibit, page index).
    exhibit: tuple[Any, ...] | None = None


class _Layout:
    """Lines placed on pages before anything is drawn: "page X / Y" needs Y."""

    def __init__(self) -> None:
        self.pages: list[_Page] = []
        self.page_break()

    def page_break(self) -> None:
        self.pages.append(_Page())
        self.y = TOP

    def skip(self, height: float) -> None:
        self.y -= height

    def room(self, height: float) -> None:
        if self.y - height < BOTTOM:
            self.page_break()

    def line(self, text: str, font: str = FONT, size: float = 10, leading: float = 14, **kw: Any) -> None:
        self.room(leading)
        self.y -= leading
        x = {"centre": A4[0] / 2, "right": A4[0] - MARGIN}.get(kw.get("align", "left"), MARGIN)
        self.pages[-1].lines.append(_Line(kw.pop("x", x), self.y + 0.25 * leading, text, font, size, **kw))

    def paragraph(
        self,
        text: str,
        font: str = FONT,
        size: float = 10,
        leading: float = 14,
        x: float = MARGIN,
        width: float = WIDTH,
        justify: bool = True,
        after: float = 0,
        align: str = "left",
    ) -> None:
        lines = simpleSplit(text, font, size, width)
        for index, line in enumerate(lines):
            if align != "left":
                self.line(line, font, size, leading, align=align)
                continue
            spaces = line.count(" ")
            space = 0.0
            if justify and spaces and index < len(lines) - 1:
                space = (width - stringWidth(line, font, size)) / spaces
            self.line(line, font, size, leading, x=x, word_space=space)
        self.skip(after)

    def rows(self, rows: list[tuple[str, str]], label: float = LABEL) -> None:
        """A label / value table: label in bold, value wrapped in its column, a rule under each row."""
        for name, value in rows:
            labels = simpleSplit(name, FONT_BOLD, 9.5, label - 12)
            values = [
                part
                for text in value.split("\n")
                for part in simpleSplit(text, FONT, 9.5, WIDTH - label - 12)
            ]
            height = 12.5 * max(len(labels), len(values)) + 9
            self.room(height)
            top = self.y
            page = self.pages[-1]
            for index, text in enumerate(labels):
                page.lines.append(_Line(MARGIN + 6, top - 4 - 12.5 * (index + 0.8), text, FONT_BOLD, 9.5))
            for index, text in enumerate(values):
                page.lines.append(_Line(MARGIN + label + 6, top - 4 - 12.5 * (index + 0.8), text, FONT, 9.5))
            self.y -= height
            page.boxes.append((MARGIN, self.y, WIDTH, height))


def _layout_text(data: BundleData, layout: _Layout) -> None:
    wording = _wording(data)
    party = _party_name(data)
    label = party_label(data.party_number)
    case_number = data.court_case_number or "(numéro à venir)"
    layout.line(data.counsel, size=8.5, leading=11, colour=GREY)
    layout.skip(30 * mm)
    layout.line("CONSTITUTION DE PARTIE CIVILE", FONT_BOLD, 17, 22, align="centre")
    layout.skip(4 * mm)
    layout.paragraph(wording.label, size=11, leading=15, align="centre")
    layout.skip(14 * mm)
    layout.rows(
        [
            ("Affaire", data.case_title),
            ("Juridiction", data.court),
            ("Cabinet / chambre", data.chamber),
            ("N° de l’affaire", case_number),
        ]
    )
    layout.skip(14 * mm)
    top = layout.y
    layout.skip(10)
    layout.line(label, FONT_BOLD, 15, 20, align="centre")
    layout.paragraph(party, size=11, leading=15, align="centre")
    layout.line(f"Référence du dossier : {data.reference}", align="centre")
    layout.skip(10)
    layout.pages[-1].boxes.append((MARGIN + 15 * mm, layout.y, WIDTH - 30 * mm, top - layout.y))
    layout.skip(10 * mm)
    layout.rows([("Avocat", data.counsel)])

    layout.page_break()
    heading = {"font": FONT_BOLD, "size": 12, "leading": 16}
    layout.skip(14)
    layout.line("I. Identité et domicile de la partie civile", **heading)
    layout.skip(7)
    birth = data.birth_date
    layout.rows(
        [
            ("Civilité", data.civility),
            ("Nom", data.last_name.upper()),
            ("Prénom(s)", data.first_name),
            ("Date de naissance", _long_date(birth) if birth else "non renseignée"),
            ("Lieu de naissance", data.birth_place),
            ("Adresse du domicile", "\n".join(data.address_lines)),
        ]
    )
    layout.skip(14)
    layout.line("II. Constitution de partie civile", **heading)
    layout.skip(7)
    layout.paragraph(wording.addressee, FONT_BOLD, justify=False, after=10)
    for text in _template_paragraphs(wording.body):
        layout.paragraph(text, after=6)
    layout.skip(14)
    layout.line("III. Exposé des faits", **heading)
    layout.skip(7)
    for text in data.statement.split("\n"):
        if text.strip():
            layout.paragraph(text.strip(), after=4)
    layout.skip(14)
    layout.line("IV. Préjudices et montants demandés", **heading)
    layout.skip(7)
    layout.paragraph(wording.heads_request, after=6)
    total = sum((head.amount for head in data.heads), Decimal("0"))
    for name, amount, font in [
        ("Chef de préjudice", "Montant demandé", FONT_BOLD),
        *((head.label, euros(head.amount), FONT) for head in data.heads),
        ("Total des demandes", euros(total), FONT_BOLD),
    ]:
        lines = simpleSplit(name, FONT_BOLD if font == FONT_BOLD else FONT, 9.5, WIDTH - 42 * mm - 12)
        height = 12.5 * len(lines) + 9
        layout.room(height)
        page = layout.pages[-1]
        for index, text in enumerate(lines):
            page.lines.append(_Line(MARGIN + 6, layout.y - 4 - 12.5 * (index + 0.8), text, font, 9.5))
        page.lines.append(_Line(A4[0] - MARGIN - 6, layout.y - 14, amount, font, 10, align="right"))
        layout.y -= height
        page.boxes.append((MARGIN, layout.y, WIDTH, height))
    layout.skip(6 * mm)
    for text in _template_paragraphs(wording.closing):
        layout.paragraph(text, after=6)

    layout.page_break()
    layout.line("BORDEREAU DE COMMUNICATION DE PIÈCES", FONT_BOLD, 17, 22, align="centre")
    layout.skip(3 * mm)
    layout.line(label, size=11, leading=15, align="centre")
    layout.skip(8 * mm)
    layout.rows(
        [
            ("Juridiction", f"{data.court} — {data.chamber}"),
            ("N° de l’affaire", case_number),
            ("Affaire", data.case_title),
            ("Partie civile", f"{party} ({label.lower()})"),
            ("Avocat", data.counsel),
        ]
    )
    layout.skip(14)
    layout.line("Pièces communiquées", **heading)
    layout.skip(7)
    layout.rows(
        [
            (f"Pièce n° {item.number}", f"{item.title} — {item.date:%d/%m/%Y}\nSHA-256 : {item.sha256}")
            for item in data.exhibits
        ],
        label=26 * mm,
    )


def _layout_closing(data: BundleData, layout: _Layout) -> None:
    layout.page_break()
    layout.line("MANDAT ET DOCUMENTS ACCEPTÉS", FONT_BOLD, 17, 22, align="centre")
    layout.skip(3 * mm)
    layout.line(party_label(data.party_number), size=11, leading=15, align="centre")
    layout.skip(10 * mm)
    when = _moment(data.signed_at) if data.signed_at else "(date non enregistrée)"
    layout.paragraph(f"Mandat signé par {data.signature_name} le {when}.", after=6)
    layout.paragraph(
        "Textes acceptés par la partie civile, dans leur version en vigueur lors de l’acceptation :", after=6
    )
    for title, version in data.accepted_texts:
        layout.paragraph(f"•  {title} — version {version}", x=MARGIN + 7 * mm, width=WIDTH - 7 * mm, after=3)
    layout.skip(6 * mm)
    layout.paragraph(f"Aide juridictionnelle : {'oui' if data.legal_aid else 'non'}.", after=6)


def _draw_stamp(canvas: Canvas, width: float, height: float, number: int, party: str) -> None:
    x, y = width - 12 * mm - 46 * mm, height - 9 * mm - 15 * mm
    canvas.setStrokeColor(STAMP)
    canvas.setLineWidth(1.4)
    canvas.roundRect(x, y, 46 * mm, 15 * mm, 2 * mm)
    canvas.setFillColor(STAMP)
    canvas.setFont(FONT_BOLD, 14)
    canvas.drawCentredString(x + 23 * mm, y + 8 * mm, f"Pièce n° {number}")
    canvas.setFont(FONT, 7.5)
    canvas.drawCentredString(x + 23 * mm, y + 3 * mm, party)


def raw_canvas(data: BundleData, out: io.BytesIO, folder: Path) -> int:
    """The baseline (see the module's docstring); returns its page count. ``folder``: for the photos."""
    register_fonts()
    layout = _Layout()
    _layout_text(data, layout)
    letters: dict[int, PdfReader] = {}
    for item in data.exhibits:
        if item.media_type == JPEG:
            layout.pages.append(_Page(exhibit=("photo", item)))
        else:
            letters[item.number] = PdfReader(io.BytesIO(item.read()))
            for index in range(len(letters[item.number].pages)):
                layout.pages.append(_Page(exhibit=("letter", item, index)))
    _layout_closing(data, layout)

    total = len(layout.pages)
    party = party_label(data.party_number)
    footer = f"{party} — réf. {data.reference}"
    drawn = io.BytesIO()
    canvas = Canvas(drawn, pagesize=A4, invariant=1)
    for number, page in enumerate(layout.pages, start=1):
        width, height = A4
        left = footer
        if page.exhibit and page.exhibit[0] == "photo":
            item = page.exhibit[1]
            # By file name: given an ImageReader, drawImage decodes every pixel to hash them.
            photo_file = folder / f"piece-{item.number}.jpg"
            photo_file.write_bytes(item.read())
            image_width, image_height = ImageReader(photo_file).getSize()
            width, height = landscape(A4) if image_width > image_height else A4
            canvas.setPageSize((width, height))
            box_width, box_height = width - 30 * mm, height - 50 * mm
            scale = min(box_width / image_width, box_height / image_height, 3.0)
            drawn_height = image_height * scale
            canvas.drawImage(
                str(photo_file),
                15 * mm + (box_width - image_width * scale) / 2,
                height - 32 * mm - drawn_height,
                image_width * scale,
                drawn_height,
            )
            _draw_stamp(canvas, width, height, item.number, party)
            canvas.setFillColor(INK)
            canvas.setFont(FONT, 9)
            canvas.drawString(15 * mm, height - 20 * mm, f"{item.title} — {item.date:%d/%m/%Y}")
            left += f" — pièce n° {item.number}"
        elif page.exhibit:
            item, index = page.exhibit[1], page.exhibit[2]
            if index == 0:
                _draw_stamp(canvas, width, height, item.number, party)
            left += f" — pièce n° {item.number}"
        else:
            canvas.setPageSize(A4)
            canvas.setStrokeColor(RULE)
            canvas.setLineWidth(0.6)
            for x, y, box_width, box_height in page.boxes:
                canvas.rect(x, y, box_width, box_height)
            for line in page.lines:
                canvas.setFillColor(line.colour)
                canvas.setFont(line.font, line.size)
                if line.align == "centre":
                    canvas.drawCentredString(line.x, line.y, line.text)
                elif line.align == "right":
                    canvas.drawRightString(line.x, line.y, line.text)
                elif line.word_space:
                    text = canvas.beginText(line.x, line.y)
                    text.setFont(line.font, line.size)
                    text.setWordSpace(line.word_space)
                    text.textOut(line.text)
                    canvas.drawText(text)
                else:
                    canvas.drawString(line.x, line.y, line.text)
        canvas.setFillColor(GREY)
        canvas.setFont(FONT, 7.5)
        canvas.drawString(MARGIN, 9 * mm, left)
        canvas.drawRightString(width - MARGIN, 9 * mm, f"page {number} / {total}")
        canvas.showPage()
    canvas.save()

    writer = PdfWriter()
    for page, drawn_page in zip(layout.pages, PdfReader(drawn).pages, strict=True):
        if page.exhibit and page.exhibit[0] == "letter":
            writer.add_page(letters[page.exhibit[1].number].pages[page.exhibit[2]]).merge_page(drawn_page)
        else:
            writer.add_page(drawn_page)
    writer.write(out)
    return total


def _raw_canvas_without_a85(data: BundleData, out: io.BytesIO) -> int:
    saved = rl_config.useA85
    rl_config.useA85 = 0
    try:
        with tempfile.TemporaryDirectory(prefix="recours-bench-") as folder:
            return raw_canvas(data, out, Path(folder))
    finally:
        rl_config.useA85 = saved


# --- measure ---------------------------------------------------------------------------------


def _check(name: str, pdf: bytes, pages: int) -> None:
    reader = PdfReader(io.BytesIO(pdf))
    if len(reader.pages) != pages:
        raise SystemExit(f"{name}: {len(reader.pages)} pages, {pages} announced")
    texts = [re.sub(r"\s+", " ", page.extract_text()) for page in reader.pages]
    everything = " ".join(texts)
    for needle in ("CONSTITUTION DE PARTIE CIVILE", LAST_WORDS, "Ligne 44 : vos donnees", "Pièce n° 3"):
        if needle not in everything:
            raise SystemExit(f"{name}: {needle!r} not found")
    if f"page {pages} / {pages}" not in texts[-1]:
        raise SystemExit(f"{name}: the last page is not numbered {pages} / {pages}")


def _timed(build: Callable[[BundleData, io.BytesIO], int], data: BundleData) -> tuple[float, bytes, int]:
    gc.collect()  # the garbage of the run before is not charged to this one
    out = io.BytesIO()
    started = time.perf_counter()
    pages = build(data, out)
    return time.perf_counter() - started, out.getvalue(), pages


def measure_bundle_speed(quick: bool) -> tuple[dict[str, Any], dict[str, float]]:
    runs = 6 if quick else 30
    data = typical_claimant()
    # Warm-up (fonts, templates, imports), and the outputs checked once.
    _, bundle, bundle_pages = _timed(build_bundle, data)
    _, raw, raw_pages = _timed(_raw_canvas_without_a85, data)
    _check("bundle", bundle, bundle_pages)
    _check("raw canvas", raw, raw_pages)
    bundle_times: list[float] = []
    raw_times: list[float] = []
    for run in range(runs):
        # Side by side, each first in turn: a pair shares the machine's load of the moment.
        if run % 2:
            raw_times.append(_timed(_raw_canvas_without_a85, data)[0])
            bundle_times.append(_timed(build_bundle, data)[0])
        else:
            bundle_times.append(_timed(build_bundle, data)[0])
            raw_times.append(_timed(_raw_canvas_without_a85, data)[0])
    bundle_seconds = statistics.median(bundle_times)
    raw_seconds = statistics.median(raw_times)
    figures = {
        "bundle_runs": runs,
        "bundles_per_second": round(1 / bundle_seconds, 2),
        "bundle_ms_median": round(bundle_seconds * 1000, 1),
        "raw_canvas_ms_median": round(raw_seconds * 1000, 1),
        "bundle_vs_raw_canvas_of_medians": round(bundle_seconds / raw_seconds, 3),
        "bundle_pages": bundle_pages,
        "raw_canvas_pages": raw_pages,
        "bundle_kib": round(len(bundle) / 1024, 1),
        "raw_canvas_kib": round(len(raw) / 1024, 1),
    }
    ratio = statistics.median(b / r for b, r in zip(bundle_times, raw_times, strict=True))
    return figures, {"bundle_vs_raw_canvas": round(ratio, 3)}


def main() -> None:
    args = parse_args(__doc__ or "")
    figures, ratios = measure_bundle_speed(args.quick)
    parts = [measure_pack, measure_celery]  # the filing pack's half: benchmarks/_filing_pack.py
    for measure in parts:
        more_figures, more_ratios = measure(args.quick)
        figures.update(more_figures)
        ratios.update(more_ratios)
    report("bundles", figures, ratios)


if __name__ == "__main__":
    main()
