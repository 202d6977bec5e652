"""Claimant and claim operations."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from ..extensions import db
from .models import Claim

# No 0/O, 1/I/L or U/V look-alikes: a reference read over the phone stays right.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"


def new_reference(prefix: str) -> str:
    """``PREFIX-XXXX-XXXX`` from the unambiguous alphabet (about 2^39 values)."""
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{prefix}-{body[:4]}-{body[4:]}"


def normal_reference(typed: str) -> str:
    """A reference as stored, from one typed or pasted (spaces around it, lower case)."""
    return typed.strip().upper()


def generate_reference(prefix: str) -> str:
    """A reference not used by any claim yet (the unique constraint guards races)."""
    while True:
        reference = new_reference(prefix)
        taken = db.session.execute(sa.select(sa.exists().where(Claim.reference == reference))).scalar()
        if not taken:
            return reference
