"""Time-based one-time codes (RFC 6238): enrolment QR code, verification that
accepts each code once, and single-use recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import segno

STEP_SECONDS = 30
# One step either side: a phone clock a little off still works.
DRIFT_STEPS = 1
ISSUER = "Recours"
RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
RECOVERY_CODE_COUNT = 10


def new_secret() -> str:
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg_data_uri(uri: str) -> str:
    """The QR code as an SVG data URI, drawn here: no external service sees the secret."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code equals ``code`` (within the drift), or None."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def unused_code(secret: str, last_step: int | None) -> str:
    """A code the server will accept now and has not accepted before, as an authenticator app
    shows it (for scripts and tests that sign in: demo checks, benchmarks).

    Never the previous step: it leaves the drift window if a step boundary passes before the
    server checks it. The current step, else the next; else it waits for a new step.
    """
    while True:
        current = int(time.time() // STEP_SECONDS)
        for step in (current, current + 1):
            if last_step is None or step > last_step:
                return pyotp.TOTP(secret).generate_otp(step)
        time.sleep(STEP_SECONDS - time.time() % STEP_SECONDS + 0.05)


def new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    return codes


def recovery_code_hash(code: str) -> str:
    """Codes carry about 59 random bits: a plain SHA-256 of the normalised code is enough."""
    normalised = "".join(c for c in code.upper() if c.isalnum())
    return hashlib.sha256(normalised.encode("ascii", "ignore")).hexdigest()
