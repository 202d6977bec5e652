"""Staff passwords: argon2id hashes, and a policy of length plus a common-password list."""

from __future__ import annotations

import contextlib
import re
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
# argon2 would hash a megabyte happily; a sign-in form should not make it.
MAX_LENGTH = 256

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory parameters


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """(matches, new hash if the parameters changed and the hash should be replaced)."""
    if not password_hash or len(password) > MAX_LENGTH:
        _equalise_timing(password)
        return False, None
    try:
        _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    return True, _hasher.hash(password) if _hasher.check_needs_rehash(password_hash) else None


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password anybody has")


def _equalise_timing(password: str) -> None:
    """Spend the time of a real check, so response time does not tell whether an account exists."""
    with contextlib.suppress(VerificationError):
        _hasher.verify(_dummy_hash(), password[:MAX_LENGTH])


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("claims.accounts").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def password_problems(password: str, email: str | None = None) -> list[str]:
    """Codes of what is wrong with a new password (empty when acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append("too_short")
    if len(password) > MAX_LENGTH:
        problems.append("too_long")
    lowered = password.lower()
    # "Password2024!" is "password" with decorations.
    variants = {lowered, re.sub(r"[\d\W_]+$", "", lowered), re.sub(r"^[\d\W_]+", "", lowered)}
    if any(v and v in common_passwords() for v in variants):
        problems.append("common")
    if email:
        local = email.split("@")[0].lower()
        if len(local) >= 4 and local in lowered:
            problems.append("contains_email")
    if len(set(password)) < 5:
        problems.append("too_repetitive")
    return problems
