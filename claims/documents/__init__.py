"""PDF documents (reportlab): shared font, escaping and number formatting.

Pure functions that return bytes. Every untrusted value goes through
``para_text`` before a ``Paragraph``: reportlab's markup parser would
otherwise follow <link>, <img> and <font> tags typed by a claimant.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from babel.numbers import format_currency
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from ..text import visible_text

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
_FONTS = Path(__file__).parent / "fonts"


@cache
def register_fonts() -> None:
    """DejaVu, because Helvetica has no glyph for the narrow no-break space of French numbers."""
    pdfmetrics.registerFont(TTFont(FONT, str(_FONTS / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(_FONTS / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


def para_text(value: object) -> str:
    """Untrusted text made safe for a reportlab Paragraph: NFC, markup escaped, line breaks kept."""
    text = visible_text("" if value is None else str(value), keep="\n")
    return escape(text).replace("\n", "<br/>")


def euros(amount: Decimal, locale: str = "fr_FR") -> str:
    """``1 234,50 €`` the French way (narrow no-break space before the thousands)."""
    return format_currency(amount, "EUR", locale=locale)
