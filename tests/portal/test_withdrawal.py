"""Withdrawal: the claim leaves the action, the claimant's data is erased for good."""

from __future__ import annotations

import io
import json
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from claims.audit.models import AuditEvent
from claims.cases.models import Case, CaseStatus, Procedure
from claims.claimants.models import Claim, Claimant, ClaimStatus
from claims.crypto import KeyDestroyed, hash_token
from claims.crypto.models import DataKey
from claims.evidence.models import Evidence, EvidenceKind
from claims.evidence.operations import accept_evidence, make_derivative, open_evidence
from claims.extensions import db
from claims.filings.models import Filing, FilingMember, FilingState
from claims.mail.models import MailStatus, OutboxMessage
from claims.mail.operations import queue_mail
from claims.portal.models import EmailChange, PortalLink, PortalSession
from claims.portal.withdrawal import WithdrawalRefused, can_withdraw, withdraw_claim
from claims.review.models import InfoRequest, Note
from claims.review.operations import add_note, request_information
from claims.types import utcnow
from claims.vault import current_vault
from tests.demo.test_seed import stored_bytes
from tests.evidence.test_uploads import jpeg

# Values found nowhere else in the app, its fixtures or its texts.
PERSON = {
    "civility": "Mme",
    "first_name": "Zéphyrine",
    "last_name": "Quarantotti",
    "birth_date": date(1991, 11, 4),
    "birth_place": "Saint-Flour-Xérès",
    "nir": "2 91 11 75 112 345 72",
    "address_line1": "7, impasse des Hirondelles-Argentées",
    "postal_code": "15100",
    "city": "Saint-Flour",
    "country": "France",
    "email": "zephyrine.quarantotti@retrait.example",
    "phone": "06 98 76 54 31",
}
STATEMENT = "Après la fuite, un faux conseiller Quarantotti m’a soutiré 4 321 euros par virement."
NEEDLES = [
    "Zéphyrine",
    "Quarantotti",
    "Hirondelles-Argentées",
    "zephyrine.quarantotti@retrait.example",
    "06 98 76 54 31",
    "0698765431",
    "2 91 11 75 112 345 72",
    "291117511234572",
    "Saint-Flour-Xérès",
    STATEMENT[:40],
    "faux conseiller",
    "quarantotti-cni.jpg",
]


def in_review(make_claim: Any, make_claimant: Any, **claimant_fields: Any) -> Claim:
    return make_claim(
        make_claimant(**{**PERSON, **claimant_fields}),
        status=ClaimStatus.IN_REVIEW,
        statement=STATEMENT,
        signature_name="Zéphyrine Quarantotti",
        consent_ip="203.0.113.77",
        source_ip_day_bidx="f" * 64,
    )


@pytest.fixture
def full_claim(make_claim: Any, make_claimant: Any, make_staff: Any) -> Claim:
    """A claim in review with everything a claimant leaves behind: a file, mail, notes, a request,
    portal links and sessions, a pending email change."""
    claim = in_review(make_claim, make_claimant)
    evidence = accept_evidence(
        claim, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="quarantotti-cni.jpg"
    )
    make_derivative(evidence)
    claimant = claim.claimant
    sent = queue_mail(
        claimant.email,
        f"Votre demande {claim.reference} est enregistrée",
        "Bonjour Zéphyrine Quarantotti",
        data_key=claimant.data_key,
        purpose="claim_receipt",
    )
    sent.status = MailStatus.SENT
    paralegal = make_staff("paralegal")
    add_note(claim, "Mme Quarantotti a rappelé : faux conseiller confirmé.", author=paralegal)
    request_information(
        claim,
        actor=paralegal,
        message="Merci d’envoyer le relevé du virement Quarantotti.",
        due_on=date.today() + timedelta(days=10),
    )
    now = utcnow()
    db.session.add_all(
        [
            PortalLink(token_hash=hash_token("link"), claim=claim, expires_at=now + timedelta(minutes=15)),
            PortalSession(token_hash=hash_token("session"), claim=claim),
            EmailChange(
                id=uuid.uuid4(),
                claim=claim,
                token_hash=hash_token("change"),
                new_email="z.quarantotti.nouvelle@retrait.example",
                expires_at=now + timedelta(days=1),
            ),
        ]
    )
    db.session.commit()
    return claim


def test_withdrawal_erases_the_claimant_and_keeps_the_claim_as_a_fact(
    app: Flask, client: FlaskClient, full_claim: Claim, login_as: Any
) -> None:
    claim = full_claim
    claim_id, claimant_id, reference = claim.id, claim.claimant_id, claim.reference
    key_id = claim.claimant.data_key_id
    evidence_id = claim.evidence[0].id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 2
    assert can_withdraw(claim)

    assert withdraw_claim(claim) == []  # in no filing: nobody to tell
    db.session.commit()
    db.session.expunge_all()

    claim = db.session.get_one(Claim, claim_id)
    claimant = db.session.get_one(Claimant, claimant_id)
    assert claim.status == ClaimStatus.WITHDRAWN and claim.closed_at is not None
    assert (
        claim.reference == reference and claim.submitted_at is not None and claim.claimant_id == claimant_id
    )
    assert db.session.get_one(DataKey, key_id).destroyed and claimant.erased_at is not None
    # Every ciphertext and blind index is gone, not merely unreadable.
    assert all(getattr(claimant, f"{name}_ct") is None for name in PERSON)
    assert all(
        getattr(claimant, f"{kind}_bidx") is None for kind in ("email", "phone", "nir", "identity", "address")
    )
    assert claimant.last_name is None and claimant.email is None and claimant.nir is None
    assert claim.statement is None and claim.signature_name is None and claim.consent_ip is None
    assert claim.source_ip_day_bidx is None and claim.harms == []
    evidence = db.session.get_one(Evidence, evidence_id)
    assert evidence.original_filename is None and evidence.wrapped_file_key == b""
    with pytest.raises(KeyDestroyed):
        b"".join(open_evidence(evidence))
    # Mail to the person can be neither sent nor read: it is gone; notes, requests and the
    # pending email change too; links and sessions no longer open anything.
    for model in (OutboxMessage, Note, InfoRequest, EmailChange):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model
    assert db.session.execute(sa.select(PortalLink)).scalar_one().revoked_at is not None
    assert db.session.execute(sa.select(PortalSession)).scalar_one().ended_at is not None

    # The audit log records the withdrawal and the erasure, and no personal value.
    events = db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    actions = [e.action for e in events]
    assert {"claim.withdrawn", "claim.erased", "data_key.destroyed"} <= set(actions)
    withdrawn = next(e for e in events if e.action == "claim.withdrawn")
    assert withdrawn.object_id == str(claim_id) and withdrawn.details["to"] == "withdrawn"
    logged = json.dumps([[e.action, e.object_id, e.details] for e in events], ensure_ascii=False)
    assert not [n for n in NEEDLES if n in logged]

    # The console shows the claim as withdrawn, with nothing of the person.
    login_as("lawyer")
    page = client.get(f"/console/claims/{reference}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-testid="claim-status">Retirée<' in html and 'data-testid="erased"' in html
    assert not [n for n in NEEDLES if n in html]
    queue = client.get("/console/claims?status=withdrawn")
    assert queue.status_code == 200 and reference in queue.get_data(as_text=True)
    assert not [n for n in NEEDLES if n in queue.get_data(as_text=True)]
    for what in ("original", "derivative", "preview"):
        assert client.get(f"/console/claims/{reference}/evidence/{evidence_id}/{what}").status_code == 404
    # A note would be encrypted under the destroyed key: refused with a message, not a crash.
    refused = client.post(f"/console/claims/{reference}/notes", data={"body": "Rappeler la personne."})
    assert refused.status_code == 302
    assert "ne peut plus recevoir de note" in client.get(refused.location).get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Note)) == 0


def _binary_needles(claim: Claim) -> dict[str, bytes]:
    """What could decrypt or identify the person at rest: their wrapped data key, ciphertexts,
    blind indexes, the wrapped file keys."""
    claimant, evidence = claim.claimant, claim.evidence[0]
    found = {
        "wrapped data key": claimant.data_key.wrapped_key,
        "wrapped file key": evidence.wrapped_file_key,
        "wrapped derivative key": evidence.derivative_wrapped_key,
        "statement ciphertext": claim.statement_ct,
    }
    for name in ("last_name", "email", "nir", "address_line1"):
        found[f"{name} ciphertext"] = getattr(claimant, f"{name}_ct")
    for kind in ("email", "phone", "nir", "identity", "address"):
        found[f"{kind} blind index"] = getattr(claimant, f"{kind}_bidx").encode()
    assert all(found.values())
    return found


def _leaks(app: Flask, needles: dict[str, bytes]) -> list[tuple[str, str]]:
    # SQLite keeps bytes raw; PostgreSQL rows are read back as text, bytea as hex.
    forms = {label: (value, value.hex().encode()) for label, value in needles.items()}
    return [
        (label, name)
        for name, data in stored_bytes(app)
        for label, variants in forms.items()
        if any(v in data for v in variants)
    ]


def test_no_trace_at_rest_once_withdrawn_and_purged(
    app: Flask, runner: Any, full_claim: Claim, case: Case
) -> None:
    claim = full_claim
    binary = _binary_needles(claim)
    plain = {n: n.encode() for n in NEEDLES}
    files = [p for p in current_vault().storage.root.rglob("*") if p.is_file()]
    assert len(files) == 2  # original and sanitised derivative
    # The search works: a value planted in clear in the database is found, and so are the
    # person's key material and ciphertexts before the withdrawal.
    case.description = "planté-en-clair-7f3a"
    db.session.commit()
    assert _leaks(app, {"planted": "planté-en-clair-7f3a".encode()})
    assert {"wrapped data key", "email blind index"} <= {label for label, _ in _leaks(app, binary)}
    # Nothing personal was ever stored in clear.
    assert _leaks(app, plain) == []

    withdraw_claim(claim)
    db.session.commit()
    # The daily purge (nothing due yet) also flushes SQLite's write-ahead log, which still
    # holds the earlier versions of the rewritten pages.
    assert "nothing to purge" in runner.invoke(args=["retention", "purge"]).output
    assert _leaks(app, binary) == []
    assert _leaks(app, plain) == []
    # The files are still there, unreadable (their keys are gone) until the withdrawn period ends.
    assert all(p.exists() for p in files)

    closed = utcnow() - timedelta(days=case.withdrawn_retention_days + 1)
    db.session.execute(sa.update(Claim).values(closed_at=closed))
    db.session.commit()
    result = runner.invoke(args=["retention", "purge"])
    assert f"purged 1 withdrawn claims\n  {claim.reference}" in result.output
    assert not any(p.exists() for p in files)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0
    assert _leaks(app, binary) == [] and _leaks(app, plain) == []


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (ClaimStatus.FILED, "filed"),
        (ClaimStatus.WITHDRAWN, "already_withdrawn"),
        (ClaimStatus.DRAFT, "draft"),
    ],
)
def test_withdrawal_refused(make_claim: Any, status: ClaimStatus, code: str) -> None:
    claim = make_claim(status=status)
    key_id = claim.claimant.data_key_id
    assert not can_withdraw(claim)
    with pytest.raises(WithdrawalRefused) as refused:
        withdraw_claim(claim)
    assert refused.value.code == code
    db.session.rollback()
    assert db.session.get_one(Claim, claim.id).status == status
    assert not db.session.get_one(DataKey, key_id).destroyed


@pytest.mark.parametrize(
    "status",
    [
        ClaimStatus.SUBMITTED,
        ClaimStatus.IN_REVIEW,
        ClaimStatus.NEEDS_INFO,
        ClaimStatus.ACCEPTED,
        ClaimStatus.REJECTED,
        ClaimStatus.IN_FILING,
    ],
)
def test_withdrawal_possible_until_filed(make_claim: Any, status: ClaimStatus) -> None:
    claim = make_claim(status=status)
    assert can_withdraw(claim)
    withdraw_claim(claim)
    db.session.commit()
    assert claim.status == ClaimStatus.WITHDRAWN and claim.claimant.data_key.destroyed


def _filing(case: Case, author: Any, state: FilingState, *claims: Claim) -> Filing:
    filing = Filing(
        case=case,
        court="Tribunal judiciaire de Paris",
        procedure=Procedure.COMPLAINT_CIVIL_PARTY,
        counsel="Me Avocate",
        created_by=author,
        state=state,
    )
    for position, claim in enumerate(claims, start=1):
        filing.members.append(FilingMember(claim=claim, position=position))
    db.session.add(filing)
    db.session.commit()
    return filing


def _staff_mail(author: Any) -> OutboxMessage:
    return db.session.execute(
        sa.select(OutboxMessage).where(OutboxMessage.data_key_id == author.data_key_id)
    ).scalar_one()


def test_withdrawal_takes_the_claim_out_of_a_draft_filing_and_tells_its_author(
    make_claim: Any, make_claimant: Any, make_staff: Any, case: Case
) -> None:
    lawyer = make_staff("lawyer")
    claim = in_review(make_claim, make_claimant)
    claim.status = ClaimStatus.IN_FILING
    other = make_claim(status=ClaimStatus.IN_FILING)
    filing = _filing(case, lawyer, FilingState.DRAFT, claim, other)
    reference = claim.reference

    jobs = withdraw_claim(claim)
    db.session.commit()

    assert [m.claim_id for m in filing.members] == [other.id]
    mail = _staff_mail(lawyer)
    assert (
        len(jobs) == 1 and jobs[0].kind == "mail.deliver" and jobs[0].params == {"message_id": str(mail.id)}
    )
    assert mail.recipient == lawyer.email and mail.status == MailStatus.QUEUED
    assert reference in mail.subject and reference in mail.body and "enlevée du dépôt" in mail.body
    assert not [n for n in NEEDLES if n in mail.subject + mail.body]
    event = db.session.execute(
        sa.select(AuditEvent).where(AuditEvent.action == "filing.member_withdrawn")
    ).scalar_one()
    assert event.object_type == "filing" and event.object_id == str(filing.id)
    assert event.details == {"claim": str(claim.id), "state": "draft", "removed": True, "files_deleted": 0}


def test_a_locked_filing_keeps_its_frozen_member_and_its_author_is_warned(
    make_claim: Any, make_claimant: Any, make_staff: Any, case: Case
) -> None:
    lawyer = make_staff("lawyer")
    claim = in_review(make_claim, make_claimant)
    claim.status = ClaimStatus.IN_FILING
    filing = _filing(case, lawyer, FilingState.LOCKED, claim)

    withdraw_claim(claim)
    db.session.commit()

    assert [m.claim_id for m in filing.members] == [claim.id]
    mail = _staff_mail(lawyer)
    assert claim.reference in mail.body and "verrouillé" in mail.body and "demande retirée" in mail.body
    assert not [n for n in NEEDLES if n in mail.subject + mail.body]
    event = db.session.execute(
        sa.select(AuditEvent).where(AuditEvent.action == "filing.member_withdrawn")
    ).scalar_one()
    assert event.details["removed"] is False and event.details["state"] == "locked"


def test_a_claimant_in_two_cases_keeps_the_other_claim(
    app: Flask,
    client: FlaskClient,
    make_claim: Any,
    make_claimant: Any,
    case: Case,
    login_as: Any,
) -> None:
    second_case = Case(
        slug="autre-fuite",
        reference_prefix="AUTR",
        title="Autre fuite",
        data_controller="Autre responsable",
        procedure=Procedure.JOIN_INVESTIGATION,
        status=CaseStatus.OPEN,
    )
    db.session.add(second_case)
    db.session.commit()
    withdrawn = in_review(make_claim, make_claimant)
    claimant = withdrawn.claimant
    kept = make_claim(claimant, case=second_case, statement="Ma déclaration dans l’autre action.")
    evidence = accept_evidence(withdrawn, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="a.jpg")
    for claim in (withdrawn, kept):
        queue_mail(
            claimant.email,
            f"Votre demande {claim.reference}",
            "Bonjour",
            data_key=claimant.data_key,
            purpose="review",
        )
    db.session.commit()
    bidx = claimant.email_bidx

    withdraw_claim(withdrawn)
    db.session.commit()
    db.session.expire_all()

    # The person and their other claim are intact.
    assert not claimant.data_key.destroyed and claimant.erased_at is None
    assert claimant.email == PERSON["email"] and claimant.email_bidx == bidx
    assert kept.statement == "Ma déclaration dans l’autre action." and kept.claimant_id == claimant.id
    subjects = [
        m.subject
        for m in db.session.execute(sa.select(OutboxMessage)).scalars()
        if m.data_key_id == claimant.data_key_id
    ]
    assert subjects == [f"Votre demande {kept.reference}"]
    # The withdrawn claim no longer leads to the person: an erased stand-in holds it.
    assert withdrawn.claimant_id != claimant.id and withdrawn.claimant.erased_at is not None
    assert withdrawn.claimant.data_key.destroyed and withdrawn.claimant.email is None
    assert withdrawn.statement_ct is None and withdrawn.status == ClaimStatus.WITHDRAWN
    assert withdrawn not in claimant.claims
    # Its file key was wrapped by the person's key, which lives on: the wrapped key is gone.
    assert evidence.wrapped_file_key == b""
    with pytest.raises(KeyDestroyed):
        b"".join(open_evidence(evidence))

    login_as("lawyer")
    html = client.get(f"/console/claims/{withdrawn.reference}").get_data(as_text=True)
    assert "Retirée" in html and not [n for n in NEEDLES if n in html]
    assert "Quarantotti" in client.get(f"/console/claims/{kept.reference}").get_data(as_text=True)

    # Withdrawing the last live claim destroys the key.
    withdraw_claim(kept)
    db.session.commit()
    assert claimant.data_key.destroyed and claimant.erased_at is not None and claimant.email_ct is None
