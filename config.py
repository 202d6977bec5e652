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
    # hide_parameters: database errors never quote the values of a statement.
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, object]] = {"pool_pre_ping": True, "hide_parameters": True}
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

    # Request bodies above this size are refused with 413 before being read. An uploaded file
    # is held in memory (never in a clear temporary file), at most 15 MB of it (see security.py).
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024

    # Flask's signed cookie holds only the CSRF token; who is signed in lives
    # in the server-side staff_sessions table, behind its own cookie.
    SESSION_COOKIE_NAME = "recours_session"
    STAFF_SESSION_COOKIE_NAME = "recours_staff"
    # Holds the token of the claimant's draft (or submitted) claim.
    DRAFT_COOKIE_NAME = "recours_draft"
    DRAFT_COOKIE_DAYS = 30
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SECURE = False
    SESSION_COOKIE_SAMESITE = "Lax"
    PREFERRED_URL_SCHEME = "https"
    WTF_CSRF_TIME_LIMIT = 3600
    # Strict-Transport-Security is only sent where HTTPS is guaranteed.
    SEND_HSTS = False
    # Public address of the app, for links made outside a request (CLI, emails).
    BASE_URL = "http://127.0.0.1:5000"
    # Number of reverse proxies in front of the app whose X-Forwarded-* to trust.
    TRUSTED_PROXIES = 0

    STAFF_SESSION_IDLE_SECONDS = 30 * 60
    STAFF_SESSION_MAX_SECONDS = 12 * 3600
    # Time allowed between the password and the second factor (or enrolment).
    STAFF_SIGN_IN_STEP_SECONDS = 10 * 60
    # Sensitive actions ask for password and code again after this long.
    REAUTH_SECONDS = 10 * 60
    INVITATION_DAYS = 7
    LOCKOUT_THRESHOLD = 5
    LOCKOUT_BASE_SECONDS = 60
    LOCKOUT_MAX_SECONDS = 3600

    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT_IP = "10 per minute; 100 per hour"
    LOGIN_RATE_LIMIT_ACCOUNT = "20 per hour"
    CODE_RATE_LIMIT = "10 per minute"
    INTAKE_START_RATE_LIMIT = "20 per hour"
    INTAKE_SUBMIT_RATE_LIMIT = "10 per hour"
    RESUME_LINK_RATE_LIMIT = "5 per hour"
    RESUME_LINK_HOURS = 24
    # Claimant portal (/me): one-time sign-in links and short sessions of their own.
    PORTAL_COOKIE_NAME = "recours_portal"
    PORTAL_LINK_MINUTES = 15
    PORTAL_SESSION_IDLE_MINUTES = 20
    PORTAL_SESSION_MAX_MINUTES = 120
    PORTAL_LINK_RATE_LIMIT_IP = "10 per hour"
    PORTAL_LINK_RATE_LIMIT_EMAIL = "5 per hour"

    # "console" (embedded default: printed, never sent) or "smtp".
    MAIL_BACKEND = "console"
    MAIL_SERVER: str | None = None
    MAIL_PORT = 587
    MAIL_USE_STARTTLS = True
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_FROM = "Recours <no-reply@recours.invalid>"
    MAIL_TIMEOUT = 10
    MAIL_MAX_ATTEMPTS = 8

    # "local" (a worker process started by the web process), "celery" (workers over Redis,
    # production) or "inline" (right after the commit: tests).
    JOBS_RUNNER = "local"
    # JOBS_RUNNER = "celery": the Redis broker and the queue the workers consume.
    CELERY_BROKER_URL: str | None = None
    CELERY_QUEUE = "recours"
    # Seconds before Redis gives a job's message, taken by a worker but not acknowledged, to
    # another worker: how long a job whose worker (or machine) died waits to be run again.
    # Must be longer than the longest job (a large filing's pack), or a job still running is
    # started a second time elsewhere. A worker process killed under a live worker (the OOM
    # killer) is not concerned: its job is given back at once.
    CELERY_VISIBILITY_TIMEOUT = 4 * 3600
    # Seconds after which a job still running is taken to have lost its runner (a local worker
    # gone with its web process, a Celery message lost with Redis): ``flask jobs run`` runs it
    # again. Longer than the longest job and than CELERY_VISIBILITY_TIMEOUT.
    JOBS_STALE_AFTER = 8 * 3600

    LANGUAGES = ("fr", "en")
    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"


class DevelopmentConfig(Config):
    """The embedded default: SQLite (WAL), local vault, keys generated on first run."""

    ENV_NAME = "development"
    GENERATE_KEYS = True
    PREFERRED_URL_SCHEME = "http"


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    JOBS_RUNNER = "inline"
    GENERATE_KEYS = True
    WTF_CSRF_ENABLED = False
    PREFERRED_URL_SCHEME = "http"


class ProductionConfig(Config):
    """Refuses to start without a database URL, a strong secret key and a master key."""

    ENV_NAME = "production"
    # __Host- cookies: Secure, no Domain, Path=/ (HTTPS only, so not in the embedded default).
    SESSION_COOKIE_NAME = "__Host-recours_session"
    STAFF_SESSION_COOKIE_NAME = "__Host-recours_staff"
    DRAFT_COOKIE_NAME = "__Host-recours_draft"
    PORTAL_COOKIE_NAME = "__Host-recours_portal"
    SESSION_COOKIE_SECURE = True
    SEND_HSTS = True


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
