"""Migrations build the schema from nothing, and match the models exactly."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_migrate import check, downgrade, upgrade

from claims.extensions import db
from tests.conftest import drop_everything


def test_upgrade_from_empty_then_check_and_downgrade(make_app: Any) -> None:
    app = make_app()
    with app.app_context():
        drop_everything()
        try:
            upgrade()
            tables = set(sa.inspect(db.engine).get_table_names())
            assert set(db.metadata.tables) <= tables
            assert "alembic_version" in tables
            check()  # raises (exits) on any difference between models and migrations
            downgrade(revision="base")
            assert set(sa.inspect(db.engine).get_table_names()) == {"alembic_version"}
        finally:
            drop_everything()
