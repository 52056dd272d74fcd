"""The audit chains -- one per fund, and "" for actions of no fund: appended in the
caller's transaction, verified link by link, chain by chain."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from audit import head, heads, record, verify_chain
from audit.models import AuditHead, AuditRecord
from core.actors import Actor
from core.db import make_engine, make_session_factory, transaction
from core.hashing import GENESIS, chain_hash
from core.i18n import locale_as
from core.migrate import downgrade, upgrade
from migrations import SCRIPT_LOCATION

ADMIN = Actor("admin1", "admin")


def append(factory, n, **kwargs):
    with transaction(factory) as s:
        for i in range(n):
            record(s, ADMIN, "user.add", "user", f"u{i}", after={"name": f"u{i}"}, **kwargs)


def drop_guard(session):
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
    else:
        session.execute(text("DROP TRIGGER audit_log_no_update"))
        session.execute(text("DROP TRIGGER audit_log_no_delete"))


def test_empty_chain_verifies(session):
    report = verify_chain(session)
    assert report.ok and report.checked == 0


def test_records_link_to_their_predecessor(session, factory):
    append(factory, 3, reason="导入")
    rows = session.query(AuditRecord).order_by(AuditRecord.id).all()
    assert [r.id for r in rows] == [1, 2, 3]
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert rows[0].reason == "导入" and rows[0].role == "admin"
    assert [(r.chain, r.seq) for r in rows] == [("", 1), ("", 2), ("", 3)]
    tip = session.get(AuditHead, "")
    assert (tip.last_seq, tip.last_id, tip.last_hash) == (3, 3, rows[2].hash)
    assert head(session) == (("", 3, 3, rows[2].hash))
    report = verify_chain(session)
    assert report.ok and report.checked == 3 and report.head("").hash == rows[2].hash


def test_a_rolled_back_transaction_leaves_no_record(session, factory):
    append(factory, 1)
    with pytest.raises(RuntimeError), transaction(factory) as s:
        record(s, ADMIN, "user.add", "user", "ghost")
        raise RuntimeError("the action failed")
    assert session.query(AuditRecord).count() == 1
    assert verify_chain(session).ok


@pytest.mark.tampers
def test_an_edited_record_is_named(session, factory):
    append(factory, 5)
    drop_guard(session)
    session.execute(text("UPDATE audit_log SET reason = 'nothing to see' WHERE id = 3"))
    session.commit()
    report = verify_chain(session)
    assert not report.ok and (report.broken_chain, report.broken_at) == ("", 3)
    assert "第 3 条" in report.problem


@pytest.mark.tampers
def test_a_rehashed_record_breaks_the_next_link(session, factory):
    """Recomputing the edited row's own hash just moves the break to the next row."""
    append(factory, 4)
    drop_guard(session)
    row = session.get(AuditRecord, 2)
    row.actor = "someone else"
    forged = chain_hash(row.prev_hash, row.payload())
    session.execute(text("UPDATE audit_log SET actor = 'someone else', hash = :h WHERE id = 2"),
                    {"h": forged})
    session.commit()
    report = verify_chain(session)
    assert report.broken_at == 3


@pytest.mark.tampers
def test_a_deleted_record_is_named(session, factory):
    append(factory, 4)
    drop_guard(session)
    session.execute(text("DELETE FROM audit_log WHERE id = 2"))
    session.commit()
    report = verify_chain(session)
    assert report.broken_at == 2 and "第 2 条" in report.problem


@pytest.mark.tampers
def test_a_truncated_tail_disagrees_with_the_head(session, factory):
    append(factory, 4)
    drop_guard(session)
    session.execute(text("DELETE FROM audit_log WHERE id = 4"))
    session.commit()
    report = verify_chain(session)
    assert not report.ok and report.broken_at == 4
    assert report.problem == "审计链 （无基金） 的链头指向第 4 条，但该链止于第 3 条"


# --- the fund a record belongs to -------------------------------------------------------

CLERK = Actor("clerk", "finance", 7, "YJQ")


def test_a_record_belongs_to_its_actors_fund_unless_told_otherwise(session, factory):
    with transaction(factory) as s:
        record(s, CLERK, "receipt.issue", "receipt", "YJQ-2026-000001")
        record(s, CLERK, "fund.add", "fund", "AYX", fund="AYX")
        record(s, ADMIN, "user.add", "user", "nobody")  # an actor of no fund
        record(s, CLERK, "system.note", "system", "x", fund=None)
    rows = session.query(AuditRecord).order_by(AuditRecord.id).all()
    assert [r.fund for r in rows] == ["YJQ", "AYX", None, None]
    assert verify_chain(session).ok


@pytest.mark.tampers
def test_the_fund_is_covered_by_the_hash(session, factory):
    with transaction(factory) as s:
        record(s, CLERK, "receipt.issue", "receipt", "YJQ-2026-000001")
        record(s, CLERK, "receipt.issue", "receipt", "YJQ-2026-000002")
    drop_guard(session)
    session.execute(text("UPDATE audit_log SET fund = 'AYX' WHERE id = 1"))
    session.commit()
    report = verify_chain(session)
    assert report.broken_at == 1 and "已被改动" in report.problem


@pytest.mark.tampers
def test_a_record_of_no_fund_hashes_as_records_did_before_funds(session, factory):
    """Records written before the fund column keep verifying: a record without a fund
    is hashed exactly as then, without the key."""
    with transaction(factory) as s:
        _id, digest = record(s, ADMIN, "user.add", "user", "old", after={"name": "old"})
    row = session.get(AuditRecord, 1)
    old_payload = {key: getattr(row, key) for key in (
        "id", "at", "actor", "role", "action", "subject_type", "subject_id", "before", "after",
        "reason")}
    assert row.fund is None and digest == chain_hash(GENESIS, old_payload)
    drop_guard(session)
    session.execute(text("UPDATE audit_log SET fund = 'YJQ' WHERE id = 1"))  # claimed later
    session.commit()
    assert verify_chain(session).broken_at == 1


# --- one chain per fund ---------------------------------------------------------------

ZYS_CLERK = Actor("zys-clerk", "finance", 8, "ZYS")


def interleave(factory) -> None:
    """YJQ, ZYS and no fund, in turns: three chains, one numbering of ids."""
    for n in range(3):
        with transaction(factory) as s:
            record(s, CLERK, "receipt.issue", "receipt", f"YJQ-2026-00000{n + 1}")
            record(s, ZYS_CLERK, "receipt.issue", "receipt", f"ZYS-2026-00000{n + 1}")
            record(s, ADMIN, "user.add", "user", f"u{n}")


def test_each_fund_appends_to_its_own_chain(session, factory):
    interleave(factory)
    rows = session.query(AuditRecord).order_by(AuditRecord.id).all()
    assert len({r.id for r in rows}) == 9 and all(r.id > 0 for r in rows)
    chains: dict[str, list[AuditRecord]] = {}
    for row in rows:
        chains.setdefault(row.chain, []).append(row)
    assert set(chains) == {"YJQ", "ZYS", ""}
    for code, chain in chains.items():
        assert [r.seq for r in chain] == [1, 2, 3], code
        assert all(r.fund == (code or None) for r in chain)
        assert [r.prev_hash for r in chain] == [GENESIS] + [r.hash for r in chain[:-1]]
    assert [(h.chain, h.seq, h.id, h.hash) for h in heads(session)] == [
        (code, 3, chains[code][-1].id, chains[code][-1].hash) for code in ("", "YJQ", "ZYS")]
    assert head(session, "AYX") == ("AYX", 0, 0, GENESIS)  # a fund with no records yet
    report = verify_chain(session)
    assert report.ok and report.checked == 9
    assert [(h.chain, h.seq) for h in report.heads] == [("", 3), ("YJQ", 3), ("ZYS", 3)]


def test_a_record_hashes_its_position_in_its_chain(session, factory):
    """Not its global id, which a record of another fund may take first."""
    interleave(factory)
    row = session.execute(select(AuditRecord).where(AuditRecord.chain == "ZYS",
                                                    AuditRecord.seq == 2)).scalar_one()
    assert row.id != 2 and row.payload()["id"] == 2
    assert chain_hash(row.prev_hash, row.payload()) == row.hash


def test_a_locked_head_of_an_empty_chain_is_its_start(session, factory):
    """A period close reads its fund's head locked before recording: an empty chain
    gets its head row at position 0, and the record then continues it."""
    with transaction(factory) as s:
        assert head(s, "AYX", lock=True) == ("AYX", 0, 0, GENESIS)
        record(s, CLERK, "fund.add", "fund", "AYX", fund="AYX")
    assert head(session, "AYX").seq == 1
    with transaction(factory) as s:
        head(s, "CDS", lock=True)  # and nothing recorded: an empty chain, still whole
    assert verify_chain(session).ok


@pytest.mark.tampers
def test_an_edited_record_is_named_in_its_chain(session, factory):
    interleave(factory)
    drop_guard(session)
    session.execute(text("UPDATE audit_log SET reason = 'x' WHERE chain = 'ZYS' AND seq = 2"))
    session.commit()
    report = verify_chain(session)
    assert (report.broken_chain, report.broken_at) == ("ZYS", 2)
    assert report.problem.startswith("审计记录 ZYS 第 2 条") and "已被改动" in report.problem
    assert report.head("YJQ").seq == 3 and report.head("ZYS").seq == 1  # up to the break


@pytest.mark.tampers
def test_a_deleted_record_is_named_in_its_chain(session, factory):
    interleave(factory)
    drop_guard(session)
    session.execute(text("DELETE FROM audit_log WHERE chain = 'YJQ' AND seq = 2"))
    session.commit()
    report = verify_chain(session)
    assert (report.broken_chain, report.broken_at) == ("YJQ", 2)
    assert report.problem == "审计记录 YJQ 第 2 条缺失（其后现存的第一条为第 3 条）"


@pytest.mark.tampers
def test_a_rewound_head_is_named(session, factory):
    interleave(factory)
    second = session.execute(select(AuditRecord).where(AuditRecord.chain == "YJQ",
                                                       AuditRecord.seq == 2)).scalar_one()
    session.execute(text("UPDATE audit_chain_heads SET last_seq = 2, last_id = :i, "
                         "last_hash = :h WHERE chain = 'YJQ'"), {"i": second.id, "h": second.hash})
    session.commit()
    report = verify_chain(session)
    assert (report.broken_chain, report.broken_at) == ("YJQ", 2)
    assert report.problem == "审计链 YJQ 的链头指向第 2 条，但该链止于第 3 条"


@pytest.mark.tampers
def test_a_chain_without_its_head_or_a_head_without_its_chain_is_named(session, factory):
    interleave(factory)
    session.execute(text("DELETE FROM audit_chain_heads WHERE chain = 'ZYS'"))
    session.commit()
    report = verify_chain(session)
    assert (report.broken_chain, report.broken_at) == ("ZYS", 3)
    assert report.problem == "审计链 ZYS 有记录至第 3 条，但没有链头"
    session.execute(text("INSERT INTO audit_chain_heads (chain, last_seq, last_id, last_hash) "
                         "VALUES ('ZYS', 3, 1, 'x'), ('AYX', 1, 99, 'y')"))
    session.execute(text("UPDATE audit_chain_heads SET last_id = (SELECT id FROM audit_log "
                         "WHERE chain = 'ZYS' AND seq = 3), last_hash = (SELECT hash FROM "
                         "audit_log WHERE chain = 'ZYS' AND seq = 3) WHERE chain = 'ZYS'"))
    session.commit()
    report = verify_chain(session)
    assert (report.broken_chain, report.broken_at) == ("AYX", 1)
    assert report.problem == "审计链 AYX 的链头指向第 1 条，但该链没有任何记录"


@pytest.mark.tampers
def test_a_record_moved_to_another_funds_chain_is_named(session, factory):
    """The chain's name is not hashed, but the fund is, and a new record's fund names
    its chain: ZYS's whole chain passed off as AYX's links and hashes as before."""
    interleave(factory)
    drop_guard(session)
    session.execute(text("UPDATE audit_log SET chain = 'AYX' WHERE chain = 'ZYS'"))
    session.execute(text("UPDATE audit_chain_heads SET chain = 'AYX' WHERE chain = 'ZYS'"))
    session.commit()
    report = verify_chain(session)
    assert (report.broken_chain, report.broken_at) == ("AYX", 1)
    assert report.problem == "审计记录 AYX 第 1 条属于基金 ZYS，不属于这条链"


def test_verify_names_each_chain_in_english(session, factory):
    interleave(factory)
    drop_guard(session)
    with locale_as("en"):
        assert verify_chain(session).ok
        session.execute(text("DELETE FROM audit_log WHERE chain = '' AND seq = 1"))
        assert verify_chain(session).problem == (
            "audit record (no fund) #1 is missing (the next present is #2)")
    session.rollback()


# --- records written while there was one chain ----------------------------------------

def test_the_one_chain_of_before_is_the_start_of_the_chain_of_no_fund(empty_url):
    """Records written before revision 0014 -- with a fund or without, numbered by id in
    one chain -- keep verifying as chain ""; the next record of no fund continues them,
    a fund's first record starts its own chain, and ids stay unique."""
    engine = make_engine(empty_url)
    upgrade(engine, SCRIPT_LOCATION, "0013")
    previous = GENESIS
    with engine.begin() as conn:
        for n, fund in ((1, None), (2, "YJQ"), (3, None)):  # as the code before 0014 wrote them
            row = {"id": n, "at": f"2026-01-0{n}T09:00:00.000000+08:00", "actor": "old",
                   "role": "finance", "action": "receipt.issue", "subject_type": "receipt",
                   "subject_id": f"YJQ-2026-00000{n}", "before": None, "after": None,
                   "reason": None}
            if fund:
                row["fund"] = fund
            digest = chain_hash(previous, row)
            conn.execute(text(
                "INSERT INTO audit_log (id, at, actor, role, action, subject_type, subject_id, "
                "fund, prev_hash, hash) VALUES (:id, :at, :actor, :role, :action, "
                ":subject_type, :subject_id, :fund, :prev, :hash)"),
                {"fund": None, **row, "prev": previous, "hash": digest})
            previous = digest
        conn.execute(text("INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 3, :h)"),
                     {"h": previous})
    upgrade(engine, SCRIPT_LOCATION)
    factory = make_session_factory(engine)
    with factory() as session:
        report = verify_chain(session)
        assert report.ok and [(h.chain, h.seq, h.id) for h in report.heads] == [("", 3, 3)]
        assert head(session) == ("", 3, 3, previous)
    with transaction(factory) as s:
        fund_id, fund_hash = record(s, CLERK, "receipt.issue", "receipt", "YJQ-2026-000004")
        none_id, none_hash = record(s, ADMIN, "user.add", "user", "new")
    with factory() as session:
        new = session.get(AuditRecord, none_id)
        assert (new.chain, new.seq, new.prev_hash) == ("", 4, previous)
        first = session.get(AuditRecord, fund_id)
        assert (first.chain, first.seq, first.prev_hash) == ("YJQ", 1, GENESIS)
        assert fund_id == 4 and none_id == 5  # after every old id, on both databases
        report = verify_chain(session)
        assert report.ok and report.checked == 5
        assert [(h.chain, h.seq, h.hash) for h in report.heads] == [
            ("", 4, none_hash), ("YJQ", 1, fund_hash)]
    with pytest.raises(RuntimeError, match="break the audit chain"):
        downgrade(engine, SCRIPT_LOCATION, "0013")
    engine.dispose()


def test_a_downgrade_gives_back_the_one_chain_while_every_record_is_of_no_fund(empty_url):
    engine = make_engine(empty_url)
    upgrade(engine, SCRIPT_LOCATION)
    factory = make_session_factory(engine)
    append(factory, 2)
    downgrade(engine, SCRIPT_LOCATION, "0013")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT last_id FROM audit_head")).scalar_one() == 2
    upgrade(engine, SCRIPT_LOCATION)
    append(factory, 1)
    with factory() as session:
        assert verify_chain(session).ok and head(session).seq == 3
    engine.dispose()
