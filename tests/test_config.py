"""Configuration: the embedded default makes its keys; production refuses unsafe settings."""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from claims import ConfigError
from claims.crypto import current_keyring
from claims.crypto.keys import KEY_FILE_NAME
from claims.extensions import db

STRONG_SECRET = secrets.token_hex(32)


def b64key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    env = {
        "RECOURS_DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "RECOURS_SECRET_KEY": STRONG_SECRET,
        "RECOURS_MASTER_KEYS": f"mk-2026:{b64key()}",
        "RECOURS_BLIND_INDEX_KEY": b64key(),
        "RECOURS_MAIL_BACKEND": "smtp",
        "RECOURS_MAIL_SERVER": "smtp.example.org",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_production_starts_with_everything_set(make_app: Any, production_env: dict[str, str]) -> None:
    app = make_app("production")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    with app.app_context():
        assert current_keyring().current_master_key_id == "mk-2026"
    # Key material never stays in the config.
    assert "MASTER_KEYS" not in app.config and "BLIND_INDEX_KEY" not in app.config
    assert not (Path(app.instance_path) / KEY_FILE_NAME).exists()


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("RECOURS_DATABASE_URL", "RECOURS_DATABASE_URL is not set"),
        ("RECOURS_SECRET_KEY", "RECOURS_SECRET_KEY is not set"),
        ("RECOURS_MASTER_KEYS", "no master key"),
        ("RECOURS_BLIND_INDEX_KEY", "RECOURS_BLIND_INDEX_KEY is not"),
        ("RECOURS_MAIL_SERVER", "RECOURS_MAIL_SERVER are not set"),
        ("RECOURS_MAIL_BACKEND", "the console backend"),
    ],
)
def test_production_refuses_a_missing_setting(
    make_app: Any, production_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, missing: str, message: str
) -> None:
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigError, match=message):
        make_app("production")


@pytest.mark.parametrize("secret", ["dev", "changeme", "x" * 31])
def test_production_refuses_a_weak_secret_key(
    make_app: Any, production_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    monkeypatch.setenv("RECOURS_SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="default or shorter than 32"):
        make_app("production")


def test_production_does_not_take_the_key_files_secret(
    make_app: Any, production_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "keys.json"
    subprocess.run(
        [sys.executable, "-m", "claims.crypto.keys", str(key_file)], check=True, capture_output=True
    )
    monkeypatch.delenv("RECOURS_MASTER_KEYS")
    monkeypatch.delenv("RECOURS_SECRET_KEY")
    monkeypatch.setenv("RECOURS_KEY_FILE", str(key_file))
    with pytest.raises(ConfigError, match="RECOURS_SECRET_KEY is not set"):
        make_app("production")
    monkeypatch.setenv("RECOURS_SECRET_KEY", STRONG_SECRET)
    app = make_app("production")
    with app.app_context():
        assert current_keyring().path == key_file


def test_malformed_master_keys_are_refused(
    make_app: Any, production_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOURS_MASTER_KEYS", "not-a-key")
    with pytest.raises(ConfigError, match="id:base64"):
        make_app("production")
    monkeypatch.setenv("RECOURS_MASTER_KEYS", f"mk:{base64.b64encode(b'short').decode()}")
    with pytest.raises(ConfigError, match="32 bytes"):
        make_app("production")


def test_embedded_default_generates_a_private_key_file_once(make_app: Any, tmp_path: Path) -> None:
    app = make_app("development")
    key_file = Path(app.instance_path) / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    content = json.loads(key_file.read_text())
    assert app.config["SECRET_KEY"] == content["secret_key"]
    with app.app_context():
        first = current_keyring().current_master_key_id
    again = make_app("development")
    with again.app_context():
        assert current_keyring().current_master_key_id == first
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_key_file_readable_by_others_is_refused(make_app: Any) -> None:
    app = make_app("development")
    key_file = Path(app.instance_path) / KEY_FILE_NAME
    key_file.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by other users"):
        make_app("development")


def test_keyring_repr_shows_no_key_material(make_app: Any) -> None:
    app = make_app()
    with app.app_context():
        keyring = current_keyring()
        text = repr(keyring)
    assert keyring.current_master_key_id in text
    assert base64.b64encode(keyring.current_master_key).decode() not in text
    assert repr(keyring.current_master_key) not in text


def test_prefixed_environment_overrides(
    make_app: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RECOURS_VAULT_PATH", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("RECOURS_MAX_CONTENT_LENGTH", "1234")
    app = make_app()
    assert app.config["MAX_CONTENT_LENGTH"] == 1234
    assert (tmp_path / "elsewhere").is_dir()


def test_unknown_environment_name_is_refused(make_app: Any) -> None:
    with pytest.raises(ConfigError, match="RECOURS_ENV"):
        make_app("staging")


def test_sqlite_runs_in_wal_mode_with_secure_delete(app: Any) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    assert db.session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    assert db.session.execute(sa.text("PRAGMA secure_delete")).scalar() == 1
    assert db.session.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1


def test_key_file_command(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    done = subprocess.run(
        [sys.executable, "-m", "claims.crypto.keys", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_text()
    assert content not in done.stdout
    again = subprocess.run(
        [sys.executable, "-m", "claims.crypto.keys", str(path)], capture_output=True, text=True, check=False
    )
    assert again.returncode != 0 and "refusing to overwrite" in again.stderr
    assert path.read_text() == content
