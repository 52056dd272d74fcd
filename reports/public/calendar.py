"""The disclosure calendar: what each fund must disclose and when, and the annual
reports it has published."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.i18n import N_
from ledger.journal import find_fund
from reports.models import AnnualReport
from reports.public.funds import FundRef, PublicFund, cst_day, read_fund


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
    public = fund_code if isinstance(fund_code, PublicFund) else read_fund(session, fund_code)[1]
    items = _annual_items(session, public, today) + _quarterly_items(public, today)
    return sorted(items, key=lambda item: item.due, reverse=True)


def _annual_items(session: Session, public: PublicFund, today: dt.date) -> list[CalendarItem]:
    """The annual report of every ended year since the fund opened."""
    published = {year: at for year, at in session.execute(
        select(AnnualReport.year, func.min(AnnualReport.published_at))
        .where(AnnualReport.fund_id == public.id, AnnualReport.state == "published")
        .group_by(AnnualReport.year))}
    items: list[CalendarItem] = []
    for year in range(public.opened_on.year, today.year):
        due = dt.date(year + 1, 5, 31)
        if year in published:
            day = cst_day(published[year])
            items.append(CalendarItem("annual-report", str(year), CALENDAR_TITLES["annual-report"],
                                      due, "published", day, late=day is not None and day > due))
        else:
            items.append(CalendarItem("annual-report", str(year), CALENDAR_TITLES["annual-report"],
                                      due, "overdue" if today > due else "due"))
    return items


def _quarterly_items(public: PublicFund, today: dt.date) -> list[CalendarItem]:
    """Each ended quarter of the last twelve months, published live from the books."""
    items: list[CalendarItem] = []
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
    return items


def published_annual_report(session: Session, fund_code: str, year: int) -> AnnualReport:
    fund = find_fund(session, fund_code)
    report = session.execute(select(AnnualReport).where(
        AnnualReport.fund_id == fund.id, AnnualReport.year == year,
        AnnualReport.state == "published")).scalar_one_or_none()
    if report is None:
        raise NotFound("The annual report {year} of {fund} is not published.",
                       year=year, fund=fund.code)
    return report
