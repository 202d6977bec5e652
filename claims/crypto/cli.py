"""flask keys ...: master-key status and rotation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TextIO

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from ..audit.operations import record_event
from ..extensions import db
from . import current_keyring, set_current_keyring
from .keys import save_keyring
from .models import DataKey
from .operations import master_keys_in_use, rewrap_data_keys

keys_cli = AppGroup(
    "keys", help="Master keys: status and rotation; destroyed data keys (key material is never printed)."
)


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


@keys_cli.command("destroyed")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Only the keys destroyed on or after this day (UTC).",
)
def destroyed(since: datetime | None) -> None:
    """Print the ids of the data keys destroyed (erasures, withdrawals, retention), one a line.

    Keep this list outside the database, beside the backups: after restoring a backup, the
    keys destroyed since it was taken must be destroyed again (``flask keys destroy``).
    """
    query = sa.select(DataKey.id).where(DataKey.destroyed_at.is_not(None)).order_by(DataKey.destroyed_at)
    if since is not None:
        query = query.where(DataKey.destroyed_at >= since.replace(tzinfo=UTC))
    for key_id in db.session.execute(query).scalars():
        click.echo(str(key_id))


@keys_cli.command("destroy")
@click.argument("key_ids", nargs=-1, type=click.UUID)
@click.option(
    "--from-file", type=click.File("r"), default=None, help="Ids one a line (from `keys destroyed`)."
)
def destroy(key_ids: tuple[uuid.UUID, ...], from_file: TextIO | None) -> None:
    """Destroy data keys again after a restore: what they protect becomes unreadable.

    For a database restored from a backup taken before some erasures: give the ids that
    ``flask keys destroyed`` printed since. Every claim under such a key is erased as an
    erasure does (the claim keeps the status it had in the backup), then the key is destroyed.
    Keys already destroyed, or unknown here, are counted and left alone.
    """
    wanted = list(key_ids)
    if from_file is not None:
        try:
            wanted += [uuid.UUID(line.strip()) for line in from_file if line.strip()]
        except ValueError as error:
            raise click.BadParameter(f"not a data key id: {error}", param_hint="--from-file") from None
    if not wanted:
        raise click.UsageError("give data key ids, or --from-file")
    from ..portal.retention import erase_by_key

    shredded = claims = already = unknown = 0
    for key_id in dict.fromkeys(wanted):
        data_key = db.session.get(DataKey, key_id)
        if data_key is None:
            unknown += 1
        elif data_key.destroyed:
            already += 1
        else:
            claims += erase_by_key(data_key, reason="restore")
            shredded += 1
        db.session.commit()  # key by key: an interrupted run can simply be run again
    click.echo(
        f"destroyed {shredded} data keys, {claims} claims erased "
        f"({already} already destroyed, {unknown} unknown here)"
    )
