"""`ledger verify` and `audit verify` cross-check the journal with the records that name it:
the receipt register, the audit log and the heads each period close recorded. The attacks
here are what a DBA with write access could do: drop the append-only triggers, remove or edit
rows, and put the head rows back so that each chain on its own still looks whole."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import exc, select, text

from audit import head, verify_chain
from audit.models import AuditRecord
from core.actors import Actor
from core.db import transaction
from core.errors import Conflict
from core.i18n import locale_as
from ledger import donations
from ledger.beancount_io import read_period_heads, write_ledger
from ledger.crosscheck import check_audit_against_journal
from ledger.journal import find_fund
from ledger.models import PeriodClose
from ledger.periods import close_period
from ledger.verify import verify_fund

D = Decimal
OFFICE = Actor("office", "charity_office")
TRIGGERS = {
    "journal_entries": ("journal_entries_append_only", "journal_entries_no_update",
                        "journal_entries_no_delete"),
    "postings": ("postings_append_only", "postings_no_update", "postings_no_delete"),
    "audit_log": ("audit_log_append_only", "audit_log_no_update", "audit_log_no_delete"),
    "period_closes": ("period_closes_append_only", "period_closes_no_update",
                      "period_closes_no_delete"),
    "balance_assertions": ("balance_assertions_append_only", "balance_assertions_no_update",
                           "balance_assertions_no_delete"),
    "receipts": ("receipts_void_only", "receipts_no_update", "receipts_no_delete"),
    "period_seals": ("period_seals_append_only", "period_seals_no_update",
                     "period_seals_no_delete"),
    "sealed_grants": ("sealed_grants_append_only", "sealed_grants_no_update",
                      "sealed_grants_no_delete"),
}


def unguard(session, *tables: str) -> None:
    """Drop the append-only triggers of these tables, as an intruder would first."""
    postgres = session.get_bind().dialect.name == "postgresql"
    for table in tables:
        pg_name, *sqlite_names = TRIGGERS[table]
        for name in [pg_name] if postgres else sqlite_names:
            session.execute(text(f"DROP TRIGGER IF EXISTS {name}" +
                                 (f" ON {table}" if postgres else "")))


@pytest.fixture(autouse=True)
def in_english():
    with locale_as("en"):
        yield


@pytest.fixture
def fund(make_fund, post, factory, actor):
    """January closed; two February entries were posted before it closed, so the
    close's journal head is the newest entry (#4) and its record the newest audit row."""
    code = make_fund("LZX")
    post("seed", code, date=dt.date(2025, 1, 10), amount="50000", doc_no="资财〔2025〕3号")
    post("allocation", code, date=dt.date(2025, 1, 15), amount="20000", purpose="medical")
    post("interest", code, date=dt.date(2025, 2, 3), amount="1.00")
    post("interest", code, date=dt.date(2025, 2, 4), amount="2.00")
    with transaction(factory) as s:
        close_period(s, actor, code, "2025-01", unreconciled_reason="无银行对账单")
    return code


def problems(session, code, **kwargs) -> list[str]:
    session.expire_all()
    return verify_fund(session, find_fund(session, code), **kwargs).problems


def audit_problems(session, code) -> list[str]:
    session.expire_all()
    chain = verify_chain(session)
    return ([] if chain.ok else [chain.problem]) + check_audit_against_journal(
        session, find_fund(session, code))


def remove_newest_entries(session, code: str, keep: int) -> None:
    """Delete the entries after #keep, rewind the fund's head to #keep and repair the
    running balances, so the journal's chain and Beancount agree with SQL again."""
    unguard(session, "journal_entries", "postings")
    fund = find_fund(session, code)
    last = session.execute(text("SELECT hash FROM journal_entries WHERE fund_id = :f AND "
                                "seq = :s"), {"f": fund.id, "s": keep}).scalar_one()
    removed = session.execute(text(
        "SELECT p.account_id, p.amount, e.date FROM postings p JOIN journal_entries e "
        "ON e.id = p.entry_id WHERE e.fund_id = :f AND e.seq > :s"),
        {"f": fund.id, "s": keep}).all()
    for account_id, amount, day in removed:
        session.execute(text("UPDATE accounts SET balance = balance - :a WHERE id = :i"),
                        {"a": amount, "i": account_id})
        session.execute(text("UPDATE daily_changes SET change = change - :a "
                             "WHERE account_id = :i AND day = :d"),
                        {"a": amount, "i": account_id, "d": day})
    session.execute(text("DELETE FROM postings WHERE entry_id IN (SELECT id FROM "
                         "journal_entries WHERE fund_id = :f AND seq > :s)"),
                    {"f": fund.id, "s": keep})
    session.execute(text("DELETE FROM journal_entries WHERE fund_id = :f AND seq > :s"),
                    {"f": fund.id, "s": keep})
    session.execute(text("UPDATE funds SET entry_count = :s, last_entry_hash = :h "
                         "WHERE id = :f"), {"s": keep, "h": last, "f": fund.id})
    session.commit()


def remove_newest_audit_records(session, keep: int) -> None:
    """Delete the audit records after #keep and rewind each chain's head to its last
    record left."""
    unguard(session, "audit_log")
    session.execute(text("DELETE FROM audit_log WHERE id > :i"), {"i": keep})
    session.execute(text("DELETE FROM audit_chain_heads"))
    session.execute(text(
        "INSERT INTO audit_chain_heads (chain, last_seq, last_id, last_hash) "
        "SELECT coalesce(chain, ''), coalesce(seq, id), id, hash FROM audit_log "
        "WHERE id IN (SELECT max(id) FROM audit_log GROUP BY coalesce(chain, ''))"))
    session.commit()


def record_of(session, code: str, seq: int) -> AuditRecord:
    return session.execute(select(AuditRecord).where(
        AuditRecord.subject_type == "journal_entry",
        AuditRecord.subject_id == f"{code}#{seq}")).scalar_one()


# --- the heads a period close records ------------------------------------------------

def test_a_close_records_the_journal_and_audit_heads(session, fund, tmp_path):
    f = find_fund(session, fund)
    close = session.execute(select(PeriodClose)).scalar_one()
    assert (close.journal_seq, close.journal_hash) == (4, f.last_entry_hash)
    sealed = session.get(AuditRecord, close.audit_id)
    assert sealed.hash == close.audit_hash and sealed.action == "ledger.close-period"
    after = json.loads(sealed.after)
    assert after["journal_head"] == {"seq": 4, "hash": f.last_entry_hash}
    # The head of the fund's own chain, which the close's record then continued.
    assert (sealed.chain, sealed.seq) == (fund, after["audit_head"]["seq"] + 1)
    previous = session.execute(select(AuditRecord).where(
        AuditRecord.chain == fund, AuditRecord.seq == sealed.seq - 1)).scalar_one()
    assert after["audit_head"] == {"seq": previous.seq, "id": previous.id,
                                   "hash": previous.hash}
    assert head(session, fund) == (fund, sealed.seq, sealed.id, sealed.hash)

    path = tmp_path / "lzx.beancount"
    with path.open("w", encoding="utf-8") as out:
        write_ledger(session, f, out)
    exported = path.read_text(encoding="utf-8")
    assert (f'2025-02-01 custom "period-close" "2025-01"\n  journal-seq: "4"\n'
            f'  journal-hash: "{f.last_entry_hash}"\n  audit-id: "{sealed.id}"\n'
            f'  audit-hash: "{sealed.hash}"\n') in exported
    [heads] = read_period_heads(path)
    assert (heads.fund, heads.period, heads.journal_seq, heads.audit_id) == (
        "LZX", "2025-01", 4, sealed.id)
    done = subprocess.run([Path(sys.executable).with_name("bean-check"), str(path)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_clean_books_pass_every_cross_check(session, fund):
    assert problems(session, fund) == []
    assert audit_problems(session, fund) == []


# --- removing the newest records and rewinding the heads -------------------------------

@pytest.mark.tampers
def test_removing_the_newest_entries_and_rewinding_the_journal_head_is_caught(session, fund):
    interest = record_of(session, fund, 3).id
    sealed_head = find_fund(session, fund).last_entry_hash
    remove_newest_entries(session, fund, keep=2)
    expected = [
        f"audit record #{interest} (ledger.interest) names journal entry LZX#3, which is "
        "not in the journal",
        f"audit record #{interest + 1} (ledger.interest) names journal entry LZX#4, which "
        "is not in the journal",
        f"period 2025-01 closed at journal entry #4 (hash {sealed_head[:16]}), but the "
        "journal now ends at #2",
    ]
    assert problems(session, fund) == expected
    assert audit_problems(session, fund) == expected


@pytest.mark.tampers
def test_removing_the_newest_audit_records_and_rewinding_the_audit_head_is_caught(session,
                                                                                   fund):
    close = session.execute(select(PeriodClose)).scalar_one()
    before_interest = record_of(session, fund, 3).id - 1
    remove_newest_audit_records(session, keep=before_interest)
    assert verify_chain(session).ok  # the chain alone cannot tell
    expected = [
        "journal entry LZX#3 has no audit record",
        "journal entry LZX#4 has no audit record",
        "period 2025-01 of fund LZX is closed, but the audit log has no record of its close",
        f"period 2025-01 was sealed by audit record #{close.audit_id} (hash "
        f"{close.audit_hash[:16]}), which is no longer in the audit log",
    ]
    assert audit_problems(session, fund) == expected
    assert problems(session, fund) == expected


@pytest.mark.tampers
def test_removing_both_and_the_close_itself_is_caught_against_an_earlier_export(
        session, fund, tmp_path):
    """When every trace of the close is gone from the database too, the heads printed in
    an export made after the close still name what was removed."""
    export = tmp_path / "lzx-2025-01.beancount"
    with export.open("w", encoding="utf-8") as out:
        write_ledger(session, find_fund(session, fund), out)
    close = session.execute(select(PeriodClose.audit_id, PeriodClose.audit_hash)).one()
    before_interest = record_of(session, fund, 3).id - 1
    remove_newest_entries(session, fund, keep=2)
    remove_newest_audit_records(session, keep=before_interest)
    unguard(session, "period_closes", "balance_assertions", "period_seals", "sealed_grants")
    session.execute(text("DELETE FROM balance_assertions"))
    session.execute(text("DELETE FROM sealed_grants"))
    session.execute(text("DELETE FROM period_seals"))
    session.execute(text("DELETE FROM period_closes"))
    session.execute(text("UPDATE funds SET locked_through = NULL"))
    session.commit()
    assert problems(session, fund) == []  # nothing left inside the database says otherwise
    assert audit_problems(session, fund) == []

    found = problems(session, fund, against=read_period_heads(export))
    assert len(found) == 2
    assert found[0].startswith("period 2025-01 closed at journal entry #4 (hash ")
    assert found[1] == (f"period 2025-01 was sealed by audit record #{close.audit_id} (hash "
                        f"{close.audit_hash[:16]}), which is no longer in the audit log")


@pytest.mark.tampers
def test_an_audit_record_rehashed_to_another_entry_hash_is_named(session, fund):
    record = record_of(session, fund, 2)
    unguard(session, "audit_log")
    after = json.loads(record.after)
    after["hash"] = "f" * 64
    session.execute(text("UPDATE audit_log SET after = :a WHERE id = :i"),
                    {"a": json.dumps(after, sort_keys=True, ensure_ascii=False,
                                     separators=(",", ":")), "i": record.id})
    session.commit()
    assert f"audit record #{record.id} names journal entry LZX#2 with hash ffffffffffffffff, " \
           "but the entry's hash is " in "\n".join(problems(session, fund))


# --- receipts ------------------------------------------------------------------------

@pytest.fixture
def receipt(factory, fund):
    with transaction(factory) as s:
        donor = donations.add_donor(s, OFFICE, fund, kind="enterprise", name="资阳众诚建设有限公司",
                                    credit_code="91350100M000100Y43")
        return donations.record_donation(s, OFFICE, fund, donor_id=donor.id,
                                         date=dt.date(2025, 2, 10), amount="1000",
                                         purpose="education").code


def test_the_receipt_register_is_append_only_but_a_receipt_can_be_voided(session, factory,
                                                                         fund, receipt):
    for statement in ("UPDATE receipts SET amount = amount * 2",
                      "UPDATE receipts SET code = 'LZX-2025-000009'",
                      "UPDATE receipts SET issued_by = 'someone else'",
                      "UPDATE receipts SET purpose = NULL",
                      "UPDATE receipts SET number = number + 1",
                      "DELETE FROM receipts"):
        with pytest.raises(exc.DBAPIError):
            session.execute(text(statement))
        session.rollback()
    with transaction(factory) as s:
        donations.void_receipt(s, OFFICE, fund, receipt, reason="抬头打错", reissue=True)
    # A voided receipt stays void and says what it said.
    for statement in ("UPDATE receipts SET state = 'issued' WHERE state = 'voided'",
                      "UPDATE receipts SET void_reason = 'x' WHERE state = 'voided'"):
        with pytest.raises(exc.DBAPIError):
            session.execute(text(statement))
        session.rollback()
    assert problems(session, fund) == []


@pytest.mark.tampers
@pytest.mark.parametrize(("edit", "expected"), [
    ("UPDATE receipts SET amount = 200000",
     "receipt LZX-2025-000001 says amount ¥2,000.00, but its donation entry #5 says "
     "¥1,000.00"),
    ("UPDATE receipts SET purpose = 'Medical'",
     "receipt LZX-2025-000001 says purpose Assets:Fund:Medical, but its donation entry #5 "
     "says Assets:Fund:Education"),
    ("UPDATE receipts SET donated_on = '2025-02-11'",
     "receipt LZX-2025-000001 says date 2025-02-11, but its donation entry #5 says "
     "2025-02-10"),
])
def test_a_receipt_edited_behind_the_register_is_named(session, fund, receipt, edit,
                                                       expected):
    unguard(session, "receipts")
    session.execute(text(edit))
    session.commit()
    assert problems(session, fund) == [expected]


@pytest.mark.tampers
def test_a_renamed_donor_no_longer_matches_the_donation(session, fund, receipt):
    session.execute(text("UPDATE donors SET name = '另一家公司'"))
    session.commit()
    assert problems(session, fund) == [
        "receipt LZX-2025-000001 says donor 另一家公司, but its donation entry #5 says "
        "资阳众诚建设有限公司"]


def test_a_reversed_donation_keeps_no_receipt_in_force(session, factory, fund, receipt, post):
    with pytest.raises(Conflict) as refused:
        post("reversal", fund, seq=5, date=dt.date(2025, 2, 12), reason="录错了")
    assert "LZX-2025-000001" in refused.value.message
    with transaction(factory) as s:
        donations.return_donation(s, OFFICE, fund, receipt, date=dt.date(2025, 2, 12),
                                  reason="捐赠人要求退回")
    assert problems(session, fund) == []


@pytest.mark.tampers
def test_a_receipt_back_in_force_after_its_donation_was_returned_is_named(session, factory,
                                                                          fund, receipt):
    with transaction(factory) as s:
        donations.return_donation(s, OFFICE, fund, receipt, date=dt.date(2025, 2, 12),
                                  reason="捐赠人要求退回")
    unguard(session, "receipts")
    session.execute(text("UPDATE receipts SET state = 'issued'"))
    session.commit()
    assert problems(session, fund) == [
        "receipt LZX-2025-000001 is still in force, but its donation #5 was reversed by "
        "entry #6"]
