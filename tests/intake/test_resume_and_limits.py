"""Save and resume by one-time link; purge of abandoned drafts; limits on hostile input."""

from __future__ import annotations

import io
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, request
from flask.testing import EnvironBuilder, FlaskClient

from claims.claimants.models import Claim, Claimant, ResumeLink
from claims.crypto.models import DataKey
from claims.evidence.models import Evidence
from claims.extensions import db
from claims.mail.models import OutboxMessage
from claims.security import CappedBuffer
from claims.types import utcnow
from tests.intake.test_flow import demo_case, fill_claim, post  # noqa: F401  (fixture)

LINK = re.compile(r"http://localhost(/c/aphp-2021/reprendre/[A-Za-z0-9_-]+)")


def sent_link(capsys: pytest.CaptureFixture[str]) -> str:
    match = LINK.search(capsys.readouterr().out)
    assert match, "no resume link was sent"
    return match.group(1)


def test_resume_by_emailed_link_once(
    app: Flask,
    client: FlaskClient,
    demo_case: Any,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    fill_claim(client)
    capsys.readouterr()
    other_browser = app.test_client()
    page = other_browser.post("/c/aphp-2021/reprendre", data={"email": "ELODIE@example.fr"})
    assert "Vérifiez votre messagerie" in page.get_data(as_text=True)
    link = sent_link(capsys)
    resumed = other_browser.get(link)
    assert resumed.location == "/c/aphp-2021/demande/details"  # the first unfinished step
    assert "Fontaine-au-Roi" in other_browser.get("/c/aphp-2021/demande/contact").get_data(as_text=True)
    # Single use, and the old browser's access is replaced.
    assert other_browser.get(link).status_code == 404
    assert client.get("/c/aphp-2021/demande/contact").location == "/c/aphp-2021"
    mail = db.session.execute(
        sa.select(OutboxMessage).where(OutboxMessage.purpose == "resume_link")
    ).scalar_one()
    assert mail.status.value == "sent"


def test_unknown_address_gets_the_same_answer_and_no_mail(
    client: FlaskClient,
    demo_case: Any,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    page = client.post("/c/aphp-2021/reprendre", data={"email": "personne@example.fr"})
    assert "Vérifiez votre messagerie" in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    assert "reprendre/" not in capsys.readouterr().out


def test_expired_or_forged_link_is_refused(
    client: FlaskClient,
    demo_case: Any,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    fill_claim(client)
    capsys.readouterr()
    client.post("/c/aphp-2021/demande/save-for-later")
    link = sent_link(capsys)
    db.session.execute(sa.update(ResumeLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    page = client.get(link)
    assert page.status_code == 404 and "ne fonctionne plus" in page.get_data(as_text=True)
    assert client.get("/c/aphp-2021/reprendre/forged").status_code == 404


def test_resume_requests_are_rate_limited(client: FlaskClient, demo_case: Any) -> None:  # noqa: F811
    codes = [
        client.post("/c/aphp-2021/reprendre", data={"email": f"p{i}@example.fr"}).status_code
        for i in range(6)
    ]
    assert codes == [200] * 5 + [429]


def test_stale_drafts_are_purged(app: Flask, client: FlaskClient, demo_case: Any) -> None:  # noqa: F811
    import io

    from tests.evidence.test_uploads import jpeg

    fill_claim(client)
    post(
        client,
        "evidence",
        {"kind": "other", "file": (io.BytesIO(jpeg()), "a.jpg")},
        content_type="multipart/form-data",
    )
    claim = db.session.execute(sa.select(Claim)).scalar_one()
    key_id, files = (
        claim.claimant.data_key_id,
        [p for p in (Path(app.instance_path) / "vault").rglob("*") if p.is_file()],
    )
    assert len(files) == 1  # the original: a draft's derivatives are made when it is submitted
    runner = app.test_cli_runner()
    assert runner.invoke(args=["retention", "purge"]).output.splitlines()[0] == "purged 0 unfinished drafts"
    db.session.execute(sa.update(Claim).values(updated_at=utcnow() - timedelta(days=31)))
    db.session.commit()
    assert runner.invoke(args=["retention", "purge"]).output.splitlines()[0] == "purged 1 unfinished drafts"
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Claim)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Claimant)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0
    assert db.session.get(DataKey, key_id).wrapped_key is None
    assert not any(p.exists() for p in files)


def test_huge_statement_is_refused_cleanly(client: FlaskClient, demo_case: Any) -> None:  # noqa: F811
    fill_claim(client)
    response = post(
        client, "harm", {"claim_moral_harm": "y", "amount_moral_harm": "1500", "statement": "x" * 200_000}
    )
    assert response.status_code == 200 and "Entre 20 et 20 000 caractères." in response.get_data(as_text=True)
    assert db.session.execute(sa.select(Claim.statement_ct)).scalar_one() is None


def test_oversized_body_gets_the_413_page(app: Flask, client: FlaskClient, demo_case: Any) -> None:  # noqa: F811
    fill_claim(client)
    body = b"a" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(
        "/c/aphp-2021/demande/evidence", data=body, content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 413 and "trop volumineux" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0


def test_submission_is_rate_limited(client: FlaskClient, demo_case: Any) -> None:  # noqa: F811
    codes = [post(client, "consent", {}).status_code for _ in range(11)]
    assert 429 in codes and codes.index(429) == 10


def test_file_over_15_mb_is_refused_in_the_form_and_never_held_whole(
    client: FlaskClient,
    demo_case: Any,  # noqa: F811
) -> None:
    fill_claim(client)
    big = b"\xff\xd8\xff\xe0" + b"\0" * (16 * 1024 * 1024)  # a JPEG header, then 16 MB
    # The body is built here so that the test client's temporary file for it can be closed.
    environ = EnvironBuilder(
        client.application,
        "/c/aphp-2021/demande/evidence",
        method="POST",
        data={"kind": "other", "file": (io.BytesIO(big), "photo.jpg")},
        content_type="multipart/form-data",
    ).get_environ()
    try:
        response = client.open(environ)
    finally:
        environ["wsgi.input"].close()
    assert response.status_code == 200 and "dépasse 15 Mo" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0


def test_uploads_stay_in_memory_never_in_a_clear_temporary_file(app: Flask) -> None:
    data = b"%PDF-1.4 " + os.urandom(3 * 1024 * 1024)  # well above Werkzeug's 500 KB spooling
    # The test client's own encoding of the body spools to a temporary file: close it after.
    builder = EnvironBuilder(
        app,
        "/",
        method="POST",
        data={"file": (io.BytesIO(data), "a.pdf")},
        content_type="multipart/form-data",
    )
    environ = builder.get_environ()
    try:
        with app.request_context(environ):
            stream = request.files["file"].stream
            assert isinstance(stream, CappedBuffer) and _no_fd(stream)
            assert stream.getvalue() == data
    finally:
        environ["wsgi.input"].close()
        builder.close()


def _no_fd(stream: Any) -> bool:
    try:
        stream.fileno()
    except (OSError, io.UnsupportedOperation):
        return True
    return False


def test_capped_buffer_keeps_one_byte_more_than_its_cap() -> None:
    buffer = CappedBuffer(10)
    assert buffer.write(b"0123456789abcdef") == 16
    assert buffer.write(b"more") == 4
    assert buffer.getvalue() == b"0123456789a"


def test_starting_claims_is_rate_limited_per_address(app: Flask, demo_case: Any) -> None:  # noqa: F811
    """The first step's answers make the draft: those requests, and only those, count as starts."""
    app.config["INTAKE_START_RATE_LIMIT"] = "4 per hour"
    yes = {"q_tested_2020": "yes", "q_notified": "yes"}
    assert [post(app.test_client(), "eligibility", yes).status_code for _ in range(3)] == [302] * 3
    # Reading the first step, or answering it again on one's own draft, starts nothing.
    client = app.test_client()
    assert client.get("/c/aphp-2021/demande/eligibility").status_code == 200
    assert post(client, "eligibility", yes).status_code == 302  # the fourth start
    assert [post(client, "eligibility", yes).status_code for _ in range(3)] == [302] * 3
    assert post(app.test_client(), "eligibility", yes).status_code == 429  # a fifth start
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Claim)) == 4


def test_the_case_page_resumes_a_draft_where_it_was_left(client: FlaskClient, demo_case: Any) -> None:  # noqa: F811
    fill_claim(client)  # eligibility, identity, contact
    page = client.get("/c/aphp-2021").get_data(as_text=True)
    assert "Reprendre ma demande" in page and 'href="/c/aphp-2021/demande/details"' in page


def test_a_submitted_claim_does_not_stop_a_new_one_from_the_same_browser(
    client: FlaskClient,
    demo_case: Any,  # noqa: F811
) -> None:
    from tests.intake.test_flow import complete_claim

    complete_claim(client)
    first = db.session.execute(sa.select(Claim)).scalar_one()
    page = client.get("/c/aphp-2021/demande/eligibility")
    assert page.status_code == 200 and "checked" not in page.get_data(as_text=True)  # a blank first step
    assert post(client, "eligibility", {"q_tested_2020": "yes", "q_notified": "yes"}).status_code == 302
    claims = db.session.execute(sa.select(Claim).order_by(Claim.created_at)).scalars().all()
    assert len(claims) == 2 and claims[0].id == first.id and claims[1].status.value == "draft"


def test_a_claim_takes_ten_pieces_and_60_mb_at_most(
    client: FlaskClient,
    demo_case: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The per-claim limits, counted in the database: the refusal says which, nothing is stored."""
    from claims.evidence import operations
    from tests.evidence.test_uploads import jpeg

    fill_claim(client)

    def upload(name: str) -> str:
        response = post(client, "evidence", {"kind": "other", "file": (io.BytesIO(jpeg()), name)})
        return response.get_data(as_text=True) if response.status_code == 200 else str(response.status_code)

    assert [upload(f"photo{n}.jpg") for n in range(operations.MAX_FILES_PER_CLAIM)] == ["302"] * 10
    assert "Vous avez déjà déposé 10 pièces, le maximum." in upload("onze.jpg")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 10

    # The total: with a lower cap, the claim's stored bytes already reach it.
    first = db.session.execute(sa.select(Evidence).order_by(Evidence.created_at)).scalars().first()
    assert first is not None
    db.session.execute(sa.delete(Evidence).where(Evidence.id != first.id))
    db.session.commit()
    stored = first.size
    monkeypatch.setattr(operations, "MAX_TOTAL_BYTES", stored)
    assert "60 Mo" in upload("deux.jpg")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 1
