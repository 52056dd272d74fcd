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
