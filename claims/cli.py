"""Registers every feature's flask commands."""

from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    from .accounts.cli import users_cli
    from .audit.cli import audit_cli
    from .crypto.cli import keys_cli
    from .demo.cli import demo_cli
    from .filings.cli import bundles_cli, filings_cli
    from .intake.cli import retention_cli
    from .jobs.cli import jobs_cli
    from .mail.cli import mail_cli
    from .review.cli import review_cli
    from .vault.cli import vault_cli

    for group in (
        keys_cli,
        audit_cli,
        demo_cli,
        vault_cli,
        users_cli,
        mail_cli,
        retention_cli,
        jobs_cli,
        review_cli,
        filings_cli,
        bundles_cli,
    ):
        app.cli.add_command(group)
