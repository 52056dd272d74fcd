"""The Flask shell over the domain packages: app factory, pages, CLI."""

from __future__ import annotations

import os

from flask import Flask

from webapp import config as app_config
from webapp import logs
from webapp.boundary import SpecialFundApp
from webapp.extensions import db


def create_app(overrides: dict[str, object] | None = None, *, pages: bool = True) -> Flask:
    """The application: its configuration and database and, unless ``pages`` is false,
    everything that serves requests. The console builds it without pages (``webapp.cli``):
    its commands need the books, not the blueprints, the reports and WeasyPrint behind
    them, so a command answers in a fraction of a second."""
    instance = os.environ.get("SPECIALFUND_INSTANCE")
    app = SpecialFundApp(__name__, instance_relative_config=True,
                         instance_path=os.path.abspath(instance) if instance else None)
    app.config.update(app_config.from_environment(app.instance_path))
    if overrides:
        app.config.update(overrides)
    logs.init_app(app)  # first: every later line of a request carries its id
    db.init_app(app)
    if pages:
        from webapp.site import serve_pages  # noqa: PLC0415 - every page, its reports, WeasyPrint
        serve_pages(app)
    return app
