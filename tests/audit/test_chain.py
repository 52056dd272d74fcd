"""The audit chain: appended in the caller's transaction, verified link by link."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from audit import record, verify_chain
from audit.models import AuditHead, AuditRecord
from core.actors import Actor
from core.db import transaction

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
    head = session.get(AuditHead, 1)
    assert (head.last_id, head.last_hash) == (3, rows[2].hash)
    report = verify_chain(session)
    assert report.ok and report.checked == 3 and report.head_hash == rows[2].hash


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
    assert not report.ok and report.broken_at == 3
    assert "#3" in report.problem


@pytest.mark.tampers
def test_a_rehashed_record_breaks_the_next_link(session, factory):
    """Recomputing the edited row's own hash just moves the break to the next row."""
    from core.hashing import chain_hash

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
    assert report.broken_at == 2 and "#2" in report.problem


@pytest.mark.tampers
def test_a_truncated_tail_disagrees_with_the_head(session, factory):
    append(factory, 4)
    drop_guard(session)
    session.execute(text("DELETE FROM audit_log WHERE id = 4"))
    session.commit()
    report = verify_chain(session)
    assert not report.ok and report.broken_at == 4


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
    from core.hashing import GENESIS, chain_hash

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
