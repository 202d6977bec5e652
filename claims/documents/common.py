"""Untrusted text that the PDF documents can both parse safely and draw.

``para_text`` (in ``claims.documents``) makes text safe for reportlab's markup
parser; this module also makes it drawable: a character the DejaVu fonts have
no glyph for would be drawn as an empty box by some viewers and garble the
text layer, so it becomes a visible "□" (or, for a combining mark, is dropped).
"""

from __future__ import annotations

import unicodedata
from functools import cache

from reportlab.pdfbase import pdfmetrics

from ..text import visible_text
from . import FONT, FONT_BOLD, para_text, register_fonts

MISSING_GLYPH = "□"


@cache
def _drawable_code_points() -> frozenset[int]:
    register_fonts()
    regular = pdfmetrics.getFont(FONT).face.charToGlyph  # type: ignore[attr-defined]
    bold = pdfmetrics.getFont(FONT_BOLD).face.charToGlyph  # type: ignore[attr-defined]
    # Only the Basic Multilingual Plane: reportlab writes the text layer (ToUnicode)
    # of a character above U+FFFF as odd-length hex that readers reject (DejaVu's emoji).
    return frozenset(code for code in regular.keys() & bold.keys() if code <= 0xFFFF)


def drawable_text(value: object, keep: str = "") -> str:
    """NFC text without invisible characters (bidi overrides included), every character drawable.

    Not escaped: for ``canvas.drawString`` and table cells that are plain strings.
    """
    text = visible_text("" if value is None else str(value), keep=keep)
    drawable = _drawable_code_points()
    return "".join(
        char
        if ord(char) in drawable or char in keep
        else ("" if unicodedata.category(char).startswith("M") else MISSING_GLYPH)
        for char in text
    )


def safe_para(value: object) -> str:
    """Untrusted text for a reportlab ``Paragraph``: drawable, markup escaped once, line breaks kept."""
    return para_text(drawable_text(value, keep="\n"))


def one_line(value: object, limit: int) -> str:
    """A single-line field: whitespace runs collapsed, cut to ``limit`` characters with "…".

    Intake caps these fields far below the limits used here; the cut only keeps
    a hostile or corrupted value from pushing a table row past a whole page.
    """
    text = " ".join(("" if value is None else str(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
