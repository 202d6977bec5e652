"""The pack's raw copy (``claims.documents.rawpdf``): the same pages as through pypdf, only real
references renumbered, and any other form of PDF left to pypdf."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject

from claims.documents import pack
from claims.documents.bundle import JPEG, PDF, build_bundle
from claims.documents.rawpdf import RawPdf, Unsupported, _value
from tests.documents.test_bundle import (
    HOSTILE,
    exhibit,
    make_data,
    make_jpeg,
    make_pdf,
    pdf_sharing_resources,
)
from tests.documents.test_pack import flat_outline, party, piece, text, write_pdf


def hostile_bundles() -> list[bytes]:
    """Bundles with hostile text, photos, merged PDF exhibits (one rotated page, pages sharing
    their resources) and a string that looks like references."""
    built = []
    for number, extra in enumerate(
        [
            [exhibit(2, "Lettre (3 pages) — 12 0 R", PDF, make_pdf(3, rotate_second=True))],
            [exhibit(2, f"Partagé {HOSTILE}", PDF, pdf_sharing_resources(3))],
            [],
        ],
        start=1,
    ):
        data = make_data(
            party_number=number,
            last_name=f"{HOSTILE} (1 0 R) \\",
            statement=f"{HOSTILE} 5 0 R ) ( <<>> %comment\n" * 20,
            exhibits=[exhibit(1, "Photo (2 0 R)", JPEG, make_jpeg(400, 300)), *extra],
        )
        out = io.BytesIO()
        build_bundle(data, out)
        built.append(out.getvalue())
    return built


def pack_of(bundles: list[bytes]) -> tuple[bytes, int]:
    return write_pdf(
        iter(
            [
                party(n, f"Partie {HOSTILE} (3 0 R)", data, exhibits=[piece(1, "Photo (2 0 R)", n)])
                for n, data in enumerate(bundles, start=1)
            ]
        )
    )


def rendered(pdf: bytes, folder: Path, name: str) -> list[bytes]:
    path = folder / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "30", str(path), str(folder / name)], check=True, capture_output=True)
    return [page.read_bytes() for page in sorted(folder.glob(f"{name}-*.ppm"))]


def test_the_raw_copy_gives_the_pages_pypdf_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundles = hostile_bundles()
    copies: list[bool] = []
    raw_copy = pack._copy_raw

    def counted(*args: Any) -> list[int] | None:
        numbers = raw_copy(*args)
        copies.append(numbers is not None)
        return numbers

    monkeypatch.setattr(pack, "_copy_raw", counted)
    raw, raw_pages = pack_of(bundles)
    # Every bundle and every front document went the raw way.
    assert copies and all(copies)
    monkeypatch.setattr(pack, "_copy_raw", lambda *args: None)
    through_pypdf, pages = pack_of(bundles)

    assert raw_pages == pages
    raw_reader, pypdf_reader = PdfReader(io.BytesIO(raw)), PdfReader(io.BytesIO(through_pypdf))
    assert len(raw_reader.pages) == len(pypdf_reader.pages) == pages
    assert [text(p) for p in raw_reader.pages] == [text(p) for p in pypdf_reader.pages]
    assert [p.rotation for p in raw_reader.pages] == [p.rotation for p in pypdf_reader.pages]
    assert flat_outline(raw_reader) == flat_outline(pypdf_reader)
    assert any("Partie civile n° 3" in text(p) for p in raw_reader.pages)
    if shutil.which("qpdf"):
        path = tmp_path / "raw.pdf"
        path.write_bytes(raw)
        check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, check=False)
        assert check.returncode == 0 and b"No syntax or stream encoding errors" in check.stdout, check.stdout
    if not shutil.which("pdftoppm"):
        pytest.skip("poppler's pdftoppm is not installed: pages compared by their text only")
    assert rendered(raw, tmp_path, "raw") == rendered(through_pypdf, tmp_path, "pypdf")


def test_references_are_found_outside_strings_comments_and_hexadecimal_strings_only() -> None:
    body = (
        b"<< /A 1 0 R /S (x 2 0 R \\) (3 0 R) \\\\) /H <4F 20> % 5 0 R in a comment\n"
        b" /K [6 0 R 7 0 R] /N [12 0] /D << /E 8 0 R >> /R 9 0 R>>"
    )
    start, end, refs, entries = _value(body, 0)
    assert (start, end) == (0, len(body))
    assert [number for _, _, number in refs] == [1, 6, 7, 8, 9]
    assert entries is not None and list(entries) == [b"/A", b"/S", b"/H", b"/K", b"/N", b"/D", b"/R"]
    assert body[entries[b"/S"][1] : entries[b"/S"][2]] == b"(x 2 0 R \\) (3 0 R) \\\\)"
    assert body[entries[b"/D"][1] : entries[b"/D"][2]] == b"<< /E 8 0 R >>"


@pytest.mark.parametrize(
    "body",
    [
        b"<< /A (never closed >>",
        b"<< /A [1 2 >>",
        b"<< /A >>",
        b"<< (not a name) 1 >>",
        b"<< /A 1 1 R >>",  # generation 1
        b"<< /A \x7b >>",
    ],
)
def test_what_the_tokeniser_does_not_know_is_refused(body: bytes) -> None:
    with pytest.raises(Unsupported):
        _value(body + b"\nendobj", 0)


def pdf_with_inherited_resources() -> bytes:
    """Pages whose resources live on their page tree node (allowed, and pypdf's to flatten)."""
    writer = PdfWriter(clone_from=io.BytesIO(make_pdf(2)))
    resources = writer.pages[0]["/Resources"]
    for page in writer.pages:
        del page[NameObject("/Resources")]
    writer._root_object["/Pages"].get_object()[NameObject("/Resources")] = resources
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_an_update() -> bytes:
    """A file with an incremental update: a second cross-reference section, /Prev."""
    base = make_pdf(2)
    previous = int(re.findall(rb"startxref\s+(\d+)", base)[-1])
    root = re.findall(rb"/Root (\d+ 0 R)", base)[-1]
    size = int(re.findall(rb"/Size (\d+)", base)[-1])
    added = b"%d 0 obj\n<< /Note (added) >>\nendobj\n" % size
    xref = len(base) + len(added)
    return (
        base
        + added
        + (
            b"xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
            % (size, len(base), size + 1, root, previous, xref)
        )
    )


def compressed_with_object_streams(tmp_path: Path) -> bytes:
    if not shutil.which("qpdf"):
        pytest.skip("qpdf is not installed")
    source, target = tmp_path / "in.pdf", tmp_path / "out.pdf"
    source.write_bytes(make_pdf(2))
    subprocess.run(["qpdf", "--object-streams=generate", str(source), str(target)], check=True)
    return target.read_bytes()


@pytest.mark.parametrize("make", ["inherited", "update", "object_streams"])
def test_other_forms_of_pdf_are_read_with_pypdf(make: str, tmp_path: Path) -> None:
    content = {
        "inherited": pdf_with_inherited_resources,
        "update": pdf_with_an_update,
        "object_streams": lambda: compressed_with_object_streams(tmp_path),
    }[make]()
    with pytest.raises(Unsupported):
        raw = RawPdf(content)
        raw.reachable(raw.pages(), frozenset())
    pdf, _ = write_pdf(iter([party(1, "A", content)]))
    reader = PdfReader(io.BytesIO(pdf))
    texts = [text(page) for page in reader.pages]
    assert any("Exhibit page 1 of 2" in t for t in texts) and any("Exhibit page 2 of 2" in t for t in texts)
    if make == "inherited":  # the page kept the resources it inherited: its font is there
        page = next(p for p in reader.pages if "Exhibit page 1 of 2" in text(p))
        assert "/Font" in page["/Resources"]


def test_a_page_tree_or_catalog_reached_from_a_page_becomes_null() -> None:
    """As through pypdf: a page pointing at its document's catalog does not drag it along."""
    writer = PdfWriter(clone_from=io.BytesIO(make_pdf(1)))
    writer.pages[0][NameObject("/Catalog")] = writer.root_object.indirect_reference
    writer.pages[0][NameObject("/Info")] = DictionaryObject()
    out = io.BytesIO()
    writer.write(out)
    raw = RawPdf(out.getvalue())
    [page] = raw.pages()
    objects, left_out = raw.reachable([page], frozenset({b"/Parent"}))
    assert left_out == {raw._root}
    body = raw.body(page, {n: 100 + i for i, n in enumerate(objects)}.get, dropped=frozenset({b"/Parent"}),
                    extra=b"/Parent 7 0 R")  # fmt: skip
    assert b"/Catalog null" in body and body.endswith(b"/Parent 7 0 R >>")
    assert b"/Parent" not in body.replace(b"/Parent 7 0 R", b"")
    pdf, _ = write_pdf(iter([party(1, "A", out.getvalue())]))
    assert any("Exhibit page 1 of 1" in text(p) for p in PdfReader(io.BytesIO(pdf)).pages)
