"""The filing pack, read back as the court's clerk and a spreadsheet would: pages, bookmarks, lists."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from hashlib import sha256
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from pypdf import PdfReader
from pypdf.generic import Destination
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from claims.documents import euros, pack
from claims.documents.bundle import JPEG, HeadAmount, build_bundle
from claims.documents.pack import (
    PackExhibit,
    PackInfo,
    PackParty,
    bookmark_title,
    member_name,
    write_pack_csv,
    write_pack_pdf,
    write_pack_zip,
)
from tests.documents.test_bundle import HOSTILE, exhibit, make_data, make_jpeg

INFO = PackInfo(
    case_title="Fuite de données de l’AP-HP (2021)",
    court="Tribunal judiciaire de Paris",
    chamber="Cabinet de Mme X, juge d’instruction",
    court_case_number="",
    procedure="join_investigation",
    counsel="Me Claire Martin, avocate au barreau de Paris",
    filing_id=42,
    locked_at=datetime(2024, 5, 3, 12, 5, tzinfo=UTC),
    snapshot_sha256="5f" * 32,
)
NAMES = ["Mme Élodie LEFÈVRE-DURAND", "M. Jean DUPONT", "Mme Aïcha BEN SAÏD", "M. Zoé MÜLLER"]
CITIES = ["Paris", "Montreuil", "Saint-Denis", "Lyon"]


@cache
def bundles() -> tuple[tuple[bytes, int], ...]:
    """Four real bundles (parties 1 to 4), the second with a small JPEG exhibit, the others none."""
    built = []
    for number in range(1, 5):
        exhibits = [exhibit(1, "Capture d’écran", JPEG, make_jpeg(300, 200))] if number == 2 else []
        out = io.BytesIO()
        pages = build_bundle(
            make_data(party_number=number, reference=f"APHP-000{number}-TEST", exhibits=exhibits), out
        )
        built.append((out.getvalue(), pages))
    return tuple(built)


def heads(number: int) -> list[HeadAmount]:
    return [
        HeadAmount("Préjudice moral", Decimal("3000") + number),
        HeadAmount("Temps perdu", Decimal("1234.50")),
    ]


def party(number: int, name: str, data: bytes, **overrides: Any) -> PackParty:
    values: dict[str, Any] = {
        "number": number,
        "name": name,
        "city": CITIES[(number - 1) % len(CITIES)],
        "reference": f"APHP-000{number}-TEST",
        "heads": heads(number),
        "bundle": lambda: io.BytesIO(data),
    }
    values.update(overrides)
    return PackParty(**values)


def parties(count: int = 3) -> Iterator[PackParty]:
    for index, (bundle, _) in enumerate(bundles()[:count]):
        yield party(index + 1, NAMES[index], bundle)


def text(page: Any) -> str:
    """A page's text on one line; no-break spaces (before "€") as spaces, the narrow ones kept."""
    return re.sub(r"[ \n]+", " ", page.extract_text().replace("\u00a0", " "))


def french(amount: str) -> str:
    return euros(Decimal(amount)).replace("\u00a0", " ")


def piece(number: int, title: str, party_number: int = 0) -> PackExhibit:
    """An exhibit whose SHA-256 is told by its party and number (the tests look for it)."""
    digest = sha256(f"{party_number}-{number}-{title}".encode()).hexdigest()
    return PackExhibit(number=number, title=title, date=date(2021, 9, number % 28 + 1), sha256=digest)


def write_pdf(items: Any, info: PackInfo = INFO) -> tuple[bytes, int]:
    out = io.BytesIO()
    pages = write_pack_pdf(info, items, out)
    return out.getvalue(), pages


def flat_outline(reader: PdfReader) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(top-level bookmarks, the parties' bookmarks) as (title, page index)."""
    top: list[tuple[str, int]] = []
    nested: list[tuple[str, int]] = []
    for item in reader.outline:
        if isinstance(item, list):
            nested += [(sub.title, reader.get_destination_page_number(sub)) for sub in item]
        else:
            assert isinstance(item, Destination)
            top.append((item.title, reader.get_destination_page_number(item)))
    return top, nested


def test_pack_pdf_is_the_letter_the_lists_then_every_bundle() -> None:
    pdf, pages = write_pdf(parties(3))
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    texts = [text(page) for page in reader.pages]
    bundle_pages = [count for _, count in bundles()[:3]]
    front = pages - sum(bundle_pages)

    assert pages == len(reader.pages) == front + sum(bundle_pages)
    assert front >= 4  # cover letter, list, totals, exhibit index
    # The pack's own pages are numbered over the whole pack; the bundles keep their numbering.
    for index in range(front):
        assert f"page {index + 1} / {pages}" in texts[index]
        assert "Dépôt collectif n° 42" in texts[index]
    starts = [front + sum(bundle_pages[:index]) for index in range(3)]
    for number, (start, count) in enumerate(zip(starts, bundle_pages, strict=True), start=1):
        assert (
            "CONSTITUTION DE PARTIE CIVILE" in texts[start] and f"Partie civile n° {number}" in texts[start]
        )
        assert f"page 1 / {count}" in texts[start] and f"page {count} / {count}" in texts[start + count - 1]
        # Copied as they are: every page reads as in the bundle itself.
        original = PdfReader(io.BytesIO(bundles()[number - 1][0]))
        assert [text(page) for page in original.pages] == texts[start : start + count]
        assert f"/ {pages}" not in texts[start]

    top, nested = flat_outline(reader)
    assert [title for title, _ in top] == [
        "Lettre de dépôt",
        "Liste des parties civiles",
        "Totaux par chef de préjudice",
        "Index des pièces",
        "Parties civiles (3)",
    ]
    assert top[0][1] == 0 and top[4][1] == starts[0]
    assert nested == [(f"n° {n} — {NAMES[n - 1]}", start) for n, start in enumerate(starts, start=1)]

    cover = texts[0]
    assert "dépôt de 3 constitutions de partie civile" in cover
    # The letter gives the page where each part starts.
    assert f"(page {top[1][1] + 1})" in cover and f"(page {top[2][1] + 1})" in cover
    assert (
        f"l’index collectif des pièces, avec l’empreinte SHA-256 de chacune (page {top[3][1] + 1})" in cover
    )
    assert f"(pages {front + 1} à {pages})" in cover
    assert "Tribunal judiciaire de Paris" in cover and "Me Claire Martin" in cover
    assert "(numéro à venir)" in cover
    assert "article 87 du code de procédure pénale" in cover  # the procedure, from the bundle's template
    assert "À Madame ou Monsieur le juge d’instruction" in cover
    assert "SHA-256" in " ".join(texts[:front]) and "5f5f5f" in " ".join(texts[:front])
    grand_total = sum(3000 + n + 1234.5 for n in (1, 2, 3))
    assert french(f"{grand_total:.2f}") in " ".join(texts[:front])

    listing = texts[top[1][1]]
    assert "LISTE DES PARTIES CIVILES" in listing
    for number, (name, city, start) in enumerate(zip(NAMES, CITIES, starts, strict=False), start=1):
        row = f"{number} {name} {city} {french(f'{3000 + number + 1234.5:.2f}')} {start + 1}"
        assert row in listing

    totals = texts[top[2][1]]
    assert "TOTAUX PAR CHEF DE PRÉJUDICE" in totals
    assert f"Préjudice moral 3 {french('9006.00')}" in totals
    assert f"Temps perdu 3 {french('3703.50')}" in totals
    assert f"Total des demandes 3 {french('12709.50')}" in totals

    index = texts[top[3][1]]
    assert "INDEX COLLECTIF DES PIÈCES" in index and "Aucune pièce." in index  # none given here

    metadata = reader.metadata
    assert metadata is not None and metadata.title == "Dépôt collectif n° 42 — 3 parties civiles"
    values = " ".join(str(value) for value in metadata.values())
    assert not any(name.split()[-1] in values for name in NAMES) and "APHP" not in values


def test_external_readers_accept_the_pack(tmp_path: Path) -> None:
    """qpdf's structural check and poppler, where installed (CI images may lack them)."""
    pdf, pages = write_pdf(parties(2))
    path = tmp_path / "pack.pdf"
    path.write_bytes(pdf)
    checked = False
    if shutil.which("qpdf"):
        result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        assert b"No syntax or stream encoding errors" in result.stdout
        checked = True
    if shutil.which("pdfinfo"):
        result = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True)
        assert re.search(rb"^Pages:\s+%d$" % pages, result.stdout, re.MULTILINE)
        assert result.stderr == b""  # poppler reports any syntax error it meets there
        result = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
        assert result.stderr == b"" and "Partie civile n° 2" in result.stdout.decode()
        checked = True
    if not checked:
        pytest.skip("neither qpdf nor poppler's pdfinfo is installed")


def test_past_ten_gigabytes_the_cross_reference_becomes_a_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A classic table has ten digits an offset; a pack of heavy bundles can outgrow them."""
    monkeypatch.setattr(pack, "CLASSIC_XREF_LIMIT", 0)
    pdf, pages = write_pdf(parties(2))
    assert b"/Type /XRef" in pdf and b"\ntrailer\n" not in pdf
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    assert len(reader.pages) == pages
    assert [title for title, _ in flat_outline(reader)[1]] == [f"n° 1 — {NAMES[0]}", f"n° 2 — {NAMES[1]}"]
    assert "Partie civile n° 2" in text(reader.pages[flat_outline(reader)[1][1][1]])
    path = tmp_path / "pack.pdf"
    path.write_bytes(pdf)
    if shutil.which("qpdf"):
        result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    if shutil.which("pdfinfo"):
        result = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True)
        assert result.stderr == b"" and re.search(rb"^Pages:\s+%d$" % pages, result.stdout, re.MULTILINE)


def test_the_same_parties_give_the_same_bytes_even_through_an_unseekable_pipe() -> None:
    class Pipe(io.RawIOBase):
        """What the export job hands the writer: a stream that can only be written to."""

        def __init__(self) -> None:
            self.chunks: list[bytes] = []

        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            self.chunks.append(bytes(data))
            return len(data)

    pipe = Pipe()
    with io.BufferedWriter(pipe) as out:
        pages = write_pack_pdf(INFO, parties(2), out)
    first, _ = write_pdf(parties(2))
    assert b"".join(pipe.chunks) == first
    assert len(PdfReader(io.BytesIO(first)).pages) == pages


def test_parties_are_iterated_once_and_every_bundle_closed() -> None:
    opened: list[Any] = []
    pulled: list[int] = []

    class Unseekable(io.RawIOBase):
        """A bundle read from storage as a stream: no seeking back (it is spooled)."""

        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    def opener(data: bytes, seekable: bool) -> Any:
        def open_bundle() -> BinaryIO:
            handle: Any = io.BytesIO(data) if seekable else Unseekable(data)
            opened.append(handle)
            return handle

        return open_bundle

    def generator() -> Iterator[PackParty]:
        for index, (data, _) in enumerate(bundles()[:3]):
            pulled.append(index)
            yield party(index + 1, NAMES[index], data, bundle=opener(data, seekable=index != 1))

    pdf, pages = write_pdf(generator())
    assert pulled == [0, 1, 2]
    assert len(opened) == 3 and all(handle.closed for handle in opened)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == pages


def test_hostile_names_are_text_and_break_nothing() -> None:
    data = bundles()[0][0]
    long_name = "Mme " + "Très-Long-Nom " * 400
    items = [
        party(1, HOSTILE, data, city=HOSTILE),
        party(2, long_name, data, city="x" * 5000),
        party(3, "=HYPERLINK(\"http://evil\")\n<para><link href='x'>M. Clic</link></para>", data),
        party(4, "", data, city=""),
    ]
    pdf, pages = write_pdf(iter(items))
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    assert len(reader.pages) == pages
    _, nested = flat_outline(reader)
    titles = [title for title, _ in nested]
    assert titles == [bookmark_title(item) for item in items]
    assert "\u202e" not in titles[0] and "<b>gras</b>" in titles[0]  # bidi override dropped, markup as text
    assert len(titles[1]) < 220 and titles[1].endswith("…")
    assert titles[3] == "n° 4"
    listing = " ".join(text(page) for page in reader.pages[:3])
    assert "<b>gras</b>" in listing and "=HYPERLINK" in listing
    assert "Mme Très-Long-Nom Très-Long-Nom" in listing and "x" * 5000 not in listing
    assert "/URI" not in pdf.decode("latin-1")  # no link made of a name


def test_many_parties_fill_several_list_pages_drawn_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small chunks and page-tree groups, so that a few hundred parties cross every boundary."""
    monkeypatch.setattr(pack, "LIST_PAGES_PER_CHUNK", 2)
    monkeypatch.setattr(pack, "PAGES_PER_GROUP", 5)

    def tiny_bundle(number: int, pages: int) -> bytes:
        out = io.BytesIO()
        canvas = Canvas(out, pagesize=A4, invariant=1)
        for page in range(1, pages + 1):
            canvas.drawString(72, 700, f"Bundle {number} page {page}")
            canvas.showPage()
        canvas.save()
        return out.getvalue()

    count = 150
    sizes = [1 + number % 3 for number in range(1, count + 1)]
    items = (
        party(
            number, f"Partie {number}", tiny_bundle(number, size), heads=[HeadAmount("Préjudice moral", 10)]
        )
        for number, size in zip(range(1, count + 1), sizes, strict=True)
    )
    pdf, pages = write_pdf(items)
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    texts = [text(page) for page in reader.pages]
    front = pages - sum(sizes)
    assert len(texts) == pages
    top, nested = flat_outline(reader)
    list_pages = range(top[1][1], top[2][1])
    assert len(list_pages) == pack._list_pages(count) >= 4  # two chunks at least
    listing = " ".join(texts[index] for index in list_pages)
    start = front
    for number, size in enumerate(sizes, start=1):
        assert nested[number - 1] == (f"n° {number} — Partie {number}", start)
        assert (
            f"Bundle {number} page 1" in texts[start]
            and f"Bundle {number} page {size}" in texts[start + size - 1]
        )
        assert f" {number} Partie {number} " in listing and f"{french('10')} {start + 1} " in listing + " "
        start += size
    for index in range(front):
        assert f"page {index + 1} / {pages}" in texts[index]
    assert f"Total des demandes {count} {french(str(10 * count))}" in " ".join(texts[:front])


def test_a_pack_without_parties_is_only_its_letter_and_lists() -> None:
    pdf, pages = write_pdf(iter(()))
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    top, nested = flat_outline(reader)
    assert pages == len(reader.pages) == 4
    assert [title for title, _ in top] == [
        "Lettre de dépôt",
        "Liste des parties civiles",
        "Totaux par chef de préjudice",
        "Index des pièces",
    ]
    assert nested == []
    assert "Aucune partie civile" in text(reader.pages[0]) and "Aucune partie civile" in text(reader.pages[1])
    assert "Aucune pièce." in text(reader.pages[3])


def test_parties_out_of_order_or_an_unknown_procedure_are_refused() -> None:
    data = bundles()[0][0]
    with pytest.raises(ValueError, match="out of order"):
        write_pdf(iter([party(2, "A", data), party(1, "B", data)]))
    with pytest.raises(ValueError, match="out of order"):
        write_pack_csv(INFO, iter([party(1, "A", data), party(1, "B", data)]), io.StringIO())
    with pytest.raises(ValueError, match="out of order"):
        write_pack_zip(INFO, iter([party(3, "A", data), party(2, "B", data)]), io.BytesIO())
    with pytest.raises(ValueError):
        write_pdf(parties(1), dataclasses.replace(INFO, procedure="nope"))


def test_an_unreadable_bundle_fails_the_pack_and_a_storage_error_propagates() -> None:
    data = bundles()[0][0]
    with pytest.raises(ValueError, match="civil party n° 2"):
        write_pdf(iter([party(1, "A", data), party(2, "B", b"%PDF-1.7 not a pdf at all")]))

    def broken() -> BinaryIO:
        raise OSError("storage unavailable")

    with pytest.raises(OSError, match="storage unavailable"):
        write_pdf(iter([party(1, "A", data, bundle=broken)]))


def test_temporary_files_hold_no_name_in_the_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The list waits on disk until the bundles are through: sealed, as everything personal at rest."""
    kept: list[Path] = []

    def temporary_file(*args: Any, **kwargs: Any) -> Any:
        path = tmp_path / f"spool-{len(kept)}"
        kept.append(path)
        return path.open("w+b")

    monkeypatch.setattr(pack.tempfile, "TemporaryFile", temporary_file)
    items = [dataclasses.replace(item, exhibits=[piece(1, "Relevé Bancaire.pdf")]) for item in parties(3)]
    pdf, _ = write_pdf(iter(items))
    write_pack_zip(INFO, iter(items), io.BytesIO())
    assert len(kept) == 5  # the PDF's offsets, list and exhibit index; the ZIP's list and members
    front = " ".join(text(page) for page in PdfReader(io.BytesIO(pdf)).pages[:4])
    assert "LEFÈVRE-DURAND" in front and "Relevé Bancaire" in front
    for path in kept:
        content = path.read_bytes()
        assert b"APHP-0001" not in content  # the references in the ZIP's member names
        for name in (*NAMES, *CITIES[:3], "Relevé Bancaire"):
            for word in name.split():
                if len(word) > 3:
                    assert word.encode() not in content and word.encode("utf-16-be") not in content


def test_zip_holds_one_bundle_per_party_without_names_and_the_list() -> None:
    items = [*parties(3), party(4, "M. Zoé MÜLLER", bundles()[3][0], reference="../../etc/passwd")]
    out = io.BytesIO()
    files = write_pack_zip(INFO, iter(items), out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        names = archive.namelist()
        assert files == len(names) == 5
        assert names == [
            "partie-civile-00001-APHP-0001-TEST.pdf",
            "partie-civile-00002-APHP-0002-TEST.pdf",
            "partie-civile-00003-APHP-0003-TEST.pdf",
            "partie-civile-00004-______etc_passwd.pdf",
            "liste.csv",
        ]
        assert member_name(items[3]) == names[3] and "/" not in names[3]
        for index, name in enumerate(names[:4]):
            member = archive.getinfo(name)
            assert member.compress_type == zipfile.ZIP_STORED
            content = archive.read(name)
            assert content == bundles()[index][0]
            assert len(PdfReader(io.BytesIO(content)).pages) == bundles()[index][1]
        rows = list(csv.reader(io.StringIO(archive.read("liste.csv").decode("utf-8-sig")), delimiter=";"))
        assert archive.testzip() is None
    assert len(rows) == 5 and rows[1][1] == NAMES[0]


def test_zip_streams_to_an_unseekable_output() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            self.data += data
            return len(data)

    pipe = Pipe()
    with io.BufferedWriter(pipe) as out:
        assert write_pack_zip(INFO, parties(2), out) == 3
    with zipfile.ZipFile(io.BytesIO(bytes(pipe.data))) as archive:
        assert archive.testzip() is None
        assert archive.read("partie-civile-00002-APHP-0002-TEST.pdf") == bundles()[1][0]


def test_csv_is_for_french_spreadsheets_and_never_runs_a_formula() -> None:
    data = bundles()[0][0]
    items = [
        party(1, '=HYPERLINK("http://evil";"clic")', data, city="+33 Paris"),
        party(2, "Mme Élodie LEFÈVRE-DURAND", data, city="Lyon\nCedex", reference="@APHP"),
        party(3, "-2+3", data, heads=[]),
    ]
    out = io.StringIO(newline="")
    assert write_pack_csv(INFO, iter(items), out) == 3
    content = out.getvalue()
    assert content.startswith("\ufeffN°;Nom;Commune;Référence;Total demandé\r\n")
    rows = list(csv.reader(io.StringIO(content.removeprefix("\ufeff")), delimiter=";"))
    assert rows[1] == ["1", '\'=HYPERLINK("http://evil";"clic")', "'+33 Paris", "APHP-0001-TEST", "4235,50"]
    assert rows[2] == ["2", "Mme Élodie LEFÈVRE-DURAND", "Lyon Cedex", "'@APHP", "4236,50"]
    assert rows[3] == ["3", "'-2+3", "Saint-Denis", "APHP-0003-TEST", "0,00"]


def test_the_collective_exhibit_index_lists_every_piece_of_every_party_with_its_hash() -> None:
    """After the totals: one row per exhibit (party, name, "Pièce n° N", title, date, SHA-256)."""
    titles = {
        1: ["Capture d’écran (sms.png)"],
        2: [],
        3: ["Relevé bancaire (mai.pdf)", "Dépôt de plainte (pv.pdf)"],
    }
    items = [
        dataclasses.replace(
            item, exhibits=[piece(n, title, item.number) for n, title in enumerate(titles[item.number], 1)]
        )
        for item in parties(3)
    ]
    pdf, pages = write_pdf(iter(items))
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    texts = [text(page) for page in reader.pages]
    top, nested = flat_outline(reader)
    front = pages - sum(count for _, count in bundles()[:3])
    assert [title for title, _ in top][3] == "Index des pièces" and top[3][1] == front - 1
    index = texts[top[3][1]]
    assert "INDEX COLLECTIF DES PIÈCES" in index and "3 pièces, 3 parties civiles" in index
    assert f"page {front} / {pages}" in index
    rows = [
        f"1 {NAMES[0]} Pièce n° 1 Capture d’écran (sms.png) 02/09/2021 SHA-256 : {piece(1, titles[1][0], 1).sha256}",
        f"3 {NAMES[2]} Pièce n° 1 Relevé bancaire (mai.pdf) 02/09/2021 SHA-256 : {piece(1, titles[3][0], 3).sha256}",
        f"3 {NAMES[2]} Pièce n° 2 Dépôt de plainte (pv.pdf) 03/09/2021 SHA-256 : {piece(2, titles[3][1], 3).sha256}",
    ]
    positions = [index.index(row) for row in rows]  # each row whole, in party then piece order
    assert positions == sorted(positions) and f"2 {NAMES[1]}" not in index  # no piece, no row
    # The bookmarks and the list's page references still point at each bundle.
    assert nested[0][1] == front
    assert f"1 {NAMES[0]} Paris {french(f'{3000 + 1 + 1234.5:.2f}')} {front + 1}" in texts[top[1][1]]


def test_hostile_and_long_titles_in_the_index_are_text_and_fit() -> None:
    data = bundles()[0][0]
    long_title = "Autre pièce (" + "très-long-nom-de-fichier-" * 40 + ".pdf)"
    exhibits = [
        piece(1, HOSTILE, 1),
        piece(2, "<link href='http://x'>Clic</link>\n=1+1", 1),
        piece(3, long_title, 1),
    ]
    pdf, pages = write_pdf(iter([party(1, HOSTILE, data, exhibits=exhibits)]))
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    assert len(reader.pages) == pages
    top, _ = flat_outline(reader)
    index = text(reader.pages[top[3][1]])
    assert index.count("<b>gras</b> <img src=x>") == 4  # the name on its three rows, a title: as text
    assert "\u202e" not in index
    assert "Pièce n° 2 <link href='http://x'>Clic</link> =1+1 " in index  # one line, as text
    assert "Pièce n° 3 Autre pièce (très-long-nom-de-fichier-" in index and long_title not in index
    assert "…" in index  # the long title is cut to its column
    for item in exhibits:
        assert f"SHA-256 : {item.sha256}" in index
    assert "/URI" not in pdf.decode("latin-1")


def test_an_index_of_many_pieces_is_drawn_in_chunks_and_numbered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Enough pieces for several index pages drawn two at a time: every row, the numbering right."""
    monkeypatch.setattr(pack, "LIST_PAGES_PER_CHUNK", 2)
    data = bundles()[0][0]
    count = 40
    items = [
        party(
            number,
            f"Partie {number}",
            data,
            exhibits=[piece(n, f"Pièce {number}.{n}", number) for n in (1, 2, 3)],
        )
        for number in range(1, count + 1)
    ]
    pdf, pages = write_pdf(iter(items))
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    top, nested = flat_outline(reader)
    index_pages = range(top[3][1], nested[0][1])
    assert len(index_pages) == pack._index_pages(3 * count) >= 5  # three chunks at least
    texts = [text(reader.pages[page]) for page in index_pages]
    for page, content in zip(index_pages, texts, strict=True):
        assert f"page {page + 1} / {pages}" in content
    index = " ".join(texts)
    for item in items:
        for listed in item.exhibits:
            row = f"{item.number} Partie {item.number} Pièce n° {listed.number} {listed.title} "
            assert row in index and listed.sha256 in index
    assert f"(page {top[3][1] + 1})" in text(reader.pages[0])
    assert (
        f"{count} Partie {count} {CITIES[(count - 1) % 4]} {french('4274.50')} {nested[-1][1] + 1}"
        in " ".join(text(reader.pages[page]) for page in range(top[1][1], top[2][1]))
    )


@pytest.mark.parametrize("seekable", [True, False])
@pytest.mark.parametrize("zip64", [False, True])
def test_zip_is_byte_for_byte_what_zipfile_alone_writes(
    seekable: bool, zip64: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The members' entries wait in a spool, not in zipfile's list: the archive does not change.

    With ``zip64``, zipfile's limit is lowered so that the central directory needs its ZIP64
    fields (offsets, end records), as a pack past 4 GB does.
    """
    if zip64:
        # Past the second bundle's start, below the third's; above any bundle's size.
        limit = len(bundles()[0][0]) + len(bundles()[1][0]) // 2
        assert all(len(bundle) < limit for bundle, _ in bundles()[:3])
        monkeypatch.setattr(zipfile, "ZIP64_LIMIT", limit)
        monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 2)

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            self.data += data
            return len(data)

    def archive_with(write: Any) -> bytes:
        if seekable:
            out = io.BytesIO()
            write(out)
            return out.getvalue()
        pipe = Pipe()
        with io.BufferedWriter(pipe) as buffered:
            write(buffered)
        return bytes(pipe.data)

    ours = archive_with(lambda out: write_pack_zip(INFO, parties(3), out))
    with zipfile.ZipFile(io.BytesIO(ours)) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
        assert archive.testzip() is None and len(members) == 4

    def plain(out: Any) -> None:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as reference:
            for info, content in members:
                entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                entry.external_attr = info.external_attr
                with reference.open(entry, "w") as target:
                    target.write(content)

    assert ours == archive_with(plain)
    if zip64:  # the members past the lowered limit carry their ZIP64 field, and the end its record
        assert [bool(info.extra) for info, _ in members] == [False, False, True, True]
        assert b"PK\x06\x06" in ours
