"""A claimant changes their contact details from the portal. Flush, never commit.

Postal address and phone change at once (the claimant is signed in). A new email address
changes only once its owner opens the link sent to it: until then sign-in links and the
firm's mail still go to the old address, which is told that a change was asked for (without
the new address), so that a hijacked portal session cannot quietly divert the claim's mail.
Audit events name the fields that changed, never their values.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

import phonenumbers
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from ..audit.operations import claimant_event
from ..claimants.models import Claim, ClaimStatus
from ..crypto import hash_token
from ..crypto.blind_index import normalise_email
from ..extensions import db
from ..jobs.models import Job
from ..mail.operations import delivery_job, queue_mail
from ..single_use import stamp_once
from ..text import visible_text
from ..types import utcnow
from .models import EmailChange

EMAIL_CHANGE_HOURS = 24
# The limits of the intake's ContactForm: the portal's form may be another, the data is the same.
MAX_LENGTHS = {
    "address_line1": 200,
    "address_line2": 200,
    "postal_code": 12,
    "city": 120,
    "country": 80,
    "phone": 30,
}
REQUIRED_FIELDS = ("address_line1", "postal_code", "city", "country", "phone")
MAX_EMAIL_LENGTH = 254
MAX_TOKEN_LENGTH = 100


class ContactError(Exception):
    """A refused change. ``code``: "required", "too_long" (with ``field``), "invalid_phone",
    "invalid_email", "same_email", "withdrawn"."""

    def __init__(self, code: str, field: str | None = None) -> None:
        super().__init__(code if field is None else f"{code}: {field}")
        self.code = code
        self.field = field


def _check_open(claim: Claim) -> None:
    if claim.status == ClaimStatus.WITHDRAWN or claim.claimant.erased_at is not None:
        raise ContactError("withdrawn")


def normalise_phone_number(value: str) -> str:
    """As the intake form does: French numbers without prefix, any other with +; international format."""
    try:
        number = phonenumbers.parse(value, "FR")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ContactError("invalid_phone", "phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def change_contact(
    claim: Claim,
    *,
    address_line1: str,
    address_line2: str | None,
    postal_code: str,
    city: str,
    country: str,
    phone: str,
) -> list[str]:
    """Update the postal address and phone; return the names of the fields that changed.

    Raises ContactError before touching anything if a value is refused.
    """
    _check_open(claim)
    given = {
        "address_line1": address_line1,
        "address_line2": address_line2,
        "postal_code": postal_code,
        "city": city,
        "country": country,
        "phone": phone,
    }
    values: dict[str, str | None] = {}
    for name, raw in given.items():
        value = visible_text(raw or "").strip()
        if len(value) > MAX_LENGTHS[name]:
            raise ContactError("too_long", name)
        if not value and name in REQUIRED_FIELDS:
            raise ContactError("required", name)
        values[name] = value or None
    values["phone"] = normalise_phone_number(values["phone"] or "")

    claimant = claim.claimant
    changed = [name for name, value in values.items() if getattr(claimant, name) != value]
    if not changed:
        return []
    for name in changed:
        setattr(claimant, name, values[name])  # the blind indexes follow (personal_field_changed)
    db.session.flush()
    claimant_event("claimant.contact_changed", claim.id, fields=",".join(changed))
    return changed


def request_email_change(claim: Claim, new_email: str, link_for: Callable[[str], str]) -> list[Job]:
    """Ask the owner of ``new_email`` to confirm it; tell the current address (flush, no commit).

    Returns the delivery jobs to dispatch after the commit: ``[confirmation, notice]`` (the
    notice is missing if the claimant has no address on file). Earlier pending changes of
    the claim stop working. Raises ContactError ("invalid_email", "same_email", "withdrawn").
    """
    _check_open(claim)
    candidate = (new_email or "").strip()
    if len(candidate) > MAX_EMAIL_LENGTH:
        raise ContactError("invalid_email", "email")
    try:
        address = validate_email(candidate, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ContactError("invalid_email", "email") from None
    claimant = claim.claimant
    current = claimant.email
    if current and normalise_email(current) == normalise_email(address):
        raise ContactError("same_email", "email")

    now = utcnow()
    superseded = db.session.execute(
        sa.update(EmailChange)
        .where(
            EmailChange.claim_id == claim.id,
            EmailChange.confirmed_at.is_(None),
            EmailChange.expires_at > now,
        )
        .values(expires_at=now)
    ).rowcount
    token = secrets.token_urlsafe(32)
    change = EmailChange(
        claim=claim,
        token_hash=hash_token(token),
        new_email=address,
        expires_at=now + timedelta(hours=EMAIL_CHANGE_HOURS),
    )
    db.session.add(change)
    db.session.flush()

    english = claimant.language == "en"
    link = link_for(token)
    # The new address is not verified yet (a typo reaches a stranger): this message names
    # no person, claim or case, only what to do.
    confirmation = queue_mail(
        address,
        "Confirm your new email address" if english else "Confirmez votre nouvelle adresse électronique",
        (
            "Hello,\n\nThis address was given as the new contact address of a claim file. To confirm it, "
            f"open this link (valid {EMAIL_CHANGE_HOURS} hours, once):\n\n{link}\n\n"
            "If you did not ask for it, ignore this message: nothing will change.\n"
            if english
            else "Bonjour,\n\nCette adresse a été indiquée comme nouvelle adresse de contact d’un dossier. "
            f"Pour la confirmer, ouvrez ce lien (valable {EMAIL_CHANGE_HOURS} heures, une seule fois) :"
            f"\n\n{link}\n\nSi vous ne l’avez pas demandé, ignorez ce message : rien ne sera modifié.\n"
        ),
        data_key=claimant.data_key,
        purpose="email_change_confirm",
    )
    jobs = [delivery_job(confirmation)]
    if current:
        notice = queue_mail(
            current,
            "Change of your email address requested"
            if english
            else "Demande de changement de votre adresse électronique",
            (
                f"Hello,\n\nA change of the email address of your claim {claim.reference} was requested "
                "from your personal space. It will only take effect once confirmed from the new "
                "address.\n\nIf you did not ask for it, do not confirm anything and contact the firm "
                "by answering this message.\n"
                if english
                else f"Bonjour,\n\nUn changement de l’adresse électronique de votre demande {claim.reference} "
                "a été demandé depuis votre espace personnel. Il ne prendra effet qu’une fois confirmé "
                "depuis la nouvelle adresse.\n\nSi vous n’en êtes pas à l’origine, ne confirmez rien et "
                "prévenez le cabinet en répondant à ce message.\n"
            ),
            data_key=claimant.data_key,
            purpose="email_change_notice",
        )
        jobs.append(delivery_job(notice))
    claimant_event("claimant.email_change_requested", claim.id, superseded=superseded)
    return jobs


def confirm_email_change(token: str) -> Claim | None:
    """Apply the change a confirmation link stands for (flush, no commit); None if the link is
    unknown, used, expired or superseded, or the claim withdrawn. Each link works once."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    change = db.session.execute(
        sa.select(EmailChange).where(EmailChange.token_hash == hash_token(token))
    ).scalar_one_or_none()
    now = utcnow()
    if change is None or change.confirmed_at is not None or change.expires_at <= now:
        return None
    claim = change.claim
    if claim.status == ClaimStatus.WITHDRAWN or claim.claimant.erased_at is not None:
        return None
    # Conditional: of two concurrent uses (or a use racing a newer request), one wins.
    if not stamp_once(EmailChange.confirmed_at, change.id, EmailChange.expires_at > now, when=now):
        return None
    claim.claimant.email = change.new_email  # the blind index follows (personal_field_changed)
    db.session.flush()
    claimant_event("claimant.email_changed", claim.id, email_change=str(change.id))
    return claim
