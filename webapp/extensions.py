"""Extensions created unbound and bound to an app in ``init_app``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_session_factory, transaction


class Database:
    """Holds one engine and session factory per app."""

    def init_app(self, app: Flask) -> None:
        url = str(app.config["DATABASE_URL"])
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(url)
        app.extensions["specialfund.db"] = (engine, make_session_factory(engine))

    @property
    def engine(self) -> Engine:
        return current_app.extensions["specialfund.db"][0]

    @property
    def factory(self) -> sessionmaker[Session]:
        return current_app.extensions["specialfund.db"][1]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.factory) as session:
            yield session


db = Database()
