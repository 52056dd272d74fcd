"""The migrations build exactly the tables the models describe, on both databases, and
keep the data they change right."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

import audit.models  # noqa: F401 - registers tables on Base.metadata
import grants.models  # noqa: F401
import ledger.income_models
import ledger.models  # noqa: F401
import people.models  # noqa: F401
import reports.models  # noqa: F401
from core.db import Base, make_engine
from core.migrate import alembic_config, downgrade, upgrade
from migrations import SCRIPT_LOCATION


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
    from sqlalchemy import insert, select

    from audit import record, verify_chain
    from audit.models import AuditRecord
    from core.actors import Actor
    from core.db import make_engine, make_session_factory, transaction
    from core.hashing import GENESIS, chain_hash
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config(SCRIPT_LOCATION)
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
        connection.execute(text("INSERT INTO audit_head (id, last_id, last_hash) "
                                "VALUES (1, 2, :h)"), {"h": previous})
    upgrade(engine, SCRIPT_LOCATION)
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


def _migrate(engine, revision: str) -> None:
    upgrade(engine, SCRIPT_LOCATION, revision)


def test_only_tokens_their_own_user_made_keep_working_after_the_upgrade(empty_url):
    """Tokens of the first API release: ca made one for themself; an administrator and
    the console (named like ca, too) made the others."""
    engine = make_engine(empty_url)
    revision = ScriptDirectory.from_config(alembic_config(SCRIPT_LOCATION)).get_revision("0009")
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


def test_people_keep_their_jurisdiction_tokens_and_sessions_across_0011(empty_url):
    """Revision 0011 moves a fund's identity into ``jurisdictions`` and points users at
    it: afterwards the same people sign in, with the same tokens and sessions, in the
    same jurisdictions, and the funds keep their books; a downgrade puts it all back."""
    import datetime as dt
    import hashlib

    from argon2 import PasswordHasher
    from sqlalchemy import select

    from core.actors import SYSTEM, Actor
    from core.db import make_session_factory, transaction
    from ledger.funds import add_fund, managed_funds
    from ledger.journal import find_fund
    from people.models import Jurisdiction
    from people.sessions import closed_because, find_session
    from people.tokens import user_for_token
    from people.users import add_user, authenticate, find_user, has_administrator, manages

    engine = make_engine(empty_url)
    _migrate(engine, "0010")
    now = "2026-07-01 10:00:00+08:00"
    password, token, key = "old-secret-42", "sf_before-0011", "cookie-key-before-0011"
    with engine.begin() as conn:
        # A county whose id comes before its city's, and a second city.
        for fid, code, level, parent, count in ((2, "ZYS", "city", None, 7),
                                                (1, "YJQ", "county", 2, 3),
                                                (3, "CDS", "city", None, 0)):
            conn.execute(text(
                "INSERT INTO funds (id, code, name_zh, name_en, level, parent_id, chart, "
                "opened_on, locked_through, entry_count, last_entry_hash) VALUES (:id, :code, "
                ":zh, :en, :level, :parent, 'npo-2026', '2025-01-01', :locked, :count, :hash)"),
                {"id": fid, "code": code, "zh": code + "区", "en": code.title(), "level": level,
                 "parent": parent, "locked": "2025-12-31" if fid == 1 else None, "count": count,
                 "hash": f"{fid:064x}"})
        for uid, name, role, fund in ((1, "ca", "civil_affairs", 1), (2, "admin", "admin", 2)):
            conn.execute(text(
                "INSERT INTO users (id, username, display_name, role, fund_id, password_hash, "
                "active, failed_logins, created_at) VALUES "
                "(:id, :name, :name, :role, :fund, :hash, :yes, 0, :now)"),
                {"id": uid, "name": name, "role": role, "fund": fund, "yes": True, "now": now,
                 "hash": PasswordHasher().hash(password)})
        conn.execute(text(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, hint, created_by, "
            "created_by_id, created_at) VALUES (1, 1, 'x', :hash, 'sf_befo', 'ca', 1, :now)"),
            {"hash": hashlib.sha256(token.encode()).hexdigest(), "now": now})
        conn.execute(text(
            "INSERT INTO user_sessions (id, user_id, key_hash, created_at) "
            "VALUES (1, 1, :hash, :now)"), {"hash": hashlib.sha256(key.encode()).hexdigest(),
                                            "now": now})
        conn.execute(text("INSERT INTO related_parties (id, user_id, party, declared_at) "
                          "VALUES (1, 1, '雁江区希望小学', :now)"), {"now": now})
        if conn.dialect.name == "postgresql":  # the rows above were given their ids
            conn.execute(text("SELECT setval('users_id_seq', 2)"))

    _migrate(engine, "head")
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        ca = authenticate(session, "ca", password)
        assert ca is not None and ca.jurisdiction.code == "YJQ"
        assert ca.actor() == Actor("ca", "civil_affairs", 1, "YJQ", False)
        assert find_user(session, "admin").actor() == Actor("admin", "admin", 2, "ZYS", True)
        assert user_for_token(session, token) is ca
        row = find_session(session, key)
        assert row is not None and row.user is ca
        assert closed_because(row, last_used=dt.datetime.fromisoformat(now),
                              idle=dt.timedelta(hours=1), lifetime=dt.timedelta(days=1)) is None
        admin = find_user(session, "admin").actor()
        assert manages(session, admin, ca)
        assert [f.code for f in managed_funds(session, admin)] == ["ZYS", "YJQ"]
        county = find_fund(session, "YJQ")
        assert (county.id, county.level, county.parent.code, county.name.zh,
                county.locked_through, county.entry_count, county.last_entry_hash) == (
            1, "county", "ZYS", "YJQ区", dt.date(2025, 12, 31), 3, f"{1:064x}")
        assert has_administrator(session, county)
        assert not has_administrator(session, find_fund(session, "CDS"))
        # New ids come after the old ones, on PostgreSQL from the jurisdictions' sequence.
        fund = add_fund(session, SYSTEM, code="AYX", name_zh="安岳县", name_en="Anyue",
                        opened_on=dt.date(2026, 1, 1), parent_code="ZYS")
        assert fund.id == 4 and session.get(Jurisdiction, 4).parent_id == 2
        add_user(session, SYSTEM, username="ay", display_name="Ay", role="finance",
                 fund_code="AYX", password=password)
    with factory() as session:
        assert find_user(session, "ay").jurisdiction_id == 4
        assert [(j.id, j.code, j.parent_id) for j in session.execute(
            select(Jurisdiction).order_by(Jurisdiction.id)).scalars()] == [
            (1, "YJQ", 2), (2, "ZYS", None), (3, "CDS", None), (4, "AYX", 2)]

    # The new fund and user were recorded in the funds' own audit chains, which revision
    # 0014 will not fold back into one; they are not what this test is about.
    with pytest.raises(RuntimeError, match="break the audit chain"):
        downgrade(engine, SCRIPT_LOCATION, "0010")
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(text("DELETE FROM audit_log WHERE chain <> ''"))
        conn.execute(text("DELETE FROM audit_chain_heads WHERE chain <> ''"))
    downgrade(engine, SCRIPT_LOCATION, "0010")
    with engine.begin() as conn:
        assert conn.execute(text(
            "SELECT id, code, level, parent_id, entry_count FROM funds ORDER BY id")).all() == [
            (1, "YJQ", "county", 2, 3), (2, "ZYS", "city", None, 7), (3, "CDS", "city", None, 0),
            (4, "AYX", "county", 2, 0)]
        assert conn.execute(text("SELECT username, fund_id FROM users ORDER BY id")).all() == [
            ("ca", 1), ("admin", 2), ("ay", 4)]
        conn.execute(text(
            "INSERT INTO funds (code, name_zh, name_en, level, chart, opened_on, entry_count, "
            "last_entry_hash) VALUES ('LZX', '乐至县', 'Lezhi', 'city', 'npo-2026', "
            "'2026-01-01', 0, '')"))
        assert conn.execute(text("SELECT id FROM funds WHERE code = 'LZX'")).scalar_one() == 5
    engine.dispose()
