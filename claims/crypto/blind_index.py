"""Blind indexes: keyed hashes of normalised values, for exact search and
duplicate detection over encrypted fields.

``HMAC-SHA256(blind_index_key, name | 0x00 | normalised value)``, hex. The
index name separates domains (an email and a phone never collide), and the
normalisation makes "Jean.Dupont@Example.fr " and "jean.dupont@example.fr"
the same person. The key is not a master key and is never in the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import unicodedata
from datetime import date

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum.fr import nir as stdnum_nir

INDEX_HEX_LENGTH = 64


def normalise_email(value: str) -> str:
    value = value.strip()
    with contextlib.suppress(EmailNotValidError):
        value = validate_email(value, check_deliverability=False).normalized
    return value.casefold()


def normalise_phone(value: str, region: str = "FR") -> str:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return re.sub(r"\D", "", value)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_nir(value: str) -> str:
    return stdnum_nir.compact(value).upper()


def _fold(value: str, drop: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(drop, "", bare.casefold())


def normalise_name(value: str) -> str:
    """Case, accents, spaces, hyphens and apostrophes do not tell people apart."""
    return _fold(value, r"[^a-z]")


def normalise_identity(last_name: str, birth_date: date) -> str:
    return f"{normalise_name(last_name)}|{birth_date.isoformat()}"


def normalise_address(line: str, postal_code: str) -> str:
    """Near-identical addresses ("12, Rue de la Paix" / "12 rue de la paix") share one index."""
    return f"{_fold(line, r'[^a-z0-9]')}|{_fold(postal_code, r'[^a-z0-9]')}"


def blind_index(key: bytes, name: str, normalised: str) -> str:
    message = name.encode("ascii") + b"\x00" + normalised.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()
