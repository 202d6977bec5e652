"""Signing in to the portal by a one-time link sent by email."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ..audit.operations import claimant_event
from ..claimants.models import Claim, Claimant, ClaimStatus
from ..claimants.operations import normal_reference
from ..crypto import compute_blind_index, hash_token
from ..crypto.blind_index import normalise_email
from ..extensions import db
from ..jobs.models import Job
from ..mail.operations import delivery_job, queue_mail
from ..single_use import stamp_once
from ..types import utcnow
from .models import PortalLink

# A claimant follows a claim once submitted, and until it is withdrawn (then nothing is left).
PORTAL_STATUSES = tuple(s for s in ClaimStatus if s not in (ClaimStatus.DRAFT, ClaimStatus.WITHDRAWN))
MAX_LINKS_PER_REQUEST = 5


def claims_for_sign_in(email: str, reference: str | None) -> list[Claim]:
    """The claims an address may sign in to (exact blind-index match), optionally one reference."""
    try:
        index = compute_blind_index("email", normalise_email(email))
    except ValueError:
        return []
    query = (
        sa.select(Claim)
        .join(Claim.claimant)
        .where(Claimant.email_bidx == index, Claim.status.in_(PORTAL_STATUSES))
        .order_by(Claim.submitted_at.desc())
        .limit(MAX_LINKS_PER_REQUEST)
    )
    if reference:
        query = query.where(Claim.reference == normal_reference(reference))
    return list(db.session.execute(query).scalars())


def send_sign_in_link(claim: Claim, link_for: Callable[[str], str]) -> Job:
    """A one-time link bound to this claim, mailed to its claimant (flush); returns the mail job."""
    token = secrets.token_urlsafe(32)
    minutes = current_app.config["PORTAL_LINK_MINUTES"]
    db.session.add(
        PortalLink(
            token_hash=hash_token(token), claim=claim, expires_at=utcnow() + timedelta(minutes=minutes)
        )
    )
    english = claim.claimant.language == "en"
    link = link_for(token)
    if english:
        subject = f"Sign in to follow your claim {claim.reference}"
        body = (
            f"Hello,\n\nTo follow your claim {claim.reference} in “{claim.case.text('title', 'en')}”, "
            f"open this link (valid {minutes} minutes, once):\n\n{link}\n\n"
            "If you did not ask for it, ignore this message: nobody can sign in without it.\n"
        )
    else:
        subject = f"Connexion à votre demande {claim.reference}"
        body = (
            f"Bonjour,\n\nPour suivre votre demande {claim.reference} dans l’action « {claim.case.title} », "
            f"ouvrez ce lien (valable {minutes} minutes, une seule fois) :\n\n{link}\n\n"
            "Si vous ne l’avez pas demandé, ignorez ce message : personne ne peut se connecter sans lui.\n"
        )
    message = queue_mail(
        claim.claimant.email, subject, body, data_key=claim.claimant.data_key, purpose="portal_link"
    )
    claimant_event("portal.link_sent", claim.id)
    return delivery_job(message)


def find_sign_in_link(token: str) -> PortalLink | None:
    """The link if it can still be used (not used, not expired, not revoked, claim followable)."""
    if not token or len(token) > 100:
        return None
    link = db.session.execute(
        sa.select(PortalLink).where(PortalLink.token_hash == hash_token(token))
    ).scalar_one_or_none()
    if (
        link is None
        or link.used_at is not None
        or link.revoked_at is not None
        or link.expires_at < utcnow()
        or link.claim.status not in PORTAL_STATUSES
    ):
        return None
    return link


def use_sign_in_link(token: str) -> Claim | None:
    """Consume a link (once, even under concurrent use); None if it cannot be used. Flush."""
    link = find_sign_in_link(token)
    if link is None:
        return None
    if not stamp_once(PortalLink.used_at, link.id, PortalLink.revoked_at.is_(None)):
        return None
    claimant_event("portal.signed_in", link.claim_id)
    return link.claim


def revoke_sign_in_links(claim: Claim) -> None:
    db.session.execute(
        sa.update(PortalLink)
        .where(PortalLink.claim_id == claim.id, PortalLink.used_at.is_(None), PortalLink.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
