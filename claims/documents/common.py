"""Untrusted text that the PDF documents can both parse safely and draw.

``para_text`` (in ``claims.documents``) makes text safe for reportlab's markup
parser; this module also makes it drawable: a character the DejaVu fonts have
no glyph for would be drawn as an empty box by some viewers and garble the
text layer, so it becomes a visible "□" (or, for a combining mark, is dropped).
"""

from __future__ import annotations

import unicodedata
from functools import cache, lru_cache
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics

from ..text import visible_text
from . import FONT, FONT_BOLD, register_fonts

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
    text = unicodedata.normalize("NFC", "" if value is None else str(value))
    # Each distinct character is judged once (a statement has a few dozen of them, for up
    # to 200,000 characters); the text is rewritten only when one of them must change.
    changes: dict[int, str] = {}
    for char in set(text):
        replacement = _replacement(char, keep)
        if replacement is not None:
            changes[ord(char)] = replacement
    return text.translate(changes) if changes else text


@lru_cache(maxsize=8192)  # bounded: a hostile text may hold any character
def _replacement(char: str, keep: str) -> str | None:
    """What ``char`` of an NFC text becomes: None when it stays as it is.

    The same judgement as ``visible_text`` then the font's check, one character at a
    time: a character of an NFC text is NFC on its own, so ``visible_text`` of it is
    either the character or nothing.
    """
    if not visible_text(char, keep=keep):
        return ""
    if ord(char) in _drawable_code_points() or char in keep:
        return None
    return "" if unicodedata.category(char).startswith("M") else MISSING_GLYPH


def safe_para(value: object) -> str:
    """Untrusted text for a reportlab ``Paragraph``: drawable, markup escaped once, line breaks kept.

    What ``para_text(drawable_text(value, keep="\n"))`` gives, without its second pass over
    every character: what ``drawable_text`` returns is already visible text, and only
    needs NFC again (a dropped character may have stood between a letter and its accent).
    """
    return escape(unicodedata.normalize("NFC", drawable_text(value, keep="\n"))).replace("\n", "<br/>")


def one_line(value: object, limit: int) -> str:
    """A single-line field: whitespace runs collapsed, cut to ``limit`` characters with "…".

    Intake caps these fields far below the limits used here; the cut only keeps
    a hostile or corrupted value from pushing a table row past a whole page.
    """
    text = " ".join(("" if value is None else str(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
