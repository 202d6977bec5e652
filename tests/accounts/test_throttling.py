"""Rate limits on sign-in: per IP and per account, in memory or in Redis."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from claims.extensions import db

REDIS_URL = os.environ.get("RECOURS_TEST_REDIS_URL")


def post_login(client: FlaskClient, email: str, ip: str = "203.0.113.5") -> int:
    response = client.post(
        "/console/login",
        data={"email": email, "password": "wrong password 42"},
        environ_base={"REMOTE_ADDR": ip},
    )
    return response.status_code


def test_per_ip_limit(client: FlaskClient) -> None:
    codes = [post_login(client, f"user{i}@cabinet.example") for i in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429
    # Another address is not affected.
    assert post_login(client, "someone@cabinet.example", ip="203.0.113.99") == 200


def test_per_account_limit_across_addresses(client: FlaskClient) -> None:
    codes = [post_login(client, "Cible@Cabinet.Example", ip=f"198.51.100.{i}") for i in range(21)]
    assert codes[:20] == [200] * 20 and codes[20] == 429
    # Other accounts from those addresses still work.
    assert post_login(client, "other@cabinet.example", ip="198.51.100.1") == 200


def test_limiter_keys_hold_no_email(app: Any, client: FlaskClient) -> None:
    from claims.extensions import limiter

    post_login(client, "secret.person@cabinet.example")
    storage = limiter.storage
    keys = " ".join(str(k) for k in getattr(storage, "storage", {}))
    assert keys and "secret.person" not in keys


@pytest.mark.skipif(not REDIS_URL, reason="RECOURS_TEST_REDIS_URL is not set")
def test_limits_are_shared_through_redis(make_app: Any) -> None:
    """Two app processes (here: two apps) share one Redis: the limit is global."""
    prefix = f"recours-test-{uuid.uuid4().hex}"
    apps = [make_app(RATELIMIT_STORAGE_URI=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix) for _ in range(2)]
    with apps[0].app_context():
        db.create_all()
        try:
            clients = [a.test_client() for a in apps]
            codes = [post_login(clients[i % 2], f"u{i}@cabinet.example", ip="192.0.2.77") for i in range(11)]
            assert codes[:10] == [200] * 10 and codes[10] == 429
        finally:
            import redis

            conn = redis.Redis.from_url(REDIS_URL)
            for key in conn.scan_iter(f"{prefix}*"):
                conn.delete(key)
            db.session.remove()
            db.drop_all()
