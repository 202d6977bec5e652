"""Saved queue filters: saved from the queue page, applied by a link, private or shared, deleted by
their owner (a shared one also by a lawyer); the exact search term is never stored."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from claims.audit.models import AuditEvent
from claims.claimants.models import ClaimStatus
from claims.extensions import db
from claims.review.models import SavedFilter
from claims.review.saved_filters import SavedFilterError, delete_filter, save_filter
from tests.conftest import sign_in

SEARCH_TERM = "elodie.lefevre@example.fr"


def saved_rows() -> list[SavedFilter]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(SavedFilter).order_by(SavedFilter.id)).scalars())


def events(action: str) -> list[AuditEvent]:
    return list(db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == action)).scalars())


def save(client: FlaskClient, name: str, shared: bool = False, **args: str) -> Any:
    data = {"name": name, **args}
    if shared:
        data["shared"] = "y"
    return client.post("/console/claims/filters", data=data)


def test_save_apply_and_delete_a_filter(
    app: Flask, client: FlaskClient, case: Any, make_claim: Any, make_claimant: Any, login_as: Any
) -> None:
    paralegal = login_as("paralegal")
    mine = make_claim(make_claimant(), status=ClaimStatus.IN_REVIEW, assignee_id=paralegal.id)
    other = make_claim(make_claimant(), status=ClaimStatus.IN_REVIEW)
    response = save(
        client,
        "  Mes   dossiers\u00a0en cours ",
        case=str(case.id),
        status="in_review",
        assignee="me",
        head="moral_harm",
        order="oldest",
        **{"from": "2020-01-01", "to": "2099-12-31"},
        q=SEARCH_TERM,  # sent by a crafted form: dropped all the same
        after="cursor",  # not a filter: dropped
    )
    assert response.status_code == 302
    [saved] = saved_rows()
    assert saved.name == "Mes dossiers en cours" and saved.owner_id == paralegal.id and not saved.shared
    expected = {
        "case": str(case.id),
        "status": "in_review",
        "assignee": "me",
        "head": "moral_harm",
        "order": "oldest",
        "from": "2020-01-01",
        "to": "2099-12-31",
    }
    assert saved.args == expected
    # The stored JSON itself holds no search term.
    raw = db.session.execute(sa.text("SELECT args FROM saved_filters")).scalar_one()
    assert "q" not in (raw if isinstance(raw, dict) else json.loads(raw))
    assert SEARCH_TERM not in str(raw) and "elodie" not in str(raw)

    # Back on the queue with the filter applied; the page says the search was not kept.
    target = urlsplit(response.location)
    assert target.path == "/console/claims"
    assert {k: v[0] for k, v in parse_qs(target.query).items()} == expected
    page = client.get(response.location).get_data(as_text=True)
    assert "La recherche exacte n’y est pas enregistrée" in page
    assert mine.reference in page and other.reference not in page
    assert "Mes dossiers en cours" in page

    [event] = events("queue_filter.saved")
    assert event.object_type == "saved_filter" and event.object_id == str(saved.id)
    assert event.actor_id == str(paralegal.id) and event.details == {"shared": False}

    # The queue page lists it as a link applying it.
    page = client.get("/console/claims").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)"[^>]*>Mes dossiers en cours</a>', page)
    assert link is not None
    applied = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert mine.reference in applied and other.reference not in applied

    saved_id = saved.id
    response = client.post(f"/console/claims/filters/{saved_id}/delete")
    assert response.status_code == 302
    assert saved_rows() == []
    [deleted] = events("queue_filter.deleted")
    assert deleted.object_id == str(saved_id) and deleted.actor_id == str(paralegal.id)
    assert "Mes dossiers en cours" not in client.get("/console/claims").get_data(as_text=True)


def test_the_search_term_alone_is_never_kept(app: Flask, client: FlaskClient, login_as: Any) -> None:
    login_as("lawyer")
    save(client, "Recherche", q=SEARCH_TERM, status="submitted")
    [saved] = saved_rows()
    assert saved.args == {"status": "submitted"}
    with pytest.raises(ValueError, match="not a saved filter key"):
        SavedFilter(name="x", owner_id=saved.owner_id, args={"q": SEARCH_TERM})


def test_the_page_warns_that_a_running_search_is_not_saved(
    app: Flask, client: FlaskClient, login_as: Any
) -> None:
    login_as("lawyer")
    page = client.get("/console/claims", query_string={"q": SEARCH_TERM, "status": "accepted"})
    text = page.get_data(as_text=True)
    assert "La recherche en cours ne sera pas enregistrée avec le filtre." in text
    # The save form carries the filter, never the term.
    form = text[text.index('action="/console/claims/filters"') :]
    form = form[: form.index("</form>")]
    assert 'name="status" value="accepted"' in form
    assert 'name="q"' not in form and SEARCH_TERM not in form


@pytest.mark.parametrize(
    "bad",
    [{"status": "draft"}, {"from": "2024-13-45"}, {"case": "one"}, {"assignee": "someone"}, {"head": "A B"}],
)
def test_a_malformed_filter_is_refused(
    app: Flask, client: FlaskClient, login_as: Any, bad: dict[str, str]
) -> None:
    login_as("lawyer")
    response = save(client, "Invalide", **bad)
    assert response.status_code == 302
    assert saved_rows() == []
    page = client.get(response.location).get_data(as_text=True)
    assert "Ce filtre contient une valeur invalide" in page
    assert events("queue_filter.saved") == []


def test_names_are_required_bounded_and_unique_per_owner(
    app: Flask, client: FlaskClient, make_staff: Any, login_as: Any
) -> None:
    first = login_as("lawyer")
    for name in ("", "   ", "x" * 81):
        save(client, name, status="accepted")
    assert saved_rows() == []
    save(client, "Acceptées", status="accepted")
    refused = client.post(
        "/console/claims/filters", data={"name": "Acceptées", "status": "rejected"}, follow_redirects=True
    )
    assert "Vous avez déjà un filtre de ce nom" in refused.get_data(as_text=True)
    assert [(s.owner_id, s.args) for s in saved_rows()] == [(first.id, {"status": "accepted"})]
    second = make_staff("paralegal")  # another owner may use the same name
    other_client = app.test_client()
    sign_in(other_client, second)
    save(other_client, "Acceptées", status="accepted")
    assert sorted(str(s.owner_id) for s in saved_rows()) == sorted([str(first.id), str(second.id)])


def test_private_filters_are_invisible_to_others_and_shared_ones_visible(
    app: Flask, client: FlaskClient, make_staff: Any, login_as: Any
) -> None:
    owner = login_as("paralegal")
    save(client, "Filtre privé", status="needs_info")
    save(client, "Filtre partagé", shared=True, status="in_review", assignee="me")
    private, shared = saved_rows()
    assert shared.shared and not private.shared

    client = app.test_client()  # another paralegal's browser
    sign_in(client, make_staff("paralegal"))
    page = client.get("/console/claims").get_data(as_text=True)
    assert "Filtre partagé" in page and "Filtre privé" not in page
    assert f"partagé par {owner.full_name}" in page
    # No delete button on someone else's filter, and the routes refuse.
    assert f"/console/claims/filters/{shared.id}/delete" not in page
    assert client.post(f"/console/claims/filters/{private.id}/delete").status_code == 404
    assert client.post(f"/console/claims/filters/{shared.id}/delete").status_code == 403
    assert client.post("/console/claims/filters/999999/delete").status_code == 404
    assert len(saved_rows()) == 2 and events("queue_filter.deleted") == []

    # "me" in a shared filter stays "me": whoever applies it.
    link = re.search(r'<a href="([^"]+)"[^>]*>Filtre partagé</a>', page)
    assert link is not None and "assignee=me" in link.group(1)


def test_only_the_owner_or_a_lawyer_may_delete_a_shared_filter(
    app: Flask, client: FlaskClient, make_staff: Any
) -> None:
    owner, colleague, admin = make_staff("paralegal"), make_staff("paralegal"), make_staff("admin")
    lawyer = make_staff("lawyer")
    saved = save_filter(owner, name="Partagé", shared=True, args={"status": "accepted"})
    private = save_filter(owner, name="Privé", shared=False, args={"status": "accepted"})
    db.session.commit()
    saved_id = saved.id
    for refused in (colleague, admin):
        with pytest.raises(SavedFilterError, match="not_owner"):
            delete_filter(saved, actor=refused)
    with pytest.raises(SavedFilterError, match="not_owner"):
        delete_filter(private, actor=lawyer)

    # Through the page: the lawyer sees the delete button on the shared filter and uses it.
    sign_in(client, lawyer)
    page = client.get("/console/claims").get_data(as_text=True)
    assert f"/console/claims/filters/{saved_id}/delete" in page
    assert client.post(f"/console/claims/filters/{private.id}/delete").status_code == 404
    assert client.post(f"/console/claims/filters/{saved_id}/delete").status_code == 302
    assert [row.name for row in saved_rows()] == ["Privé"]
    [event] = events("queue_filter.deleted")
    assert event.actor_id == str(lawyer.id) and event.details["owner"] == str(owner.id)


def test_names_are_escaped(app: Flask, client: FlaskClient, login_as: Any) -> None:
    login_as("lawyer")
    hostile = '<img src=x onerror="alert(1)">'
    save(client, hostile, shared=True, status="accepted")
    [saved] = saved_rows()
    assert saved.name == hostile  # kept as typed, escaped when shown
    page = client.get("/console/claims").get_data(as_text=True)
    assert hostile not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    # Nor does the audit log carry it.
    assert all("img" not in str(e.details) for e in events("queue_filter.saved"))


def test_csrf_is_enforced(app: Flask, client: FlaskClient, make_staff: Any) -> None:
    user = make_staff("paralegal")
    sign_in(client, user)
    app.config["WTF_CSRF_ENABLED"] = True  # as outside tests
    try:
        assert save(client, "Sans jeton", status="accepted").status_code == 400
        assert saved_rows() == []
        page = client.get("/console/claims").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token is not None
        response = client.post(
            "/console/claims/filters",
            data={"name": "Avec jeton", "status": "accepted", "csrf_token": token.group(1)},
        )
        assert response.status_code == 302
        [saved] = saved_rows()
        assert client.post(f"/console/claims/filters/{saved.id}/delete").status_code == 400
        assert len(saved_rows()) == 1
        response = client.post(
            f"/console/claims/filters/{saved.id}/delete", data={"csrf_token": token.group(1)}
        )
        assert response.status_code == 302 and saved_rows() == []
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_admins_do_not_see_the_queue_nor_its_filters(app: Flask, client: FlaskClient, login_as: Any) -> None:
    login_as("admin")
    assert save(client, "Admin", status="accepted").status_code == 403
    assert client.post("/console/claims/filters/1/delete").status_code == 403
    assert saved_rows() == []
