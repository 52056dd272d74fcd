"""收支情况表: each fund's money by purpose over a period, straight from
``reports.figures.fund_figures``, with a check that each row adds up."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from core.money import format_cny
from ledger.models import Fund
from reports.figures import FLOW_SUMS, TOTAL_LABEL, Period, PurposeFlow, fund_figures
from reports.statements.parts import UNIT_NOTE, fund_label, subtitle
from reports.tables import EMPHASIS, Column, Table

FLOW_FIELDS = ("opening", "donations", "government", "allocated", "interest", "paid", "fees",
               "closing", "committed")
COLUMNS = (
    Column("fund", "基金"),
    Column("purpose", "用途"),
    Column("opening", "期初余额", "money"),
    Column("donations", "捐赠收入", "money"),
    Column("government", "财政资金", "money"),
    Column("allocated", "分配调入（调出）", "money"),
    Column("interest", "利息收入", "money"),
    Column("paid", "项目拨付", "money"),
    Column("fees", "银行手续费", "money"),
    Column("closing", "期末余额", "money"),
    Column("committed", "已批未付", "money"),
    Column("available", "可用余额", "money"),
    Column("check", "勾稽"),
)
NOTES = (
    "勾稽：期初余额 + 捐赠收入 + 财政资金 + 分配调入（调出） + 利息收入 − 项目拨付 − 银行手续费"
    " = 期末余额，逐行核对。",
    "可用余额 = 期末余额 − 已批未付；已批未付是已批准而尚未拨付的项目资金。",
    "项目拨付已扣除项目结余退回；捐赠退回以冲销计入当期捐赠收入。",
    "余额为专项基金银行账户中属于各用途的部分，各用途之和即银行账户余额。",
    UNIT_NOTE,
)


def flow_difference(flow: PurposeFlow) -> Decimal:
    """Closing balance less what the opening balance and the period's flows make it.

    The cash movements come from the fund's cash accounts, what was paid and the fees
    from the accounts that recognise them (``reports.figures``): a row that does not
    add up means the two sides of the books disagree."""
    expected = (flow.opening + flow.donations + flow.government + flow.allocated
                + flow.interest - flow.paid - flow.fees)
    return flow.closing - expected


def _flow_row(fund: str, purpose: str, flow: PurposeFlow) -> dict[str, Any]:
    row: dict[str, Any] = {"fund": fund, "purpose": purpose}
    row.update({name: getattr(flow, name) for name in FLOW_FIELDS})
    row["available"] = flow.available
    difference = flow_difference(flow)
    row["check"] = "相符" if difference == 0 else f"不符，差额 {format_cny(difference)}"
    return row


def _add_flow(total: PurposeFlow, flow: PurposeFlow) -> None:
    for name in FLOW_SUMS:
        setattr(total, name, getattr(total, name) + getattr(flow, name))


def fund_statement(session: Session, funds: list[Fund], period: Period) -> Table:
    """收支情况表: each fund's money by purpose (未定向 and the six purposes) over the
    period, straight from ``fund_figures``, with a check that each row adds up."""
    rows: list[dict[str, Any]] = []
    grand = PurposeFlow("Total", TOTAL_LABEL)
    broken: list[str] = []
    for fund in funds:
        figures = fund_figures(session, fund, period)
        for flow in figures.purposes:
            rows.append(_flow_row(fund_label(fund), flow.label.zh, flow))
            if flow_difference(flow) != 0:
                broken.append(f"{fund.code} {flow.label.zh}")
            _add_flow(grand, flow)
        if len(funds) > 1:
            rows.append({**_flow_row(fund_label(fund), "小计", figures.total), EMPHASIS: True})
    notes = list(NOTES)
    if broken:
        notes.insert(0, "以下各行勾稽不符：" + "、".join(broken) + "。")
    return Table("收支情况表", list(COLUMNS), rows, subtitle=subtitle(funds, period),
                 totals=_flow_row("合计", "", grand), notes=notes, slug="fund-statement")
