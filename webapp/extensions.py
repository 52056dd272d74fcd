"""Extensions created unbound and bound to an app in ``init_app``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from flask import Flask, Response, current_app, g, request
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf import CSRFProtect
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.db import begin_write, make_engine, make_session_factory, transaction
from core.protection import Protector
from core.screening import keep_protector

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PROTECTOR = "specialfund.protector"


class Database:
    """One engine and session factory per app, and a session per request.

    A request that may write begins its transaction as a writer; the request
    commits once when it succeeds and rolls back when it fails (STYLE habit 7).
    The one commit point is ``commit_request``, called by the request boundary
    (``webapp.boundary``) inside the error mapping, never by an ``after_request`` hook.
    """

    def __init__(self) -> None:
        self._engines: list[Engine] = []

    def init_app(self, app: Flask) -> None:
        url = str(app.config["DATABASE_URL"])
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(url)
        self._engines.append(engine)
        factory = make_session_factory(engine)
        keys = Protector(str(app.config["DATA_KEY"]).encode(), str(app.config["HASH_KEY"]).encode())
        # Operations that write public text screen it for children's names (grants.screening).
        keep_protector(factory, keys)
        app.extensions["specialfund.db"] = (engine, factory)
        app.extensions[PROTECTOR] = keys
        app.teardown_request(self._close)

    @property
    def engine(self) -> Engine:
        return current_app.extensions["specialfund.db"][0]

    @property
    def factory(self) -> sessionmaker[Session]:
        return current_app.extensions["specialfund.db"][1]

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            session = self.factory()
            if request.method in WRITE_METHODS:
                begin_write(session)
            g.db_session = session
        return g.db_session

    def commit_request(self, response: Response) -> None:
        """Commit the request's work: only a request that may write and succeeded (a
        refusal that answers 4xx keeps nothing), only when it opened a session. A
        read costs no commit; its session is closed at teardown."""
        session = g.get("db_session")
        if session is not None and request.method in WRITE_METHODS \
                and response.status_code < 400:
            session.commit()

    def rollback_request(self) -> None:
        """Undo the request's work before an error is answered. The session stays open,
        so the error page may still read (the signed-in user) if the database answers;
        a database that is gone is no reason to fail here."""
        session = g.get("db_session")
        if session is not None:
            with suppress(SQLAlchemyError):
                session.rollback()

    def _close(self, _error: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:  # whatever was not committed is rolled back
            with suppress(SQLAlchemyError):
                session.close()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.factory) as session:
            yield session

    def made(self) -> int:
        """How many engines the apps made so far hold: a mark for ``dispose_since``."""
        return len(self._engines)

    def dispose_since(self, mark: int) -> None:
        """Close the pooled connections of the apps made since ``mark``: a console command
        is done with its own, while an app made before it (a test's) keeps its engine, to
        be disposed of by whoever made it."""
        while len(self._engines) > mark:
            self._engines.pop().dispose()

    def dispose_all(self) -> None:
        self.dispose_since(0)


def protector() -> Protector:
    """The app's keys for children's data (encryption and the keyed hash of ID numbers),
    made from its configuration: pages, the API and the console alike."""
    return current_app.extensions[PROTECTOR]


db = Database()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
