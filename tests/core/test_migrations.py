"""The migrations build exactly the tables the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import audit.models  # noqa: F401 - registers tables on Base.metadata
import grants.models  # noqa: F401
import ledger.income_models
import ledger.models  # noqa: F401
import reports.models  # noqa: F401
import webapp.auth.models  # noqa: F401
from core.db import Base


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
