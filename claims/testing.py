"""A test client for the tests and the benchmarks: each request in its own app context."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient


class FreshContextClient(FlaskClient):
    """Each request in its own app context, as in production.

    The tests and the benchmarks keep an app context pushed for their own
    database work; Flask would reuse it for every request, sharing ``g`` and
    the database session between requests (and with the caller) in a way a
    real server never does: per-request caches in ``g`` would outlive their
    request, and objects loaded by one request would spare the next its queries.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)
