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

    def __init__(self) -> None:
        self._engines: list[Engine] = []

    def init_app(self, app: Flask) -> None:
        url = str(app.config["DATABASE_URL"])
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(url)
        self._engines.append(engine)
        app.extensions["specialfund.db"] = (engine, make_session_factory(engine))

    def dispose_all(self) -> None:
        """Close every pooled connection (a console command is done with them)."""
        while self._engines:
            self._engines.pop().dispose()

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
