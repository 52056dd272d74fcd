"""The Flask shell over the domain packages: app factory, CLI, and (later) pages and API."""

from __future__ import annotations

import os

from flask import Flask

from webapp import config as app_config
from webapp.extensions import db


def create_app(overrides: dict[str, object] | None = None) -> Flask:
    instance = os.environ.get("SPECIALFUND_INSTANCE")
    app = Flask(__name__, instance_relative_config=True,
                instance_path=os.path.abspath(instance) if instance else None)
    app.config.update(app_config.from_environment(app.instance_path))
    if overrides:
        app.config.update(overrides)
    db.init_app(app)
    return app
