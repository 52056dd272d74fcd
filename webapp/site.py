"""What an app that serves requests adds to the console's: the pages and the API, the
job queue, health and metrics, the forms' protection, sign-in, languages, rate limits,
the public pages' caching and the security headers (``webapp.create_app``)."""

from __future__ import annotations

from flask import Flask, Response

from webapp import errors, health, i18n, limits, metrics, queue, reading, responses
from webapp.blueprints import BLUEPRINTS, api_bp
from webapp.extensions import csrf, login_manager

# Pages may load only what the app itself serves: no CDN, no inline script.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def serve_pages(app: Flask) -> None:
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
    app.after_request(_security_headers)


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response
