"""Rate limits: a sign-in flood from one address is refused with 429 and Retry-After, yet
a named user still signs in from elsewhere; the API is limited per token (problem+json),
the public site per address; the counters can live in Redis, shared by every server."""

from __future__ import annotations

import json
import socket
import uuid

import pytest
from sqlalchemy import select

from core.db import transaction
from people.models import User
from tests.webapp.conftest import text
from tests.worlds import PASSWORD, make_token
from webapp import create_app
from webapp.config import ConfigurationError
from webapp.extensions import db

STRANGER, USER, OTHER = "198.51.100.7", "203.0.113.20", "203.0.113.30"
REDIS = ("127.0.0.1", 6379)


def limited(database_url, **overrides):
    """An app with the limits on and small, as a test can exhaust them."""
    return create_app({
        "DATABASE_URL": database_url, "TESTING": True, "WTF_CSRF_ENABLED": False,
        "SESSION_COOKIE_SECURE": False, "RATE_LIMITS": True,
        "RATE_LIMIT_SIGN_IN": "8 per minute", "RATE_LIMIT_SIGN_IN_FAILURES": "3 per 15 minutes",
        "RATE_LIMIT_API": "4 per minute", "RATE_LIMIT_PUBLIC": "3 per minute", **overrides})


@pytest.fixture
def app(database_url, instance_folder):
    app = limited(database_url)
    yield app
    db.dispose_all()


def sign_in(client, address: str, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def retry_after(response) -> int:
    return int(response.headers["Retry-After"])


def test_a_sign_in_flood_from_one_address_is_refused(app, world):
    client = app.test_client()
    for n in range(8):  # a different name each time: only the address's limit applies
        assert sign_in(client, STRANGER, f"guess{n}", "wrong-guess-1").status_code == 200
    refused = sign_in(client, STRANGER, "guess9", "wrong-guess-1")
    assert refused.status_code == 429
    assert 1 <= retry_after(refused) <= 60
    assert refused.headers["Cache-Control"] == "no-store"
    page = text(refused)
    assert "请求过多" in page and "秒后再试" in page  # the app's error page, in Chinese
    # Everyone else signs in as usual.
    assert sign_in(app.test_client(), USER, "ca", PASSWORD).status_code == 302


def test_the_refusal_speaks_the_visitors_language(app, world):
    client = app.test_client()
    with client.session_transaction() as session:
        session["lang"] = "en"
    for n in range(9):
        response = sign_in(client, STRANGER, f"guess{n}", "wrong-guess-1")
    assert response.status_code == 429
    assert "Too many requests" in text(response)


def test_a_stranger_cannot_lock_a_named_user_out(app, world, factory):
    stranger = app.test_client()
    for _ in range(3):
        assert sign_in(stranger, STRANGER, "fin1", "wrong-guess-1").status_code == 200
    # That address has used up its failures for fin1: refused before any password check,
    # even the right one, with the wait in minutes.
    refused = sign_in(stranger, STRANGER, "fin1", PASSWORD)
    assert refused.status_code == 429
    assert 14 * 60 < retry_after(refused) <= 15 * 60
    assert "该账户" in text(refused) and "其他地点登录不受影响" in text(refused)
    with factory() as session:  # the refused attempts never reached the password check
        user = session.execute(select(User).where(User.username == "fin1")).scalar_one()
        assert user.failed_logins == 3
    # fin1 from their own address signs in; the stranger's address still can for others.
    assert sign_in(app.test_client(), USER, "fin1", PASSWORD).status_code == 302
    assert sign_in(app.test_client(), STRANGER, "ca", PASSWORD).status_code == 302
    # A name typed differently is the same account.
    assert sign_in(stranger, STRANGER, " FIN1 ", PASSWORD).status_code == 429


def test_successful_sign_ins_use_up_no_failures(app, world):
    for _ in range(5):
        assert sign_in(app.test_client(), USER, "co", PASSWORD).status_code == 302
    assert sign_in(app.test_client(), USER, "co", "wrong-guess-1").status_code == 200


@pytest.fixture
def tokens(world, factory) -> dict[str, str]:
    made = {}
    with transaction(factory) as session:
        for name in ("aud", "fin1"):
            made[name], _row = make_token(session, name, name="limits", expires_on=None)
    return made


def test_the_api_is_limited_per_token_with_a_problem(app, tokens):
    client = app.test_client()
    aud = {"Authorization": f"Bearer {tokens['aud']}", "Accept-Language": "en"}
    for _ in range(4):
        assert client.get("/api/v1/funds", headers=aud).status_code == 200
    refused = client.get("/api/v1/funds", headers=aud)
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert 1 <= retry_after(refused) <= 60
    problem = json.loads(refused.data)
    assert (problem["status"], problem["code"], problem["title"]) == (
        429, "too-many-requests", "Too many requests")
    assert "wait" in problem["detail"]
    # Another token from the same address has its own allowance.
    fin1 = {"Authorization": f"Bearer {tokens['fin1']}"}
    assert client.get("/api/v1/funds", headers=fin1).status_code == 200
    # The public site is not the API's allowance, and the reverse.
    assert client.get("/public/data/funds.json").status_code == 200


def test_api_requests_without_a_token_count_against_their_address(app, world):
    for _ in range(4):
        assert app.test_client().get("/api/v1/funds", environ_base={
            "REMOTE_ADDR": STRANGER}).status_code == 401
    assert app.test_client().get("/api/v1/funds", environ_base={
        "REMOTE_ADDR": STRANGER}).status_code == 429
    assert app.test_client().get("/api/v1/funds", environ_base={
        "REMOTE_ADDR": OTHER}).status_code == 401


def test_the_public_site_is_limited_per_address(app, world, login):
    pages = ["/public/", "/public/data/", "/public/data/funds.csv"]
    for url in pages:
        assert app.test_client().get(url, environ_base={"REMOTE_ADDR": STRANGER}
                                     ).status_code == 200
    refused = app.test_client().get("/public/funds/YJQ", environ_base={"REMOTE_ADDR": STRANGER})
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert 1 <= retry_after(refused) <= 60
    assert app.test_client().get("/public/", environ_base={"REMOTE_ADDR": OTHER}
                                 ).status_code == 200


def test_the_limits_follow_the_client_address_only_behind_a_configured_proxy(
        database_url, instance_folder, world):
    proxied = limited(database_url, PROXY_HOPS=1)
    direct = limited(database_url)
    try:
        for app, expected in ((proxied, 200), (direct, 429)):
            for n in range(3):
                app.test_client().get("/public/", headers={"X-Forwarded-For": f"192.0.2.{n}"})
            fourth = app.test_client().get("/public/",
                                           headers={"X-Forwarded-For": "192.0.2.99"})
            assert fourth.status_code == expected
    finally:
        db.dispose_all()


def test_a_malformed_limit_is_refused_at_start(database_url, instance_folder, monkeypatch):
    monkeypatch.setenv("SPECIALFUND_LIMIT_API", "lots")
    with pytest.raises(ConfigurationError) as refused:
        create_app({"DATABASE_URL": database_url, "RATE_LIMITS": True})
    assert refused.value.params == {"name": "SPECIALFUND_LIMIT_API"}


def test_limits_and_storage_come_from_the_environment(database_url, instance_folder,
                                                      monkeypatch):
    monkeypatch.setenv("SPECIALFUND_RATE_LIMITS", "1")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("SPECIALFUND_LIMIT_PUBLIC", "1000 per hour")
    app = create_app({"DATABASE_URL": database_url})
    db.dispose_all()
    assert app.config["RATE_LIMITS"] is True
    assert app.config["RATE_LIMIT_STORAGE"] == "redis://127.0.0.1:6379/0"
    assert app.config["RATE_LIMIT_PUBLIC"] == "1000 per hour"
    assert app.config["RATE_LIMIT_SIGN_IN_FAILURES"] == "5 per 15 minutes"


# --- Redis ----------------------------------------------------------------------------------


def redis_reachable() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_prefix():
    if not redis_reachable():
        pytest.skip("no Redis at 127.0.0.1:6379")
    import redis

    prefix = f"sftest{uuid.uuid4().hex[:12]}"
    client = redis.Redis(*REDIS)
    yield prefix, client
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)
    client.close()


def test_servers_sharing_redis_share_the_counters(database_url, instance_folder, world,
                                                   redis_prefix):
    prefix, redis_client = redis_prefix
    settings = {"RATE_LIMIT_STORAGE": f"redis://{REDIS[0]}:{REDIS[1]}/0",
                "RATE_LIMIT_KEY_PREFIX": prefix}
    first, second = limited(database_url, **settings), limited(database_url, **settings)
    try:
        share(first, second, redis_client, prefix)
    finally:
        db.dispose_all()


def share(first, second, redis_client, prefix: str) -> None:
    visitor = {"REMOTE_ADDR": STRANGER}
    assert first.test_client().get("/public/", environ_base=visitor).status_code == 200
    assert second.test_client().get("/public/", environ_base=visitor).status_code == 200
    assert first.test_client().get("/public/data/", environ_base=visitor).status_code == 200
    refused = second.test_client().get("/public/", environ_base=visitor)
    assert refused.status_code == 429 and 1 <= retry_after(refused) <= 60
    assert [k for k in redis_client.scan_iter(f"*{prefix}*")], "the counters live in Redis"
    # Failed sign-ins too: the lock for this account and address holds on every server.
    for app in (first, second, first):
        assert sign_in(app.test_client(), STRANGER, "fin1", "wrong-guess-1").status_code == 200
    assert sign_in(second.test_client(), STRANGER, "fin1", PASSWORD).status_code == 429
    assert sign_in(second.test_client(), USER, "fin1", PASSWORD).status_code == 302


def test_an_unreachable_redis_falls_back_to_memory(database_url, instance_folder, world):
    """Redis down: each worker counts in its own memory; no request fails for it."""
    app = limited(database_url, RATE_LIMIT_STORAGE="redis://127.0.0.1:1/0")
    visitor = {"REMOTE_ADDR": STRANGER}
    try:
        for _ in range(3):
            assert app.test_client().get("/public/", environ_base=visitor).status_code == 200
        assert app.test_client().get("/public/", environ_base=visitor).status_code == 429
    finally:
        db.dispose_all()
