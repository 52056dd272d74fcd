"""SQLAlchemy foundation shared by every package: the declarative base with a
naming convention (so Alembic names constraints predictably), engine creation,
and the transaction behaviour the ledger's invariants rely on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import Connection, DateTime, Engine, MetaData, Table, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from core.clock import CST

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


SQLITE_BEGIN = "specialfund_sqlite_begin"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    if TYPE_CHECKING:
        # Every model maps one table (SQLAlchemy allows any FromClause), so the Core
        # statements built on ``Model.__table__`` may insert into and update it.
        __table__: ClassVar[Table]


def make_engine(url: str, **kwargs: object) -> Engine:
    # Bound values never reach an error's text or SQL logging: they may be a child's
    # name or ID number.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_engine(url: str, **kwargs: object) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # FULL: a posting reported as committed survives a power cut.
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A unit of work that writes begins IMMEDIATE: it takes the write lock
        # before its first read, so two processes can never both read the same
        # balance and then both spend it. Read-only work begins DEFERRED and
        # never blocks writers.
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine)


def begin_write(session: Session) -> Session:
    """Start the session's transaction as a writer (SQLite: BEGIN IMMEDIATE).

    Must come before the session's first statement; PostgreSQL needs nothing here,
    its row locks (SELECT ... FOR UPDATE) serialise the writers that conflict.
    """
    session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
    return session


def begin_snapshot(session: Session) -> Session:
    """Start the session's transaction reading one snapshot of the books throughout, so
    that figures and the heads they are stamped with come from the same moment.

    Must come before the session's first statement. SQLite's read transaction (WAL)
    already is a snapshot; PostgreSQL's default, READ COMMITTED, sees each commit as
    it lands, so this asks for REPEATABLE READ.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    return session


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work that writes: commit if the block succeeds, roll back otherwise."""
    session = begin_write(factory())
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class Timestamp(TypeDecorator[dt.datetime]):
    """An aware moment, stored in UTC and read back in China Standard Time on both
    databases (SQLite hands datetimes back without a zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must carry a time zone")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None,
                             dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(CST)
