"""Public projects and what was paid to them.

Only projects approved or later are public (never drafts, submissions, returns or
rejections). Nothing here reads the ``beneficiaries`` table: a project shows how many
children it aids in each category, never who they are. Project payees are not
published either (a payee may be a person); the implementing unit is.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, func, literal, select
from sqlalchemy.orm import Session, aliased

from core.i18n import Bilingual
from core.money import ZERO
from grants.models import BeneficiaryCount, Project, Transition
from grants.operations import CATEGORIES
from grants.states import PUBLIC_LABELS, State
from ledger.chart import FUND_PREFIX
from ledger.models import Account, Fund, GrantPositionRow, JournalEntry, Posting
from ledger.rules import GRANT_LINK_PREFIX, project_ref
from reports.models import withdrawn_targets
from reports.public.funds import FundRef, fund_id_of, purpose_label, year_range
from reports.public.paging import PER_PAGE, Page, page_params, paged

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


@functools.cache
def _projects_query(by_fund: bool, by_year: bool,
                    paged: bool) -> tuple[Select[*tuple[Any, ...]], Select[int, str, int]]:
    """The projects statement and its children-count statement, built once for each
    shape of filter with bound parameters (``fund_id``, ``year``, ``limit``, ``offset``,
    ``ids``): the fund page runs them on every view."""
    where: list[ColumnElement[bool]] = [Project.state.in_(PUBLIC_STATES)]
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
        params["fund_id"] = fund_id_of(session, fund_code)
    if year is not None:
        params["year"] = year
    stmt, count_stmt = _projects_query(fund_code is not None, year is not None,
                                       page is not None)
    params |= page_params(page, per_page)
    rows = session.execute(stmt, params).all()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if rows:
        if page is not None:
            params = {"ids": [row.id for row in rows[:per_page]]}
        for project_id, category, count in session.execute(count_stmt, params):
            counts[project_id][category] = count
    items = [PublicProject(
        fund=row.code, ref=row.ref, year=row.year, title="" if row.withdrawn else row.title,
        purpose=row.purpose, purpose_label=purpose_label(row.chart, row.purpose),
        implementing_unit="" if row.withdrawn else row.implementing_unit,
        approved_amount=row.approved_amount or ZERO,
        paid=row.paid if row.paid is not None else ZERO, state=STATE_KEYS[State(row.state)],
        state_label=PUBLIC_LABELS[State(row.state)],
        approved_on=row[-1].date() if row[-1] is not None else None,
        counts={c: counts[row.id][c] for c in CATEGORIES if counts[row.id].get(c)},
        withdrawn=bool(row.withdrawn))
        for row in rows]
    return paged(items, page, per_page)


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
        fund_id = fund_id_of(session, fund_code)
        where.append(JournalEntry.fund_id == fund_id)
        public_refs = public_refs.where(Project.fund_id == fund_id)
    if year is not None:
        where.append(JournalEntry.date.between(*year_range(year)))
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
