"""Closing a period asserts every balance and locks the period."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.db import transaction
from core.errors import Conflict, InvalidInput, PeriodLocked
from ledger.balances import balances
from ledger.journal import find_fund
from ledger.models import BalanceAssertion, PeriodClose
from ledger.periods import close_period, parse_period

D = Decimal


@pytest.fixture
def fund(make_fund, post):
    code = make_fund("AYX")
    post("seed", code, date=dt.date(2025, 1, 10), amount="1000", doc_no="文1")
    post("donation", code, date=dt.date(2025, 2, 3), amount="250", donor="甲",
         donor_type="individual", receipt_no="R1", purpose="education")
    post("bank-fee", code, date=dt.date(2025, 3, 31), amount="5")
    return code


NO_STATEMENTS = "测试账套没有银行对账单"


def close(factory, actor, code, period, **kwargs):
    with transaction(factory) as s:
        return close_period(s, actor, code, period, unreconciled_reason=NO_STATEMENTS, **kwargs)


def test_parse_period():
    assert parse_period("2025") == ("2025", dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert parse_period("2024-02") == ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    for bad in ("2025-13", "25-01", "2025/01", "", "2025-1"):
        with pytest.raises(InvalidInput):
            parse_period(bad)


def test_closing_a_month_asserts_every_account_and_locks_it(session, factory, actor, fund, post):
    close(factory, actor, fund, "2025-01")
    close(factory, actor, fund, "2025-02")
    f = find_fund(session, fund)
    assert f.locked_through == dt.date(2025, 2, 28)
    asserted = {a.account.name: a.amount for a in session.execute(
        select(BalanceAssertion).where(BalanceAssertion.date == dt.date(2025, 3, 1))).scalars()}
    assert asserted == balances(session, f, dt.date(2025, 2, 28))
    assert asserted["Assets:Fund:Education"] == D("250.00")
    assert len(asserted) == 25  # every account of the chart
    with pytest.raises(PeriodLocked) as caught:
        post("interest", fund, date=dt.date(2025, 2, 27), amount="1")
    assert caught.value.rule == "period-locked"
    # A late correction goes into the open period.
    post("interest", fund, date=dt.date(2025, 3, 1), amount="1")


def test_a_closed_entry_is_corrected_by_a_reversal_in_the_open_period(session, factory,
                                                                       actor, fund, post):
    close(factory, actor, fund, "2025-01")
    close(factory, actor, fund, "2025-02")
    with pytest.raises(PeriodLocked):
        post("reversal", fund, seq=2, date=dt.date(2025, 2, 20), reason="错账")
    reversal = post("reversal", fund, seq=2, date=dt.date(2025, 3, 2), reason="错账")
    assert reversal.date == dt.date(2025, 3, 2)
    f = find_fund(session, fund)
    # The closed period still shows what was asserted when it closed.
    assert balances(session, f, dt.date(2025, 2, 28))["Assets:Fund:Education"] == D("250.00")
    assert balances(session, f)["Assets:Fund:Education"] == D("0.00")


def test_periods_close_in_order_without_gaps(factory, actor, fund):
    with pytest.raises(InvalidInput):
        close(factory, actor, fund, "2025-02")  # January is still open
    close(factory, actor, fund, "2025-01")
    with pytest.raises(Conflict):
        close(factory, actor, fund, "2025-01")
    close(factory, actor, fund, "2025")  # a year may close over a closed month
    with pytest.raises(Conflict):
        close(factory, actor, fund, "2025-06")


def test_an_unfinished_period_cannot_close(factory, actor, fund):
    close(factory, actor, fund, "2025")
    with pytest.raises(InvalidInput):
        close(factory, actor, fund, "2026-07")  # "today" is 2026-07-01
    close(factory, actor, fund, "2026-01")


def test_closing_records_who_and_why_and_is_audited(session, factory, actor, fund):
    close(factory, actor, fund, "2025-01", reason="月结")
    row = session.execute(select(PeriodClose)).scalar_one()
    assert (row.period, row.closed_by, row.reason) == ("2025-01", "tester", "月结")


def test_balances_as_of_any_date(session, fund, post):
    post("interest", fund, date=dt.date(2025, 2, 10), amount="3")
    f = find_fund(session, fund)
    assert balances(session, f, dt.date(2025, 1, 9))["Assets:Fund:General"] == D("0.00")
    assert balances(session, f, dt.date(2025, 1, 10))["Assets:Fund:General"] == D("1000.00")
    assert balances(session, f, dt.date(2025, 2, 10))["Assets:Fund:General"] == D("1003.00")
    assert balances(session, f, dt.date(2025, 3, 31))["Assets:Fund:General"] == D("998.00")
    assert balances(session, f)["Assets:Fund:General"] == D("998.00")
