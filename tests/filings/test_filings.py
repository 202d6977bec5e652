"""Collective filings: building the list, locking it into a snapshot, recording the filing, verifying."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from claims.cases.models import Case, CaseStatus, Procedure
from claims.claimants.models import Claim, ClaimStatus
from claims.evidence.models import EvidenceKind
from claims.evidence.operations import accept_evidence, make_derivative
from claims.extensions import db
from claims.filings.models import Filing, FilingState
from claims.filings.operations import (
    FilingError,
    add_by_rule,
    add_claims,
    create_filing,
    lock_filing,
    record_filed,
    remove_claim,
    verify_filing,
)
from claims.vault import current_vault
from tests.evidence.test_uploads import jpeg


def new_filing(case: Case, lawyer: Any) -> Filing:
    filing = create_filing(
        case,
        court="Tribunal judiciaire de Paris",
        chamber="Pôle santé publique, juge d’instruction",
        court_case_number="",
        procedure=Procedure.JOIN_INVESTIGATION,
        counsel="Maître Test",
        actor=lawyer,
    )
    db.session.commit()
    return filing


def accepted(make_claim: Any, make_claimant: Any, pieces: int = 0, **claimant: Any) -> Claim:
    claim = make_claim(make_claimant(**claimant), status=ClaimStatus.ACCEPTED)
    for n in range(pieces):
        evidence = accept_evidence(claim, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename=f"p{n}.jpg")
        make_derivative(evidence)
    db.session.commit()
    return claim


def status(claim: Claim) -> ClaimStatus:
    db.session.expire_all()
    return db.session.get_one(Claim, claim.id).status


def test_add_remove_lock_and_file(
    app: Flask, case: Case, make_claim: Any, make_claimant: Any, make_staff: Any
) -> None:
    lawyer = make_staff("lawyer")
    filing = new_filing(case, lawyer)
    one = accepted(make_claim, make_claimant, pieces=2, last_name="Durand")
    two = accepted(make_claim, make_claimant, pieces=1, last_name="Petit")
    in_review = make_claim(status=ClaimStatus.IN_REVIEW)
    assert add_claims(filing, [one, in_review], actor=lawyer) == 1  # only accepted claims
    assert add_by_rule(filing, actor=lawyer) == 1  # the other accepted one
    assert add_by_rule(filing, actor=lawyer) == 0  # none left outside a filing
    db.session.commit()
    assert status(one) == status(two) == ClaimStatus.IN_FILING and status(in_review) == ClaimStatus.IN_REVIEW

    remove_claim(filing, db.session.get_one(Claim, one.id), actor=lawyer)
    db.session.commit()
    assert status(one) == ClaimStatus.ACCEPTED
    filing = db.session.get_one(Filing, filing.id)
    add_claims(filing, [db.session.get_one(Claim, one.id)], actor=lawyer)
    lock_filing(filing, actor=lawyer)
    db.session.commit()

    filing = db.session.get_one(Filing, filing.id)
    assert filing.state == FilingState.LOCKED and len(filing.snapshot_sha256) == 64
    parties = filing.lock_snapshot["parties"]
    assert [p["party"] for p in parties] == [1, 2]  # renumbered without the gap left by the removal
    assert [p["reference"] for p in parties] == [two.reference, one.reference]
    assert [e["number"] for e in parties[1]["exhibits"]] == [1, 2]
    assert all(len(e["sha256"]) == len(e["derivative_sha256"]) == 64 for p in parties for e in p["exhibits"])
    dumped = json.dumps(filing.lock_snapshot, ensure_ascii=False)
    assert "Durand" not in dumped and "Petit" not in dumped  # ids, numbers and hashes only

    for change in (
        lambda: add_claims(filing, [], actor=lawyer),
        lambda: remove_claim(filing, db.session.get_one(Claim, one.id), actor=lawyer),
        lambda: lock_filing(filing, actor=lawyer),
    ):
        with pytest.raises(FilingError, match="locked"):
            change()
    with pytest.raises(FilingError, match="future_date"):
        record_filed(filing, date.today() + timedelta(days=1), actor=lawyer)
    assert record_filed(filing, date.today(), actor=lawyer) == 2
    db.session.commit()
    assert status(one) == status(two) == ClaimStatus.FILED
    with pytest.raises(FilingError, match="already_filed"):
        record_filed(db.session.get_one(Filing, filing.id), date.today(), actor=lawyer)


def test_claims_of_another_case_are_not_added(
    app: Flask, case: Case, make_claim: Any, make_claimant: Any, make_staff: Any
) -> None:
    lawyer = make_staff("lawyer")
    other_case = Case(
        slug="autre", reference_prefix="AUTR", title="Autre", data_controller="X",
        procedure=Procedure.JOIN_AT_TRIAL, status=CaseStatus.OPEN,
    )  # fmt: skip
    db.session.add(other_case)
    db.session.commit()
    elsewhere = make_claim(make_claimant(), status=ClaimStatus.ACCEPTED, case=other_case)
    filing = new_filing(case, lawyer)
    assert add_claims(filing, [elsewhere], actor=lawyer) == 0
    assert add_by_rule(filing, actor=lawyer) == 0


def test_lock_waits_for_pieces_being_sanitised(
    app: Flask, case: Case, make_claim: Any, make_claimant: Any, make_staff: Any
) -> None:
    lawyer = make_staff("lawyer")
    claim = accepted(make_claim, make_claimant)
    accept_evidence(
        claim, io.BytesIO(jpeg()), kind=EvidenceKind.OTHER, filename="pending.jpg"
    )  # no derivative
    db.session.commit()
    filing = new_filing(case, lawyer)
    add_claims(filing, [claim], actor=lawyer)
    with pytest.raises(FilingError) as refused:
        lock_filing(filing, actor=lawyer)
    assert refused.value.code == "evidence_pending" and refused.value.references == [claim.reference]
    with pytest.raises(FilingError, match="empty"):
        lock_filing(new_filing(case, lawyer), actor=lawyer)


def test_verify_finds_a_changed_file_and_a_changed_hash(
    app: Flask, case: Case, make_claim: Any, make_claimant: Any, make_staff: Any, runner: FlaskCliRunner
) -> None:
    lawyer = make_staff("lawyer")
    claim = accepted(make_claim, make_claimant, pieces=2)
    filing = new_filing(case, lawyer)
    add_claims(filing, [claim], actor=lawyer)
    lock_filing(filing, actor=lawyer)
    db.session.commit()
    assert verify_filing(filing) == (4, [])
    ok = runner.invoke(args=["filings", "verify", str(filing.id)])
    assert ok.exit_code == 0 and "4 files checked, 0 mismatches" in ok.output

    first, second = sorted(claim.evidence, key=lambda e: (e.created_at, str(e.id)))
    path = current_vault().storage.path_of(first.storage_key)  # tamper with the stored bytes
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    second.derivative_sha256 = "0" * 64  # and the database row itself; the snapshot keeps the lock's
    db.session.commit()
    checked, mismatches = verify_filing(db.session.get_one(Filing, filing.id))
    assert checked == 4 and [(m.exhibit, m.what) for m in mismatches] == [(1, "unreadable")]
    bad = runner.invoke(args=["filings", "verify", str(filing.id)])
    assert bad.exit_code == 1 and f"party 1 {claim.reference} exhibit 1: unreadable" in bad.output

    filing = db.session.get_one(Filing, filing.id)
    filing.lock_snapshot = {**filing.lock_snapshot, "parties": []}  # an altered snapshot is caught
    db.session.commit()
    assert runner.invoke(args=["filings", "verify", str(filing.id)]).exit_code == 2
    assert runner.invoke(args=["filings", "verify", "999"]).exit_code == 2


def test_the_console_pages_for_a_lawyer(
    app: Flask, client: FlaskClient, case: Case, make_claim: Any, make_claimant: Any, login_as: Any
) -> None:
    claims = [accepted(make_claim, make_claimant, pieces=1) for _ in range(2)]
    login_as("lawyer")
    assert client.get("/console/filings").status_code == 200
    response = client.post(
        "/console/filings/new",
        data={
            "case": case.id,
            "court": "TJ Paris",
            "chamber": "",
            "court_case_number": "",
            "procedure": "join_investigation",
            "counsel": "Maître Test",
        },
    )
    assert response.status_code == 302
    filing_id = db.session.execute(sa.select(Filing.id)).scalar_one()
    page = client.get(f"/console/filings/{filing_id}").get_data(as_text=True)
    assert "Ajouter les 2 demandes acceptées" in page
    client.post(
        f"/console/filings/{filing_id}/add", data={"references": claims[0].reference + "\nNOPE-AAAA-BBBB"}
    )
    client.post(f"/console/filings/{filing_id}/add-by-rule")
    page = client.get(f"/console/filings/{filing_id}").get_data(as_text=True)
    assert claims[0].reference in page and claims[1].reference in page
    client.post(f"/console/filings/{filing_id}/remove/{claims[1].reference}")
    assert status(claims[1]) == ClaimStatus.ACCEPTED
    client.post(f"/console/filings/{filing_id}/lock")
    assert db.session.get_one(Filing, filing_id).state == FilingState.LOCKED
    refused = client.post(f"/console/filings/{filing_id}/add-by-rule", follow_redirects=True)
    assert "verrouillé" in refused.get_data(as_text=True)
    client.post(f"/console/filings/{filing_id}/filed", data={"filed_on": date.today().isoformat()})
    assert status(claims[0]) == ClaimStatus.FILED and status(claims[1]) == ClaimStatus.ACCEPTED


@pytest.mark.parametrize("role", ["paralegal", "admin"])
def test_only_lawyers_manage_filings(app: Flask, client: FlaskClient, login_as: Any, role: str) -> None:
    login_as(role)
    assert client.get("/console/filings").status_code == 403
    assert client.post("/console/filings/new", data={}).status_code == 403


def test_add_the_accepted_claims_of_a_saved_filter(
    app: Flask, client: FlaskClient, case: Case, make_claim: Any, make_claimant: Any, make_staff: Any
) -> None:
    from claims.audit.models import AuditEvent
    from claims.review.saved_filters import save_filter
    from tests.conftest import sign_in

    lawyer, paralegal = make_staff("lawyer"), make_staff("paralegal")
    other_case = Case(
        slug="autre", reference_prefix="AUTR", title="Autre", data_controller="X",
        procedure=Procedure.JOIN_AT_TRIAL, status=CaseStatus.OPEN,
    )  # fmt: skip
    db.session.add(other_case)
    db.session.commit()

    def claim(status: ClaimStatus = ClaimStatus.ACCEPTED, assignee: Any = lawyer, **fields: Any) -> Claim:
        return make_claim(
            make_claimant(), status=status, assignee_id=assignee.id if assignee else None, **fields
        )

    matched = [claim(), claim()]
    outside_filter = [claim(assignee=None), claim(assignee=paralegal)]
    other_status = claim(ClaimStatus.IN_REVIEW)
    of_other_case = claim(case=other_case)
    in_a_filing = claim()
    earlier = new_filing(case, lawyer)
    add_claims(earlier, [in_a_filing], actor=lawyer)
    # Saved by the paralegal, shared: "me" is whoever applies it (here the lawyer).
    mine = save_filter(paralegal, name="Attribuées à moi", shared=True, args={"assignee": "me"})
    elsewhere = save_filter(paralegal, name="Autre action", shared=True, args={"case": str(other_case.id)})
    private = save_filter(paralegal, name="Privé", shared=False, args={})
    filing = new_filing(case, lawyer)
    mine_id, elsewhere_id, private_id, filing_id = mine.id, elsewhere.id, private.id, filing.id
    sign_in(client, lawyer)

    page = client.get(f"/console/filings/{filing_id}").get_data(as_text=True)
    assert "Attribuées à moi — Test paralegal" in page
    assert "Autre action" not in page and "Privé" not in page  # another case's; someone's private one

    # A filter the lawyer cannot see, or none at all: 404, nothing added.
    for chosen in (private_id, 999999, "x", ""):
        response = client.post(f"/console/filings/{filing_id}/add-by-rule", data={"saved_filter": chosen})
        assert response.status_code == 404, chosen
    # A filter of another case adds nothing, from either case.
    refused = client.post(
        f"/console/filings/{filing_id}/add-by-rule",
        data={"saved_filter": elsewhere_id},
        follow_redirects=True,
    )
    assert "porte sur une autre action" in refused.get_data(as_text=True)
    assert db.session.get_one(Filing, filing_id).members == []

    added = client.post(
        f"/console/filings/{filing_id}/add-by-rule", data={"saved_filter": mine_id}, follow_redirects=True
    )
    assert "2 demande(s) ajoutée(s)." in added.get_data(as_text=True)
    db.session.expire_all()
    members = {m.claim_id for m in db.session.get_one(Filing, filing_id).members}
    assert members == {c.id for c in matched}
    assert all(status(c) == ClaimStatus.IN_FILING for c in matched)
    assert all(status(c) == ClaimStatus.ACCEPTED for c in [*outside_filter, of_other_case])
    assert status(other_status) == ClaimStatus.IN_REVIEW
    assert {m.claim_id for m in db.session.get_one(Filing, earlier.id).members} == {in_a_filing.id}
    event = db.session.execute(
        sa.select(AuditEvent).where(
            AuditEvent.action == "filing.claims_added", AuditEvent.object_id == str(filing_id)
        )
    ).scalar_one()
    assert event.actor_id == str(lawyer.id) and event.details == {"count": 2}

    # The plain rule still adds every other accepted claim of the case not in a filing.
    client.post(f"/console/filings/{filing_id}/add-by-rule")
    db.session.expire_all()
    members = {m.claim_id for m in db.session.get_one(Filing, filing_id).members}
    assert members == {c.id for c in [*matched, *outside_filter]}


def test_add_by_rule_keeps_to_the_case_whatever_the_filter_selects(
    app: Flask, case: Case, make_claim: Any, make_claimant: Any, make_staff: Any
) -> None:
    from claims.review.queue import QueueFilter, filtered

    lawyer = make_staff("lawyer")
    other_case = Case(
        slug="autre", reference_prefix="AUTR", title="Autre", data_controller="X",
        procedure=Procedure.JOIN_AT_TRIAL, status=CaseStatus.OPEN,
    )  # fmt: skip
    db.session.add(other_case)
    db.session.commit()
    wanted = accepted(make_claim, make_claimant)
    make_claim(make_claimant(), status=ClaimStatus.ACCEPTED, case=other_case)
    make_claim(make_claimant(), status=ClaimStatus.IN_REVIEW)
    make_claim(make_claimant(), status=ClaimStatus.SUBMITTED)
    filing = new_filing(case, lawyer)
    # A filter on the other case selects nothing of this one; a filter on every case and
    # status only adds this case's accepted claims.
    assert add_by_rule(filing, actor=lawyer, among=filtered(QueueFilter(case_id=other_case.id))) == 0
    assert add_by_rule(filing, actor=lawyer, among=filtered(QueueFilter())) == 1
    assert add_by_rule(filing, actor=lawyer, among=filtered(QueueFilter())) == 0  # now in a filing
    assert [m.claim_id for m in filing.members] == [wanted.id]


def test_saved_filter_names_are_escaped_in_the_filing_page(
    app: Flask, client: FlaskClient, case: Case, make_staff: Any, login_as: Any
) -> None:
    from claims.review.saved_filters import save_filter

    lawyer = login_as("lawyer")
    save_filter(lawyer, name="<b>gras</b> & co", shared=False, args={"status": "accepted"})
    filing = new_filing(case, lawyer)
    page = client.get(f"/console/filings/{filing.id}").get_data(as_text=True)
    assert "<b>gras</b>" not in page and "&lt;b&gt;gras&lt;/b&gt; &amp; co" in page
