"""What anyone may see without signing in (信息公开, DESIGN §5): the funds, their
money by purpose and by source, approved projects and their payments, donations,
published audit results and correction notices, the disclosure calendar, and the
same facts as open data (CSV and JSON) with a data dictionary.

Plain data only; no Flask. Everything is read from the books at each call, so a
page always equals the ledger. The one thing kept in memory is a fund page's
figures, under the funds' journal heads (see ``fund_page``): a posting changes the
key, so what is kept can never differ from the books.

**Children.** Nothing here reads the ``beneficiaries`` table: a project shows how
many children it aids in each category (``beneficiary_counts``), never who they
are. Project payees are not published either (a payee may be a person); the
implementing unit is. Staff user names are not published; dates are.

**Figures.** The money here is the arrangement of ``reports.figures.fund_figures``
that the statements use, read the cheap way: the year's change of each account
comes from the per-day changes the ledger keeps (``daily_changes``), and a balance
at a year's end is the current balance less the later changes (as
``ledger.balances.balances`` does). ``fund_figures`` reads every posting of the
period to split fund-account movements by kind of event, which costs about 60 ms
for a year at 100,000 entries; the public pages need none of that split. The tests
prove the two agree, for every purpose and source:

- income by source = ``fund_figures(...).income`` (all movements of the income accounts);
- ``spent`` = the period's change of ``Expenses:Grants:<P>``;
- ``paid`` = that change plus the change of ``Liabilities:GrantsPayable:<P>``: a commitment
  or a release moves both and nets to nothing, a disbursement moves only the payable,
  unspent money returned only the expense, so this is ``fund_figures``' ``paid``.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import Date, Integer, Select, and_, bindparam, cast, func, literal, select
from sqlalchemy.orm import Session, aliased

from core.clock import CST
from core.errors import InvalidInput, NotFound
from core.i18n import N_, Bilingual, gettext, locale_as
from core.money import ZERO, format_plain
from core.spreadsheet import csv_text
from grants.models import BeneficiaryCount, Project, Transition
from grants.operations import CATEGORIES
from grants.states import PUBLIC_LABELS, State
from ledger.chart import (
    BANK_FEES,
    FUND_PREFIX,
    GENERAL,
    Chart,
    expense_account,
    fund_account,
    load_chart,
    payable_account,
)
from ledger.funds import list_funds
from ledger.income_models import Donor, Receipt
from ledger.journal import find_fund
from ledger.models import Account, DailyChange, Fund, GrantPositionRow, JournalEntry, Posting
from ledger.rules import GRANT_LINK_PREFIX, project_ref
from reports.engagements import PublishedResult, published_results
from reports.figures import INCOME_SOURCES, SOURCE_LABELS
from reports.models import AnnualReport, Correction, withdrawn_targets

PER_PAGE = 50
ANONYMOUS = "匿名"
# In open data, in place of a text withdrawn from public view (reports.withdrawals).
WITHDRAWN = "（已撤回）"
GENERAL_LABEL = Bilingual("未定向", "General")
PUBLIC_STATES = tuple(state.value for state in PUBLIC_LABELS)
# A stable key for each public label, for open data and page markup.
STATE_KEYS = {
    State.APPROVED: "approved",
    State.PARTIALLY_PAID: "under_way",
    State.PAID: "under_way",
    State.COMPLETED: "completed",
    State.CLOSED: "completed",
    State.CANCELLED: "terminated",
}
SOURCES = tuple(INCOME_SOURCES)
LEVELS = {"city": Bilingual("市本级", "City level"), "county": Bilingual("县（区）", "County")}


# --- The funds and their books ---------------------------------------------------------------


@dataclass(frozen=True)
class PublicFund:
    id: int
    code: str
    name: Bilingual
    level: str  # "city" | "county"
    parent: str | None  # the city fund's code, for a county
    opened_on: dt.date
    chart: str

    @classmethod
    def of(cls, fund: Fund, parent: str | None) -> PublicFund:
        return cls(fund.id, fund.code, fund.name, fund.level, parent, fund.opened_on,
                   fund.chart)


def public_funds(session: Session) -> list[PublicFund]:
    """Every fund, city first and each followed by its counties."""
    funds = list_funds(session)
    codes = {f.id: f.code for f in funds}
    return [PublicFund.of(f, codes.get(f.parent_id) if f.parent_id else None) for f in funds]


FundRef = str | PublicFund  # a fund's code, or the fund as a page already read it


def _fund_id(session: Session, fund: FundRef) -> int:
    return fund.id if isinstance(fund, PublicFund) else find_fund(session, fund).id


def _fund(session: Session, code: str) -> tuple[Fund, PublicFund]:
    fund = find_fund(session, code)
    parent = session.get(Fund, fund.parent_id) if fund.parent_id else None
    return fund, PublicFund.of(fund, parent.code if parent else None)


def years_of(fund: PublicFund, today: dt.date) -> list[int]:
    """The years a fund has books for, from its opening to this year."""
    return list(range(fund.opened_on.year, max(today.year, fund.opened_on.year) + 1))


def _as_of(year: int, today: dt.date) -> dt.date:
    return min(dt.date(year, 12, 31), today)


_YEAR = cast(func.extract("year", DailyChange.day), Integer)
INCOME_ACCOUNTS = tuple(a for accounts in INCOME_SOURCES.values() for a in accounts)
Changes = dict[str, Decimal]  # account -> amount


@dataclass(frozen=True)
class Books:
    """One fund's accounts for one year: balances at its end (today, for this year:
    nothing is booked in the future) and each account's net change in the year."""

    year: int
    closing: Changes
    changes: Changes

    def balance(self, account: str) -> Decimal:
        return self.closing.get(account, ZERO)

    def change(self, account: str) -> Decimal:
        return self.changes.get(account, ZERO)


@dataclass(frozen=True)
class _Accounts:
    """The accounts of some funds: who owns each, its name, its current balance."""

    owner: dict[int, tuple[int, str]]  # account id -> (fund id, name)
    current: dict[int, Changes]  # fund id -> {name: balance}

    def ids(self, names: Sequence[str] | None = None, fund_id: int | None = None) -> list[int]:
        return sorted(i for i, (owner, name) in self.owner.items()
                      if (names is None or name in names) and fund_id in (None, owner))


def _accounts(session: Session, fund_ids: list[int]) -> _Accounts:
    owner: dict[int, tuple[int, str]] = {}
    current: dict[int, Changes] = {i: {} for i in fund_ids}
    for account_id, fund_id, name, balance in session.execute(
            select(Account.id, Account.fund_id, Account.name, Account.balance)
            .where(Account.fund_id.in_(fund_ids))):
        owner[account_id] = (fund_id, name)
        current[fund_id][name] = balance
    return _Accounts(owner, current)


def _sum_changes(session: Session, accounts: _Accounts, *, after: dt.date | None = None,
                 through: dt.date | None = None) -> dict[int, Changes]:
    """Each account's per-day changes summed over (after, through], by fund."""
    stmt = (select(DailyChange.account_id, func.sum(DailyChange.change))
            .where(DailyChange.account_id.in_(accounts.ids()))
            .group_by(DailyChange.account_id))
    if after is not None:
        stmt = stmt.where(DailyChange.day > after)
    if through is not None:
        stmt = stmt.where(DailyChange.day <= through)
    found: dict[int, Changes] = {i: {} for i in accounts.current}
    for account_id, change in session.execute(stmt):
        fund_id, name = accounts.owner[account_id]
        found[fund_id][name] = change
    return found


def _yearly(session: Session, accounts: _Accounts, names: Sequence[str] | None = None,
            fund_id: int | None = None) -> dict[int, dict[int, Changes]]:
    """Each account's net change per calendar year: {fund id: {year: {account: change}}}."""
    found: dict[int, dict[int, Changes]] = {i: {} for i in accounts.current}
    for account_id, year, change in session.execute(
            select(DailyChange.account_id, _YEAR, func.sum(DailyChange.change))
            .where(DailyChange.account_id.in_(accounts.ids(names, fund_id)))
            .group_by(DailyChange.account_id, _YEAR)):
        fund_id, name = accounts.owner[account_id]
        found[fund_id].setdefault(int(year), {})[name] = change
    return found


def year_books(session: Session, funds: Sequence[PublicFund], year: int, today: dt.date,
               accounts: _Accounts | None = None) -> dict[int, Books]:
    """Books of one year for some funds: the accounts, then the per-day changes of that
    year (and, for a past year, of the shorter stretch on either side of its end)."""
    if accounts is None:
        accounts = _accounts(session, sorted({f.id for f in funds}))
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
    return {i: Books(year, closing[i], changes[i]) for i in current}


def all_year_books(session: Session, funds: Sequence[PublicFund],
                   today: dt.date) -> dict[int, dict[int, Books]]:
    """Books of every year since each fund opened, in two queries (for open data)."""
    accounts = _accounts(session, sorted({f.id for f in funds}))
    yearly = _yearly(session, accounts)
    found: dict[int, dict[int, Books]] = {}
    for fund in funds:
        closing = dict(accounts.current[fund.id])
        found[fund.id] = {}
        for year in reversed(years_of(fund, today)):
            changes = yearly[fund.id].get(year, {})
            found[fund.id][year] = Books(year, dict(closing), changes)
            for account, change in changes.items():  # step back to the year before
                closing[account] = closing.get(account, ZERO) - change
    return found


@dataclass(frozen=True)
class PurposeFigures:
    """One purpose's money: balances at the end of the year (or today), flows in the year."""

    key: str
    label: Bilingual
    in_bank: Decimal
    committed: Decimal  # approved, not yet paid
    available: Decimal  # in_bank - committed
    paid: Decimal  # paid out to projects in the year, net of unspent money returned
    spent: Decimal  # programme expense of the year: approvals less releases and returns


def purpose_figures(chart: Chart, books: Books) -> list[PurposeFigures]:
    general = books.balance(GENERAL)
    rows = [PurposeFigures("General", GENERAL_LABEL, general, ZERO, general, ZERO, ZERO)]
    for purpose in chart.purposes:
        cash = books.balance(fund_account(purpose.key))
        committed = -books.balance(payable_account(purpose.key))
        spent = books.change(expense_account(purpose.key))
        paid = spent + books.change(payable_account(purpose.key))
        rows.append(PurposeFigures(purpose.key, purpose.label, cash, committed,
                                   cash - committed, paid, spent))
    return rows


def total_of(rows: Sequence[PurposeFigures]) -> PurposeFigures:
    def add(name: str) -> Decimal:
        return sum((getattr(r, name) for r in rows), ZERO)

    return PurposeFigures("Total", Bilingual("合计", "Total"), add("in_bank"), add("committed"),
                          add("available"), add("paid"), add("spent"))


def income_of(changes: Changes) -> dict[str, Decimal]:
    """Income by source from a period's account changes (``reports.figures.INCOME_SOURCES``)."""
    return {source: -sum((changes.get(a, ZERO) for a in accounts), ZERO)
            for source, accounts in INCOME_SOURCES.items()}


def income_by_year(session: Session, fund: PublicFund, today: dt.date,
                   accounts: _Accounts | None = None) -> list[IncomeYear]:
    """Income by source for every year since the fund opened, oldest first, from the
    per-day changes of the income accounts."""
    if accounts is None:
        accounts = _accounts(session, [fund.id])
    yearly = _yearly(session, accounts, INCOME_ACCOUNTS, fund.id)[fund.id]
    return [IncomeYear(y, income_of(yearly.get(y, {}))) for y in years_of(fund, today)]


@dataclass(frozen=True)
class IncomeYear:
    year: int
    amounts: dict[str, Decimal]  # source -> amount

    @property
    def total(self) -> Decimal:
        return sum(self.amounts.values(), ZERO)


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
            sum(income_of(fund_books.changes).values(), ZERO), total.paid,
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
    fees: Decimal
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
    accounts = _accounts(session, sorted(f.id for f in funds))
    books = year_books(session, funds, year, today, accounts)
    own = books[public.id]
    counties = []
    for member in members:
        member_books = books[member.id]
        total = total_of(purpose_figures(load_chart(member.chart), member_books))
        counties.append((member.id, sum(income_of(member_books.changes).values(), ZERO),
                         total.paid, total.spent, total.in_bank))
    return _Money(purpose_figures(load_chart(public.chart), own), own.change(BANK_FEES),
                  income_by_year(session, public, today, accounts), counties)


def fund_page(session: Session, fund_code: str, year: int, today: dt.date) -> FundPage:
    """A fund's figures for one year: balances by purpose at the year's end (today for
    this year), what each purpose paid out and spent in the year, income by source for
    every year since opening and, for the city, each fund of its jurisdiction.

    The figures are kept in memory under the funds' journal heads (entry count and
    last entry hash, which every posting moves in its own transaction), the year and
    today: a posting anywhere in the funds concerned makes a new key, so what is kept
    can never differ from the books. It is kept only if the heads read after reading
    the figures are those read before (no posting came between, on any database)."""
    fund, public = _fund(session, fund_code)
    years = years_of(public, today)
    if year not in years:
        raise NotFound("Fund {fund} has no books for {year}.", fund=fund.code, year=year)
    members: list[PublicFund] = []
    if fund.level == "city":
        members = [public] + [
            PublicFund.of(c, fund.code)
            for c in session.execute(
                select(Fund).where(Fund.parent_id == fund.id).order_by(Fund.id)).scalars()]
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
    by_id = {m.id: m for m in members}
    return FundPage(
        fund=public, year=year, years=years, as_of=_as_of(year, today),
        purposes=list(money.purposes), total=total_of(money.purposes), fees=money.fees,
        income=list(money.income),
        counties=[CountyFigures(by_id[i], income, paid, spent, in_bank)
                  for i, income, paid, spent, in_bank in money.counties])


# --- Projects --------------------------------------------------------------------------------

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, newest first; or the whole list when it was asked for whole.
    A page does not count the whole list (that would read every row): it knows only
    whether another page follows."""

    items: list[T]
    page: int
    has_next: bool


def _paged(rows: list[T], page: int | None, per_page: int) -> Page[T]:
    if page is None:
        return Page(rows, 1, False)
    return Page(rows[:per_page], page, len(rows) > per_page)


@dataclass(frozen=True)
class PublicProject:
    fund: str
    ref: str
    year: int
    title: str
    purpose: str
    purpose_label: Bilingual
    implementing_unit: str
    approved_amount: Decimal
    paid: Decimal  # paid to the project, net of unspent money returned (the ledger's figure)
    state: str  # "approved" | "under_way" | "completed" | "terminated"
    state_label: str  # the public label's message id (grants.states.PUBLIC_LABELS)
    approved_on: dt.date | None
    counts: dict[str, int]  # children by category (grants.operations.CATEGORIES)
    # Its title and unit were withdrawn from public view (reports.withdrawals): both empty.
    withdrawn: bool = False

    @property
    def children(self) -> int:
        return sum(self.counts.values())


def _purpose_label(chart: str, key: str | None) -> Bilingual:
    if key is None or key == "General":
        return GENERAL_LABEL
    for purpose in load_chart(chart).purposes:
        if purpose.key == key:
            return purpose.label
    return Bilingual(key, key)


def _year_range(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


@functools.cache
def _projects_query(by_fund: bool, by_year: bool, paged: bool) -> tuple[Select[Any], Select[Any]]:
    """The projects statement and its children-count statement, built once for each
    shape of filter with bound parameters (``fund_id``, ``year``, ``limit``, ``offset``,
    ``ids``): the fund page runs them on every view."""
    where = [Project.state.in_(PUBLIC_STATES)]
    if by_fund:
        where.append(Project.fund_id == bindparam("fund_id", type_=Integer))
    if by_year:
        where.append(Project.year == bindparam("year", type_=Integer))
    approved_on = (select(func.min(Transition.at))
                   .where(Transition.project_id == Project.id,
                          Transition.to_state == State.APPROVED.value)
                   .correlate(Project).scalar_subquery())
    withdrawn = Project.id.in_(withdrawn_targets("project")).label("withdrawn")
    stmt = (select(Project.id, Project.ref, Project.year, Project.title, Project.purpose,
                   Project.implementing_unit, Project.approved_amount, Project.state,
                   Fund.code, Fund.chart, GrantPositionRow.paid, withdrawn, approved_on)
            .join(Fund, Fund.id == Project.fund_id)
            .outerjoin(GrantPositionRow, and_(
                GrantPositionRow.fund_id == Project.fund_id,
                GrantPositionRow.grant == literal(GRANT_LINK_PREFIX) + Project.ref))
            .where(*where).order_by(Project.id.desc()))
    counts = select(BeneficiaryCount.project_id, BeneficiaryCount.category,
                    BeneficiaryCount.count)
    if paged:
        stmt = stmt.limit(bindparam("limit", type_=Integer)).offset(
            bindparam("offset", type_=Integer))
        counts = counts.where(BeneficiaryCount.project_id.in_(bindparam("ids", expanding=True)))
    else:
        counts = counts.where(BeneficiaryCount.project_id.in_(select(Project.id).where(*where)))
    return stmt, counts


def public_projects(session: Session, fund_code: FundRef | None = None, year: int | None = None,
                    *, page: int | None = None, per_page: int = PER_PAGE) -> Page[PublicProject]:
    """Projects approved or later (never drafts, submissions, returns or rejections),
    newest first; one page of them, or all when ``page`` is None. ``year`` is the
    project's year (the year in its number). Two queries whatever the page size."""
    params: dict[str, object] = {}
    if fund_code is not None:
        params["fund_id"] = _fund_id(session, fund_code)
    if year is not None:
        params["year"] = year
    stmt, count_stmt = _projects_query(fund_code is not None, year is not None,
                                       page is not None)
    if page is not None:
        params |= {"limit": per_page + 1, "offset": (max(page, 1) - 1) * per_page}
    rows = session.execute(stmt, params).all()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if rows:
        if page is not None:
            params = {"ids": [row.id for row in rows[:per_page]]}
        for project_id, category, count in session.execute(count_stmt, params):
            counts[project_id][category] = count
    items = [PublicProject(
        fund=row.code, ref=row.ref, year=row.year, title="" if row.withdrawn else row.title,
        purpose=row.purpose, purpose_label=_purpose_label(row.chart, row.purpose),
        implementing_unit="" if row.withdrawn else row.implementing_unit,
        approved_amount=row.approved_amount or ZERO,
        paid=row.paid if row.paid is not None else ZERO, state=STATE_KEYS[State(row.state)],
        state_label=PUBLIC_LABELS[State(row.state)],
        approved_on=row[-1].date() if row[-1] is not None else None,
        counts={c: counts[row.id][c] for c in CATEGORIES if counts[row.id].get(c)},
        withdrawn=bool(row.withdrawn))
        for row in rows]
    return _paged(items, page, per_page)


@dataclass(frozen=True)
class PublicPayment:
    fund: str
    project: str
    date: dt.date
    kind: str  # "disbursement" | "unspent_return"
    amount: Decimal  # out of the fund; money returned, or a reversal, is negative
    entry: str  # the ledger entry, "YJQ#123"


def public_payments(session: Session, fund_code: FundRef | None = None,
                    year: int | None = None) -> list[PublicPayment]:
    """Money paid to public projects and unspent money they returned, from the ledger:
    per project they add up to the project's ``paid``. A reversed payment shows as the
    reversal with the opposite sign. Who was paid is not published."""
    original = aliased(JournalEntry)
    kind = func.coalesce(original.type, JournalEntry.type)
    where = [kind.in_(("disbursement", "unspent-return")), Account.name.startswith(FUND_PREFIX)]
    public_refs = select(Project.fund_id, Project.ref).where(Project.state.in_(PUBLIC_STATES))
    if fund_code is not None:
        fund_id = _fund_id(session, fund_code)
        where.append(JournalEntry.fund_id == fund_id)
        public_refs = public_refs.where(Project.fund_id == fund_id)
    if year is not None:
        where.append(JournalEntry.date.between(*_year_range(year)))
    refs = {(fund_id, ref) for fund_id, ref in session.execute(public_refs)}
    rows = session.execute(
        select(JournalEntry.fund_id, Fund.code, JournalEntry.seq, JournalEntry.date, kind,
               JournalEntry.links, Posting.amount)
        .join(Fund, Fund.id == JournalEntry.fund_id)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(Account, Account.id == Posting.account_id)
        .outerjoin(original, original.id == JournalEntry.reverses_id)
        .where(*where).order_by(JournalEntry.fund_id, JournalEntry.seq))
    payments = []
    for fund_id, code, seq, date, event, links, amount in rows:
        grant = next((link for link in links or () if link.startswith(GRANT_LINK_PREFIX)), None)
        if grant is None or (fund_id, project_ref(grant)) not in refs:
            continue
        payments.append(PublicPayment(code, project_ref(grant), date, event.replace("-", "_"),
                                      -amount, f"{code}#{seq}"))
    return payments


# --- Donations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicDonation:
    fund: str
    date: dt.date
    receipt: str  # the 公益事业捐赠票据 number, so a donor can find their gift
    donor: str  # the donor's name, or 匿名 when they chose anonymity
    donor_kind: str  # "enterprise" | "individual"
    amount: Decimal
    purpose: str | None  # None: undirected (the general pool)
    purpose_label: Bilingual
    withdrawn: bool = False  # the donor line was withdrawn from public view: donor empty


def public_name(name: str, publish: str) -> str:
    """``ledger.income_models.Donor.public_name``, from the two columns."""
    return ANONYMOUS if publish == "anonymous" else name


@functools.cache
def _donations_query(by_fund: bool, by_year: bool, paged: bool) -> Select[Any]:
    """The donations statement, built once for each shape of filter (bound parameters
    ``fund_id``, ``first``, ``last``, ``limit``, ``offset``). It walks the journal's
    (fund, date) index newest first and picks each donation entry's issued receipt, so
    a page reads about a page of rows whatever the year."""
    reversal = aliased(JournalEntry)
    reversed_entry = (select(reversal.id).where(reversal.reverses_id == JournalEntry.id)
                      .correlate(JournalEntry).exists())
    withdrawn = JournalEntry.id.in_(withdrawn_targets("donation")).label("withdrawn")
    stmt = (select(Receipt.donated_on, Receipt.code, Receipt.amount, Receipt.purpose,
                   Donor.name, Donor.publish, Donor.kind, Fund.code, Fund.chart, withdrawn)
            .select_from(JournalEntry)
            .join(Receipt, Receipt.entry_id == JournalEntry.id)
            .join(Donor, Donor.id == Receipt.donor_id)
            .join(Fund, Fund.id == JournalEntry.fund_id)
            .where(Receipt.state == "issued", ~reversed_entry)
            .order_by(JournalEntry.fund_id, JournalEntry.date.desc(), JournalEntry.id.desc()))
    if by_fund:
        stmt = stmt.where(JournalEntry.fund_id == bindparam("fund_id", type_=Integer))
    if by_year:
        stmt = stmt.where(JournalEntry.date.between(bindparam("first", type_=Date),
                                                    bindparam("last", type_=Date)))
    if paged:
        stmt = stmt.limit(bindparam("limit", type_=Integer)).offset(
            bindparam("offset", type_=Integer))
    return stmt


def public_donations(session: Session, fund_code: FundRef | None = None, year: int | None = None,
                     *, page: int | None = None,
                     per_page: int = PER_PAGE) -> Page[PublicDonation]:
    """Donations by their issued receipts, newest first; one page, or all when ``page``
    is None. A voided receipt is left out (its replacement, if any, stands for the
    donation); a donation given back is left out too (its receipt is voided and its
    entry reversed), so returns net out. ``year`` is the year of the donation."""
    params: dict[str, object] = {}
    if fund_code is not None:
        params["fund_id"] = _fund_id(session, fund_code)
    if year is not None:
        first, last = _year_range(year)
        params |= {"first": first, "last": last}
    if page is not None:
        params |= {"limit": per_page + 1, "offset": (max(page, 1) - 1) * per_page}
    stmt = _donations_query(fund_code is not None, year is not None, page is not None)
    items = [PublicDonation(code, day, receipt, "" if gone else public_name(name, publish),
                            kind, amount, purpose, _purpose_label(chart, purpose), bool(gone))
             for day, receipt, amount, purpose, name, publish, kind, code, chart, gone
             in session.execute(stmt, params)]
    return _paged(items, page, per_page)


# --- Audit results and corrections -----------------------------------------------------------


SEVERITY_LABELS = {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High")}


def _day(moment: dt.datetime | None) -> dt.date | None:
    return moment.astimezone(CST).date() if moment is not None else None


def audit_results(session: Session, fund_code: FundRef | None = None,
                  year: int | None = None) -> list[PublishedResult]:
    """Published audit results (``reports.engagements.published_results``), newest
    first; ``year``: those whose audited period touches that year."""
    ids = [_fund_id(session, fund_code)] if fund_code is not None else None
    results = published_results(session, ids)
    if year is None:
        return results
    first, last = _year_range(year)
    return [r for r in results if r.period_start <= last and r.period_end >= first]


@dataclass(frozen=True)
class PublicCorrection:
    id: int
    fund: str
    subject: str  # what it corrects: "annual-report:2025", "engagement:3"
    title: str
    text: str
    published_on: dt.date


def corrections(session: Session, fund_code: FundRef | None = None,
                year: int | None = None) -> list[PublicCorrection]:
    """Published correction notices, newest first. A published fact is never edited in
    place; it is corrected by one of these."""
    stmt = (select(Correction).where(Correction.id.not_in(withdrawn_targets("correction")))
            .order_by(Correction.published_at.desc(), Correction.id.desc()))
    if fund_code is not None:
        stmt = stmt.where(Correction.fund_id == _fund_id(session, fund_code))
    if year is not None:
        stmt = stmt.where(
            Correction.published_at >= dt.datetime(year, 1, 1, tzinfo=CST),
            Correction.published_at < dt.datetime(year + 1, 1, 1, tzinfo=CST))
    return [PublicCorrection(c.id, c.fund.code, c.subject, c.title, c.text,
                             _day(c.published_at) or dt.date.min)
            for c in session.execute(stmt).scalars()]


# --- The disclosure calendar -----------------------------------------------------------------


@dataclass(frozen=True)
class CalendarItem:
    kind: str  # "annual-report" | "quarterly"
    period: str  # "2025" | "2026-Q1"
    title: str  # message id
    due: dt.date
    state: str  # "published" | "due" | "overdue"
    published_on: dt.date | None = None
    late: bool = False  # published, but after it was due
    live: bool = False  # published continuously from the books, not by a person


CALENDAR_TITLES = {
    "annual-report": N_("Annual work and financial report"),
    "quarterly": N_("Donations received and projects under way"),
}
CALENDAR_STATES = {"published": N_("Published"), "due": N_("Not yet published"),
                   "overdue": N_("Overdue")}


def _quarter_end(year: int, quarter: int) -> dt.date:
    month = quarter * 3
    return dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


def disclosure_calendar(session: Session, fund_code: FundRef,
                        today: dt.date) -> list[CalendarItem]:
    """What this fund must disclose and when, under 《慈善组织信息公开办法》 (民政部令
    第81号, in force 1 January 2026), as this system reads it:

    - **Annual report.** The work report and financial report for year Y are disclosed by
      31 May of Y+1, for every year the fund has been open that has ended. Published when
      an ``AnnualReport`` of this fund for Y is in state 'published'; otherwise "due" up to
      and including 31 May and "overdue" from 1 June. A report published after its date is
      shown as published, and flagged late.
    - **Every three months.** Donations received and projects under way are disclosed at
      least once every three months; this calendar takes a quarter's information as due by
      the end of the following quarter. This site publishes both continuously from the books
      (the donation register and the project list are read at each request), so each ended
      quarter of the last twelve months is listed as published ("live") from its last day.

    Not covered here: what the 办法 asks outside these pages (organisation details,
    public fundraising plans, major asset changes) and the full disclosure of a project
    within three months of its end (the project list shows its state and money, not its
    completion report).
    """
    public = fund_code if isinstance(fund_code, PublicFund) else _fund(session, fund_code)[1]
    published = {year: at for year, at in session.execute(
        select(AnnualReport.year, func.min(AnnualReport.published_at))
        .where(AnnualReport.fund_id == public.id, AnnualReport.state == "published")
        .group_by(AnnualReport.year))}
    items: list[CalendarItem] = []
    for year in range(public.opened_on.year, today.year):
        due = dt.date(year + 1, 5, 31)
        if year in published:
            day = _day(published[year])
            items.append(CalendarItem("annual-report", str(year), CALENDAR_TITLES["annual-report"],
                                      due, "published", day, late=day is not None and day > due))
        else:
            items.append(CalendarItem("annual-report", str(year), CALENDAR_TITLES["annual-report"],
                                      due, "overdue" if today > due else "due"))
    quarter = (today.month - 1) // 3  # the last ended quarter, counted from 1 in its year
    year = today.year
    for _ in range(4):
        if quarter == 0:
            year, quarter = year - 1, 4
        end = _quarter_end(year, quarter)
        if end < public.opened_on:
            break
        due = _quarter_end(year + quarter // 4, quarter % 4 + 1)
        items.append(CalendarItem("quarterly", f"{year}-Q{quarter}", CALENDAR_TITLES["quarterly"],
                                  due, "published", end, live=True))
        quarter -= 1
    return sorted(items, key=lambda item: item.due, reverse=True)


def published_annual_report(session: Session, fund_code: str, year: int) -> AnnualReport:
    fund = find_fund(session, fund_code)
    report = session.execute(select(AnnualReport).where(
        AnnualReport.fund_id == fund.id, AnnualReport.year == year,
        AnnualReport.state == "published")).scalar_one_or_none()
    if report is None:
        raise NotFound("The annual report {year} of {fund} is not published.",
                       year=year, fund=fund.code)
    return report


# --- Open data -------------------------------------------------------------------------------

Column = tuple[str, str, str]  # name, type, meaning (a message id)
TYPES = {
    "string": N_("text"),
    "integer": N_("whole number"),
    "date": N_("date, YYYY-MM-DD"),
    "amount": N_("amount in yuan, two decimals, as text (1234.56)"),
}
_FUND_COLUMN = ("fund", "string", N_("Fund code (see the funds dataset)"))
_PURPOSE_COLUMNS = (
    ("purpose", "string", N_("Purpose key: General (undirected), Education, Orphans, "
                             "Disability, Medical, Hardship or Disaster")),
    ("purpose_name", "string", N_("Purpose, in Chinese")),
)
OPEN_DATA: dict[str, tuple[str, tuple[Column, ...]]] = {
    "funds": (N_("The children's special funds: the city level and each county or district."), (
        ("code", "string", N_("Fund code, used by every other dataset")),
        ("name_zh", "string", N_("Name in Chinese")),
        ("name_en", "string", N_("Name in English")),
        ("level", "string", N_("city or county")),
        ("parent", "string", N_("For a county, the city fund's code; empty for the city")),
        ("opened_on", "date", N_("The day the fund's books opened")),
    )),
    "balances": (N_("Money by purpose at the end of each year since the fund opened, and "
                    "today for this year."), (
        _FUND_COLUMN,
        ("date", "date", N_("Balances at the end of this day: 31 December, or today for "
                            "this year")),
        *_PURPOSE_COLUMNS,
        ("in_bank", "amount", N_("Money of this purpose in the fund's bank account")),
        ("committed", "amount", N_("Approved for projects and not yet paid")),
        ("available", "amount", N_("In the bank less committed: what can still be approved")),
    )),
    "income": (N_("Income by source and year: treasury money (seed and yearly top-ups), "
                  "enterprise and individual donations, bank interest."), (
        _FUND_COLUMN,
        ("year", "integer", N_("Calendar year")),
        ("source", "string", N_("government, enterprise, individual or interest")),
        ("source_name", "string", N_("Source, in Chinese")),
        ("amount", "amount", N_("Income in the year, net of donations given back")),
    )),
    "projects": (N_("Aid projects approved or later, with what was paid and how many children "
                    "each aids by category. Never the children's names or ID numbers, never "
                    "who was paid."), (
        _FUND_COLUMN,
        ("ref", "string", N_("Project number")),
        ("year", "integer", N_("The project's year (in its number)")),
        ("title", "string", N_("Title; （已撤回） when withdrawn from public view")),
        *_PURPOSE_COLUMNS,
        ("implementing_unit", "string", N_("The unit that carries the project out; "
                                           "（已撤回） when withdrawn from public view")),
        ("approved_amount", "amount", N_("Amount approved")),
        ("paid", "amount", N_("Paid to the project, net of unspent money returned")),
        ("state", "string", N_("approved, under_way, completed or terminated")),
        ("state_name", "string", N_("State, in Chinese")),
        ("approved_on", "date", N_("The day the project was approved")),
        ("children", "integer", N_("Children aided, all categories")),
        ("left_behind", "integer", N_("Left-behind children aided")),
        ("in_difficulty", "integer", N_("Children in difficulty aided")),
        ("orphan", "integer", N_("Orphans aided")),
        ("disabled", "integer", N_("Children with disabilities aided")),
        ("other", "integer", N_("Other children aided")),
    )),
    "payments": (N_("Payments to projects (tranches) and unspent money they returned, from "
                    "the ledger; per project they add up to its paid amount."), (
        _FUND_COLUMN,
        ("project", "string", N_("Project number (see the projects dataset)")),
        ("date", "date", N_("Day of the payment")),
        ("kind", "string", N_("disbursement, or unspent_return (money given back)")),
        ("amount", "amount", N_("Paid out; negative when money came back or a payment "
                                "was reversed")),
        ("entry", "string", N_("The ledger entry, fund#number")),
    )),
    "donations": (N_("Donations, by their donation receipts; voided receipts and donations "
                     "given back are left out."), (
        _FUND_COLUMN,
        ("date", "date", N_("Day of the donation")),
        ("receipt", "string", N_("Donation receipt number (公益事业捐赠票据)")),
        ("donor", "string", N_("The donor's name, or 匿名 when the donor asked; "
                               "（已撤回） when withdrawn from public view")),
        ("donor_kind", "string", N_("enterprise or individual")),
        ("amount", "amount", N_("Amount donated")),
        *_PURPOSE_COLUMNS,
    )),
    "audit_results": (N_("Published audit results: one row per finding (an engagement without "
                         "findings has one row with empty finding columns)."), (
        _FUND_COLUMN,
        ("engagement", "integer", N_("Engagement number")),
        ("title", "string", N_("Engagement title")),
        ("period", "string", N_("Period audited: 2025 or 2025-03")),
        ("published_on", "date", N_("The day the result was published")),
        ("conclusion", "string", N_("The audit bureau's conclusion")),
        ("finding", "integer", N_("Finding number; empty when there are none")),
        ("severity", "string", N_("low, medium or high")),
        ("finding_title", "string", N_("Finding")),
        ("finding_description", "string", N_("What was found")),
        ("response", "string", N_("The audited unit's response")),
        ("responded_on", "date", N_("The day of the response")),
    )),
    "corrections": (N_("Correction notices: a published fact is never edited in place."), (
        _FUND_COLUMN,
        ("id", "integer", N_("Notice number")),
        ("subject", "string", N_("What it corrects, such as annual-report:2025")),
        ("title", "string", N_("Title")),
        ("text", "string", N_("The correction")),
        ("published_on", "date", N_("The day it was published")),
    )),
}


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


Row = dict[str, str | int | None]


def _selected_funds(session: Session, fund_code: str | None) -> list[PublicFund]:
    funds = public_funds(session)
    if fund_code is None:
        return funds
    code = find_fund(session, fund_code).code
    return [f for f in funds if f.code == code]


def _fund_years(session: Session, fund_code: str | None, year: int | None,
                today: dt.date) -> Iterator[tuple[PublicFund, int, Books]]:
    """Each selected fund's books of each year since it opened (or of one year)."""
    funds = _selected_funds(session, fund_code)
    books = all_year_books(session, funds, today)
    for fund in funds:
        for y in years_of(fund, today):
            if year is None or y == year:
                yield fund, y, books[fund.id][y]


def _funds_rows(session: Session, fund_code: str | None, _year: int | None,
                _today: dt.date) -> list[Row]:
    return [{"code": f.code, "name_zh": f.name.zh, "name_en": f.name.en, "level": f.level,
             "parent": f.parent, "opened_on": f.opened_on.isoformat()}
            for f in _selected_funds(session, fund_code)]


def _balances_rows(session: Session, fund_code: str | None, year: int | None,
                   today: dt.date) -> list[Row]:
    return [{"fund": fund.code, "date": _as_of(y, today).isoformat(), "purpose": line.key,
             "purpose_name": line.label.zh, "in_bank": format_plain(line.in_bank),
             "committed": format_plain(line.committed),
             "available": format_plain(line.available)}
            for fund, y, books in _fund_years(session, fund_code, year, today)
            for line in purpose_figures(load_chart(fund.chart), books)]


def _income_rows(session: Session, fund_code: str | None, year: int | None,
                 today: dt.date) -> list[Row]:
    return [{"fund": fund.code, "year": y, "source": source,
             "source_name": SOURCE_LABELS[source].zh, "amount": format_plain(amount)}
            for fund, y, books in _fund_years(session, fund_code, year, today)
            for source, amount in income_of(books.changes).items()]


def _projects_rows(session: Session, fund_code: str | None, year: int | None,
                   _today: dt.date) -> list[Row]:
    with locale_as("zh_CN"):
        return [{"fund": p.fund, "ref": p.ref, "year": p.year,
                 "title": WITHDRAWN if p.withdrawn else p.title,
                 "purpose": p.purpose, "purpose_name": p.purpose_label.zh,
                 "implementing_unit": WITHDRAWN if p.withdrawn else p.implementing_unit,
                 "approved_amount": format_plain(p.approved_amount), "paid": format_plain(p.paid),
                 "state": p.state, "state_name": gettext(p.state_label),
                 "approved_on": _date(p.approved_on), "children": p.children,
                 **{c: p.counts.get(c, 0) for c in CATEGORIES}}
                for p in public_projects(session, fund_code, year).items]


def _payments_rows(session: Session, fund_code: str | None, year: int | None,
                   _today: dt.date) -> list[Row]:
    return [{"fund": p.fund, "project": p.project, "date": p.date.isoformat(),
             "kind": p.kind, "amount": format_plain(p.amount), "entry": p.entry}
            for p in public_payments(session, fund_code, year)]


def _donations_rows(session: Session, fund_code: str | None, year: int | None,
                    _today: dt.date) -> list[Row]:
    return [{"fund": d.fund, "date": d.date.isoformat(), "receipt": d.receipt,
             "donor": WITHDRAWN if d.withdrawn else d.donor, "donor_kind": d.donor_kind,
             "amount": format_plain(d.amount),
             "purpose": d.purpose or "General", "purpose_name": d.purpose_label.zh}
            for d in public_donations(session, fund_code, year).items]


def _audit_rows(session: Session, fund_code: str | None, year: int | None,
                _today: dt.date) -> list[Row]:
    rows: list[Row] = []
    for result in audit_results(session, fund_code, year):
        head: Row = {"fund": result.fund_code, "engagement": result.id, "title": result.title,
                     "period": result.period, "published_on": _date(_day(result.published_at)),
                     "conclusion": result.conclusion}
        empty: Row = {"finding": None, "severity": None, "finding_title": None,
                      "finding_description": None, "response": None, "responded_on": None}
        rows += [{**head, "finding": f.id, "severity": f.severity, "finding_title": f.title,
                  "finding_description": f.description, "response": f.response,
                  "responded_on": _date(_day(f.responded_at))}
                 for f in result.findings] or [{**head, **empty}]
    return rows


def _corrections_rows(session: Session, fund_code: str | None, year: int | None,
                      _today: dt.date) -> list[Row]:
    return [{"fund": c.fund, "id": c.id, "subject": c.subject, "title": c.title,
             "text": c.text, "published_on": c.published_on.isoformat()}
            for c in corrections(session, fund_code, year)]


_ROWS = {
    "funds": _funds_rows, "balances": _balances_rows, "income": _income_rows,
    "projects": _projects_rows, "payments": _payments_rows, "donations": _donations_rows,
    "audit_results": _audit_rows, "corrections": _corrections_rows,
}


def dataset(session: Session, name: str, today: dt.date, *, fund_code: str | None = None,
            year: int | None = None) -> list[Row]:
    """The rows of one open dataset, as text, whole numbers and ISO dates, with the
    columns of ``OPEN_DATA[name]``; filtered to a fund and a year when given."""
    if name not in OPEN_DATA:
        raise NotFound("There is no open dataset {name}.", name=name[:40])
    return _ROWS[name](session, fund_code, year, today)


def columns(name: str) -> list[str]:
    return [column for column, _type, _meaning in OPEN_DATA[name][1]]


def to_csv(name: str, rows: Sequence[Row]) -> bytes:
    """UTF-8 with a byte-order mark (so spreadsheet programs read the Chinese), a header
    row of the column names, empty cells for missing values. Text that a spreadsheet
    would run as a formula is kept as text (``core.spreadsheet``); amounts, whole
    numbers and dates are written as they are."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    names = columns(name)
    text = {column for column, kind, _meaning in OPEN_DATA[name][1] if kind == "string"}
    writer.writerow(names)
    for row in rows:
        writer.writerow([csv_text(row[c]) if c in text else "" if row[c] is None else row[c]
                         for c in names])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_json(name: str, rows: Sequence[Row], *, fund_code: str | None = None,
            year: int | None = None) -> bytes:
    """``{"dataset", "description", "description_zh", "filters", "columns", "rows"}``;
    amounts are strings such as "1234.56" so no reader turns them into floating point.
    The dictionary is given in English and in Chinese, whatever the reader's language."""
    description, spec = OPEN_DATA[name]
    with locale_as("zh_CN"):
        document = {
            "dataset": name,
            "description": description,
            "description_zh": gettext(description),
            "filters": {"fund": fund_code.upper() if fund_code else None, "year": year},
            "columns": [{"name": c, "type": t, "meaning": m, "meaning_zh": gettext(m)}
                        for c, t, m in spec],
            "rows": list(rows),
        }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def parse_year(value: str | None) -> int | None:
    """A year given in a query string, or None; refuses anything but four digits."""
    if value is None or value == "":
        return None
    if not re.fullmatch(r"[0-9]{4}", value):
        raise InvalidInput("A year is written with four digits, such as 2025.")
    return int(value)
