"""flask demo seed: the demo case, staff accounts and synthetic claimants."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from .operations import get_demo_case, seed_demo

demo_cli = AppGroup("demo", help="Demo data (fictitious claimants, never real people).")


@demo_cli.command("seed")
@click.option(
    "--claimants",
    default=200,
    show_default=True,
    type=click.IntRange(min=0),
    help="How many synthetic claimants to add.",
)
@click.option("--seed", type=int, default=None, help="Random seed, for reproducible data.")
@click.option("--if-empty", is_flag=True, help="Do nothing if the demo case already exists.")
def seed(claimants: int, seed: int | None, if_empty: bool) -> None:
    """Create the demo case (AP-HP 2021), one staff account per role, and CLAIMANTS claimants.

    Staff passwords are random and printed once, when the accounts are created.
    """
    if if_empty and get_demo_case() is not None:
        click.echo(
            "The demo case exists already; nothing seeded. Staff passwords were printed "
            "when the demo was first seeded."
        )
        return
    started = time.monotonic()

    def progress(done: int) -> None:
        click.echo(f"  {done}/{claimants} claimants", err=True)

    result = seed_demo(claimants, seed, progress=progress)
    elapsed = time.monotonic() - started
    click.echo(f"Demo case: {result.case.title} ({'created' if result.created_case else 'existing'})")
    click.echo(
        f"Added {result.claimants} claimants and {result.evidence_files} evidence files in {elapsed:.1f} s."
    )
    if result.staff_credentials:
        click.echo("\nDemo staff accounts (shown once; two-factor enrolment at first sign-in):")
        for email, role, password in result.staff_credentials:
            click.echo(f"  {role.value:<10} {email:<28} {password}")
