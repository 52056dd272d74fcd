"""The figures every report and public page is made of, read from the ledger.

One query sums a fund's postings in a period by account and entry type; the
statements, the annual report and the public pages are arrangements of it, so
they can never disagree with each other or with ``specialfund ledger balances``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from core.i18n import Bilingual
from core.money import ZERO
from ledger.balances import balances
from ledger.chart import (
    DONATIONS,
    FUND_PREFIX,
    GENERAL,
    INTEREST,
    SEED,
    TOP_UP,
    expense_account,
    fund_account,
    load_chart,
    payable_account,
)
from ledger.models import Account, Fund, JournalEntry, Posting
from ledger.periods import parse_period


@dataclass(frozen=True)
class Period:
    label: str  # "2025" or "2025-03" or "2025-01-01..2025-06-30"
    start: dt.date
    end: dt.date

    @classmethod
    def parse(cls, text: str) -> Period:
        return cls(*parse_period(text))

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(f"{year:04d}", dt.date(year, 1, 1), dt.date(year, 12, 31))


def movements(session: Session, fund: Fund, period: Period) -> dict[tuple[str, str], Decimal]:
    """Net change of each account in the period, by the kind of event that moved it:
    {(account, event): amount}, in Beancount's signs. A reversal counts as the event it
    reverses, so a donation given back nets against donations."""
    original = aliased(JournalEntry)
    kind = func.coalesce(original.type, JournalEntry.type)
    rows = session.execute(
        select(Account.name, kind, func.sum(Posting.amount))
        .join(Posting, Posting.account_id == Account.id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .outerjoin(original, original.id == JournalEntry.reverses_id)
        .where(JournalEntry.fund_id == fund.id,
               JournalEntry.date.between(period.start, period.end))
        .group_by(Account.name, kind))
    return {(account, event): amount for account, event, amount in rows}


@dataclass
class PurposeFlow:
    """One purpose's money over a period (General is a purpose here too)."""

    key: str
    label: Bilingual
    opening: Decimal = ZERO  # in the bank at the start
    donations: Decimal = ZERO
    government: Decimal = ZERO  # seed money and top-ups (General only)
    allocated: Decimal = ZERO  # + received from General, - given out of General
    interest: Decimal = ZERO
    paid: Decimal = ZERO  # disbursed to projects, net of unspent money returned
    fees: Decimal = ZERO
    closing: Decimal = ZERO
    committed: Decimal = ZERO  # approved and unpaid at the end
    spent: Decimal = ZERO  # programme expense recognised in the period

    @property
    def available(self) -> Decimal:
        return self.closing - self.committed


@dataclass
class FundFigures:
    fund: Fund
    period: Period
    purposes: list[PurposeFlow] = field(default_factory=list)
    income: dict[str, Decimal] = field(default_factory=dict)  # source -> amount
    restricted_donations: Decimal = ZERO
    unrestricted_donations: Decimal = ZERO

    @property
    def total(self) -> PurposeFlow:
        total = PurposeFlow("Total", Bilingual("合计", "Total"))
        for flow in self.purposes:
            for name in ("opening", "donations", "government", "allocated", "interest", "paid",
                         "fees", "closing", "committed", "spent"):
                setattr(total, name, getattr(total, name) + getattr(flow, name))
        return total


INCOME_SOURCES = {
    "government": (SEED, TOP_UP),
    "enterprise": (DONATIONS["enterprise"],),
    "individual": (DONATIONS["individual"],),
    "interest": (INTEREST,),
}
SOURCE_LABELS = {
    "government": Bilingual("财政资金", "Treasury"),
    "enterprise": Bilingual("企业捐赠", "Enterprise donations"),
    "individual": Bilingual("个人捐赠", "Individual donations"),
    "interest": Bilingual("利息收入", "Interest"),
}


def fund_figures(session: Session, fund: Fund, period: Period) -> FundFigures:
    chart = load_chart(fund.chart)
    moved = movements(session, fund, period)
    opening = balances(session, fund, period.start - dt.timedelta(days=1))
    closing = balances(session, fund, period.end)
    figures = FundFigures(fund, period)
    keys = [("General", Bilingual("未定向", "General"))] + [(p.key, p.label)
                                                           for p in chart.purposes]
    by_cash: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for (account, kind), amount in moved.items():
        if account.startswith(FUND_PREFIX):
            by_cash[account][kind] += amount
    for key, label in keys:
        cash = GENERAL if key == "General" else fund_account(key)
        flows = by_cash[cash]
        flow = PurposeFlow(key, label, opening=opening[cash], closing=closing[cash])
        flow.donations = flows["donation"]
        flow.government = flows["seed"] + flows["top-up"]
        flow.allocated = flows["allocation"]
        flow.interest = flows["interest"]
        flow.paid = -(flows["disbursement"] + flows["unspent-return"])
        flow.fees = -flows["bank-fee"]
        if key != "General":
            flow.committed = -closing[payable_account(key)]
            flow.spent = sum((v for (a, _k), v in moved.items() if a == expense_account(key)),
                             ZERO)
        figures.purposes.append(flow)
    for source, accounts in INCOME_SOURCES.items():
        figures.income[source] = -sum((v for (a, _k), v in moved.items() if a in accounts),
                                      ZERO)
    figures.restricted_donations = sum((by_cash[fund_account(p.key)]["donation"]
                                        for p in chart.purposes), ZERO)
    figures.unrestricted_donations = by_cash[GENERAL]["donation"]
    return figures
