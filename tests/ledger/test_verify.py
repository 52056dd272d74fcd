"""`ledger verify` proves SQL equals Beancount, and catches what was edited behind its back."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from beancount.parser import parser, printer
from sqlalchemy import exc, text

from core.i18n import locale_as
from ledger.beancount_io import load, write_ledger
from ledger.journal import find_fund
from ledger.verify import verify_fund

D = Decimal


@pytest.fixture
def fund(make_fund, post, factory, actor):
    from core.db import transaction
    from ledger.periods import close_period

    code = make_fund("LZX")
    post("seed", code, date=dt.date(2025, 1, 10), amount="50000", doc_no="资财〔2025〕3号")
    post("donation", code, date=dt.date(2025, 1, 12), amount="1200", donor='说"引号"的人\\',
         donor_type="individual", receipt_no="R-1", purpose="education", anonymous=True)
    post("allocation", code, date=dt.date(2025, 1, 15), amount="20000", purpose="medical")
    post("commitment", code, date=dt.date(2025, 1, 20), amount="15000", grant="LZX-2025-01",
         purpose="medical", payee="乐至县民政局")
    post("disbursement", code, date=dt.date(2025, 1, 25), amount="9000", grant="LZX-2025-01",
         bank_ref="ZF001")
    with transaction(factory) as s:
        close_period(s, actor, code, "2025-01", unreconciled_reason="无银行对账单")
    post("release", code, date=dt.date(2025, 2, 3), amount="6000", grant="LZX-2025-01",
         reason="项目缩减")
    post("reversal", code, seq=2, date=dt.date(2025, 2, 4), reason="捐赠退回")
    post("interest", code, date=dt.date(2025, 2, 21), amount="12.34")
    return code


LOCATION_KEYS = ("filename", "lineno", "__tolerances__")


def without_locations(entries):
    """Entries compared by content: where they were parsed from does not count."""
    def clean(meta):
        return {k: v for k, v in (meta or {}).items() if k not in LOCATION_KEYS}

    out = []
    for entry in entries:
        cleaned = entry._replace(meta=clean(entry.meta))
        if isinstance(cleaned, data.Transaction):
            cleaned = cleaned._replace(postings=[p._replace(meta=clean(p.meta))
                                                 for p in cleaned.postings])
        out.append(cleaned)
    return out


def export(session, code, path: Path) -> Path:
    with path.open("w", encoding="utf-8") as out:
        write_ledger(session, find_fund(session, code), out)
    return path


def tamper(session, table: str, statement: str) -> None:
    """Do what a DBA with write access could: drop the append-only guard and edit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"DROP TRIGGER {table}_append_only ON {table}"))
    else:
        session.execute(text(f"DROP TRIGGER {table}_no_update"))
        session.execute(text(f"DROP TRIGGER {table}_no_delete"))
    session.execute(text(statement))
    session.commit()


@pytest.fixture(autouse=True)
def in_english():
    """Problems are read by their English wording here; tests/core covers the Chinese."""
    with locale_as("en"):
        yield


def test_clean_books_verify(session, fund):
    report = verify_fund(session, find_fund(session, fund))
    assert report.ok, report.problems
    assert report.entries == 8


def test_export_passes_bean_check(session, fund, tmp_path):
    path = export(session, fund, tmp_path / "lzx.beancount")
    done = subprocess.run([Path(sys.executable).with_name("bean-check"), str(path)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    text_ = path.read_text(encoding="utf-8")
    assert 'plugin "ledger.plugins.fund_rules"' in text_
    assert 'zh: "银行存款—儿童专项基金—助学"' in text_
    assert "balance Assets:Fund:Medical" in text_
    assert "^grant-LZX-2025-01" in text_


def test_export_reads_back_as_beancount_prints_it(session, fund, tmp_path):
    """Our hand-written export says exactly what Beancount's printer would."""
    path = export(session, fund, tmp_path / "lzx.beancount")
    ours, errors, _ = parser.parse_file(str(path))
    assert not errors
    reprinted = "\n".join(printer.format_entry(e) for e in ours)
    theirs, errors, _ = parser.parse_string(reprinted)
    assert not errors

    assert without_locations(ours) == without_locations(theirs)


def test_fast_load_equals_the_full_loader(session, fund, tmp_path):
    path = export(session, fund, tmp_path / "lzx.beancount")
    fast = load(path)
    full_entries, full_errors, _ = loader.load_file(str(path))
    assert not fast.errors and not full_errors
    assert without_locations(fast.entries) == without_locations(full_entries)


def test_bean_check_catches_a_tampered_export(session, fund, tmp_path):
    path = export(session, fund, tmp_path / "lzx.beancount")
    text_ = path.read_text(encoding="utf-8")
    # Someone pays the grant twice as much in the file, both legs edited so it balances.
    tampered = text_.replace("Liabilities:GrantsPayable:Medical  9000.00 CNY",
                             "Liabilities:GrantsPayable:Medical  19000.00 CNY").replace(
        "Assets:Fund:Medical  -9000.00 CNY", "Assets:Fund:Medical  -19000.00 CNY")
    assert tampered != text_
    path.write_text(tampered, encoding="utf-8")
    done = subprocess.run([Path(sys.executable).with_name("bean-check"), str(path)],
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "[grant-outstanding]" in done.stderr
    assert "Balance failed for 'Assets:Fund:Medical'" in done.stderr


@pytest.mark.parametrize("table", ["journal_entries", "postings", "audit_log",
                                   "balance_assertions", "period_closes"])
def test_posted_history_cannot_be_updated_or_deleted(session, fund, table):
    with pytest.raises(exc.DBAPIError):
        session.execute(text(f"UPDATE {table} SET id = id"))
    session.rollback()
    with pytest.raises(exc.DBAPIError):
        session.execute(text(f"DELETE FROM {table}"))
    session.rollback()


@pytest.mark.tampers
def test_verify_names_an_edited_posting(session, fund):
    # Both legs of the disbursement (entry #5) changed consistently: the entry
    # still balances, but its hash and the running balances no longer agree.
    tamper(session, "postings",
           "UPDATE postings SET amount = amount * 2 WHERE entry_id = "
           "(SELECT id FROM journal_entries WHERE seq = 5)")
    report = verify_fund(session, find_fund(session, fund))
    assert not report.ok
    assert any("#5" in p and "altered" in p for p in report.problems), report.problems
    assert any(p.startswith("Assets:Fund:Medical:") for p in report.problems), report.problems
    assert any("LZX-2025-01" in p for p in report.problems), report.problems


@pytest.mark.tampers
def test_verify_names_an_edited_narration(session, fund):
    tamper(session, "journal_entries",
           "UPDATE journal_entries SET narration = 'edited' WHERE seq = 3")
    report = verify_fund(session, find_fund(session, fund))
    assert len(report.problems) == 1 and "#3" in report.problems[0]


@pytest.mark.tampers
def test_verify_names_a_deleted_entry(session, fund):
    tamper(session, "postings",
           "DELETE FROM postings WHERE entry_id = (SELECT id FROM journal_entries WHERE seq = 8)")
    tamper(session, "journal_entries", "DELETE FROM journal_entries WHERE seq = 8")
    report = verify_fund(session, find_fund(session, fund))
    assert any("ends at #7" in p for p in report.problems), report.problems
    assert any(p.startswith("Assets:Fund:General:") for p in report.problems), report.problems


@pytest.mark.tampers
def test_verify_names_a_forged_running_balance(session, fund):
    session.execute(text("UPDATE accounts SET balance = balance + 10000 "  # fen
                         "WHERE name = 'Assets:Fund:General'"))
    session.commit()
    report = verify_fund(session, find_fund(session, fund))
    assert any(p.startswith("Assets:Fund:General:") and "¥100.00" in p
               for p in report.problems), report.problems
