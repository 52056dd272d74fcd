"""The migrations build exactly the tables the models describe, on both databases, and
keep the data they change right."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, make_url, text

import audit.models  # noqa: F401 - registers tables on Base.metadata
import grants.models  # noqa: F401
import ledger.income_models
import ledger.models  # noqa: F401
import reports.models  # noqa: F401
import webapp.auth.models  # noqa: F401
from core.db import Base, make_engine
from core.migrate import alembic_config
from tests.conftest import pg_admin_url


def test_the_migrated_database_matches_the_models(engine):
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # Type comparison is left to the migrations' own review: SQLite reports its types loosely.
    differences = [d for d in differences
                   if not (isinstance(d, list) and d and d[0][0] == "modify_type")]
    assert differences == []


def test_records_written_before_funds_were_recorded_keep_verifying(tmp_path):
    """Revision 0006 adds the fund to audit records: the old rows keep no fund and keep
    their hashes; new ones name theirs; a downgrade that would break them is refused."""
    import pytest
    from alembic import command
    from sqlalchemy import insert, select

    from audit import record, verify_chain
    from audit.models import AuditHead, AuditRecord
    from core.actors import Actor
    from core.db import make_engine, make_session_factory, transaction
    from core.hashing import GENESIS, chain_hash
    from core.migrate import alembic_config, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        previous = GENESIS
        for n in (1, 2):  # as the code before 0006 wrote them
            row = {"id": n, "at": f"2026-01-0{n}T09:00:00.000000+08:00", "actor": "old",
                   "role": "finance", "action": "receipt.issue", "subject_type": "receipt",
                   "subject_id": f"YJQ-2026-00000{n}", "before": None, "after": None,
                   "reason": None}
            digest = chain_hash(previous, row)
            connection.execute(insert(AuditRecord.__table__),
                               [{**row, "prev_hash": previous, "hash": digest}])
            previous = digest
        connection.execute(insert(AuditHead.__table__), [{"id": 1, "last_id": 2,
                                                         "last_hash": previous}])
    upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        assert verify_chain(session).ok
        assert session.execute(select(AuditRecord.fund)).scalars().all() == [None, None]
    with transaction(factory) as session:
        record(session, Actor("clerk", "finance", 1, "YJQ"), "receipt.issue", "receipt",
               "YJQ-2026-000003")
    with factory() as session:
        assert verify_chain(session).ok and session.get(AuditRecord, 3).fund == "YJQ"
    with engine.begin() as connection, pytest.raises(RuntimeError, match="break the audit"):
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    engine.dispose()


@pytest.fixture
def empty_url(tmp_path) -> Iterator[str]:
    """A database with no tables at all, on the suite's database system."""
    if pg_admin_url():
        name = f"sf_m_{os.getpid()}"
        admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(pg_admin_url()).set(database=name).render_as_string(False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        return
    yield f"sqlite:///{tmp_path / 'empty.db'}"


def _migrate(engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_only_tokens_their_own_user_made_keep_working_after_the_upgrade(empty_url):
    """Tokens of the first API release: ca made one for themself; an administrator and
    the console (named like ca, too) made the others."""
    engine = make_engine(empty_url)
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0009")
    _migrate(engine, revision.down_revision)
    now = "2026-07-01 10:00:00+08:00"
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO funds (id, code, name_zh, name_en, level, chart, opened_on, "
            "entry_count, last_entry_hash) VALUES (1, 'YJQ', '雁江区', 'Yanjiang', 'city', "
            "'npo-2026', '2025-01-01', 0, '')"))
        for uid, name, role in ((1, "ca", "civil_affairs"), (2, "admin", "admin")):
            conn.execute(text(
                "INSERT INTO users (id, username, display_name, role, fund_id, password_hash, "
                "active, failed_logins, created_at) VALUES "
                "(:id, :name, :name, :role, 1, 'x', :yes, 0, :now)"),
                {"id": uid, "name": name, "role": role, "yes": True, "now": now})
        makers = {10: ("ca", "civil_affairs"), 11: ("admin", "admin"), 12: ("ca", "console"),
                  13: ("admin", "admin")}
        for token_id, (maker, role) in makers.items():
            owner = 2 if token_id == 13 else 1
            conn.execute(text(
                "INSERT INTO api_tokens (id, user_id, name, token_hash, hint, created_by, "
                "created_at) VALUES (:id, :owner, 'x', :hash, 'sf_x', :maker, :now)"),
                {"id": token_id, "owner": owner, "hash": f"{token_id:064d}", "maker": maker,
                 "now": now})
            conn.execute(text(
                "INSERT INTO audit_log (id, at, actor, role, action, subject_type, subject_id, "
                "prev_hash, hash) VALUES (:n, :now, :maker, :role, 'api-token.create', "
                "'api-token', :subject, 'p', :hash)"),
                {"n": token_id - 9, "now": now, "maker": maker, "role": role,
                 "subject": str(token_id), "hash": f"{token_id:064x}"})
    _migrate(engine, "head")
    with engine.connect() as conn:
        made_by = dict(conn.execute(text("SELECT id, created_by_id FROM api_tokens")).all())
    engine.dispose()
    # ca's own; an administrator's for ca; the console's (labelled "ca"); the admin's own
    assert made_by == {10: 1, 11: None, 12: None, 13: 2}
