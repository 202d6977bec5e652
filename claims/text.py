"""Untrusted text: what to keep of it."""

from __future__ import annotations

import unicodedata

# Control, format (bidi overrides, zero-width), surrogate, private use, unassigned.
_DROPPED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}


def visible_text(value: str, keep: str = "") -> str:
    """NFC text without invisible or control characters (except those in ``keep``).

    Unlike ``str.isprintable`` this keeps every space, including the no-break
    and narrow no-break spaces of French typography.
    """
    value = unicodedata.normalize("NFC", value)
    return "".join(c for c in value if c in keep or unicodedata.category(c) not in _DROPPED_CATEGORIES)
