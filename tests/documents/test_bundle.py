"""The claimant bundle, read back as a court clerk's PDF reader would: text, pages, metadata."""

from __future__ import annotations

import dataclasses
import io
import re
import unicodedata
from datetime import UTC, date, datetime
from decimal import Decimal
from hashlib import sha256
from typing import Any

import pytest
from PIL import Image, ImageDraw
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    StreamObject,
)
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from claims.cases.models import Procedure
from claims.documents import euros, para_text
from claims.documents.bundle import JPEG, PDF, BundleData, Exhibit, HeadAmount, build_bundle
from claims.documents.common import MISSING_GLYPH, _drawable_code_points, drawable_text, safe_para
from claims.text import visible_text

HOSTILE = "<b>gras</b> <img src=x> <font color=red>rouge</font> &amp; \u202eevil\u202c\u2066 😀 مرحبا שלום"


def make_jpeg(width: int = 900, height: int = 600) -> bytes:
    image = Image.new("RGB", (width, height), (240, 240, 235))
    ImageDraw.Draw(image).rectangle((40, 40, width - 40, 120), fill=(20, 60, 120))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def make_pdf(pages: int = 3, rotate_second: bool = False) -> bytes:
    """Uncompressed, so that its text can be looked for in the bundle's bytes."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1, pageCompression=0)
    for number in range(1, pages + 1):
        canvas.setFont("Helvetica", 14)
        canvas.drawString(72, 700, f"Exhibit page {number} of {pages}")
        canvas.showPage()
    canvas.save()
    if not rotate_second:
        return out.getvalue()
    writer = PdfWriter(clone_from=io.BytesIO(out.getvalue()))
    writer.pages[1].rotate(90)
    rotated = io.BytesIO()
    writer.write(rotated)
    return rotated.getvalue()


def pdf_with_corrupt_content() -> bytes:
    """Parses, but its page's content stream does not inflate."""
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    stream = StreamObject()
    stream.set_data(b"not zlib at all")
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def exhibit(
    number: int, title: str, media_type: str, content: bytes, reads: list[int] | None = None
) -> Exhibit:
    def read() -> bytes:
        if reads is not None:
            reads.append(number)
        return content

    return Exhibit(
        number=number,
        title=title,
        date=date(2021, 3, number),
        sha256=sha256(content).hexdigest(),
        media_type=media_type,
        read=read,
    )


def make_data(**overrides: Any) -> BundleData:
    values: dict[str, Any] = {
        "case_title": "Fuite de données de l’AP-HP (2021)",
        "court": "Tribunal judiciaire de Paris",
        "chamber": "Cabinet de Mme X, juge d’instruction",
        "court_case_number": "JI 21/0042",
        "procedure": "join_investigation",
        "counsel": "Me Claire Martin, avocate au barreau de Paris",
        "reference": "APHP-7KQ2-M9XD",
        "party_number": 12,
        "civility": "Mme",
        "first_name": "Élodie",
        "last_name": "Lefèvre-Durand",
        "birth_date": date(1984, 6, 1),
        "birth_place": "Lyon",
        "address_lines": ["12 rue des Lilas", "75011 Paris"],
        "statement": "J’ai reçu un courriel de l’hôpital m’informant de la fuite de mes données.",
        "heads": [
            HeadAmount("Préjudice moral", Decimal("3000")),
            HeadAmount("Temps perdu", Decimal("1234.50")),
        ],
        "exhibits": [
            exhibit(1, "Capture d’écran — notification.jpg", JPEG, make_jpeg()),
            exhibit(2, "Courrier de l’hôpital — courrier.pdf", PDF, make_pdf(3, rotate_second=True)),
        ],
        "signature_name": "Élodie Lefèvre-Durand",
        "signed_at": datetime(2024, 5, 3, 12, 5, tzinfo=UTC),
        "accepted_texts": [
            ("Notice d’information", 2),
            ("Mandat de représentation", 3),
            ("Convention d’honoraires", 1),
        ],
        "legal_aid": False,
    }
    values.update(overrides)
    return BundleData(**values)


def build(data: BundleData) -> tuple[bytes, int]:
    out = io.BytesIO()
    count = build_bundle(data, out)
    return out.getvalue(), count


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text on one line. Extraction renders the no-break space before "€" as a
    space; the narrow one between thousands survives (and is kept here)."""
    return [
        re.sub(r"[ \n]+", " ", page.extract_text().replace("\u00a0", " "))
        for page in PdfReader(io.BytesIO(pdf)).pages
    ]


def first_page_with(texts: list[str], needle: str) -> int:
    return next(index for index, text in enumerate(texts) if needle in text)


def test_bundle_reads_as_the_civil_partys_file() -> None:
    data = make_data()
    pdf, count = build(data)
    reader = PdfReader(io.BytesIO(pdf))
    texts = page_texts(pdf)
    everything = "\n".join(texts)

    assert count == len(reader.pages) == len(texts)
    for number, text in enumerate(texts, start=1):
        assert f"page {number} / {count}" in text
    assert "page 1 / " in texts[0] and f"page {count} / {count}" in texts[-1]

    cover = texts[0]
    assert "CONSTITUTION DE PARTIE CIVILE" in cover and "Partie civile n° 12" in cover
    assert "Élodie LEFÈVRE-DURAND" in cover and "APHP-7KQ2-M9XD" in cover
    assert "Tribunal judiciaire de Paris" in cover and "JI 21/0042" in cover and "Me Claire Martin" in cover
    assert "article 87 du code de procédure pénale" in cover
    assert "12 rue des Lilas" in everything and "1er juin 1984" in everything
    assert "déclare expressément se constituer partie civile" in everything
    assert "courriel de l’hôpital" in everything

    # French amounts: narrow no-break space between thousands, total included.
    assert "3\u202f000,00 €" in everything and "1\u202f234,50 €" in everything
    assert euros(Decimal("4234.50")).replace("\u00a0", " ") in everything

    bordereau = first_page_with(texts, "BORDEREAU DE COMMUNICATION DE PIÈCES")
    for item in data.exhibits:
        assert f"Pièce n° {item.number}" in texts[bordereau]
        assert item.sha256 in texts[bordereau]
    # Each exhibit follows, its first page stamped.
    image_page = first_page_with(texts, "Capture d’écran — notification.jpg — 01/03/2021")
    letter_page = first_page_with(texts, "Exhibit page 1 of 3")
    assert bordereau < image_page < letter_page
    assert "Pièce n° 1" in texts[image_page] and "Pièce n° 2" in texts[letter_page]
    assert "Exhibit page 2 of 3" in texts[letter_page + 1] and "Exhibit page 3 of 3" in texts[letter_page + 2]
    # The turned page is upright once stamped: no /Rotate left for the stamp to turn with.
    assert reader.pages[letter_page + 1].rotation == 0
    assert reader.pages[letter_page + 1].mediabox.width > reader.pages[letter_page + 1].mediabox.height

    closing = texts[-1]
    assert "Mandat signé par Élodie Lefèvre-Durand le 3 mai 2024 à 14:05" in closing
    assert (
        "Mandat de représentation — version 3" in closing and "Convention d’honoraires — version 1" in closing
    )


def test_image_exhibit_is_embedded_as_is_and_each_exhibit_read_once() -> None:
    jpeg = make_jpeg()
    reads: list[int] = []
    data = make_data(
        exhibits=[exhibit(2, "Lettre", PDF, make_pdf(2), reads), exhibit(1, "Photo", JPEG, jpeg, reads)]
    )
    pdf, _ = build(data)
    assert jpeg in pdf  # the sanitised JPEG, not a re-encoded copy
    assert reads == [1, 2]  # in exhibit order, once each


def test_metadata_carries_no_personal_data() -> None:
    pdf, _ = build(make_data())
    metadata = PdfReader(io.BytesIO(pdf)).metadata
    assert metadata is not None and metadata.title == "Bordereau — partie civile n° 12"
    values = " ".join(str(value) for value in metadata.values())
    for personal in ("Élodie", "Lefèvre", "LEFÈVRE", "APHP-7KQ2-M9XD", "Claire Martin"):
        assert personal not in values


@pytest.mark.parametrize(
    ("procedure", "legal_aid", "wording"),
    [
        ("join_investigation", False, ["dans l’information judiciaire", "articles 2, 3 et 87", "article 89"]),
        (
            "complaint_civil_party",
            False,
            [
                "doyen des juges d’instruction",
                "85 et suivants",
                "articles 88 et 88-1",
                "article 85, alinéa 2",
            ],
        ),
        ("complaint_civil_party", True, ["aide juridictionnelle", "dispensée de la consignation"]),
        ("join_at_trial", False, ["président et juges composant", "418 et suivants", "420-1"]),
    ],
)
def test_constitution_wording_follows_the_procedure(
    procedure: str, legal_aid: bool, wording: list[str]
) -> None:
    pdf, _ = build(make_data(procedure=procedure, legal_aid=legal_aid, exhibits=[], court_case_number=""))
    text = " ".join(page_texts(pdf))
    for words in wording:
        assert words in text
    assert "(numéro à venir)" in text


def test_wording_without_counsel_yet() -> None:
    pdf, _ = build(make_data(counsel="", exhibits=[]))
    text = " ".join(page_texts(pdf))
    assert "ayant pour avocat" not in text and "son conseil" not in text
    assert "Avocat (non désigné)" in text


def test_every_procedure_has_its_wording() -> None:
    for procedure in Procedure:
        build(make_data(procedure=procedure.value, exhibits=[]))
    with pytest.raises(ValueError):
        build(make_data(procedure="citation_directe"))


def test_hostile_text_is_shown_as_text_and_never_breaks_the_build() -> None:
    long_word = "W" * 5000
    data = make_data(
        case_title=HOSTILE,
        court=HOSTILE + long_word,
        chamber=HOSTILE,
        counsel=HOSTILE + long_word,
        civility=HOSTILE,
        first_name=HOSTILE + long_word,
        last_name=HOSTILE,
        birth_place=long_word,
        address_lines=[HOSTILE, long_word] * 20,
        statement=f"{HOSTILE}\n{long_word}\nFIN",
        heads=[HeadAmount(HOSTILE + long_word, Decimal("10"))],
        exhibits=[exhibit(1, HOSTILE + long_word, JPEG, make_jpeg())],
        signature_name=HOSTILE,
        accepted_texts=[(HOSTILE + long_word, 1)],
    )
    pdf, count = build(data)
    texts = page_texts(pdf)
    everything = "\n".join(texts)
    assert count == len(texts)
    for literal in ("<b>gras</b>", "<img src=x>", "<font color=red>rouge</font>", "&amp;"):
        assert literal in everything
    assert "שלום"[0] in everything and "مرحبا"[0] in everything
    # Bidi overrides and isolates are removed; the emoji DejaVu cannot map becomes a box.
    assert not any(char in everything for char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert "😀" not in everything and "□" in everything
    # The statement's long word is broken across lines, never cut.
    statement = everything[everything.index("III. Exposé des faits") :].split("FIN")[0]
    assert statement.count("W") == 5000 and "<b>gras</b>" in statement
    assert everything.count("Pièce n° 1") == 2  # on the bordereau and stamped on the exhibit


@pytest.mark.parametrize(
    "text",
    [
        HOSTILE,
        "e\u200b\u0301t\u00e9",  # a dropped character between a letter and its accent
        "A\u030a \u212b \u1100\u1161\u11a8",  # decomposed, singleton, conjoining jamo
        "x\u0000y\ufeff\ue000z\U0001f600\u0301\n\n<br/>&lt;",
        "1\u202f234,50\u00a0€ \u0627\u0644 \u05e9",
    ],
)
def test_text_is_made_drawable_and_safe_in_one_pass_over_its_characters(text: str) -> None:
    # The same as visible_text, then the font's check, then para_text: character by character.
    drawable = "".join(
        char
        if ord(char) in _drawable_code_points() or char == "\n"
        else ("" if unicodedata.category(char).startswith("M") else MISSING_GLYPH)
        for char in visible_text(text, keep="\n")
    )
    assert drawable_text(text, keep="\n") == drawable
    assert safe_para(text) == para_text(drawable)


def test_a_very_long_statement_flows_over_many_pages() -> None:
    sentence = "Mes données de santé ont été publiées et je reçois des appels frauduleux chaque semaine. "
    statement = (sentence * 3000)[:199_990] + " FIN-RECIT"
    assert len(statement) == 200_000
    pdf, count = build(make_data(statement=statement, exhibits=[]))
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert count == len(pages) > 40
    # Text extraction is the slow part: the end of the statement is on the last pages.
    last = [page.extract_text() for page in pages[-4:]]
    assert "FIN-RECIT" in "".join(last) and f"page {count} / {count}" in last[-1]


@pytest.mark.parametrize(
    ("media_type", "content"),
    [
        (PDF, b"%PDF-1.7 this is not a PDF"),
        (JPEG, b"\xff\xd8\xff\xe0 not really a JPEG"),
        (JPEG, make_jpeg()[:1500]),  # truncated
        (JPEG, make_pdf(1)),  # not the declared type
        ("image/png", make_jpeg()),  # not a type bundles embed
    ],
)
def test_an_unreadable_exhibit_gets_a_placeholder_page(media_type: str, content: bytes) -> None:
    broken = exhibit(2, "Relevé bancaire", media_type, content)
    data = make_data(
        exhibits=[exhibit(1, "Photo", JPEG, make_jpeg()), broken, exhibit(3, "Lettre", PDF, make_pdf(2))]
    )
    pdf, count = build(data)
    texts = page_texts(pdf)
    placeholder = first_page_with(texts, "Pièce n° 2 — fichier illisible")
    assert broken.sha256 in texts[placeholder] and "Relevé bancaire" in texts[placeholder]
    assert "Exhibit page 1 of 2" in texts[placeholder + 1] and "Pièce n° 3" in texts[placeholder + 1]
    assert count == len(texts) and f"page {count} / {count}" in texts[-1]


def make_progressive_jpeg() -> bytes:
    image = Image.new("RGB", (640, 480), (250, 250, 246))
    ImageDraw.Draw(image).ellipse((60, 60, 580, 420), fill=(120, 30, 30))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, progressive=True)
    return out.getvalue()


@pytest.mark.parametrize("make", [make_jpeg, make_progressive_jpeg])
def test_a_jpeg_cut_short_anywhere_gets_a_placeholder(make: Any) -> None:
    whole = make()
    pdf, _ = build(make_data(exhibits=[exhibit(1, "Photo", JPEG, whole)]))
    assert whole in pdf and "fichier illisible" not in " ".join(page_texts(pdf))
    for cut in (len(whole) - 2, len(whole) * 2 // 3, len(whole) // 3, 400):
        pdf, _ = build(make_data(exhibits=[exhibit(1, "Photo", JPEG, whole[:cut])]))
        assert "Pièce n° 1 — fichier illisible" in " ".join(page_texts(pdf)), cut


def pdf_sharing_resources(pages: int = 3) -> bytes:
    """Pages sharing one resources dictionary, which already names a form /RecoursMarks."""
    writer = PdfWriter(clone_from=io.BytesIO(make_pdf(pages)))
    shared = DictionaryObject(writer.pages[0]["/Resources"])
    form = DecodedStreamObject()
    form.set_data(b"0 0.6 0 rg 0 0 50 50 re f")
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(NumberObject(value) for value in (0, 0, 50, 50)),
        }
    )
    shared[NameObject("/XObject")] = DictionaryObject({NameObject("/RecoursMarks"): writer._add_object(form)})
    reference = writer._add_object(shared)
    for page in writer.pages:
        page[NameObject("/Resources")] = reference
        draws = DecodedStreamObject()
        draws.set_data(b"q /RecoursMarks Do Q")
        page[NameObject("/Contents")] = ArrayObject([page.raw_get("/Contents"), writer._add_object(draws)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pages_sharing_their_resources_each_carry_their_own_marks() -> None:
    pdf, count = build(make_data(exhibits=[exhibit(1, "Lettre", PDF, pdf_sharing_resources())]))
    reader = PdfReader(io.BytesIO(pdf))
    texts = page_texts(pdf)
    first = first_page_with(texts, "Exhibit page 1 of 3")
    for offset in range(3):
        text = texts[first + offset]
        assert f"Exhibit page {offset + 1} of 3" in text
        assert f"page {first + offset + 1} / {count}" in text and text.count(" / ") == 1
        # The exhibit's own form keeps its name; the marks come under another one.
        xobjects = reader.pages[first + offset]["/Resources"]["/XObject"]
        assert xobjects["/RecoursMarks"].get_object().get_data() == b"0 0.6 0 rg 0 0 50 50 re f"
        assert len(xobjects) == 2
    assert texts[first].count("Pièce n° 1") == 1 and "Pièce n° 1" not in texts[first + 1]


def test_a_damaged_content_stream_keeps_its_page_and_stamp() -> None:
    # pypdf reads what it can of a stream that does not inflate (and logs it): the
    # exhibit keeps its page, stamped and numbered, rather than a placeholder.
    data = make_data(exhibits=[exhibit(1, "Relevé", PDF, pdf_with_corrupt_content())])
    pdf, count = build(data)
    texts = page_texts(pdf)
    assert "Pièce n° 1 Partie civile n° 12" in texts[-2] and f"page {count - 1} / {count}" in texts[-2]


def test_an_exhibit_failing_half_way_leaves_no_trace_but_its_placeholder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(page: PageObject) -> None:
        raise ValueError("cannot turn this page")

    # The second page fails once the first one is already in the bundle.
    monkeypatch.setattr(PageObject, "transfer_rotation_to_content", fail)
    letter = make_pdf(3, rotate_second=True)
    assert b"Exhibit page 1 of 3" in letter
    pdf, count = build(make_data(exhibits=[exhibit(1, "Lettre", PDF, letter)]))
    texts = page_texts(pdf)
    assert "Pièce n° 1 — fichier illisible" in texts[-2] and count == len(texts)
    # Neither the half-added pages nor their objects are in the file.
    assert "Exhibit page" not in "".join(texts) and b"Exhibit page" not in pdf


def test_a_storage_failure_is_not_hidden_behind_a_placeholder() -> None:
    def read() -> bytes:
        raise OSError("storage unavailable")

    failing = dataclasses.replace(exhibit(1, "Photo", JPEG, b""), read=read)
    with pytest.raises(OSError, match="storage unavailable"):
        build(make_data(exhibits=[failing]))


def test_exhibit_numbers_must_be_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        build(make_data(exhibits=[exhibit(1, "A", JPEG, make_jpeg()), exhibit(1, "B", PDF, make_pdf(1))]))


def test_same_data_gives_the_same_bytes() -> None:
    first, _ = build(make_data())
    second, _ = build(make_data())
    assert first == second


def test_the_preview_sample_builds(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from claims.documents import preview

    monkeypatch.setattr(preview.shutil, "which", lambda name: None)
    assert preview.main([str(tmp_path)]) == 0
    assert len(PdfReader(tmp_path / "bundle.pdf").pages) > 5
