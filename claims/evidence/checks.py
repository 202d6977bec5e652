"""What an uploaded file is, judged by its content, and whether to accept it.

The cheap checks answer the claimant at once: the type from the magic bytes
(never the name or the declared type), the size, the pixel count read from
the image header before anything is decoded, and the PDF's structure. Every
refusal is a code; the intake pages turn it into a sentence in the
claimant's language (``REFUSAL_MESSAGES``).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from typing import IO

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import DictionaryObject, IndirectObject

from ..text import visible_text

MAX_FILE_BYTES = 15 * 1024 * 1024
# 50 megapixels: above any phone camera, far below a decompression bomb.
MAX_PIXELS = 50_000_000
MAX_PDF_PAGES = 200
SNIFF_BYTES = 64

JPEG, PNG, HEIC, PDF = "image/jpeg", "image/png", "image/heic", "application/pdf"
ACCEPTED_TYPES = (PDF, JPEG, PNG, HEIC)
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}

REFUSAL_MESSAGES = {
    "empty": _l("Le fichier est vide. Choisissez le bon fichier et réessayez."),
    "too_large": _l(
        "Le fichier dépasse 15 Mo. Réduisez sa taille (photo moins grande, PDF compressé) et réessayez."
    ),
    "unsupported_type": _l(
        "Ce type de fichier n’est pas accepté. Envoyez un PDF ou une photo (JPEG, PNG, HEIC)."
    ),
    "too_many_pixels": _l(
        "L’image est trop grande (plus de 50 millions de pixels). Envoyez une photo de taille normale."
    ),
    "unreadable_image": _l(
        "L’image est endommagée ou incomplète. Reprenez la photo ou exportez-la à nouveau."
    ),
    "encrypted_pdf": _l("Le PDF est protégé par un mot de passe. Envoyez une version sans mot de passe."),
    "unreadable_pdf": _l("Le PDF est endommagé ou incomplet. Enregistrez-le à nouveau et réessayez."),
    "too_many_pages": _l("Le PDF a plus de 200 pages. Envoyez seulement les pages utiles."),
    "too_many_files": _l("Vous avez déjà déposé 10 pièces, le maximum."),
    "total_too_large": _l("Vous avez atteint la taille totale permise (60 Mo)."),
}


class UploadRefused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def message(self) -> str:
        return str(REFUSAL_MESSAGES[self.code])


@dataclass
class CheckedFile:
    detected_type: str
    size: int
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    # Codes for the reviewer: "pdf_javascript", "pdf_launch_action", "pdf_embedded_file".
    warnings: list[str] = field(default_factory=list)


def sniff(head: bytes) -> str | None:
    """The type from the first bytes, or None if not one we accept."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return HEIC
    return None


def clean_filename(name: str | None, limit: int = 200) -> str:
    """The name as the claimant sees it: no folders, no control characters. Data, never a path."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = visible_text(name).strip().lstrip(".")
    return name[:limit] or "document"


def check_upload(stream: IO[bytes], *, max_bytes: int = MAX_FILE_BYTES) -> CheckedFile:
    """Run the cheap checks on a seekable stream; raises UploadRefused."""
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size == 0:
        raise UploadRefused("empty")
    if size > max_bytes:
        raise UploadRefused("too_large")
    detected = sniff(stream.read(SNIFF_BYTES))
    stream.seek(0)
    if detected is None:
        raise UploadRefused("unsupported_type")
    checked = CheckedFile(detected, size)
    if detected == PDF:
        _check_pdf(stream, checked)
    else:
        _check_image(stream, checked)
    stream.seek(0)
    return checked


def open_image(stream: IO[bytes]) -> Image.Image:
    """Open an image lazily (header only) and refuse it before decoding if too many pixels.

    Pillow reads from its own copy (at most MAX_FILE_BYTES): some of its
    decoders close the file they were given, and the caller's stream must
    stay usable for storing.
    """
    _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(stream.read()))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own limit is above ours: a bomb is always "too many pixels".
        raise UploadRefused("too_many_pixels") from None
    except (UnidentifiedImageError, OSError):
        raise UploadRefused("unreadable_image") from None
    if image.width * image.height > MAX_PIXELS:
        image.close()
        raise UploadRefused("too_many_pixels")
    return image


def _check_image(stream: IO[bytes], checked: CheckedFile) -> None:
    """Header and structure only: decoding (the costly part) happens when the derivative is made."""
    image = open_image(stream)
    try:
        checked.width, checked.height = image.size
        if checked.detected_type == PNG:
            image.verify()  # chunk CRCs through to IEND: catches truncation without decompressing
    except (OSError, SyntaxError, ValueError):
        raise UploadRefused("unreadable_image") from None
    finally:
        image.close()
    if checked.detected_type == JPEG:
        stream.seek(0)
        if not jpeg_is_complete(stream.read()):
            raise UploadRefused("unreadable_image")


def jpeg_is_complete(data: bytes) -> bool:
    """True if the segments are well formed up to the scan and an end-of-image marker follows it.

    In the compressed scan 0xFF is always followed by 0x00 or a restart
    marker, so a file cut short has no 0xFFD9 after its start of scan (the
    one inside an EXIF thumbnail comes before it). Data after the end marker
    (phone "motion photos") is allowed; the re-encoding drops it.
    """
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return False
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == 0xDA:  # start of scan
            # Searched from the end, where the marker normally is: no scan through the image data.
            return data.rfind(b"\xff\xd9") >= position + 2 + length
        position += 2 + length
    return False


def _register_heif() -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()


def _check_pdf(stream: IO[bytes], checked: CheckedFile) -> None:
    try:
        reader = PdfReader(stream, strict=False)
        if reader.is_encrypted:
            raise UploadRefused("encrypted_pdf")
        checked.pages = len(reader.pages)
        if checked.pages == 0:
            raise UploadRefused("unreadable_pdf")
        if checked.pages > MAX_PDF_PAGES:
            raise UploadRefused("too_many_pages")
        checked.warnings = pdf_active_content(reader)
    except UploadRefused:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError):
        raise UploadRefused("unreadable_pdf") from None


def _resolve(value: object) -> object:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _action_warnings(action: object) -> set[str]:
    found: set[str] = set()
    depth = 0
    while isinstance(action := _resolve(action), DictionaryObject) and depth < 20:
        kind = action.get("/S")
        if kind == "/JavaScript":
            found.add("pdf_javascript")
        elif kind == "/Launch":
            found.add("pdf_launch_action")
        action = action.get("/Next")
        depth += 1
    return found


def pdf_active_content(reader: PdfReader) -> list[str]:
    """Codes of the active content a PDF carries: JavaScript, launch actions, embedded files."""
    found: set[str] = set()
    root = _resolve(reader.trailer["/Root"])
    names = _resolve(root.get("/Names")) if isinstance(root, DictionaryObject) else None
    if isinstance(names, DictionaryObject):
        if "/JavaScript" in names:
            found.add("pdf_javascript")
        if "/EmbeddedFiles" in names:
            found.add("pdf_embedded_file")
    if isinstance(root, DictionaryObject):
        found |= _action_warnings(root.get("/OpenAction"))
        for trigger in (_resolve(root.get("/AA")) or {}).values():
            found |= _action_warnings(trigger)
        if "/AcroForm" in root and "/XFA" in (_resolve(root["/AcroForm"]) or {}):
            found.add("pdf_javascript")
    for page in reader.pages:
        for trigger in (_resolve(page.get("/AA")) or {}).values():
            found |= _action_warnings(trigger)
        for annotation in _resolve(page.get("/Annots")) or []:
            annotation = _resolve(annotation)
            if not isinstance(annotation, DictionaryObject):
                continue
            if annotation.get("/Subtype") == "/FileAttachment":
                found.add("pdf_embedded_file")
            found |= _action_warnings(annotation.get("/A"))
            for trigger in (_resolve(annotation.get("/AA")) or {}).values():
                found |= _action_warnings(trigger)
    return sorted(found)
