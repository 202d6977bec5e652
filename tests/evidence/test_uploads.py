"""Uploads are judged by content; hostile files are refused clearly and leave nothing behind."""

from __future__ import annotations

import contextlib
import io
import struct
import threading
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from claims.claimants.models import Claim, ClaimStatus
from claims.evidence import operations
from claims.evidence.checks import UploadRefused, check_upload, clean_filename
from claims.evidence.models import Evidence, EvidenceKind, EvidenceStatus
from claims.evidence.operations import accept_evidence, make_derivative, open_derivative, open_evidence
from claims.extensions import db


def jpeg(size: tuple[int, int] = (40, 20), exif: bool = True) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    if exif:
        data = image.getexif()
        data[0x0112] = 6  # orientation: rotate 90° when shown
        data[0x010F] = "PhoneMaker"
        gps = data.get_ifd(0x8825)
        gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 50.0, 30.0), "E", (2.0, 21.0, 0.0)
        image.save(out, "JPEG", exif=data)
    else:
        image.save(out, "JPEG")
    return out.getvalue()


def png_rgba() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (30, 30), (0, 0, 255, 128)).save(out, "PNG")
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width × height pixels: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


def pdf(
    *, javascript: bool = False, encrypted: bool = False, attachment: bool = False, launch: bool = False
) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    if javascript:
        action = DictionaryObject(
            {
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject("app.alert(1);"),
            }
        )
        writer._root_object[NameObject("/Names")] = DictionaryObject(
            {
                NameObject("/JavaScript"): DictionaryObject(
                    {NameObject("/Names"): ArrayObject([TextStringObject("init"), action])}
                )
            }
        )
        writer._root_object[NameObject("/OpenAction")] = action
    if attachment:
        writer.add_attachment("payload.exe", b"MZ...")
    if launch:
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
            {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")}
        )
    if encrypted:
        writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_file() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", "hello")
    return out.getvalue()


HOSTILE = {
    "php_renamed_jpg": (b"<?php system($_GET['c']); ?>", "photo.jpg", "unsupported_type"),
    "svg": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "x.svg",
        "unsupported_type",
    ),
    "zip": (zip_file(), "pieces.zip", "unsupported_type"),
    "huge_png": (png_header_only(20_000, 20_000), "big.png", "too_many_pixels"),
    "truncated_jpeg": (jpeg((400, 300), exif=False)[:600], "cut.jpg", "unreadable_image"),
    "encrypted_pdf": (pdf(encrypted=True), "locked.pdf", "encrypted_pdf"),
    "broken_pdf": (b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage", "broken.pdf", "unreadable_pdf"),
    "empty": (b"", "empty.pdf", "empty"),
}


def vault_files(app: Flask) -> list[Path]:
    root = Path(app.instance_path) / "vault"
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_files_are_refused_and_leave_nothing(app: Flask, make_claim: Any, name: str) -> None:
    data, filename, code = HOSTILE[name]
    claim = make_claim()
    with pytest.raises(UploadRefused) as refused:
        accept_evidence(claim, io.BytesIO(data), kind=EvidenceKind.OTHER, filename=filename)
    assert refused.value.code == code
    assert refused.value.message  # a sentence for the claimant
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0
    assert vault_files(app) == []


def test_size_limit(make_claim: Any) -> None:
    with pytest.raises(UploadRefused) as refused:
        accept_evidence(
            make_claim(),
            io.BytesIO(jpeg() + b"\0" * 5000),
            kind=EvidenceKind.OTHER,
            filename="a.jpg",
            max_bytes=4096,
        )
    assert refused.value.code == "too_large"


def test_two_uploads_at_the_same_instant_cannot_pass_the_piece_limit(
    app: Flask, make_claim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nine pieces, two uploads at once, each in its own request (thread, session, connection):
    one is stored, the other refused; never eleven pieces. Each upload is held after its count
    until the other has counted too or a second has passed: without the claim's lock, both
    count nine and both are stored."""
    claim = make_claim(status=ClaimStatus.DRAFT)
    claim_id = claim.id
    for number in range(operations.MAX_FILES_PER_CLAIM - 1):
        operations.add_claim_evidence(
            claim, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename=f"{number}.jpg"
        )
    db.session.commit()

    both_counted = threading.Barrier(2, timeout=1)
    accept = operations.accept_evidence

    def held_after_the_count(*args: Any, **kwargs: Any) -> Evidence:
        with contextlib.suppress(threading.BrokenBarrierError):  # the other waits for this commit
            both_counted.wait()
        return accept(*args, **kwargs)

    monkeypatch.setattr(operations, "accept_evidence", held_after_the_count)
    outcomes: list[str] = []

    def upload(name: str) -> None:
        with app.app_context():
            try:
                operations.add_claim_evidence(
                    db.session.get_one(Claim, claim_id),
                    io.BytesIO(jpeg()),
                    kind=EvidenceKind.OTHER,
                    filename=name,
                )
            except UploadRefused as refused:
                db.session.rollback()
                outcomes.append(refused.code)
            else:
                db.session.commit()
                outcomes.append("stored")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=upload, args=(f"{side}.jpg",)) for side in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["stored", "too_many_files"]
    db.session.expire_all()
    pieces = db.session.scalar(sa.select(sa.func.count()).where(Evidence.claim_id == claim_id))
    assert pieces == operations.MAX_FILES_PER_CLAIM


def test_type_comes_from_content_not_name(make_claim: Any) -> None:
    evidence = accept_evidence(
        make_claim(), io.BytesIO(pdf()), kind=EvidenceKind.BREACH_NOTIFICATION, filename="courrier.jpg"
    )
    assert evidence.detected_type == "application/pdf"


def test_photo_is_reencoded_upright_without_metadata(make_claim: Any) -> None:
    original = jpeg((40, 20))
    evidence = accept_evidence(
        make_claim(), io.BytesIO(original), kind=EvidenceKind.PROOF_OF_IDENTITY, filename="IMG_0001.jpg"
    )
    db.session.commit()
    assert evidence.status == EvidenceStatus.PENDING
    make_derivative(evidence)
    db.session.commit()
    assert evidence.status == EvidenceStatus.CLEAN and evidence.derivative_type == "image/jpeg"
    derived = b"".join(open_derivative(evidence))
    image = Image.open(io.BytesIO(derived))
    assert image.size == (20, 40)  # orientation applied
    assert len(image.getexif()) == 0
    assert b"PhoneMaker" not in derived and b"Exif" not in derived
    # The original is kept as uploaded, with its hash.
    assert b"".join(open_evidence(evidence)) == original


def test_png_with_transparency_becomes_jpeg(make_claim: Any) -> None:
    evidence = accept_evidence(
        make_claim(), io.BytesIO(png_rgba()), kind=EvidenceKind.PHISHING_MESSAGE, filename="capture.png"
    )
    make_derivative(evidence)
    image = Image.open(io.BytesIO(b"".join(open_derivative(evidence))))
    assert image.format == "JPEG" and image.mode == "RGB"


def test_heic_phone_photo(make_claim: Any) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    image = Image.new("RGB", (64, 48), (10, 120, 200))
    out = io.BytesIO()
    pillow_heif.from_pillow(image).save(out, quality=80)
    evidence = accept_evidence(
        make_claim(),
        io.BytesIO(out.getvalue()),
        kind=EvidenceKind.PROOF_OF_IDENTITY,
        filename="IMG_2041.HEIC",
    )
    assert evidence.detected_type == "image/heic"
    make_derivative(evidence)
    derived = Image.open(io.BytesIO(b"".join(open_derivative(evidence))))
    assert derived.format == "JPEG" and derived.size == (64, 48)


@pytest.mark.parametrize(
    ("options", "warning"),
    [
        ({"javascript": True}, "pdf_javascript"),
        ({"attachment": True}, "pdf_embedded_file"),
        ({"launch": True}, "pdf_launch_action"),
    ],
)
def test_pdf_active_content_is_accepted_flagged_and_removed(
    make_claim: Any, options: dict, warning: str
) -> None:
    evidence = accept_evidence(
        make_claim(), io.BytesIO(pdf(**options)), kind=EvidenceKind.OTHER, filename="lettre.pdf"
    )
    assert evidence.warnings == [warning]
    make_derivative(evidence)
    assert evidence.status == EvidenceStatus.FLAGGED
    derived = b"".join(open_derivative(evidence))
    reader = PdfReader(io.BytesIO(derived))
    root = reader.trailer["/Root"]
    assert "/Names" not in root and "/OpenAction" not in root
    assert len(reader.pages) == 1


def test_polyglot_jpeg_loses_its_payload(make_claim: Any) -> None:
    payload = b"<?php system($_GET['c']); ?>"
    evidence = accept_evidence(
        make_claim(), io.BytesIO(jpeg(exif=False) + payload), kind=EvidenceKind.OTHER, filename="photo.jpg"
    )
    make_derivative(evidence)
    assert payload not in b"".join(open_derivative(evidence))


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\scan.pdf", "scan.pdf"),
        ("fac\x00ture\x1b[31m.pdf", "facture[31m.pdf"),
        ("...", "document"),
        (None, "document"),
        ("a" * 300 + ".pdf", "a" * 200),
    ],
)
def test_filenames_are_data_not_paths(given: str | None, kept: str) -> None:
    assert clean_filename(given) == kept


def test_check_reports_pages_and_pixels() -> None:
    assert check_upload(io.BytesIO(pdf())).pages == 1
    checked = check_upload(io.BytesIO(jpeg((40, 20), exif=False)))
    assert (checked.width, checked.height, checked.detected_type) == (40, 20, "image/jpeg")


def test_refusals_are_explained_in_english_too(app: Flask) -> None:
    with app.test_request_context("/?lang=en"):
        message = UploadRefused("encrypted_pdf").message
    assert message == "The PDF is protected by a password. Send a version without a password."
