"""The funds as the public sees them, and the small readings every public page shares:
which fund a page is about, the day its figures stand at, a year given in a query."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.clock import CST
from core.errors import InvalidInput
from core.i18n import Bilingual
from ledger.chart import load_chart
from ledger.funds import list_funds
from ledger.journal import find_fund
from ledger.models import Fund
from people.models import Level
from reports.figures import GENERAL_LABEL

LEVELS = {"city": Bilingual("市本级", "City level"), "county": Bilingual("县（区）", "County")}


@dataclass(frozen=True)
class PublicFund:
    id: int
    code: str
    name: Bilingual
    level: Level
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


def fund_id_of(session: Session, fund: FundRef) -> int:
    return fund.id if isinstance(fund, PublicFund) else find_fund(session, fund).id


def read_fund(session: Session, code: str) -> tuple[Fund, PublicFund]:
    fund = find_fund(session, code)
    parent = session.get(Fund, fund.parent_id) if fund.parent_id else None
    return fund, PublicFund.of(fund, parent.code if parent else None)


def as_of(year: int, today: dt.date) -> dt.date:
    """The day a year's figures stand at: its last day, or today for this year."""
    return min(dt.date(year, 12, 31), today)


def year_range(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def cst_day(moment: dt.datetime | None) -> dt.date | None:
    return moment.astimezone(CST).date() if moment is not None else None


def purpose_label(chart: str, key: str | None) -> Bilingual:
    if key is None or key == "General":
        return GENERAL_LABEL
    for purpose in load_chart(chart).purposes:
        if purpose.key == key:
            return purpose.label
    return Bilingual(key, key)


def parse_year(value: str | None) -> int | None:
    """A year given in a query string, or None; refuses anything but four digits."""
    if value is None or value == "":
        return None
    if not re.fullmatch(r"[0-9]{4}", value):
        raise InvalidInput("A year is written with four digits, such as 2025.")
    return int(value)
