"""Sanitised derivatives: what reviewers open and what goes into bundles.

Images are decoded under the pixel cap, turned upright (EXIF orientation),
flattened to RGB and re-encoded as JPEG with no metadata at all (no EXIF,
no GPS position, no camera serial). PDFs are rewritten page by page into a
new document: document-level JavaScript, open actions and attachments are
not copied, and page and annotation actions of those kinds are dropped.
"""

from __future__ import annotations

import io
import zlib
from typing import IO

from PIL import Image, ImageOps
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject

from .checks import JPEG, PDF, UploadRefused, _action_warnings, _resolve, open_image

JPEG_QUALITY = 85


def sanitise(stream: IO[bytes], detected_type: str) -> tuple[bytes, str]:
    """The derivative's bytes and type, from the original's verified plaintext."""
    if detected_type == PDF:
        return rewrite_pdf(stream), PDF
    return reencode_image(stream), JPEG


def reencode_image(stream: IO[bytes]) -> bytes:
    image = open_image(stream)
    try:
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, zlib.error):
            raise UploadRefused("unreadable_image") from None
        upright = ImageOps.exif_transpose(image)
        if upright.mode in ("RGBA", "LA", "P"):
            rgba = upright.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            upright = flat
        elif upright.mode != "RGB":
            upright = upright.convert("RGB")
        out = io.BytesIO()
        # No exif=, icc_profile= or comment: the new file carries pixels only.
        upright.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        return out.getvalue()
    finally:
        image.close()


def rewrite_pdf(stream: IO[bytes]) -> bytes:
    reader = PdfReader(stream, strict=False)
    writer = PdfWriter()
    for page in reader.pages:
        added = writer.add_page(page)
        if "/AA" in added:
            del added[NameObject("/AA")]
        annotations = _resolve(added.get("/Annots"))
        if annotations:
            kept = ArrayObject()
            for reference in annotations:
                annotation = _resolve(reference)
                if not isinstance(annotation, DictionaryObject):
                    continue
                if annotation.get("/Subtype") == "/FileAttachment":
                    continue
                if _action_warnings(annotation.get("/A")):
                    del annotation[NameObject("/A")]
                if "/AA" in annotation:
                    del annotation[NameObject("/AA")]
                kept.append(reference)
            added[NameObject("/Annots")] = kept
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
