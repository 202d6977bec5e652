"""Contact details changed from the portal: values and blind indexes follow, the audit log names
fields only, a new email address takes effect only once confirmed from it, and each link works once."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from claims.audit.models import AuditEvent
from claims.claimants.models import Claim, Claimant, ClaimStatus
from claims.crypto import compute_blind_index
from claims.crypto.blind_index import normalise_address, normalise_email, normalise_phone
from claims.extensions import db
from claims.jobs.models import Job
from claims.jobs.operations import dispatch
from claims.mail.models import MailStatus, OutboxMessage
from claims.portal.contact import (
    ContactError,
    change_contact,
    confirm_email_change,
    request_email_change,
)
from claims.portal.models import EmailChange
from claims.types import utcnow

NEW_ADDRESS = {
    "address_line1": "3 bis, avenue Jean-Jaurès",
    "address_line2": "Bâtiment C",
    "postal_code": "69007",
    "city": "Lyon",
    "country": "France",
    "phone": "07 98 76 54 32",
}
NEW_EMAIL = "Elodie.Nouvelle@Example.org"


def audit_dump() -> str:
    """Every audit row, every column, as text: what a reader of the log could see."""
    rows = db.session.execute(sa.select(AuditEvent.__table__)).mappings().all()
    return "\n".join(json.dumps(dict(row), default=str, ensure_ascii=False) for row in rows)


def messages(purpose: str) -> list[OutboxMessage]:
    return list(
        db.session.execute(sa.select(OutboxMessage).where(OutboxMessage.purpose == purpose)).scalars()
    )


def requested(claim: Claim, address: str = NEW_EMAIL) -> tuple[str, list[Job]]:
    tokens: list[str] = []

    def link_for(token: str) -> str:
        tokens.append(token)
        return f"https://recours.example/portail/courriel/{token}"

    jobs = request_email_change(claim, address, link_for)
    db.session.commit()
    (token,) = tokens
    return token, jobs


def reload(claimant: Claimant) -> Claimant:
    db.session.expire_all()
    return db.session.get_one(Claimant, claimant.id)


def test_address_and_phone_change_with_their_blind_indexes(make_claim: Any) -> None:
    claim = make_claim()
    changed = change_contact(claim, **NEW_ADDRESS)
    db.session.commit()
    assert changed == ["address_line1", "address_line2", "postal_code", "city", "phone"]

    claimant = reload(claim.claimant)
    assert claimant.address_line1 == "3 bis, avenue Jean-Jaurès" and claimant.address_line2 == "Bâtiment C"
    assert (claimant.postal_code, claimant.city, claimant.country) == ("69007", "Lyon", "France")
    assert claimant.phone == "+33 7 98 76 54 32"  # normalised as the intake does
    assert claimant.phone_bidx == compute_blind_index("phone", normalise_phone("0798765432"))
    assert claimant.address_bidx == compute_blind_index(
        "address", normalise_address("3 bis avenue Jean Jaures", "69007")
    )

    (event,) = db.session.execute(
        sa.select(AuditEvent).where(AuditEvent.action == "claimant.contact_changed")
    ).scalars()
    assert event.details == {"fields": "address_line1,address_line2,postal_code,city,phone"}
    assert event.object_id == str(claim.id) and event.actor_type == "claimant"
    log = audit_dump()
    for value in ("Jean-Jaurès", "Bâtiment", "69007", "Lyon", "98 76", "98765432"):
        assert value not in log


def test_only_changed_fields_are_written_and_nothing_is_logged_for_no_change(make_claim: Any) -> None:
    claim = make_claim()
    same = {
        "address_line1": "12, rue de la Fontaine-au-Roi",
        "address_line2": "",
        "postal_code": "75011",
        "city": " Paris ",
        "country": "France",
        "phone": "+33612345678",  # the same number, written otherwise
    }
    phone_before = claim.claimant.phone_ct
    assert change_contact(claim, **{**same, "phone": "06 12 34 56 78"}) == ["phone"]  # reformatted
    db.session.commit()
    assert claim.claimant.phone_ct != phone_before
    before = db.session.execute(sa.select(sa.func.count(AuditEvent.id))).scalar_one()
    assert change_contact(claim, **same) == []
    assert db.session.execute(sa.select(sa.func.count(AuditEvent.id))).scalar_one() == before
    assert change_contact(claim, **{**same, "city": "Montreuil"}) == ["city"]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("phone", "12", "invalid_phone"),
        ("phone", "06 12 34 56 7", "invalid_phone"),
        ("phone", "appelez-moi", "invalid_phone"),
        ("phone", "", "required"),
        ("city", "   ", "required"),
        ("address_line1", "x" * 201, "too_long"),
        ("postal_code", "7" * 13, "too_long"),
    ],
)
def test_refused_values_change_nothing(make_claim: Any, field: str, value: str, code: str) -> None:
    claim = make_claim()
    with pytest.raises(ContactError) as refused:
        change_contact(claim, **{**NEW_ADDRESS, field: value})
    assert refused.value.code == code and refused.value.field == field
    db.session.rollback()
    claimant = reload(claim.claimant)
    assert claimant.city == "Paris" and claimant.phone == "06 12 34 56 78"


def test_foreign_numbers_with_their_prefix_are_accepted(make_claim: Any) -> None:
    claim = make_claim()
    change_contact(claim, **{**NEW_ADDRESS, "phone": "+32 470 12 34 56"})
    assert claim.claimant.phone == "+32 470 12 34 56"


def test_email_change_takes_effect_once_confirmed_from_the_new_address(make_claim: Any) -> None:
    claim = make_claim()
    old_index = claim.claimant.email_bidx
    token, jobs = requested(claim)
    for job in jobs:
        dispatch(job)  # inline runner: the mail is delivered (console backend in tests)

    (confirmation,) = messages("email_change_confirm")
    (notice,) = messages("email_change_notice")
    assert confirmation.recipient == "Elodie.Nouvelle@example.org"
    assert token in confirmation.body and "24 heures" in confirmation.body
    assert confirmation.subject == "Confirmez votre nouvelle adresse électronique"
    # An unverified address learns nothing of the claim: no reference, no case, no name.
    for secret in (claim.reference, claim.case.title, "Élodie", "Lefèvre"):
        assert secret not in confirmation.body and secret not in confirmation.subject
    assert notice.recipient == "elodie.lefevre@example.fr"
    assert claim.reference in notice.body
    assert "nouvelle" not in notice.recipient and "Nouvelle" not in notice.body
    assert token not in notice.body
    assert {confirmation.status, notice.status} == {MailStatus.SENT}

    # Until confirmed, nothing changes.
    claimant = reload(claim.claimant)
    assert claimant.email == "elodie.lefevre@example.fr" and claimant.email_bidx == old_index
    change = db.session.execute(sa.select(EmailChange)).scalar_one()
    assert change.token_hash != token and token.encode() not in (change.new_email_ct or b"")

    confirmed = confirm_email_change(token)
    db.session.commit()
    assert confirmed is not None and confirmed.id == claim.id
    claimant = reload(claim.claimant)
    assert claimant.email == "Elodie.Nouvelle@example.org"
    assert claimant.email_bidx == compute_blind_index("email", normalise_email("elodie.nouvelle@EXAMPLE.org"))
    assert (
        db.session.execute(
            sa.select(Claimant).where(
                Claimant.email_bidx == compute_blind_index("email", normalise_email(NEW_EMAIL))
            )
        )
        .scalar_one()
        .id
        == claimant.id
    )

    # Once only.
    assert confirm_email_change(token) is None
    log = audit_dump()
    assert "nouvelle" not in log.casefold() and "elodie.lefevre" not in log
    actions = db.session.execute(sa.select(AuditEvent.action)).scalars().all()
    assert "claimant.email_change_requested" in actions and "claimant.email_changed" in actions


def test_english_claimant_gets_english_mail(make_claimant: Any, make_claim: Any) -> None:
    claim = make_claim(make_claimant(language="en"))
    requested(claim)
    (confirmation,) = messages("email_change_confirm")
    (notice,) = messages("email_change_notice")
    assert confirmation.subject == "Confirm your new email address" and "24 hours" in confirmation.body
    assert notice.subject == "Change of your email address requested"


def test_expired_forged_superseded_and_withdrawn_links_do_nothing(make_claim: Any) -> None:
    claim = make_claim()
    assert confirm_email_change("forged-" + "x" * 40) is None
    assert confirm_email_change("") is None
    assert confirm_email_change("é" * 43) is None
    assert confirm_email_change("x" * 5000) is None

    expired, _ = requested(claim, "expire@example.org")
    change = db.session.execute(sa.select(EmailChange)).scalar_one()
    change.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert confirm_email_change(expired) is None

    first, _ = requested(claim, "first@example.org")
    second, _ = requested(claim, "second@example.org")
    assert confirm_email_change(first) is None  # superseded by the newer request
    claim.status = ClaimStatus.WITHDRAWN
    db.session.commit()
    assert confirm_email_change(second) is None
    assert reload(claim.claimant).email == "elodie.lefevre@example.fr"
    with pytest.raises(ContactError) as refused:
        requested(claim, "third@example.org")
    assert refused.value.code == "withdrawn"

    claim.status = ClaimStatus.IN_REVIEW
    db.session.commit()
    assert confirm_email_change(second) is not None
    assert reload(claim.claimant).email == "second@example.org"


def test_a_used_link_cannot_be_replayed_by_a_stale_reader(make_claim: Any) -> None:
    """Two requests using the link at once: the conditional update lets one through."""
    claim = make_claim()
    token, _ = requested(claim)
    change = db.session.execute(sa.select(EmailChange)).scalar_one()
    # The other request confirmed it just now, behind this session's back.
    db.session.execute(
        sa.update(EmailChange)
        .where(EmailChange.id == change.id)
        .values(confirmed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    assert change.confirmed_at is None  # what this session still believes
    assert confirm_email_change(token) is None
    db.session.rollback()


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("pas-une-adresse", "invalid_email"),
        ("a@b", "invalid_email"),
        ("x@example.org\r\nBcc: victim@example.org", "invalid_email"),
        ("a" * 250 + "@example.org", "invalid_email"),
        (" ELODIE.LEFEVRE@example.FR ", "same_email"),
    ],
)
def test_bad_new_addresses_are_refused(make_claim: Any, address: str, code: str) -> None:
    claim = make_claim()
    with pytest.raises(ContactError) as refused:
        request_email_change(claim, address, lambda token: token)
    assert refused.value.code == code
    assert db.session.execute(sa.select(EmailChange)).first() is None
    assert db.session.execute(sa.select(OutboxMessage)).first() is None
