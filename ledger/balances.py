"""Reading balances without reading the journal.

The current balance is a column on the account; a balance as of a past date is
the current balance minus the per-day changes after that date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from core.i18n import Bilingual
from core.money import ZERO
from ledger.chart import expense_account, fund_account, load_chart, payable_account
from ledger.models import Account, DailyChange, Fund


def balances(session: Session, fund: Fund, as_of: dt.date | None = None) -> dict[str, Decimal]:
    """Every account's balance at the end of ``as_of`` (today when omitted)."""
    current = dict(session.execute(
        select(Account.name, Account.balance).where(Account.fund_id == fund.id)
    ).all())
    if as_of is None:
        return current
    later = session.execute(
        select(Account.name, func.sum(DailyChange.change))
        .join(DailyChange, DailyChange.account_id == Account.id)
        .where(Account.fund_id == fund.id, DailyChange.day > as_of)
        .group_by(Account.name)
    )
    # sum() keeps the column's MoneyType, so the totals arrive as Decimal yuan.
    for name, change in later:
        current[name] -= change
    return current


def balance(session: Session, fund: Fund, account: str) -> Decimal:
    value = session.execute(
        select(Account.balance).where(Account.fund_id == fund.id, Account.name == account)
    ).scalar_one_or_none()
    return ZERO if value is None else value


_AVAILABLE = select(func.sum(Account.balance)).where(
    Account.fund_id == bindparam("fund_id"), Account.name.in_(bindparam("names", expanding=True)))


def available(session: Session, fund: Fund, purpose: str, as_of: dt.date | None = None) -> Decimal:
    """Money a purpose can still commit: its fund account plus unpaid commitments
    (a credit balance, so negative). One prebuilt query: this is read on every page."""
    if as_of is None:
        total = session.execute(_AVAILABLE, {
            "fund_id": fund.id,
            "names": [fund_account(purpose), payable_account(purpose)]}).scalar_one()
        return ZERO if total is None else total
    book = balances(session, fund, as_of)
    return book[fund_account(purpose)] + book[payable_account(purpose)]


@dataclass(frozen=True)
class PurposeLine:
    key: str
    label: Bilingual
    cash: Decimal  # in the bank for this purpose
    committed: Decimal  # approved, not yet paid
    available: Decimal  # cash - committed
    spent: Decimal  # programme expense to date: committed (paid or not), less releases
    paid: Decimal  # paid out to projects, less unspent money returned


def purpose_summary(session: Session, fund: Fund,
                    as_of: dt.date | None = None) -> list[PurposeLine]:
    book = balances(session, fund, as_of)
    chart = load_chart(fund.chart)
    lines = [PurposeLine("General", Bilingual("未定向", "General"), book["Assets:Fund:General"],
                         ZERO, book["Assets:Fund:General"], ZERO, ZERO)]
    for purpose in chart.purposes:
        cash = book[fund_account(purpose.key)]
        committed = -book[payable_account(purpose.key)]
        spent = book[expense_account(purpose.key)]
        lines.append(PurposeLine(purpose.key, purpose.label, cash, committed, cash - committed,
                                 spent, spent - committed))
    return lines
