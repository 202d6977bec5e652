"""Shared pieces of the benchmarks: an app on a throwaway instance folder, and the JSON line."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask

from claims import create_app
from claims.extensions import db
from claims.testing import FreshContextClient


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small size, for CI")
    return parser.parse_args()


@contextmanager
def benchmark_app(**overrides: Any) -> Iterator[Flask]:
    """A fresh app and schema; RECOURS_BENCH_DATABASE_URL selects PostgreSQL (wiped)."""
    with tempfile.TemporaryDirectory(prefix="recours-bench-") as tmp:
        url = os.environ.get("RECOURS_BENCH_DATABASE_URL") or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        app = create_app(
            "testing", {"DATABASE_URL": url, **overrides}, instance_path=str(Path(tmp) / "instance")
        )
        app.test_client_class = FreshContextClient  # each request as a server runs it
        with app.app_context():
            db.drop_all()
            db.create_all()
            try:
                yield app
            finally:
                db.session.remove()
                db.drop_all()
                db.engine.dispose()


def report(name: str, figures: dict[str, Any], ratios: dict[str, float]) -> None:
    for key, value in figures.items():
        print(f"  {key}: {value}")
    print(json.dumps({"benchmark": name, "figures": figures, "ratios": ratios}))
