"""Recours: collective actions for the victims of data breaches."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from config import CONFIGS

from . import crypto, vault
from .crypto.keys import KEY_FILE_NAME, KeyConfigError, load_keys
from .extensions import babel, csrf, db, limiter, migrate

WEAK_SECRET_KEYS = {"dev", "development", "secret", "changeme", "change-me", "please-change-me"}
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the message says what to set."""


def create_app(
    config_name: str | None = None,
    overrides: dict[str, Any] | None = None,
    instance_path: str | None = None,
) -> Flask:
    config_name = config_name or os.environ.get("RECOURS_ENV", "development")
    if config_name not in CONFIGS:
        raise ConfigError(f"RECOURS_ENV must be one of {', '.join(CONFIGS)}, not {config_name!r}")
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_relative_config=True,
        instance_path=instance_path,
    )
    app.config.from_object(CONFIGS[config_name])
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("RECOURS")
    if overrides:
        app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True, mode=0o700)

    # The local jobs worker (a separate process) builds its app from the same arguments.
    app.extensions["recours_factory"] = (config_name, overrides, app.instance_path)
    _configure_keys(app)
    _configure_database(app)
    if config_name == "production":
        _check_production(app)
    if app.config["JOBS_RUNNER"] == "celery":
        from .jobs.celery_runner import make_celery

        if not app.config.get("CELERY_BROKER_URL"):
            raise ConfigError("JOBS_RUNNER=celery needs RECOURS_CELERY_BROKER_URL (e.g. redis://host:6379/0)")
        make_celery(app)

    from .logs import configure_logging

    configure_logging(app)
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(Path(app.root_path).parent / "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    vault.init_app(app)
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from . import models  # noqa: F401  (every model registered with the metadata)
    from .accounts import init_app as init_accounts
    from .console import bp as console_bp
    from .errors import init_app as init_errors
    from .i18n import init_app as init_i18n
    from .intake import init_app as init_intake
    from .public import bp as public_bp
    from .security import init_app as init_security

    init_i18n(app, babel)
    init_security(app)
    init_errors(app)
    app.register_blueprint(public_bp)
    init_intake(app)
    init_accounts(app)
    app.register_blueprint(console_bp)
    from .review.routes import bp as review_bp

    app.register_blueprint(review_bp)
    from .review.reports import reports_bp

    app.register_blueprint(reports_bp)
    from .filings.routes import bp as filings_bp

    app.register_blueprint(filings_bp)
    from .portal import init_app as init_portal

    init_portal(app)

    from .cli import register_cli

    register_cli(app)
    return app


def _configure_keys(app: Flask) -> None:
    # Key material leaves app.config as soon as it is read.
    master_keys = app.config.pop("MASTER_KEYS", None)
    blind_index_key = app.config.pop("BLIND_INDEX_KEY", None)
    try:
        loaded = load_keys(
            master_keys=master_keys,
            blind_index_key=blind_index_key,
            key_file=app.config.get("KEY_FILE"),
            default_key_file=Path(app.instance_path) / KEY_FILE_NAME,
            generate=app.config["GENERATE_KEYS"],
        )
    except KeyConfigError as exc:
        raise ConfigError(str(exc)) from None
    crypto.init_app(app, loaded.keyring)
    if not app.config.get("SECRET_KEY") and loaded.secret_key and app.config["ENV_NAME"] != "production":
        app.config["SECRET_KEY"] = loaded.secret_key


def _configure_database(app: Flask) -> None:
    url = app.config.get("DATABASE_URL") or app.config.get("SQLALCHEMY_DATABASE_URI")
    if not url and app.config["ENV_NAME"] != "production":
        url = f"sqlite:///{Path(app.instance_path) / 'recours.sqlite3'}"
    if url and url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    app.config["SQLALCHEMY_DATABASE_URI"] = url


def _check_production(app: Flask) -> None:
    problems = []
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        problems.append("RECOURS_DATABASE_URL is not set (e.g. postgresql://user@host/recours)")
    secret = app.config.get("SECRET_KEY") or ""
    if not secret:
        problems.append("RECOURS_SECRET_KEY is not set")
    elif secret.lower() in WEAK_SECRET_KEYS or len(secret) < MIN_SECRET_KEY_LENGTH:
        problems.append(
            f"RECOURS_SECRET_KEY is a default or shorter than {MIN_SECRET_KEY_LENGTH} characters "
            "(generate one: python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    if app.config.get("MAIL_BACKEND") != "smtp" or not app.config.get("MAIL_SERVER"):
        problems.append(
            "RECOURS_MAIL_BACKEND=smtp and RECOURS_MAIL_SERVER are not set (the console backend "
            "would print claimants' mail into the logs)"
        )
    if problems:
        raise ConfigError("refusing to start in production:\n  - " + "\n  - ".join(problems))
