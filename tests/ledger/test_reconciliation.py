"""Reconciliation against hand-computed figures, and period close gated by it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from audit.models import AuditRecord
from core.actors import Actor
from core.db import transaction
from core.errors import InvalidInput
from ledger.bank import book_line, import_statement, unmatched_lines
from ledger.journal import find_fund
from ledger.periods import close_period
from ledger.reconciliation import reconcile, status

D = Decimal
OFFICE, FINANCE = Actor("office", "charity_office"), Actor("fin", "finance")
HEADER = "交易日期,摘要,对方户名,收入金额,支出金额,余额,流水号\n"


@pytest.fixture
def fund(make_fund, post):
    code = make_fund("LZX")
    post("seed", code, date=dt.date(2025, 1, 5), amount="100000", doc_no="D1")
    post("interest", code, date=dt.date(2025, 1, 20), amount="12.30", bank_ref="LX0120")
    post("bank-fee", code, date=dt.date(2025, 1, 31), amount="5", bank_ref="SXF0131")
    return code


def load(factory, fund, body: str, name="jan.csv"):
    with transaction(factory) as s:
        return import_statement(s, OFFICE, fund, (HEADER + body).encode("utf-8"), name)


def month(session, fund, period="2025-01"):
    session.rollback()
    return status(session, find_fund(session, fund), period)


def test_a_matching_statement_reconciles(session, factory, fund):
    result = load(factory, fund, "2025-01-05,财政拨入,资阳市财政局,100000.00,,100000.00,CZ0105\n"
                                 "2025-01-20,结息,,12.30,,100012.30,LX0120\n"
                                 "2025-01-31,手续费,,,5.00,100007.30,SXF0131\n")
    assert (result.matched, result.unmatched) == (3, 0)
    jan = month(session, fund)
    assert (jan.bank_balance, jan.ledger_balance, jan.difference) == (
        D("100007.30"), D("100007.30"), D("0.00"))
    assert jan.reconciled
    with transaction(factory) as s:
        reconcile(s, OFFICE, fund, "2025-01")
        close_period(s, FINANCE, fund, "2025-01")


def test_an_entry_missing_from_the_bank_is_outstanding_and_blocks_the_close(session, factory,
                                                                            fund):
    load(factory, fund, "2025-01-05,财政拨入,,100000.00,,100000.00,CZ0105\n"
                        "2025-01-20,结息,,12.30,,100012.30,LX0120\n")
    jan = month(session, fund)
    assert jan.bank_balance == D("100012.30") and jan.ledger_balance == D("100007.30")
    assert jan.difference == D("5.00")
    assert [e.type for e, _ in jan.unmatched_entries] == ["bank-fee"]
    assert not jan.reconciled
    with pytest.raises(InvalidInput) as caught, transaction(factory) as s:
        close_period(s, FINANCE, fund, "2025-01")
    assert "2025-01" in caught.value.message and "¥100,012.30" in caught.value.message
    with transaction(factory) as s:
        close_period(s, FINANCE, fund, "2025-01", unreconciled_reason="手续费次月入账")
    session.rollback()
    override = session.execute(select(AuditRecord).where(
        AuditRecord.action == "bank.override")).scalar_one()
    assert override.reason == "手续费次月入账" and override.actor == "fin"


def test_only_finance_may_close_unreconciled(factory, fund):
    with pytest.raises(Exception) as caught, transaction(factory) as s:
        close_period(s, OFFICE, fund, "2025-01", unreconciled_reason="想结账")
    assert type(caught.value).__name__ == "PermissionDenied"


def test_an_unbooked_bank_line_waits_until_it_is_booked(session, factory, fund):
    load(factory, fund, "2025-01-05,财政拨入,,100000.00,,100000.00,CZ0105\n"
                        "2025-01-20,结息,,12.30,,100012.30,LX0120\n"
                        "2025-01-28,结息补记,,3.21,,100015.51,LX0128\n"
                        "2025-01-31,手续费,,,5.00,100010.51,SXF0131\n")
    jan = month(session, fund)
    assert len(jan.unmatched_lines) == 1 and jan.difference == D("3.21")
    line = unmatched_lines(session, find_fund(session, fund))[0]
    with transaction(factory) as s:
        book_line(s, OFFICE, fund, line.id, "interest")
    assert month(session, fund).reconciled


def test_a_month_without_a_statement_is_not_reconciled(session, fund):
    jan = month(session, fund)
    assert jan.bank_balance is None and not jan.reconciled and len(jan.unmatched_entries) == 3
