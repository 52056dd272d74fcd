"""The money figures every report and public page is made of, read from the ledger.

This module is the one place a report reads money from the books. What a figure
means is written once, in ``purpose_figures`` and ``income_by_source``, over a
fund's ``Books`` for a period (each account's balance at its end and net change in
it); the statements, the annual report and the public pages are arrangements of
those figures, so they can never disagree with each other or with
``specialfund ledger balances``:

- in the bank = the balance of the purpose's ``Assets:Fund:`` account;
- committed = what ``Liabilities:GrantsPayable:<P>`` still owes; available = in the
  bank less committed;
- spent = the period's change of ``Expenses:Grants:<P>`` (approvals less releases and
  unspent money returned);
- paid = that change plus the change of ``Liabilities:GrantsPayable:<P>``: a commitment
  or a release moves both and nets to nothing, a disbursement moves only the payable,
  unspent money returned only the expense, so paid is what went out to projects net of
  what came back;
- bank fees = the period's change of ``Expenses:BankFees``, paid from the general pool;
- income by source = the period's movements of the income accounts.

The books are read two ways, to the same figures. ``fund_figures`` (the statements and
the annual report) reads every posting of the period, because its statement also
splits each purpose's cash movements by kind of event. The public pages need no such
split and read the per-day changes the ledger keeps (``year_books``), which costs a
few queries at any size; a balance at a year's end is then the current balance less
the later changes (as ``ledger.balances.balances`` does).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session, aliased

from core.i18n import Bilingual
from core.money import ZERO
from ledger.balances import balances
from ledger.chart import (
    BANK_FEES,
    DONATIONS,
    FUND_PREFIX,
    GENERAL,
    INTEREST,
    PAYABLE_PREFIX,
    SEED,
    TOP_UP,
    Chart,
    expense_account,
    fund_account,
    load_chart,
    payable_account,
)
from ledger.models import Account, DailyChange, Fund, JournalEntry, Posting
from ledger.periods import parse_period

GENERAL_LABEL = Bilingual("未定向", "General")
TOTAL_LABEL = Bilingual("合计", "Total")
Amounts = Mapping[str, Decimal]  # account -> amount


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


@dataclass(frozen=True)
class Books:
    """One fund's accounts over a period: each balance at its end and each account's
    net change in it, in Beancount's signs."""

    closing: Amounts
    changes: Amounts

    def balance(self, account: str) -> Decimal:
        return self.closing.get(account, ZERO)

    def change(self, account: str) -> Decimal:
        return self.changes.get(account, ZERO)


# --- What each figure means --------------------------------------------------------------


@dataclass(frozen=True)
class PurposeFigures:
    """One purpose's money (General is a purpose here too): balances at the end of
    the period, flows in it."""

    key: str
    label: Bilingual
    in_bank: Decimal
    committed: Decimal  # approved, not yet paid
    paid: Decimal  # paid out to projects, net of unspent money returned
    spent: Decimal  # programme expense: approvals less releases and returns
    fees: Decimal = ZERO  # bank charges (the general pool pays them)

    @property
    def available(self) -> Decimal:
        """What can still be approved: in the bank less committed."""
        return self.in_bank - self.committed


def cash_account(key: str) -> str:
    """The bank account partition of a purpose key ("General" for the general pool)."""
    return GENERAL if key == "General" else fund_account(key)


def purpose_figures(chart: Chart, books: Books) -> list[PurposeFigures]:
    """The general pool, then each purpose of the chart (see the module's notes)."""
    general = books.balance(GENERAL)
    rows = [PurposeFigures("General", GENERAL_LABEL, general, ZERO, ZERO, ZERO,
                           fees=books.change(BANK_FEES))]
    for purpose in chart.purposes:
        spent = books.change(expense_account(purpose.key))
        rows.append(PurposeFigures(
            purpose.key, purpose.label, books.balance(fund_account(purpose.key)),
            committed=-books.balance(payable_account(purpose.key)),
            paid=spent + books.change(payable_account(purpose.key)), spent=spent))
    return rows


def total_of(rows: Sequence[PurposeFigures]) -> PurposeFigures:
    def add(name: str) -> Decimal:
        return sum((getattr(r, name) for r in rows), ZERO)

    return PurposeFigures("Total", TOTAL_LABEL, add("in_bank"), add("committed"), add("paid"),
                          add("spent"), add("fees"))


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
INCOME_ACCOUNTS = tuple(a for accounts in INCOME_SOURCES.values() for a in accounts)


def income_by_source(changes: Amounts) -> dict[str, Decimal]:
    """Income by source from a period's account changes, net of donations given back."""
    return {source: -sum((changes.get(a, ZERO) for a in accounts), ZERO)
            for source, accounts in INCOME_SOURCES.items()}


def net_assets(closing: Amounts) -> Decimal:
    """Net assets: the fund's cash less what it owes to approved projects."""
    return sum((v for a, v in closing.items() if a.startswith((FUND_PREFIX, PAYABLE_PREFIX))),
               ZERO)


# --- Reading every posting: the statements and the annual report -------------------------


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


def net_changes(moved: Mapping[tuple[str, str], Decimal]) -> dict[str, Decimal]:
    """Each account's net change, whatever moved it."""
    changes: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for (account, _kind), amount in moved.items():
        changes[account] += amount
    return dict(changes)


def disbursed(moved: Mapping[tuple[str, str], Decimal]) -> Decimal:
    """Paid out to projects, before any unspent money came back (a reversed payment
    nets out): the disbursements' movements of the fund's cash."""
    return -sum((v for (a, kind), v in moved.items()
                 if a.startswith(FUND_PREFIX) and kind == "disbursement"), ZERO)


def net_asset_change(session: Session, fund: Fund, period: Period) -> Decimal:
    """Net assets at the end of the period less at its start."""
    return (net_assets(balances(session, fund, period.end))
            - net_assets(balances(session, fund, period.start - dt.timedelta(days=1))))


@dataclass
class PurposeFlow:
    """One purpose's money over a period, with its cash movements by kind of event
    (General is a purpose here too). The figures it shares with the public pages
    (closing, committed, paid, spent, fees) are ``purpose_figures``'."""

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


FLOW_SUMS = ("opening", "donations", "government", "allocated", "interest", "paid", "fees",
             "closing", "committed", "spent")


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
        total = PurposeFlow("Total", TOTAL_LABEL)
        for flow in self.purposes:
            for name in FLOW_SUMS:
                setattr(total, name, getattr(total, name) + getattr(flow, name))
        return total


def _cash_flows(moved: Mapping[tuple[str, str], Decimal]) -> dict[str, dict[str, Decimal]]:
    """Each fund cash account's movements by kind of event."""
    flows: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for (account, kind), amount in moved.items():
        if account.startswith(FUND_PREFIX):
            flows[account][kind] += amount
    return flows


def fund_figures(session: Session, fund: Fund, period: Period) -> FundFigures:
    chart = load_chart(fund.chart)
    moved = movements(session, fund, period)
    opening = balances(session, fund, period.start - dt.timedelta(days=1))
    books = Books(balances(session, fund, period.end), net_changes(moved))
    cash = _cash_flows(moved)
    figures = FundFigures(fund, period, income=income_by_source(books.changes))
    for line in purpose_figures(chart, books):
        account = cash_account(line.key)
        flows = cash[account]
        figures.purposes.append(PurposeFlow(
            line.key, line.label, opening=opening[account], donations=flows["donation"],
            government=flows["seed"] + flows["top-up"], allocated=flows["allocation"],
            interest=flows["interest"], paid=line.paid, fees=line.fees, closing=line.in_bank,
            committed=line.committed, spent=line.spent))
    figures.restricted_donations = sum((cash[fund_account(p.key)]["donation"]
                                        for p in chart.purposes), ZERO)
    figures.unrestricted_donations = cash[GENERAL]["donation"]
    return figures


# --- Reading the per-day changes: the public pages ---------------------------------------


class Opened(Protocol):
    """A fund as the public pages know it: its id and the day its books opened."""

    @property
    def id(self) -> int: ...

    @property
    def opened_on(self) -> dt.date: ...


def years_of(fund: Opened, today: dt.date) -> list[int]:
    """The years a fund has books for, from its opening to this year."""
    return list(range(fund.opened_on.year, max(today.year, fund.opened_on.year) + 1))


_YEAR = cast(func.extract("year", DailyChange.day), Integer)


@dataclass(frozen=True)
class Accounts:
    """The accounts of some funds: who owns each, its name, its current balance."""

    owner: dict[int, tuple[int, str]]  # account id -> (fund id, name)
    current: dict[int, dict[str, Decimal]]  # fund id -> {name: balance}

    def ids(self, names: Sequence[str] | None = None, fund_id: int | None = None) -> list[int]:
        return sorted(i for i, (owner, name) in self.owner.items()
                      if (names is None or name in names) and fund_id in (None, owner))


def read_accounts(session: Session, fund_ids: list[int]) -> Accounts:
    owner: dict[int, tuple[int, str]] = {}
    current: dict[int, dict[str, Decimal]] = {i: {} for i in fund_ids}
    for account_id, fund_id, name, balance in session.execute(
            select(Account.id, Account.fund_id, Account.name, Account.balance)
            .where(Account.fund_id.in_(fund_ids))):
        owner[account_id] = (fund_id, name)
        current[fund_id][name] = balance
    return Accounts(owner, current)


def _sum_changes(session: Session, accounts: Accounts, *, after: dt.date | None = None,
                 through: dt.date | None = None) -> dict[int, dict[str, Decimal]]:
    """Each account's per-day changes summed over (after, through], by fund."""
    stmt = (select(DailyChange.account_id, func.sum(DailyChange.change))
            .where(DailyChange.account_id.in_(accounts.ids()))
            .group_by(DailyChange.account_id))
    if after is not None:
        stmt = stmt.where(DailyChange.day > after)
    if through is not None:
        stmt = stmt.where(DailyChange.day <= through)
    found: dict[int, dict[str, Decimal]] = {i: {} for i in accounts.current}
    for account_id, change in session.execute(stmt):
        fund_id, name = accounts.owner[account_id]
        found[fund_id][name] = change
    return found


def _yearly(session: Session, accounts: Accounts, names: Sequence[str] | None = None,
            fund_id: int | None = None) -> dict[int, dict[int, dict[str, Decimal]]]:
    """Each account's net change per calendar year: {fund id: {year: {account: change}}}."""
    found: dict[int, dict[int, dict[str, Decimal]]] = {i: {} for i in accounts.current}
    for account_id, year, change in session.execute(
            select(DailyChange.account_id, _YEAR, func.sum(DailyChange.change))
            .where(DailyChange.account_id.in_(accounts.ids(names, fund_id)))
            .group_by(DailyChange.account_id, _YEAR)):
        fund_id, name = accounts.owner[account_id]
        found[fund_id].setdefault(int(year), {})[name] = change
    return found


def year_books(session: Session, funds: Sequence[Opened], year: int, today: dt.date,
               accounts: Accounts | None = None) -> dict[int, Books]:
    """Books of one year for some funds, by fund id: the accounts, then the per-day
    changes of that year (and, for a past year, of the shorter stretch on either side
    of its end). This year's balances are today's: nothing is booked in the future."""
    if accounts is None:
        accounts = read_accounts(session, sorted({f.id for f in funds}))
    first, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    changes = _sum_changes(session, accounts, after=first - dt.timedelta(days=1), through=end)
    current = accounts.current
    if end >= today:
        closing = current
    elif (end - min(f.opened_on for f in funds)) < (today - end):
        closing = _sum_changes(session, accounts, through=end)
    else:
        later = _sum_changes(session, accounts, after=end)
        closing = {i: {a: v - later[i].get(a, ZERO) for a, v in balances.items()}
                   for i, balances in current.items()}
    return {i: Books(closing[i], changes[i]) for i in current}


def all_year_books(session: Session, funds: Sequence[Opened],
                   today: dt.date) -> dict[int, dict[int, Books]]:
    """Books of every year since each fund opened, in two queries (for open data)."""
    accounts = read_accounts(session, sorted({f.id for f in funds}))
    yearly = _yearly(session, accounts)
    found: dict[int, dict[int, Books]] = {}
    for fund in funds:
        closing = dict(accounts.current[fund.id])
        found[fund.id] = {}
        for year in reversed(years_of(fund, today)):
            changes = yearly[fund.id].get(year, {})
            found[fund.id][year] = Books(dict(closing), changes)
            for account, change in changes.items():  # step back to the year before
                closing[account] = closing.get(account, ZERO) - change
    return found


def yearly_income(session: Session, fund: Opened, today: dt.date,
                  accounts: Accounts | None = None) -> list[tuple[int, dict[str, Decimal]]]:
    """Income by source for every year since the fund opened, oldest first, from the
    per-day changes of the income accounts."""
    if accounts is None:
        accounts = read_accounts(session, [fund.id])
    yearly = _yearly(session, accounts, INCOME_ACCOUNTS, fund.id)[fund.id]
    return [(y, income_by_source(yearly.get(y, {}))) for y in years_of(fund, today)]
