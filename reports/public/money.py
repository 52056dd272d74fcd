"""The funds' money as the public pages show it: the list of funds with today's money,
and one fund's page for a year (money by purpose, income by source for every year,
for the city each fund of its jurisdiction).

Every figure is ``reports.figures``' (``purpose_figures``, ``income_by_source``) over
the books ``reports.figures.year_books`` reads, so a page says what the statements say.
The one thing kept in memory is a fund page's figures, under the funds' journal heads
(see ``fund_page``): a posting changes the key, so what is kept can never differ from
the books.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.i18n import Bilingual
from core.money import ZERO
from grants.models import Project
from ledger.chart import load_chart
from ledger.models import Fund
from reports.figures import (
    INCOME_SOURCES,
    SOURCE_LABELS,
    Accounts,
    PurposeFigures,
    income_by_source,
    purpose_figures,
    read_accounts,
    total_of,
    year_books,
    yearly_income,
    years_of,
)
from reports.public.funds import PublicFund, as_of, public_funds, read_fund
from reports.public.projects import PUBLIC_STATES

SOURCES = tuple(INCOME_SOURCES)


@dataclass(frozen=True)
class IncomeYear:
    year: int
    amounts: dict[str, Decimal]  # source -> amount

    @property
    def total(self) -> Decimal:
        return sum(self.amounts.values(), ZERO)


def income_by_year(session: Session, fund: PublicFund, today: dt.date,
                   accounts: Accounts | None = None) -> list[IncomeYear]:
    """Income by source for every year since the fund opened, oldest first."""
    return [IncomeYear(year, amounts)
            for year, amounts in yearly_income(session, fund, today, accounts)]


# --- The list of funds -----------------------------------------------------------------------


@dataclass(frozen=True)
class FundOverview:
    fund: PublicFund
    in_bank: Decimal  # every purpose and the general pool, today
    committed: Decimal
    available: Decimal
    income: Decimal  # this year, all sources
    paid: Decimal  # paid out to projects this year
    projects: int  # approved or later, all years


def funds_overview(session: Session, today: dt.date) -> list[FundOverview]:
    """Every fund with today's money and this year's income and payments: four queries."""
    funds = public_funds(session)
    books = year_books(session, funds, today.year, today) if funds else {}
    projects = dict(session.execute(
        select(Project.fund_id, func.count()).where(Project.state.in_(PUBLIC_STATES))
        .group_by(Project.fund_id)).all())
    overview = []
    for fund in funds:
        fund_books = books[fund.id]
        total = total_of(purpose_figures(load_chart(fund.chart), fund_books))
        overview.append(FundOverview(
            fund, total.in_bank, total.committed, total.available,
            sum(income_by_source(fund_books.changes).values(), ZERO), total.paid,
            projects.get(fund.id, 0)))
    return overview


# --- One fund's page -------------------------------------------------------------------------


@dataclass(frozen=True)
class CountyFigures:
    """A fund of the city's jurisdiction (the city level itself, or a county) in one year."""

    fund: PublicFund
    income: Decimal
    paid: Decimal
    spent: Decimal
    in_bank: Decimal  # at the end of the year (today, for this year)


@dataclass(frozen=True)
class FundPage:
    fund: PublicFund
    year: int
    years: list[int]
    as_of: dt.date
    purposes: list[PurposeFigures]
    total: PurposeFigures
    fees: Decimal  # bank fees of the year, paid from the general pool
    income: list[IncomeYear]  # every year since the fund opened, oldest first
    counties: list[CountyFigures]  # city funds: itself and its counties; else empty

    @property
    def sources(self) -> list[tuple[str, Bilingual]]:
        return [(key, SOURCE_LABELS[key]) for key in SOURCES]

    @property
    def year_income(self) -> IncomeYear:
        return next((i for i in self.income if i.year == self.year),
                    IncomeYear(self.year, dict.fromkeys(SOURCES, ZERO)))


@dataclass(frozen=True)
class _Money:
    """What ``fund_page`` reads from the books: a pure function of the funds' journals."""

    purposes: list[PurposeFigures]
    income: list[IncomeYear]
    counties: list[tuple[int, Decimal, Decimal, Decimal, Decimal]]  # id, income, paid, ...


Head = tuple[tuple[int, str, dt.date, int, str], ...]
_MEMO: OrderedDict[tuple[object, ...], _Money] = OrderedDict()
_MEMO_LOCK = threading.Lock()
MEMO_SIZE = 256


def _heads(session: Session, ids: Sequence[int]) -> Head:
    """Each fund's journal head: every posting moves it, in the posting's transaction."""
    rows = session.execute(
        select(Fund.id, Fund.chart, Fund.opened_on, Fund.entry_count, Fund.last_entry_hash)
        .where(Fund.id.in_(ids)).order_by(Fund.id))
    return tuple((i, chart, opened, count, digest) for i, chart, opened, count, digest in rows)


def _money(session: Session, public: PublicFund, members: list[PublicFund], year: int,
           today: dt.date) -> _Money:
    funds = [public, *[m for m in members if m.id != public.id]]
    accounts = read_accounts(session, sorted(f.id for f in funds))
    books = year_books(session, funds, year, today, accounts)
    counties = []
    for member in members:
        member_books = books[member.id]
        total = total_of(purpose_figures(load_chart(member.chart), member_books))
        counties.append((member.id, sum(income_by_source(member_books.changes).values(), ZERO),
                         total.paid, total.spent, total.in_bank))
    return _Money(purpose_figures(load_chart(public.chart), books[public.id]),
                  income_by_year(session, public, today, accounts), counties)


def _members(session: Session, fund: Fund, public: PublicFund, year: int) -> list[PublicFund]:
    """A city fund and its counties that had opened by the end of ``year`` (a county opened
    later has no books, nor a page, for that year); nobody for a county."""
    if fund.level != "city":
        return []
    return [public] + [
        PublicFund.of(c, fund.code)
        for c in session.execute(
            select(Fund).where(Fund.parent_id == fund.id,
                               Fund.opened_on <= dt.date(year, 12, 31)).order_by(Fund.id))
        .scalars()]


def _kept_money(session: Session, public: PublicFund, members: list[PublicFund], year: int,
                today: dt.date) -> _Money:
    """The page's figures, from memory when the funds' heads are those they were read at."""
    ids = sorted({public.id, *(m.id for m in members)})
    head = _heads(session, ids)
    key = (head, tuple(m.id for m in members), year, today)
    with _MEMO_LOCK:
        money = _MEMO.get(key)
        if money is not None:
            _MEMO.move_to_end(key)
    if money is None:
        money = _money(session, public, members, year, today)
        if _heads(session, ids) == head:
            with _MEMO_LOCK:
                _MEMO[key] = money
                while len(_MEMO) > MEMO_SIZE:
                    _MEMO.popitem(last=False)
    return money


def fund_page(session: Session, fund_code: str, year: int, today: dt.date) -> FundPage:
    """A fund's figures for one year: balances by purpose at the year's end (today for
    this year), what each purpose paid out and spent in the year, income by source for
    every year since opening and, for the city, each fund of its jurisdiction.

    The figures are kept in memory under the funds' journal heads (entry count and
    last entry hash, which every posting moves in its own transaction), the year and
    today: a posting anywhere in the funds concerned makes a new key, so what is kept
    can never differ from the books. It is kept only if the heads read after reading
    the figures are those read before (no posting came between, on any database)."""
    fund, public = read_fund(session, fund_code)
    years = years_of(public, today)
    if year not in years:
        raise NotFound("Fund {fund} has no books for {year}.", fund=fund.code, year=year)
    members = _members(session, fund, public, year)
    money = _kept_money(session, public, members, year, today)
    by_id = {m.id: m for m in members}
    total = total_of(money.purposes)
    return FundPage(
        fund=public, year=year, years=years, as_of=as_of(year, today),
        purposes=list(money.purposes), total=total, fees=total.fees,
        income=list(money.income),
        counties=[CountyFigures(by_id[i], income, paid, spent, in_bank)
                  for i, income, paid, spent, in_bank in money.counties])
