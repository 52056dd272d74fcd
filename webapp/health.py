"""Whether the app can serve: ``/healthz`` and ``/readyz``, for a load balancer, systemd
or an orchestrator.

- ``/healthz``: the process answers and what it needs answers -- the database runs
  ``SELECT 1``; Redis, when ``REDIS_URL`` names one, answers a ping; and whatever else
  registered a check (the job queue adds its own with ``add_check``).
- ``/readyz``: the same, and the database's schema is the newest this code knows
  (``specialfund init`` has run since the code was installed).

Each answers ``{"status": "ok", "checks": {"database": "ok", ...}}`` with 200, or 503 with
``"status": "failed"`` and the failed check marked ``"failed"`` (the schema: ``"behind"``).
Nothing else: no fund, user or count, no version, no error text (a database error's
quotes SQL). The log line of a failed check names the check and the kind of error only.
No sign-in, no rate limit, no cookie, never kept by a cache (``Cache-Control: no-store``,
as every response that is not a public page: ``webapp.responses``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis
from flask import Flask, Response, current_app, jsonify
from sqlalchemy import Engine, text

from core.migrate import is_current
from migrations import SCRIPT_LOCATION

log = logging.getLogger("specialfund.web")

Check = Callable[[Flask], object]  # returns (anything) when healthy, raises when not
EXTENSION = "specialfund.health_checks"
REDIS_TIMEOUT = 2.0  # seconds; a prober gives up after a few


def _engine(app: Flask) -> Engine:
    return app.extensions["specialfund.db"][0]


def database(app: Flask) -> None:
    with _engine(app).connect() as connection:
        connection.execute(text("SELECT 1"))


# The checks of every app. One that only some apps need (Redis, the queue) is added to
# that app by ``add_check``.
CHECKS: dict[str, Check] = {"database": database}


def add_check(app: Flask, name: str, check: Check) -> None:
    """Make ``/healthz`` and ``/readyz`` of ``app`` also run ``check``, reported as ``name``."""
    app.extensions.setdefault(EXTENSION, {})[name] = check


def _redis_check(url: str) -> Check:
    client = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT,
                                  socket_timeout=REDIS_TIMEOUT)

    def check(_app: Flask) -> None:
        client.ping()

    return check


def _run(app: Flask) -> dict[str, str]:
    results = {}
    for name, check in {**CHECKS, **app.extensions.get(EXTENSION, {})}.items():
        try:
            check(app)
        except Exception as error:  # any failure is an unhealthy answer
            log.warning("health check %s failed: %s", name, type(error).__name__)
            results[name] = "failed"
        else:
            results[name] = "ok"
    return results


def _schema(app: Flask) -> str:
    try:
        current = is_current(_engine(app), SCRIPT_LOCATION)
    except Exception as error:
        log.warning("health check migrations failed: %s", type(error).__name__)
        return "failed"
    if not current:
        log.warning("not ready: the database schema is not the newest; run specialfund init")
    return "ok" if current else "behind"


def _answer(results: dict[str, str]) -> tuple[Response, int]:
    ok = all(result == "ok" for result in results.values())
    return jsonify(status="ok" if ok else "failed", checks=results), 200 if ok else 503


def healthz() -> tuple[Response, int]:
    return _answer(_run(current_app))


def readyz() -> tuple[Response, int]:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    results = _run(app)
    if results["database"] == "ok":
        results["migrations"] = _schema(app)
    else:
        results["migrations"] = "failed"
    return _answer(results)


def init_app(app: Flask) -> None:
    url = str(app.config.get("REDIS_URL") or "")
    if url:
        add_check(app, "redis", _redis_check(url))
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/readyz", "readyz", readyz)
