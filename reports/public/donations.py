"""Public donations, by their donation receipts (公益事业捐赠票据): the donor's name, or
匿名 when the donor asked; a voided receipt's replacement stands for its donation."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Integer, Select, bindparam, select
from sqlalchemy.orm import Session, aliased

from core.i18n import Bilingual
from ledger.income_models import Donor, Receipt
from ledger.models import Fund, JournalEntry
from reports.models import withdrawn_targets
from reports.public.funds import FundRef, fund_id_of, purpose_label, year_range
from reports.public.paging import PER_PAGE, Page, page_params, paged

ANONYMOUS = "匿名"


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
def _donations_query(by_fund: bool, by_year: bool,
                     paged: bool) -> Select[*tuple[Any, ...]]:
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
        params["fund_id"] = fund_id_of(session, fund_code)
    if year is not None:
        first, last = year_range(year)
        params |= {"first": first, "last": last}
    params |= page_params(page, per_page)
    stmt = _donations_query(fund_code is not None, year is not None, page is not None)
    items = [PublicDonation(code, day, receipt, "" if gone else public_name(name, publish),
                            kind, amount, purpose, purpose_label(chart, purpose), bool(gone))
             for day, receipt, amount, purpose, name, publish, kind, code, chart, gone
             in session.execute(stmt, params)]
    return paged(items, page, per_page)
