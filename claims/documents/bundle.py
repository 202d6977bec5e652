"""The claimant bundle: one civil party's constitution, exhibits and mandate as one PDF.

``build_bundle`` is a pure function of plain values (``BundleData``): jobs, the
CLI and tests call it without an application or a database. The legal wording
comes from ``templates/documents/constitution_<procedure>.txt`` (article numbers
change; they never live in code), rendered by a plain Jinja environment.

How the PDF is put together: reportlab lays out the front matter (cover, identity,
constitution, facts, heads of damage, bordereau) and the closing page as one
document, whose canvas is then held open. pypdf puts the exhibits in a writer, one
exhibit's bytes at a time: a page per JPEG exhibit (its bytes embedded as they are),
the PDF exhibits' own pages (each page's content decoded into one fresh stream), a
placeholder page for an unreadable one. Only then is the page count known: the held
canvas draws one transparent page per page of the bundle ("page X / Y", the exhibit
stamp) and is closed; its text pages go in before and after the exhibits, and each
transparent page is laid over its page as a form XObject, the page's own content
left as it is.
"""

from __future__ import annotations

import copy
import io
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from PIL import Image
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
    StreamObject,
)
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.paraparser import ParaFrag

from ..cases.models import Procedure
from . import FONT, FONT_BOLD, euros, register_fonts
from .common import drawable_text, one_line, safe_para

JPEG = "image/jpeg"
PDF = "application/pdf"
PARIS = ZoneInfo("Europe/Paris")
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

# Single-line fields (names, court, titles) are cut beyond this: far above what
# intake accepts, low enough that one table row always fits on a page.
FIELD_LIMIT = 400
# A long paragraph of the statement becomes several reportlab Paragraphs of about
# this size: splitting one 200 000-character Paragraph across pages is quadratic.
STATEMENT_CHUNK = 1500
# Same cap as the evidence checks: sanitised derivatives are under it.
MAX_PIXELS = 50_000_000

MARGIN = 22 * mm
INK = colors.HexColor("#1a1a1a")
GREY = colors.HexColor("#555555")
RULE = colors.HexColor("#b0b0b0")
SHADE = colors.HexColor("#f0f0f0")
STAMP = colors.HexColor("#9b1c1c")


@dataclass(frozen=True)
class Exhibit:
    number: int  # "Pièce n° N", frozen by the filing's lock
    title: str  # untrusted-ish text (e.g. the kind's label + original filename)
    date: date  # date of the document (upload date)
    sha256: str  # SHA-256 of the ORIGINAL file (as recorded at lock)
    media_type: str  # "image/jpeg" (sanitised JPEG derivative) or "application/pdf" (sanitised PDF)
    read: Callable[[], bytes]  # returns the derivative's bytes when called (may be up to 15 MB)


@dataclass(frozen=True)
class HeadAmount:
    label: str
    amount: Decimal


@dataclass(frozen=True)
class BundleData:
    case_title: str
    court: str
    chamber: str  # investigating judge or chamber, may be ""
    court_case_number: str  # may be "" (unknown yet)
    procedure: str  # one of "join_investigation", "complaint_civil_party", "join_at_trial"
    counsel: str  # lawyer name(s) and bar
    reference: str  # claim reference, e.g. APHP-7KQ2-M9XD
    party_number: int  # civil party number in the filing
    civility: str
    first_name: str
    last_name: str
    birth_date: date | None
    birth_place: str
    address_lines: list[str]  # home address lines, already composed
    statement: str  # the claimant's free statement (untrusted, may be 200 000 chars)
    heads: list[HeadAmount]
    exhibits: list[Exhibit]
    signature_name: str
    signed_at: datetime | None
    accepted_texts: list[tuple[str, int]]  # (title, version) of privacy notice, mandate, fee agreement
    legal_aid: bool


def party_label(number: int) -> str:
    """The civil party's number in the filing; 0 before the claim is in one (a preview)."""
    return f"Partie civile n° {number}" if number else "Partie civile (numéro à venir)"


def build_bundle(data: BundleData, out: BinaryIO) -> int:
    """Write the claimant's bundle as a PDF to ``out``; return its page count.

    Every text value is untrusted and shown as text. An exhibit whose bytes
    cannot be parsed gets a placeholder page with its SHA-256; an exception
    raised by ``Exhibit.read`` itself (storage, decryption) propagates, so a
    bundle never silently loses an exhibit. The output is deterministic: the
    same data gives the same bytes.
    """
    Procedure(data.procedure)  # ValueError for an unknown procedure, before any work
    numbers = [exhibit.number for exhibit in data.exhibits]
    if len(set(numbers)) != len(numbers):
        raise ValueError("exhibit numbers must be unique")
    exhibits = sorted(data.exhibits, key=lambda exhibit: exhibit.number)
    register_fonts()
    wording = _wording(data)

    # The front matter and the closing page are one reportlab document, held open once
    # laid out: the marks of every page are drawn on it when the page count is known.
    text = io.BytesIO()
    closing = _PageMark()
    document = _document(text)
    document.build(
        [*_front_matter(data, exhibits, wording), PageBreak(), closing, *_closing(data)],
        canvasmaker=_HeldCanvas,
    )
    canvas: _HeldCanvas = document.canv
    front_pages, text_pages = closing.page - 1, canvas.getPageNumber() - 1

    writer = PdfWriter()
    marks: list[_Mark | None] = []
    for exhibit in exhibits:
        kind = _add_exhibit(writer, exhibit)
        caption = _caption(exhibit) if kind == _IMAGE else None
        marks += [_Mark(exhibit.number, first=True, caption=caption)]
        marks += [_Mark(exhibit.number)] * (len(writer.pages) - len(marks))
    text_box = (0.0, 0.0, *A4)
    boxes = [text_box] * front_pages + [_page_box(page) for page in writer.pages]
    boxes += [text_box] * (text_pages - front_pages)
    marks = [None] * front_pages + marks + [None] * (text_pages - front_pages)
    _draw_all_marks(canvas, boxes, marks, data)
    canvas.release()

    pages = PdfReader(text).pages
    for index in range(text_pages):
        page = writer.insert_page(pages[index], index if index < front_pages else len(writer.pages))
        contents = page.get_contents()
        if contents is not None:
            page.replace_contents(_stream(contents.get_data()).flate_encode())
    _stamp_pages(writer, [pages[index] for index in range(text_pages, len(pages))], boxes)
    # No name, no reference: the metadata shows in file managers and mail previews.
    writer.add_metadata(
        {
            "/Title": "Bordereau — " + party_label(data.party_number).lower(),
            "/Creator": "Recours",
            "/Producer": "Recours",
        }
    )
    writer.write(out)
    return len(writer.pages)


# --- wording -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Wording:
    label: str  # the procedure in words
    addressee: str
    body: str
    heads_request: str
    closing: str


@cache
def _environment() -> Environment:
    # Plain text for reportlab, not HTML: autoescaping would turn "&" into "&amp;" that the
    # bundle's own escaping (at the Paragraph) then shows literally. Escaped exactly once there.
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=False,  # noqa: S701
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )


def _wording(data: BundleData) -> _Wording:
    template = _environment().get_template(f"documents/constitution_{data.procedure}.txt")
    module = template.make_module(
        {
            "party": _party_name(data),
            "civility": one_line(data.civility, FIELD_LIMIT),
            "first_name": one_line(data.first_name, FIELD_LIMIT),
            "last_name": one_line(data.last_name, FIELD_LIMIT),
            "court": one_line(data.court, FIELD_LIMIT),
            "chamber": one_line(data.chamber, FIELD_LIMIT),
            "court_case_number": one_line(data.court_case_number, FIELD_LIMIT),
            "counsel": one_line(data.counsel, FIELD_LIMIT),
            "case_title": one_line(data.case_title, FIELD_LIMIT),
            "reference": one_line(data.reference, FIELD_LIMIT),
            "party_number": data.party_number,
            "legal_aid": data.legal_aid,
        }
    )
    return _Wording(
        label=str(module.label).strip(),
        addressee=str(module.addressee).strip(),
        body=str(module),
        heads_request=str(module.heads_request).strip(),
        closing=str(module.closing).strip(),
    )


def _template_paragraphs(text: str) -> list[str]:
    """Blank lines separate paragraphs; a single line break inside one is only layout."""
    paragraphs = (
        " ".join(line.strip() for line in block.splitlines()) for block in re.split(r"\n\s*\n", text)
    )
    return [paragraph for paragraph in paragraphs if paragraph]


def _party_name(data: BundleData) -> str:
    """The civil party as French courts write it, family name in capitals: Mme Marie DUPONT."""
    parts = (data.civility, data.first_name, data.last_name.upper())
    return one_line(" ".join(part for part in parts if part), FIELD_LIMIT)


def _long_date(day: date) -> str:
    text = format_date(day, "d MMMM y", locale="fr_FR")
    return "1er" + text[1:] if day.day == 1 else text


def _short_date(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def _moment(when: datetime) -> str:
    # A naive datetime is UTC, as the database stores it.
    local = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(PARIS)
    return f"{_long_date(local.date())} à {local:%H:%M} (heure de Paris)"


# --- reportlab parts -----------------------------------------------------------------------


@cache
def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=14, textColor=INK)
    return {
        "body": body,
        "text": ParagraphStyle("text", parent=body, alignment=TA_JUSTIFY, spaceAfter=6),
        "statement": ParagraphStyle("statement", parent=body, alignment=TA_JUSTIFY, spaceAfter=4),
        "statement_cont": ParagraphStyle("statement_cont", parent=body, alignment=TA_JUSTIFY),
        "title": ParagraphStyle(
            "title", parent=body, fontName=FONT_BOLD, fontSize=17, leading=22, alignment=TA_CENTER
        ),
        "subtitle": ParagraphStyle("subtitle", parent=body, fontSize=11, leading=15, alignment=TA_CENTER),
        "party": ParagraphStyle(
            "party", parent=body, fontName=FONT_BOLD, fontSize=15, leading=20, alignment=TA_CENTER
        ),
        "centre": ParagraphStyle("centre", parent=body, alignment=TA_CENTER),
        "heading": ParagraphStyle(
            "heading",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=12,
            leading=16,
            spaceBefore=14,
            spaceAfter=7,
            keepWithNext=1,
        ),
        "addressee": ParagraphStyle("addressee", parent=body, fontName=FONT_BOLD, spaceAfter=10),
        "cell": ParagraphStyle("cell", parent=body, fontSize=9.5, leading=12.5),
        "label": ParagraphStyle("label", parent=body, fontName=FONT_BOLD, fontSize=9.5, leading=12.5),
        "bullet": ParagraphStyle(
            "bullet", parent=body, leftIndent=7 * mm, bulletIndent=2 * mm, bulletFontName=FONT, spaceAfter=3
        ),
        "small": ParagraphStyle("small", parent=body, fontSize=8.5, leading=11, textColor=GREY),
    }


# What reportlab's markup parser acts on: a text without any of these is plain text.
_MARKUP = re.compile(r"[<>&]")


def _paragraph(text: str, style: ParagraphStyle, **kwargs: Any) -> Paragraph:
    """``Paragraph(text, style)``, without reportlab's markup parser where the text has no markup.

    For such a text, the parser makes a single fragment in the style's font, size and
    colour, after collapsing whitespace runs; here that fragment is copied from the one
    it made of "x" for the style (the bundle's text comes out byte for byte the same).
    """
    if kwargs or _MARKUP.search(text):
        return Paragraph(text, style, **kwargs)
    plain = " ".join(text.split())
    if not plain:
        return Paragraph(text, style)
    fragment = copy.copy(_fragment(style))
    fragment.text = plain
    return Paragraph(plain, style, frags=[fragment])


@cache
def _fragment(style: ParagraphStyle) -> ParaFrag:
    (fragment,) = Paragraph("x", style).frags
    return fragment


def _document(out: io.BytesIO) -> BaseDocTemplate:
    # invariant: no creation date or random ID, so the same data gives the same bytes.
    doc = BaseDocTemplate(out, pagesize=A4, invariant=1, title="", author="", subject="", creator="")
    frame = Frame(
        MARGIN, 20 * mm, A4[0] - 2 * MARGIN, A4[1] - 40 * mm, leftPadding=0, rightPadding=0, id="body"
    )
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    return doc


def _width() -> float:
    return A4[0] - 2 * MARGIN


def _fields_table(rows: list[tuple[str, str]], label_width: float = 48 * mm) -> Table:
    """Label / value rows; values are untrusted and escaped here."""
    styles = _styles()
    table = Table(
        [
            [_paragraph(label, styles["label"]), _paragraph(safe_para(value), styles["cell"])]
            for label, value in rows
        ],
        colWidths=[label_width, _width() - label_width],
        splitInRow=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (0, -1), SHADE),
                ("BOX", (0, 0), (-1, -1), 0.6, RULE),
                ("INNERGRID", (0, 0), (-1, -1), 0.4, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    return table


def _case_number(data: BundleData) -> str:
    return one_line(data.court_case_number, FIELD_LIMIT) or "(numéro à venir)"


def _front_matter(data: BundleData, exhibits: list[Exhibit], wording: _Wording) -> list[Flowable]:
    styles = _styles()
    party = _party_name(data)
    court = one_line(data.court, FIELD_LIMIT)
    chamber = one_line(data.chamber, FIELD_LIMIT)
    counsel_name = one_line(data.counsel, FIELD_LIMIT)
    counsel = counsel_name or "(non désigné)"
    case_rows = [("Affaire", one_line(data.case_title, FIELD_LIMIT)), ("Juridiction", court)]
    if chamber:
        case_rows.append(("Cabinet / chambre", chamber))
    case_rows.append(("N° de l’affaire", _case_number(data)))

    story: list[Flowable] = [
        # The counsel's name where a letterhead would be.
        _paragraph(safe_para(counsel_name), styles["small"]),
        Spacer(1, 30 * mm),
        _paragraph("CONSTITUTION DE PARTIE CIVILE", styles["title"]),
        Spacer(1, 4 * mm),
        _paragraph(safe_para(wording.label), styles["subtitle"]),
        Spacer(1, 14 * mm),
        _fields_table(case_rows),
        Spacer(1, 14 * mm),
        _party_box(data, party),
        Spacer(1, 10 * mm),
        _fields_table([("Avocat", counsel)]),
        PageBreak(),
        _paragraph("I. Identité et domicile de la partie civile", styles["heading"]),
        _fields_table(
            [
                ("Civilité", one_line(data.civility, FIELD_LIMIT)),
                ("Nom", one_line(data.last_name.upper(), FIELD_LIMIT)),
                ("Prénom(s)", one_line(data.first_name, FIELD_LIMIT)),
                ("Date de naissance", _long_date(data.birth_date) if data.birth_date else "non renseignée"),
                ("Lieu de naissance", one_line(data.birth_place, FIELD_LIMIT) or "non renseigné"),
                (
                    "Adresse du domicile",
                    "\n".join(one_line(line, FIELD_LIMIT) for line in data.address_lines if line.strip()),
                ),
            ]
        ),
        _paragraph("II. Constitution de partie civile", styles["heading"]),
        _paragraph(safe_para(wording.addressee), styles["addressee"]),
        *(_paragraph(safe_para(text), styles["text"]) for text in _template_paragraphs(wording.body)),
        _paragraph("III. Exposé des faits", styles["heading"]),
        *_statement(data.statement),
        _paragraph("IV. Préjudices et montants demandés", styles["heading"]),
        _paragraph(safe_para(wording.heads_request), styles["text"]),
        _heads_table(data.heads),
        Spacer(1, 6 * mm),
        *(_paragraph(safe_para(text), styles["text"]) for text in _template_paragraphs(wording.closing)),
        PageBreak(),
        *_bordereau(data, exhibits, party, court, chamber, counsel),
    ]
    return story


def _party_box(data: BundleData, party: str) -> Table:
    styles = _styles()
    box = Table(
        [
            [_paragraph(party_label(data.party_number), styles["party"])],
            [_paragraph(safe_para(party), styles["subtitle"])],
            [
                _paragraph(
                    f"Référence du dossier : {safe_para(one_line(data.reference, FIELD_LIMIT))}",
                    styles["centre"],
                )
            ],
        ],
        colWidths=[_width() - 30 * mm],
        splitInRow=1,
    )
    box.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.2, INK),
                ("TOPPADDING", (0, 0), (-1, 0), 10),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 10),
            ]
        )
    )
    return box


def _statement(statement: str) -> list[Flowable]:
    styles = _styles()
    paragraphs = [
        _paragraph(safe_para(chunk), styles["statement"] if last else styles["statement_cont"])
        for chunk, last in _chunks(drawable_text(statement, keep="\n"))
    ]
    return paragraphs or [_paragraph("(aucun exposé)", styles["statement"])]


def _chunks(text: str) -> Iterator[tuple[str, bool]]:
    """Lines of the statement, a long one cut after a sentence (or else a space) near the limit;
    with each piece, whether it ends its line (the paragraph spacing goes there only)."""
    for line in text.split("\n"):
        rest = line.strip()
        while len(rest) > STATEMENT_CHUNK:
            cut = rest.rfind(". ", STATEMENT_CHUNK // 2, STATEMENT_CHUNK)
            if cut != -1:
                cut += 1
            else:
                cut = rest.rfind(" ", STATEMENT_CHUNK // 2, STATEMENT_CHUNK)
            if cut == -1:
                cut = STATEMENT_CHUNK
            yield rest[:cut].strip(), False
            rest = rest[cut:].strip()
        if rest:
            yield rest, True


def _heads_table(heads: list[HeadAmount]) -> Table:
    styles = _styles()
    amount_width = 42 * mm
    total = sum((head.amount for head in heads), Decimal("0"))
    # Amounts are plain strings, not Paragraphs: a Paragraph breaks lines at the narrow
    # no-break space of "1 234,50 €" and draws it as an ordinary space.
    rows: list[list[object]] = [[_paragraph("Chef de préjudice", styles["label"]), "Montant demandé"]]
    rows += [
        [_paragraph(safe_para(one_line(head.label, FIELD_LIMIT)), styles["cell"]), euros(head.amount)]
        for head in heads
    ]
    rows.append([_paragraph("Total des demandes", styles["label"]), euros(total)])
    table = Table(rows, colWidths=[_width() - amount_width, amount_width], repeatRows=1, splitInRow=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (1, 1), (1, -2), FONT),
                ("FONTNAME", (1, 0), (1, 0), FONT_BOLD),
                ("FONTNAME", (1, -1), (1, -1), FONT_BOLD),
                ("FONTSIZE", (1, 0), (1, -1), 10),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                ("BACKGROUND", (0, -1), (-1, -1), SHADE),
                ("BOX", (0, 0), (-1, -1), 0.6, RULE),
                ("INNERGRID", (0, 0), (-1, -1), 0.4, RULE),
                ("LINEABOVE", (0, -1), (-1, -1), 1, INK),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    return table


def _bordereau(
    data: BundleData, exhibits: list[Exhibit], party: str, court: str, chamber: str, counsel: str
) -> list[Flowable]:
    styles = _styles()
    story: list[Flowable] = [
        _paragraph("BORDEREAU DE COMMUNICATION DE PIÈCES", styles["title"]),
        Spacer(1, 3 * mm),
        _paragraph(party_label(data.party_number), styles["subtitle"]),
        Spacer(1, 8 * mm),
        _fields_table(
            [
                ("Juridiction", f"{court} — {chamber}" if chamber else court),
                ("N° de l’affaire", _case_number(data)),
                ("Affaire", one_line(data.case_title, FIELD_LIMIT)),
                ("Partie civile", f"{party} ({party_label(data.party_number).lower()})"),
                ("Avocat", counsel),
            ]
        ),
        _paragraph("Pièces communiquées", styles["heading"]),
    ]
    if not exhibits:
        story.append(_paragraph("Aucune pièce n’est communiquée.", styles["body"]))
        return story
    number_width, date_width = 26 * mm, 24 * mm
    rows: list[list[object]] = [
        [
            _paragraph("N°", styles["label"]),
            _paragraph("Désignation (empreinte SHA-256 du fichier d’origine)", styles["label"]),
            _paragraph("Date", styles["label"]),
        ]
    ]
    for exhibit in exhibits:
        title = safe_para(one_line(exhibit.title, FIELD_LIMIT))
        digest = safe_para(one_line(exhibit.sha256, 128))
        rows.append(
            [
                _paragraph(f"Pièce n° {exhibit.number}", styles["label"]),
                _paragraph(
                    f'{title}<br/><font size="7" color="#555555">SHA-256 : {digest}</font>', styles["cell"]
                ),
                _paragraph(_short_date(exhibit.date), styles["cell"]),
            ]
        )
    table = Table(
        rows,
        colWidths=[number_width, _width() - number_width - date_width, date_width],
        repeatRows=1,
        splitInRow=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                ("BOX", (0, 0), (-1, -1), 0.6, RULE),
                ("INNERGRID", (0, 0), (-1, -1), 0.4, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    story.append(table)
    return story


def _closing(data: BundleData) -> list[Flowable]:
    styles = _styles()
    name = safe_para(one_line(data.signature_name, FIELD_LIMIT))
    if data.signed_at and name:
        mandate = f"Mandat signé par <b>{name}</b> le {_moment(data.signed_at)}."
    elif name:
        mandate = f"Mandat signé par <b>{name}</b> (date de signature non enregistrée)."
    else:
        mandate = "<b>Mandat non signé.</b>"
    texts = [
        _paragraph(
            f"{safe_para(one_line(title, FIELD_LIMIT))} — version {int(version)}",
            styles["bullet"],
            bulletText="•",
        )
        for title, version in data.accepted_texts
    ] or [_paragraph("Aucun texte accepté n’est enregistré.", styles["body"])]
    story: list[Flowable] = [
        _paragraph("MANDAT ET DOCUMENTS ACCEPTÉS", styles["title"]),
        Spacer(1, 3 * mm),
        _paragraph(party_label(data.party_number), styles["subtitle"]),
        Spacer(1, 10 * mm),
        _paragraph(mandate, styles["text"]),
        _paragraph(
            "Textes acceptés par la partie civile, dans leur version en vigueur lors de l’acceptation :",
            styles["text"],
        ),
        *texts,
        Spacer(1, 6 * mm),
        _paragraph(f"Aide juridictionnelle : {'oui' if data.legal_aid else 'non'}.", styles["text"]),
    ]
    return story


# --- exhibits ------------------------------------------------------------------------------

_IMAGE, _PDF, _PLACEHOLDER = "image", "pdf", "placeholder"
# Sanitised derivatives are RGB; grey is harmless. CMYK JPEGs would need Adobe's inverted /Decode.
_COLOUR_SPACES = {"RGB": "/DeviceRGB", "L": "/DeviceGray"}


class _Unreadable(Exception):
    pass


def _add_exhibit(writer: PdfWriter, exhibit: Exhibit) -> str:
    """Append the exhibit's pages, or a placeholder page; return which of the two it was."""
    content = exhibit.read()
    try:
        if exhibit.media_type == JPEG:
            _add_image_page(writer, content)
            return _IMAGE
        if exhibit.media_type != PDF:
            raise _Unreadable(exhibit.media_type)
        reader = _readable_pdf(content)
        del content
        # Pages are prepared apart: a failure half-way leaves nothing behind in the bundle.
        staging = PdfWriter()
        for page in reader.pages:
            added = staging.add_page(page)
            if added.rotation % 360:
                # Upright content, so the stamp lands where the reader sees the top.
                added.transfer_rotation_to_content()
            # One stream of what pypdf could decode (checked readable above): the bundle
            # never carries on a stream that a reader might fail to inflate.
            contents = added.get_contents()
            added.replace_contents(_stream(b"" if contents is None else contents.get_data()).flate_encode())
    # Parsers of hostile files fail in many ways (pypdf, Pillow, zlib); any of them
    # means "unreadable", never a failed bundle.
    except Exception:
        _append(writer, _placeholder(exhibit))
        return _PLACEHOLDER
    for page in staging.pages:
        writer.add_page(page)
    return _PDF


def _add_image_page(writer: PdfWriter, content: bytes) -> None:
    """One A4 page (landscape for a wide image) with the JPEG's bytes as they are.

    Built with pypdf rather than reportlab: reportlab wraps a JPEG in ASCII85,
    a quarter larger, unless its process-wide ``rl_config.useA85`` is switched off.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(content)) as image:
            if image.format != "JPEG" or image.mode not in _COLOUR_SPACES:
                raise _Unreadable(image.format)
            width, height = image.size
            if not 0 < width * height <= MAX_PIXELS:
                raise _Unreadable("pixels")
            colour_space = _COLOUR_SPACES[image.mode]
    if not _jpeg_complete(content):
        raise _Unreadable("truncated")
    page_width, page_height = landscape(A4) if width > height else A4
    # Room above for the caption and the stamp, below for the page number.
    left, bottom, right, top = 15 * mm, 18 * mm, 15 * mm, 32 * mm
    box_width, box_height = page_width - left - right, page_height - bottom - top
    scale = min(box_width / width, box_height / height, 3.0)
    drawn_width, drawn_height = width * scale, height * scale
    x, y = left + (box_width - drawn_width) / 2, page_height - top - drawn_height

    picture = StreamObject()
    picture.set_data(content)
    picture.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(width),
            NameObject("/Height"): NumberObject(height),
            NameObject("/ColorSpace"): NameObject(colour_space),
            NameObject("/BitsPerComponent"): NumberObject(8),
            NameObject("/Filter"): NameObject("/DCTDecode"),
        }
    )
    drawing = DecodedStreamObject()
    drawing.set_data(f"q {drawn_width:.3f} 0 0 {drawn_height:.3f} {x:.3f} {y:.3f} cm /Im0 Do Q".encode())
    page = writer.add_blank_page(page_width, page_height)
    # A stream must be an indirect object; pypdf has no public call for adding one.
    resources = {NameObject("/Im0"): writer._add_object(picture)}
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/XObject"): DictionaryObject(resources)})
    page.replace_contents(drawing)


# In a scan's entropy-coded data, 0xFF is followed by 0x00 (a stuffed byte) or by a
# restart marker (0xD0 to 0xD7); any other byte after it (but 0xFF, a fill byte) is a marker.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_STANDALONE_MARKERS = {0x01, *range(0xD0, 0xD8)}  # no length field follows these


def _jpeg_complete(content: bytes) -> bool:
    """Whether the JPEG's segments are whole and its scans run to the end-of-image marker.

    Walks the markers without decoding a pixel (decoding a phone photo, even at an
    eighth of its size, costs more than the rest of its page): a truncated or cut
    file has a segment that runs past its end, or no end-of-image marker.
    """
    if not content.startswith(b"\xff\xd8"):
        return False
    end, position = len(content), 2
    while position < end:
        if content[position] != 0xFF:
            return False
        while position < end and content[position] == 0xFF:
            position += 1
        if position >= end:
            return False
        marker = content[position]
        position += 1
        if marker == 0xD9:
            return True
        if marker in _STANDALONE_MARKERS:
            continue
        length = int.from_bytes(content[position : position + 2], "big")
        if length < 2 or position + length > end:
            return False
        position += length
        if marker == 0xDA:  # start of scan: its entropy-coded data runs to the next marker
            following = _NEXT_MARKER.search(content, position)
            if following is None:
                return False
            position = following.start()
    return False


def _readable_pdf(content: bytes) -> PdfReader:
    """A reader whose every page has a sane size and decodable content (what stamping needs)."""
    reader = PdfReader(io.BytesIO(content), strict=False)
    if reader.is_encrypted or len(reader.pages) == 0:
        raise _Unreadable("pdf")
    for page in reader.pages:
        width, height = _page_box(page)[2:]
        if not (1 <= width <= 15_000 and 1 <= height <= 15_000) or page.rotation % 90:
            raise _Unreadable("page size")
        contents = page.get_contents()
        if contents is not None:
            contents.get_data()
    return reader


def _placeholder(exhibit: Exhibit) -> bytes:
    styles = _styles()
    story: list[Flowable] = [
        Spacer(1, 20 * mm),
        _paragraph(f"Pièce n° {exhibit.number} — fichier illisible", styles["title"]),
        Spacer(1, 10 * mm),
        _paragraph(
            "Le fichier de cette pièce n’a pas pu être reproduit dans le présent bordereau. "
            "Le fichier d’origine est conservé ; son empreinte ci-dessous permet d’en vérifier toute copie.",
            styles["text"],
        ),
        Spacer(1, 4 * mm),
        _fields_table(
            [("Désignation", one_line(exhibit.title, FIELD_LIMIT)), ("Date", _short_date(exhibit.date))]
        ),
        Spacer(1, 6 * mm),
        _paragraph("Empreinte SHA-256 du fichier d’origine :", styles["label"]),
        _paragraph(safe_para(one_line(exhibit.sha256, 128)), styles["body"]),
    ]
    out = io.BytesIO()
    _document(out).build(story)
    return out.getvalue()


def _caption(exhibit: Exhibit) -> tuple[str, str]:
    return one_line(exhibit.title, FIELD_LIMIT), f" — {_short_date(exhibit.date)}"


# --- assembling and stamping ---------------------------------------------------------------


@dataclass(frozen=True)
class _Mark:
    """What an exhibit page carries besides the page number."""

    exhibit: int
    first: bool = False
    caption: tuple[str, str] | None = None  # title, date: image pages leave room for it


def _append(writer: PdfWriter, pdf: bytes) -> None:
    for page in PdfReader(io.BytesIO(pdf)).pages:
        writer.add_page(page)


def _page_box(page: PageObject) -> tuple[float, float, float, float]:
    """Left, bottom, width, height of what a viewer shows (the crop box)."""
    box = page.cropbox
    x0, x1 = sorted((float(box[0]), float(box[2])))
    y0, y1 = sorted((float(box[1]), float(box[3])))
    return x0, y0, x1 - x0, y1 - y0


class _HeldCanvas(Canvas):
    """A canvas that its document template does not close: more pages are drawn on it after.

    Its pages are left uncompressed (its fonts are not): reportlab would wrap them in
    ASCII85 (pure Python, there being no rl_accel) over zlib, where pypdf's zlib alone
    does, once they are in the bundle.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pageCompression = 0  # pages only: setPageCompression would take the fonts too

    def save(self) -> None:
        pass

    def release(self) -> None:
        super().save()


class _PageMark(Flowable):
    """Draws nothing; remembers the page it lands on."""

    page = 0

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.page = self.canv.getPageNumber()


def _draw_all_marks(
    canvas: Canvas,
    boxes: list[tuple[float, float, float, float]],
    marks: list[_Mark | None],
    data: BundleData,
) -> None:
    """One transparent page per page of the bundle: its number, the reference, the stamps."""
    total = len(boxes)
    footer = f"{party_label(data.party_number)} — réf. {drawable_text(one_line(data.reference, 40))}"
    for number, ((_, _, width, height), mark) in enumerate(zip(boxes, marks, strict=True), start=1):
        canvas.setPageSize((width, height))
        _draw_marks(canvas, width, height, number, total, mark, footer, data.party_number)
        canvas.showPage()


def _stamp_pages(
    writer: PdfWriter, overlays: list[PageObject], boxes: list[tuple[float, float, float, float]]
) -> None:
    """Lay each overlay page over its page of the bundle.

    Each page keeps its own content untouched; the overlay follows as a form XObject
    (pypdf's merge_page would parse, rename and rewrite every content stream).
    """
    opening = writer._add_object(_stream(b"q\n"))
    closings: dict[bytes, IndirectObject] = {}
    for page, overlay, (left, bottom, width, height) in zip(writer.pages, overlays, boxes, strict=True):
        name = _add_xobject(page, _form(writer, overlay, width, height))
        place = f"1 0 0 1 {left:.4f} {bottom:.4f} cm " if left or bottom else ""
        closing = f"\nQ\nq {place}{name} Do Q\n".encode()
        if closing not in closings:
            closings[closing] = writer._add_object(_stream(closing))
        page[NameObject("/Contents")] = ArrayObject([opening, *_contents(writer, page), closings[closing]])


def _stream(data: bytes) -> DecodedStreamObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    return stream


def _form(writer: PdfWriter, stamp: PageObject, width: float, height: float) -> IndirectObject:
    """The overlay page ``stamp`` as a form XObject of ``writer``: its stream and resources as they are."""
    form = _stream(stamp[NameObject("/Contents")].get_object().get_data()).flate_encode()
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(FloatObject(value) for value in (0, 0, width, height)),
            NameObject("/Resources"): stamp[NameObject("/Resources")].clone(writer),
        }
    )
    return writer._add_object(form)


def _add_xobject(page: PageObject, form: IndirectObject) -> str:
    """Give ``page`` resources of its own naming ``form``; return the name.

    Pages of an exhibit may share one resources dictionary: each stamped page gets its
    own copy (the values stay shared), so no page names another page's stamp.
    """
    resources = page.get(NameObject("/Resources"))
    resources = resources.get_object() if resources is not None else None
    own = DictionaryObject(resources) if isinstance(resources, DictionaryObject) else DictionaryObject()
    xobjects = own.get(NameObject("/XObject"))
    xobjects = xobjects.get_object() if xobjects is not None else None
    names = DictionaryObject(xobjects) if isinstance(xobjects, DictionaryObject) else DictionaryObject()
    name, suffix = "/RecoursMarks", 0
    while name in names:
        suffix += 1
        name = f"/RecoursMarks{suffix}"
    names[NameObject(name)] = form
    own[NameObject("/XObject")] = names
    page[NameObject("/Resources")] = own
    return name


def _contents(writer: PdfWriter, page: PageObject) -> list[PdfObject]:
    """References to the page's content streams, in order."""
    contents = page.get(NameObject("/Contents"))
    if contents is None:
        return []
    resolved = contents.get_object()
    if isinstance(resolved, ArrayObject):
        return list(resolved)
    if isinstance(contents, IndirectObject):
        return [contents]
    return [writer._add_object(resolved)]


def _scale(width: float, height: float) -> float:
    """How much larger than A4 the page is once fitted to paper: stamps keep their printed size."""
    factor = min(max(width, height) / A4[1], min(width, height) / A4[0])
    return min(max(factor, 0.3), 20.0)


def _fit(text: str, font: str, size: float, width: float) -> str:
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[: max(0, len(text) - max(1, len(text) // 8))]
    return text + "…"


def _draw_marks(
    canvas: Canvas,
    width: float,
    height: float,
    number: int,
    total: int,
    mark: _Mark | None,
    footer: str,
    party_number: int,
) -> None:
    s = _scale(width, height)
    size = 7.5 * s
    margin = 12 * mm * s if mark else MARGIN
    baseline = 9 * mm * s
    right = f"page {number} / {total}"
    left = footer + (f" — pièce n° {mark.exhibit}" if mark else "")
    right_width = stringWidth(right, FONT, size)
    left = _fit(left, FONT, size, width - 2 * margin - right_width - 8 * s)
    if mark:
        # An exhibit may have content down there: a light veil keeps the footer readable
        # without hiding what lies under it.
        canvas.setFillColor(colors.white, alpha=0.9)
        pad = 1.5 * s
        for x, text in ((margin, left), (width - margin - right_width, right)):
            canvas.rect(
                x - pad, baseline - 2 * pad, stringWidth(text, FONT, size) + 2 * pad, size + 3 * pad, 0, 1
            )
    else:
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.4)
        canvas.line(margin, baseline + size + 2 * mm, width - margin, baseline + size + 2 * mm)
    canvas.setFillColor(GREY, alpha=1)
    canvas.setFont(FONT, size)
    canvas.drawString(margin, baseline, left)
    canvas.drawRightString(width - margin, baseline, right)
    if mark and mark.first:
        _draw_stamp(canvas, width, height, s, mark, party_number)


def _draw_stamp(
    canvas: Canvas, width: float, height: float, s: float, mark: _Mark, party_number: int
) -> None:
    box_width, box_height = 46 * mm * s, 15 * mm * s
    x, y = width - 12 * mm * s - box_width, height - 9 * mm * s - box_height
    canvas.setStrokeColor(STAMP)
    canvas.setLineWidth(1.4 * s)
    canvas.setFillColor(colors.white, alpha=0.9)
    canvas.roundRect(x, y, box_width, box_height, 2 * mm * s, stroke=1, fill=1)
    canvas.setFillColor(STAMP, alpha=1)
    canvas.setFont(FONT_BOLD, 14 * s)
    canvas.drawCentredString(x + box_width / 2, y + box_height - 7 * mm * s, f"Pièce n° {mark.exhibit}")
    canvas.setFont(FONT, 7.5 * s)
    canvas.drawCentredString(x + box_width / 2, y + 3 * mm * s, party_label(party_number))
    if mark.caption:
        size = 9 * s
        title, day = mark.caption
        room = x - 15 * mm * s - 5 * mm * s - stringWidth(day, FONT, size)
        caption = _fit(drawable_text(title), FONT, size, room) + day
        canvas.setFillColor(INK)
        canvas.setFont(FONT, size)
        canvas.drawString(15 * mm * s, y + box_height / 2 - size / 3, caption)
