"""Key material: master keys (which wrap data keys) and the blind-index key.

Sources, first found wins:

1. the environment: ``RECOURS_MASTER_KEYS`` (``id:base64[,id:base64...]``,
   the first is the current key, the others stay usable for unwrapping until
   rotation has re-wrapped everything) and ``RECOURS_BLIND_INDEX_KEY``;
2. a key file (JSON, mode 0600): ``RECOURS_KEY_FILE`` or, where generation is
   allowed (embedded default, tests), ``<instance>/recours-keys.json``, created
   on first run.

Key material is never stored in ``app.config`` nor in the database, and never
logged: ``Keyring.__repr__`` shows key ids only.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..fileio import make_dirs_durably, write_atomically

KEY_BYTES = 32
KEY_FILE_NAME = "recours-keys.json"


class KeyConfigError(RuntimeError):
    """Key material is missing, malformed or insecurely stored."""


@dataclass(frozen=True)
class Keyring:
    master_keys: dict[str, bytes] = field(repr=False)
    current_master_key_id: str
    blind_index_key: bytes = field(repr=False)
    # Where the keyring came from: a file path (rotation may rewrite it) or None (environment).
    path: Path | None = None

    def __post_init__(self) -> None:
        if self.current_master_key_id not in self.master_keys:
            raise KeyConfigError("the current master key is not in the keyring")
        for key_id, key in self.master_keys.items():
            _check_key(key, f"master key {key_id!r}")
        _check_key(self.blind_index_key, "blind-index key")

    @property
    def current_master_key(self) -> bytes:
        return self.master_keys[self.current_master_key_id]

    def master_key(self, key_id: str) -> bytes:
        try:
            return self.master_keys[key_id]
        except KeyError:
            raise KeyConfigError(f"master key {key_id!r} is not in the keyring") from None

    def with_new_master_key(self) -> Keyring:
        """A keyring with a fresh current master key; older keys kept for unwrapping."""
        key_id = new_master_key_id()
        keys = {key_id: secrets.token_bytes(KEY_BYTES), **self.master_keys}
        return Keyring(keys, key_id, self.blind_index_key, self.path)

    def without_master_keys(self, key_ids: set[str]) -> Keyring:
        if self.current_master_key_id in key_ids:
            raise KeyConfigError("the current master key cannot be retired")
        keys = {k: v for k, v in self.master_keys.items() if k not in key_ids}
        return Keyring(keys, self.current_master_key_id, self.blind_index_key, self.path)


def new_master_key_id() -> str:
    return f"mk-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"


def _check_key(key: bytes, what: str) -> None:
    if len(key) != KEY_BYTES:
        raise KeyConfigError(f"the {what} must be {KEY_BYTES} bytes")


def _b64decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyConfigError(f"the {what} is not valid base64") from None


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def parse_master_keys(value: str) -> tuple[dict[str, bytes], str]:
    """Parse ``id:base64[,id:base64...]``; the first entry is the current key."""
    keys: dict[str, bytes] = {}
    current = None
    for item in value.split(","):
        key_id, sep, encoded = item.strip().partition(":")
        if not sep or not key_id:
            raise KeyConfigError("RECOURS_MASTER_KEYS must be 'id:base64[,id:base64...]'")
        keys[key_id] = _b64decode(encoded, f"master key {key_id!r}")
        current = current or key_id
    if current is None:
        raise KeyConfigError("RECOURS_MASTER_KEYS is empty")
    return keys, current


def generate_key_file_content() -> dict:
    key_id = new_master_key_id()
    return {
        "version": 1,
        "current_master_key": key_id,
        "master_keys": {key_id: _b64(secrets.token_bytes(KEY_BYTES))},
        "blind_index_key": _b64(secrets.token_bytes(KEY_BYTES)),
        "secret_key": secrets.token_hex(32),
    }


def write_key_file(path: Path, content: dict) -> None:
    """Write the key file atomically and durably, readable by its owner only."""
    make_dirs_durably(path.parent)
    text = json.dumps(content, indent=2, sort_keys=True) + "\n"
    write_atomically(path, [text.encode("utf-8")])


def read_key_file(path: Path) -> dict:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyConfigError(
            f"the key file {path} is readable by other users (mode {stat.S_IMODE(mode):o}); "
            "run: chmod 600 on it"
        )
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KeyConfigError(f"the key file {path} cannot be read: {exc.__class__.__name__}") from None
    if not isinstance(content, dict) or content.get("version") != 1:
        raise KeyConfigError(f"the key file {path} is not a Recours key file (version 1)")
    return content


def keyring_from_file_content(content: dict, path: Path | None) -> Keyring:
    try:
        keys = {k: _b64decode(v, f"master key {k!r}") for k, v in content["master_keys"].items()}
        return Keyring(
            keys,
            content["current_master_key"],
            _b64decode(content["blind_index_key"], "blind-index key"),
            path,
        )
    except (KeyError, AttributeError, TypeError):
        raise KeyConfigError(
            "the key file lacks master_keys, current_master_key or blind_index_key"
        ) from None


def save_keyring(keyring: Keyring) -> None:
    """Persist a changed keyring to its file (the other entries are kept)."""
    if keyring.path is None:
        raise KeyConfigError(
            "the keyring comes from the environment: set RECOURS_MASTER_KEYS yourself "
            "(new key first, old keys after it) and run the command again"
        )
    content = read_key_file(keyring.path)
    content["master_keys"] = {k: _b64(v) for k, v in keyring.master_keys.items()}
    content["current_master_key"] = keyring.current_master_key_id
    write_key_file(keyring.path, content)


@dataclass(frozen=True)
class LoadedKeys:
    keyring: Keyring
    # The Flask secret key when the key file provides one (embedded default).
    secret_key: str | None


def load_keys(
    *,
    master_keys: str | None,
    blind_index_key: str | None,
    key_file: str | None,
    default_key_file: Path,
    generate: bool,
) -> LoadedKeys:
    if master_keys:
        if not blind_index_key:
            raise KeyConfigError("RECOURS_MASTER_KEYS is set but RECOURS_BLIND_INDEX_KEY is not")
        keys, current = parse_master_keys(master_keys)
        return LoadedKeys(Keyring(keys, current, _b64decode(blind_index_key, "blind-index key")), None)

    path = Path(key_file) if key_file else default_key_file
    if not path.exists():
        if not generate:
            raise KeyConfigError(
                "no master key: set RECOURS_MASTER_KEYS and RECOURS_BLIND_INDEX_KEY, "
                "or RECOURS_KEY_FILE to a key file (create one with: python -m claims.crypto.keys PATH)"
            )
        write_key_file(path, generate_key_file_content())
    content = read_key_file(path)
    return LoadedKeys(keyring_from_file_content(content, path), content.get("secret_key"))


def main(argv: list[str] | None = None) -> int:
    """``python -m claims.crypto.keys PATH``: create a new key file (mode 0600)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m claims.crypto.keys",
        description="Create a Recours key file (master key, blind-index key, secret key), mode 0600. "
        "Keep it outside the repository and outside database backups.",
    )
    parser.add_argument("path", type=Path, help="where to write the key file; must not exist")
    args = parser.parse_args(argv)
    if args.path.exists():
        parser.error(f"{args.path} exists; refusing to overwrite key material")
    write_key_file(args.path, generate_key_file_content())
    print(f"key file written: {args.path} (mode 600)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
