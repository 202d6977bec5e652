"""Configuration classes.

Order of precedence (later wins): the class chosen by ``RECOURS_ENV``
(``development`` by default), the instance folder's ``config.py``, then
environment variables prefixed ``RECOURS_`` (``RECOURS_SECRET_KEY``,
``RECOURS_DATABASE_URL``, ``RECOURS_VAULT_PATH`` ...).

Key material never lives here: the master keys, the blind-index key and (in
the embedded default) the secret key come from the key file or the
environment, see ``claims/crypto/keys.py``.
"""

from __future__ import annotations

from typing import ClassVar


class Config:
    ENV_NAME = "base"
    # The database URL; None means "the embedded SQLite file under the
    # instance folder" where that is allowed (not in production).
    DATABASE_URL: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, object]] = {"pool_pre_ping": True}
    SECRET_KEY: str | None = None

    # Where key material comes from. In the embedded default the key file
    # is created on first run under the instance folder with mode 0600.
    KEY_FILE: str | None = None
    GENERATE_KEYS = False
    MASTER_KEYS: str | None = None  # "id:base64[,id:base64...]", first is current
    BLIND_INDEX_KEY: str | None = None  # base64, 32 bytes

    # Evidence vault: "local" (encrypted files on disk). VAULT_PATH defaults
    # to <instance>/vault.
    VAULT_BACKEND = "local"
    VAULT_PATH: str | None = None

    # Request bodies above this size are refused with 413 before being read.
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PREFERRED_URL_SCHEME = "https"
    WTF_CSRF_TIME_LIMIT = 3600
    # Strict-Transport-Security is only sent where HTTPS is guaranteed.
    SEND_HSTS = False


class DevelopmentConfig(Config):
    """The embedded default: SQLite (WAL), local vault, keys generated on first run."""

    ENV_NAME = "development"
    GENERATE_KEYS = True
    PREFERRED_URL_SCHEME = "http"


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    GENERATE_KEYS = True
    WTF_CSRF_ENABLED = False
    PREFERRED_URL_SCHEME = "http"


class ProductionConfig(Config):
    """Refuses to start without a database URL, a strong secret key and a master key."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    SEND_HSTS = True


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
