"""Alembic environment. The connection is handed in by ``core.migrate``; running
``alembic`` by hand reads ``DATABASE_URL``. The models are the domain's: the web layer
keeps no tables."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

import audit.models  # noqa: F401 - registers tables on Base.metadata
import grants.models  # noqa: F401
import jobs.models  # noqa: F401
import ledger.income_models
import ledger.models  # noqa: F401
import people.models  # noqa: F401
import reports.models  # noqa: F401
from core.db import Base, make_engine
from core.migrate import migrating

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = make_engine(os.environ["DATABASE_URL"])
        with migrating(engine) as connection:
            _run(connection)
        return
    _run(connection)


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
