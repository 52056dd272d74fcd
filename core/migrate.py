"""Create or upgrade a database to the newest schema through Alembic.

The caller names the Alembic scripts (``migrations.SCRIPT_LOCATION``): the migrations
sit above the domain in the order of imports, so nothing here imports them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine


def alembic_config(script_location: str) -> Config:
    config = Config()
    config.set_main_option("script_location", script_location)
    return config


@contextmanager
def migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for a run of migrations. On SQLite, foreign keys are not enforced
    while it runs -- rebuilding a table that others reference drops it and renames a copy
    into its place, which SQLite refuses while it enforces them -- and every one of them is
    checked before the commit, so a migration cannot leave a dangling reference."""
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        # Outside any transaction (SQLite ignores the pragma inside one), straight on the
        # driver's connection: a statement through SQLAlchemy would begin one first.
        if sqlite:
            # An open connection always has its driver's (typed Optional, hence the ignores).
            connection.connection.driver_connection.execute(  # type: ignore[union-attr]
                "PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if dangling:
                        raise RuntimeError(f"the migration leaves {len(dangling)} references "
                                           f"to rows that do not exist, e.g. {dangling[0]}")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute(  # type: ignore[union-attr]
                    "PRAGMA foreign_keys = ON")


def upgrade(engine: Engine, script_location: str, revision: str = "head") -> None:
    config = alembic_config(script_location)
    with migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, script_location: str, revision: str) -> None:
    config = alembic_config(script_location)
    with migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


@functools.cache
def _script_heads(script_location: str) -> frozenset[str]:
    # Parsing every migration file costs tens of milliseconds; the scripts of a running
    # process do not change.
    return frozenset(ScriptDirectory.from_config(alembic_config(script_location)).get_heads())


def is_current(engine: Engine, script_location: str) -> bool:
    """Whether the database's schema is the newest the scripts know (``specialfund init``
    has run since the code was installed). Reads one row; changes nothing."""
    with engine.connect() as connection:
        applied = frozenset(MigrationContext.configure(connection).get_current_heads())
    return applied == _script_heads(script_location)


def head_revision(script_location: str) -> str | None:
    """The newest revision of the scripts: the schema this code works on."""
    return ScriptDirectory.from_config(alembic_config(script_location)).get_current_head()
