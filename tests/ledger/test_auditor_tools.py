"""An auditor's own tools read our export: Fava opens it, bean-query answers from it."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.balances import balances
from ledger.beancount_io import write_ledger
from ledger.journal import find_fund


@pytest.fixture
def exported(make_fund, post, session, tmp_path):
    code = make_fund("GXQ")
    post("seed", code, date=dt.date(2025, 1, 10), amount="80000", doc_no="资财〔2025〕5号")
    post("donation", code, date=dt.date(2025, 2, 1), amount="1500", donor="匿名捐赠人",
         donor_type="individual", receipt_no="GXQ-1", purpose="hardship", anonymous=True)
    post("allocation", code, date=dt.date(2025, 2, 2), amount="20000", purpose="hardship")
    post("commitment", code, date=dt.date(2025, 2, 3), amount="6000", grant="GXQ-P1",
         purpose="hardship")
    post("disbursement", code, date=dt.date(2025, 2, 4), amount="6000", grant="GXQ-P1",
         bank_ref="ZF9")
    path = tmp_path / "gxq.beancount"
    fund = find_fund(session, code)
    with path.open("w", encoding="utf-8") as out:
        write_ledger(session, fund, out)
    return path, balances(session, fund)


def test_fava_opens_the_export_without_errors(exported):
    from fava.core import FavaLedger

    path, _ = exported
    ledger = FavaLedger(str(path))
    assert ledger.errors == []
    assert {"Assets:Fund:Hardship", "Income:Government:Seed"} <= set(ledger.accounts)


def test_bean_query_answers_the_same_balances(exported):
    path, sql = exported
    done = subprocess.run(
        [Path(sys.executable).with_name("bean-query"), "-f", "csv", str(path),
         "SELECT account, sum(number) AS total GROUP BY account ORDER BY account"],
        capture_output=True, text=True, check=True)
    rows = [line.split(",") for line in done.stdout.strip().splitlines()[1:]]
    answered = {account: Decimal(total) for account, total in rows}
    touched = {a: v for a, v in sql.items() if v != 0 or a in answered}
    assert answered == touched
