"""flask users ...: create staff accounts from the command line."""

from __future__ import annotations

import click
from flask import current_app, url_for
from flask.cli import AppGroup

from ..extensions import db
from .models import Role
from .operations import AccountError, create_user

users_cli = AppGroup("users", help="Staff accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True, help="The account's role.")
@click.option(
    "--name", "full_name", default=None, help="Full name shown in the console (default: the email)."
)
def create(email: str, role: str, full_name: str | None) -> None:
    """Create a staff account and print its one-time invitation link.

    The link sets the password, then asks for two-factor enrolment. It works
    once and expires after INVITATION_DAYS days. Set RECOURS_BASE_URL so the
    link carries the public address of the console.
    """
    try:
        user, token = create_user(email, full_name or email, Role(role))
    except AccountError:
        raise click.ClickException("an account with this email exists already") from None
    db.session.commit()
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        link = url_for("accounts.accept", token=token, _external=True)
    click.echo(
        f"Invitation for {user.email} ({role}), valid {current_app.config['INVITATION_DAYS']} days, once:"
    )
    click.echo(link)
