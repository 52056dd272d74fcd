"""``/healthz`` and ``/readyz``: what a load balancer asks, and all they answer."""

from __future__ import annotations

import logging

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from core.migrate import alembic_config
from migrations import SCRIPT_LOCATION
from webapp import create_app, health
from webapp.extensions import db

UNREACHABLE = "postgresql+psycopg://nobody:secret-password@127.0.0.1:1/no_such_db"


@pytest.fixture
def unreachable_app(instance_folder):
    app = create_app({"DATABASE_URL": UNREACHABLE, "TESTING": True})
    yield app
    db.dispose_all()


def test_healthy_and_ready(app):
    client = app.test_client()
    for url, checks in (("/healthz", {"database": "ok", "queue": "ok"}),
                        ("/readyz", {"database": "ok", "queue": "ok", "migrations": "ok"})):
        response = client.get(url)
        assert response.status_code == 200
        assert response.get_json() == {"status": "ok", "checks": checks}
        assert response.headers["Cache-Control"] == "no-store"
        assert "Set-Cookie" not in response.headers


def test_no_rate_limit_ever_refuses_a_probe(database_url, instance_folder):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "RATE_LIMITS": True,
                      **dict.fromkeys(("RATE_LIMIT_SIGN_IN", "RATE_LIMIT_API",
                                       "RATE_LIMIT_PUBLIC"), "2 per hour")})
    try:
        client = app.test_client()
        assert {client.get("/healthz").status_code for _ in range(10)} == {200}
        assert client.get("/public/").status_code == 200  # the limits are on
        assert client.get("/public/").status_code == 200
        assert client.get("/public/").status_code == 429
    finally:
        db.dispose_all()


def test_a_database_that_does_not_answer_is_unhealthy_and_says_nothing_more(
        unreachable_app, caplog):
    client = unreachable_app.test_client()
    with caplog.at_level(logging.WARNING, logger="specialfund.web"):
        for url in ("/healthz", "/readyz"):
            response = client.get(url)
            assert response.status_code == 503
            body = response.get_data(as_text=True)
            assert response.get_json()["status"] == "failed"
            assert response.get_json()["checks"]["database"] == "failed"
            for leak in ("SELECT", "127.0.0.1", "psycopg", "secret-password", "no_such_db",
                         "refused", "Traceback"):
                assert leak not in body, leak
            assert "Set-Cookie" not in response.headers
    lines = [r.getMessage() for r in caplog.records if r.name == "specialfund.web"]
    assert "health check database failed: OperationalError" in lines
    assert not any("secret-password" in line or "127.0.0.1" in line for line in lines)


def test_not_ready_while_the_schema_is_behind(app, engine):
    head = ScriptDirectory.from_config(alembic_config(SCRIPT_LOCATION)).get_current_head()
    previous = ScriptDirectory.from_config(alembic_config(SCRIPT_LOCATION)) \
        .get_revision(head).down_revision
    client = app.test_client()
    with engine.begin() as connection:  # as if the code were upgraded before the database
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": previous})
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json() == {"status": "failed",
                                       "checks": {"database": "ok", "queue": "ok",
                                                  "migrations": "behind"}}
        assert client.get("/healthz").status_code == 200  # alive: only not ready
    finally:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"),
                               {"v": head})
    assert client.get("/readyz").status_code == 200


def test_a_registered_check_is_run_and_named(app):
    """The job queue registers its own check the same way."""
    def queue(_app):
        raise ConnectionError("the queue at redis://secret@host is gone")

    health.add_check(app, "queue", queue)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "failed",
                                   "checks": {"database": "ok", "queue": "failed"}}
    assert "secret" not in response.get_data(as_text=True)


def test_redis_is_checked_when_configured(database_url, instance_folder):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True,
                      "REDIS_URL": "redis://127.0.0.1:1/0"})
    try:
        response = app.test_client().get("/healthz")
        assert response.status_code == 503
        # The job queue keeps its jobs in the same Redis.
        assert response.get_json()["checks"] == {"database": "ok", "redis": "failed",
                                                 "queue": "failed"}
    finally:
        db.dispose_all()
