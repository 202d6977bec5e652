"""flask keys ...: master-key status and rotation."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..audit.operations import record_event
from ..extensions import db
from . import current_keyring, set_current_keyring
from .keys import save_keyring
from .operations import master_keys_in_use, rewrap_data_keys

keys_cli = AppGroup("keys", help="Master keys: status and rotation (key material is never printed).")


@keys_cli.command("status")
def status() -> None:
    """Show the current master key id and how many data keys each master key wraps."""
    keyring = current_keyring()
    click.echo(f"current master key: {keyring.current_master_key_id}")
    click.echo(f"source: {keyring.path or 'environment (RECOURS_MASTER_KEYS)'}")
    in_use = master_keys_in_use()
    for key_id in keyring.master_keys:
        click.echo(f"  {key_id}: {in_use.get(key_id, 0)} data keys")
    for key_id in sorted(set(in_use) - set(keyring.master_keys)):
        click.echo(f"  {key_id}: {in_use[key_id]} data keys  (MISSING from the keyring!)")


@keys_cli.command("rotate")
@click.option(
    "--retire/--keep-old",
    default=True,
    show_default=True,
    help="After re-wrapping, remove master keys no data key uses any more (key file only).",
)
def rotate(retire: bool) -> None:
    """Re-wrap every data key under a new master key, without touching the data.

    With a key file (embedded default, RECOURS_KEY_FILE) a new master key is
    generated and saved first, so an interrupted rotation can simply be run
    again. With RECOURS_MASTER_KEYS, put the new key first yourself
    ("new:base64,old:base64"), run this, then drop the old key.
    """
    keyring = current_keyring()
    if keyring.path is not None:
        keyring = keyring.with_new_master_key()
        save_keyring(keyring)
        set_current_keyring(keyring)
        click.echo(f"new master key {keyring.current_master_key_id} saved to {keyring.path}")
    count = rewrap_data_keys(keyring)
    record_event(
        "keys.rotated",
        details={"master_key_id": keyring.current_master_key_id, "rewrapped": count},
    )
    db.session.commit()
    click.echo(f"re-wrapped {count} data keys under {keyring.current_master_key_id}")

    unused = set(keyring.master_keys) - set(master_keys_in_use()) - {keyring.current_master_key_id}
    if not unused:
        return
    if retire and keyring.path is not None:
        keyring = keyring.without_master_keys(unused)
        save_keyring(keyring)
        set_current_keyring(keyring)
        click.echo(f"retired master keys no longer in use: {', '.join(sorted(unused))}")
    else:
        click.echo(f"no longer in use, safe to remove: {', '.join(sorted(unused))}")
