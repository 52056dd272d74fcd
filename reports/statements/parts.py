"""What every statement is made of: how it names a fund, a period and a purpose, how it
says whether two figures agree, and its note on the unit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from core import clock
from core.errors import InvalidInput
from core.money import format_cny
from ledger.chart import load_chart
from ledger.models import Fund
from reports.figures import Period
from reports.tables import period_zh, scope_zh

GENERAL_ZH = "未定向"
UNIT_NOTE = "金额单位：人民币元。"
_CHUNK = 500  # ids per IN (...) list


def fund_label(fund: Fund) -> str:
    return f"{fund.name_zh}（{fund.code}）"


def subtitle(funds: Sequence[Fund], period: Period) -> str:
    return f"{scope_zh(funds)}　{period_zh(period)}"


def purpose_zh(fund: Fund, key: str | None) -> str:
    if not key or key == "General":
        return GENERAL_ZH
    try:
        return load_chart(fund.chart).purpose(key).zh
    except InvalidInput:  # an unknown key is shown as stored
        return key


def cst_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(clock.CST).date()


def chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    """Ids a few hundred at a time, for ``IN (...)`` lists."""
    items = list(values)
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def agree(register: Decimal, ledger: Decimal) -> str:
    """相符, or 不符 with the difference."""
    if register == ledger:
        return "相符"
    return f"不符，差额 {format_cny(register - ledger)}"
