"""Sealed periods: the daily `ledger verify` re-derives only the open part and checks
the sealed part against its seal; `--full` re-derives everything."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from beancount.core import data
from beancount.parser import parser
from sqlalchemy import select

from audit.models import AuditRecord
from core.db import transaction
from core.i18n import locale_as
from ledger.beancount_io import load
from ledger.journal import find_fund
from ledger.models import PeriodClose, PeriodSeal, SealedGrant
from ledger.periods import close_period
from ledger.seals import latest_seal
from ledger.verify import verify_fund

from .test_verify import tamper


@pytest.fixture(autouse=True)
def in_english():
    with locale_as("en"):
        yield


def close(factory, actor, code, period):
    with transaction(factory) as s:
        close_period(s, actor, code, period, unreconciled_reason="无银行对账单")


@pytest.fixture
def fund(make_fund, post, factory, actor):
    """January closed (a project committed and partly paid, a donation), February
    open: the project released, the sealed donation reversed, interest."""
    code = make_fund("LZX")
    post("seed", code, date=dt.date(2025, 1, 10), amount="50000", doc_no="资财〔2025〕3号")
    post("donation", code, date=dt.date(2025, 1, 12), amount="1200", donor="王某",
         donor_type="individual", receipt_no="R-1", purpose="education")
    post("allocation", code, date=dt.date(2025, 1, 15), amount="20000", purpose="medical")
    post("commitment", code, date=dt.date(2025, 1, 20), amount="15000", grant="LZX-2025-01",
         purpose="medical", payee="乐至县民政局")
    post("disbursement", code, date=dt.date(2025, 1, 25), amount="9000", grant="LZX-2025-01",
         bank_ref="ZF001")
    close(factory, actor, code, "2025-01")
    post("release", code, date=dt.date(2025, 2, 3), amount="6000", grant="LZX-2025-01",
         reason="项目缩减")
    post("reversal", code, seq=2, date=dt.date(2025, 2, 4), reason="捐赠退回")
    post("interest", code, date=dt.date(2025, 2, 21), amount="12.34")
    return code


def daily(session, code, path=None):
    return verify_fund(session, find_fund(session, code), full=False, keep=path)


def full(session, code):
    return verify_fund(session, find_fund(session, code), full=True)


def transactions(path: Path) -> list[data.Transaction]:
    entries, errors, _ = parser.parse_file(str(path))
    assert not errors
    return [e for e in entries if isinstance(e, data.Transaction)]


def test_a_close_seals_its_balances_positions_and_head(session, fund):
    seal = latest_seal(session, find_fund(session, fund))
    assert seal is not None and seal.close.period == "2025-01"
    assert (seal.seq, seal.first_open_seq) == (5, 6)
    assert seal.grants == {"grant-LZX-2025-01": ("Medical", 6000, 9000)}
    assert seal.balances["Assets:Fund:Medical"] == 11000
    assert seal.recomputed(find_fund(session, fund)) == seal.digest
    record = session.get(AuditRecord, seal.close.audit_id)
    after = json.loads(record.after)
    assert after["seal"] == {"digest": seal.digest, "first_open_seq": 6, "grants": 1}
    assert after["journal_head"]["seq"] == 5 and "balances" in after  # kept as before


def test_daily_verify_reads_only_the_open_part(session, fund, tmp_path):
    report = daily(session, fund, tmp_path / "open.beancount")
    assert report.ok, report.problems
    assert (report.sealed, report.entries, report.open_entries) == ("2025-01", 8, 3)
    written = transactions(tmp_path / "open.beancount")
    assert [t.meta["type"] for t in written] == ["opening", "release", "reversal", "interest"]
    assert all(t.date > dt.date(2025, 1, 31) for t in written[1:])
    # --full still reads every entry.
    assert full(session, fund).ok and full(session, fund).sealed is None


def test_the_open_part_passes_bean_check_with_the_plugin(session, fund, tmp_path):
    path = tmp_path / "open.beancount"
    assert daily(session, fund, path).ok
    text_ = path.read_text(encoding="utf-8")
    assert 'plugin "ledger.plugins.fund_rules"' in text_
    assert 'custom "sealed-grant" "grant-LZX-2025-01"' in text_  # the release needs it
    assert 'custom "sealed-entry" "2"' in text_  # the reversal undoes a sealed donation
    done = subprocess.run([Path(sys.executable).with_name("bean-check"), str(path)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_plugin_applies_its_rules_from_the_seal(session, fund, tmp_path):
    path = tmp_path / "open.beancount"
    assert daily(session, fund, path).ok
    text_ = path.read_text(encoding="utf-8")
    # Releasing more than the sealed outstanding commitment is refused from the seal on.
    path.write_text(text_.replace('outstanding: "6000.00"', 'outstanding: "5000.00"'),
                    encoding="utf-8")
    assert any("[grant-outstanding]" in e.message for e in load(path).errors)
    # An opening anywhere but at a seal would invent money.
    moved = text_.replace('custom "sealed" "2025-01"', 'custom "note" "2025-01"')
    path.write_text(moved, encoding="utf-8")
    assert any("[sealed-opening]" in e.message for e in load(path).errors)


@pytest.mark.tampers
def test_an_amount_edited_in_a_sealed_entry_is_caught_by_the_daily_verify(session, fund):
    # Both legs of the sealed disbursement (#5) doubled: the entry still balances and the
    # running balances are untouched, so only the sealed sums can see it.
    tamper(session, "postings", "UPDATE postings SET amount = amount * 2 WHERE entry_id = "
                                "(SELECT id FROM journal_entries WHERE seq = 5)")
    report = daily(session, fund)
    assert not report.ok and report.seal_failed
    assert any(p.startswith("Assets:Fund:Medical: the entries of the sealed periods")
               for p in report.problems), report.problems
    # It then re-derived everything, to name the entry.
    assert any("#5" in p and "altered" in p for p in report.problems), report.problems


@pytest.mark.tampers
def test_a_narration_edited_in_a_sealed_entry_is_caught_by_full_only(session, fund):
    tamper(session, "journal_entries",
           "UPDATE journal_entries SET narration = 'edited' WHERE seq = 3")
    assert daily(session, fund).ok  # what the daily verify does not re-derive
    report = full(session, fund)
    assert len(report.problems) == 1 and "#3" in report.problems[0]


@pytest.mark.tampers
def test_an_edited_open_entry_is_caught_by_both(session, fund):
    tamper(session, "journal_entries",
           "UPDATE journal_entries SET narration = 'edited' WHERE seq = 8")
    for report in (daily(session, fund), full(session, fund)):
        assert any("#8" in p and "altered" in p for p in report.problems), report.problems
    tamper(session, "postings", "UPDATE postings SET amount = amount * 2 WHERE entry_id = "
                                "(SELECT id FROM journal_entries WHERE seq = 7)")
    report = daily(session, fund)
    assert not report.seal_failed and report.sealed == "2025-01"
    assert any("#7" in p and "altered" in p for p in report.problems), report.problems
    assert any(p.startswith("Income:Donations:Individual:") for p in report.problems)


@pytest.mark.tampers
def test_an_edited_seal_is_caught(session, fund):
    tamper(session, "sealed_grants", "UPDATE sealed_grants SET outstanding = 0")
    report = daily(session, fund)
    assert report.seal_failed
    assert any("its seal no longer matches" in p for p in report.problems), report.problems


@pytest.mark.tampers
def test_entries_keyed_after_the_period_but_before_the_close(session, factory, actor, post,
                                                             fund, tmp_path):
    """February closes after March entries were posted: they are part of the open part,
    their hashes recomputed from the seal's first open number; later closes move on."""
    post("interest", fund, date=dt.date(2025, 3, 2), amount="1")
    close(factory, actor, fund, "2025-02")
    post("interest", fund, date=dt.date(2025, 3, 20), amount="2")
    sealed = session.execute(select(PeriodSeal).join(PeriodClose).where(
        PeriodClose.period == "2025-02")).scalar_one()
    assert sealed.first_open_seq == 9  # the March 2 interest, numbered before the head #9
    assert session.execute(select(SealedGrant.grant, SealedGrant.outstanding).where(
        SealedGrant.close_id == sealed.close_id)).all() == [("grant-LZX-2025-01", 0)]
    report = daily(session, fund, tmp_path / "open.beancount")
    assert report.ok, report.problems
    assert (report.sealed, report.open_entries) == ("2025-02", 2)
    assert [t.date for t in transactions(tmp_path / "open.beancount")] == [
        dt.date(2025, 2, 28), dt.date(2025, 3, 2), dt.date(2025, 3, 20)]
    # The entry keyed in before the close is in the recomputed chain too.
    tamper(session, "journal_entries",
           "UPDATE journal_entries SET narration = 'edited' WHERE seq = 9")
    assert any("#9" in p and "altered" in p for p in daily(session, fund).problems)


def test_books_with_no_seal_are_verified_in_full(session, make_fund, post):
    code = make_fund("AYX")
    post("seed", code, date=dt.date(2025, 1, 10), amount="100", doc_no="D1")
    report = daily(session, code)
    assert report.ok and report.sealed is None and report.entries == 1


def test_the_command_says_what_it_trusted(run, make_fund, post, factory, actor):
    code = make_fund("LZX")
    post("seed", code, date=dt.date(2025, 1, 10), amount="50000", doc_no="D1")
    close(factory, actor, code, "2025-01")
    post("interest", code, date=dt.date(2025, 2, 21), amount="1")
    status, out, err = run("ledger", "verify", "--fund", code)
    assert status == 0 and out.startswith("OK LZX: 2 entries")
    assert "2025-01" in err and "1" in err
    status, out, err = run("ledger", "verify", "--fund", code, "--full")
    assert status == 0 and out.startswith("OK LZX: 2 entries") and "2025-01" not in err
