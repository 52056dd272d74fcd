"""The Flask shell over the domain packages: app factory, pages, CLI."""

from __future__ import annotations

import os

from flask import Flask

from webapp import config as app_config
from webapp import errors, i18n, limits, logs, queue, reading, responses
from webapp.boundary import SpecialFundApp
from webapp.extensions import csrf, db, login_manager

# Pages may load only what the app itself serves: no CDN, no inline script.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def create_app(overrides: dict[str, object] | None = None) -> Flask:
    instance = os.environ.get("SPECIALFUND_INSTANCE")
    app = SpecialFundApp(__name__, instance_relative_config=True,
                         instance_path=os.path.abspath(instance) if instance else None)
    app.config.update(app_config.from_environment(app.instance_path))
    if overrides:
        app.config.update(overrides)

    # The pages load with the first app built, not with ``import webapp``: the console's
    # help and ``keys generate`` run without an app, and the pages bring the reports
    # and WeasyPrint, a second to load (health and metrics: Alembic, Redis, Prometheus).
    from webapp import health, metrics  # noqa: PLC0415 - Alembic, Redis, Prometheus
    from webapp.blueprints import BLUEPRINTS, api_bp  # noqa: PLC0415 - loads every page

    logs.init_app(app)  # first: every later line of a request carries its id
    db.init_app(app)
    queue.init_app(app)  # after the database: its tasks use its sessions
    metrics.init_app(app)
    metrics.add_gauge(app, "specialfund_queue_depth", "Jobs waiting for the worker",
                      lambda: queue.depth(app))
    health.init_app(app)  # no sign-in, no rate limit, no cookie
    health.add_check(app, "queue", queue.depth)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    i18n.init_app(app)
    reading.init_app(app)  # before the blueprints: it sets <int:…>
    errors.init_app(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    csrf.exempt(api_bp)  # signed in by token only, never by cookie: nothing to forge
    limits.init_app(app)  # after the language is chosen, before a public page's 304
    responses.init_app(app)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    return app
