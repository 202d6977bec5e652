"""Every console endpoint, found by walking the URL map, is closed by default.

Endpoints declare their access with @access (claims.accounts.access); these
tests read the declarations, so a new endpoint is covered without editing
them, and an endpoint that declares nothing is refused to everyone.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from claims.accounts.access import PUBLIC, SIGN_IN_STEP, SIGNED_IN, access
from claims.accounts.models import Role
from claims.accounts.permissions import PERMISSIONS, Permission
from tests.conftest import sign_in

ARGUMENT_VALUES = {
    "uuid": uuid.uuid4(),
    "default": "not-a-real-token",
    "string": "x",
    "int": 1,
    "integer": 1,
    "any": "preview",
}
EXPECTED_PUBLIC = {"accounts.login", "accounts.accept"}


def console_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, url, method) for every console rule and method."""
    routes = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith("/console"):
                continue
            values = {
                name: ARGUMENT_VALUES.get(type(conv).__name__.replace("Converter", "").lower(), "x")
                for name, conv in rule._converters.items()
            }
            url = rule.build(values)[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append((rule.endpoint, url, method))
    return routes


def declared(app: Flask, endpoint: str) -> Any:
    return getattr(app.view_functions[endpoint], "staff_access", None)


def request(client: FlaskClient, url: str, method: str) -> Any:
    return client.open(url, method=method, data={})


def test_the_walk_finds_the_console(app: Flask) -> None:
    endpoints = {e for e, _, _ in console_routes(app)}
    assert {"console.index", "accounts.users", "accounts.set_role", "accounts.login"} <= endpoints


def test_every_console_endpoint_declares_its_access(app: Flask) -> None:
    for endpoint, _, _ in console_routes(app):
        level = declared(app, endpoint)
        assert level in (PUBLIC, SIGN_IN_STEP, SIGNED_IN) or isinstance(level, Permission), endpoint


def test_public_console_endpoints_are_only_the_expected_ones(app: Flask) -> None:
    public = {e for e, _, _ in console_routes(app) if declared(app, e) == PUBLIC}
    assert public == EXPECTED_PUBLIC


def test_anonymous_visitors_are_refused_everywhere(app: Flask, client: FlaskClient) -> None:
    for endpoint, url, method in console_routes(app):
        if declared(app, endpoint) == PUBLIC:
            continue
        response = request(client, url, method)
        # Sent to the sign-in page, or (a form posted without a session) 401.
        refused = response.status_code == 401 or (
            response.status_code == 302 and response.location.startswith("/console/login")
        )
        assert refused, (endpoint, method, response.status_code, response.location)


@pytest.mark.parametrize("enrolled", [True, False], ids=["before-code", "before-enrolment"])
def test_signed_in_without_second_factor_is_refused(
    app: Flask, client: FlaskClient, make_staff: Any, enrolled: bool
) -> None:
    user = make_staff("admin", enrolled=enrolled)
    sign_in(client, user, second_factor=False)
    stage_page = "/console/2fa" if enrolled else "/console/2fa/setup"
    for endpoint, url, method in console_routes(app):
        if declared(app, endpoint) in (PUBLIC, SIGN_IN_STEP):
            continue
        response = request(client, url, method)
        assert response.status_code == 302, (endpoint, method, response.status_code)
        assert response.location.endswith(stage_page), (endpoint, response.location)


@pytest.mark.parametrize("role", list(Role))
def test_each_role_reaches_only_what_its_permissions_allow(
    app: Flask, client: FlaskClient, make_staff: Any, role: Role
) -> None:
    sign_in(client, make_staff(role))
    checked = 0
    for endpoint, url, method in console_routes(app):
        level = declared(app, endpoint)
        if endpoint == "accounts.logout":
            continue  # would end the session the walk uses
        response = request(client, url, method)
        if isinstance(level, Permission) and level not in PERMISSIONS[role]:
            assert response.status_code == 403, (role, endpoint, method, response.status_code)
            checked += 1
        else:
            assert response.status_code != 403, (role, endpoint, method)
    if role != Role.ADMIN:
        assert checked > 0  # paralegals and lawyers meet admin-only endpoints


def test_undeclared_endpoint_is_refused_to_everyone(app: Flask, client: FlaskClient, make_staff: Any) -> None:
    # An endpoint named under the console blueprint gets its guard, but declares nothing.
    @app.get("/console/forgotten", endpoint="console.forgotten")
    def forgotten() -> str:
        return "secret"

    for role in Role:
        sign_in(client, make_staff(role))
        response = client.get("/console/forgotten")
        assert response.status_code == 403, role
        assert "secret" not in response.get_data(as_text=True)


def test_declaring_a_permission_is_enough(app: Flask) -> None:
    @access(Permission.MANAGE_CASES)
    def view() -> str:
        return ""

    assert view.staff_access is Permission.MANAGE_CASES
