"""银行存款余额调节表: month by month, the bank's closing balance against the ledger's,
the outstanding statement lines and entries, and whether the month reconciled or
finance let it close with a reason (``ledger.reconciliation``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.money import ZERO
from ledger.income_models import Reconciliation
from ledger.models import Fund
from ledger.reconciliation import MonthStatus, months_between, status
from reports.figures import Period
from reports.statements.parts import UNIT_NOTE, fund_label, subtitle
from reports.tables import EMPHASIS, Column, Table

COLUMNS = (
    Column("fund", "基金"),
    Column("month", "月份"),
    Column("item", "项目"),
    Column("date", "日期", "date"),
    Column("ref", "流水号/记账编号"),
    Column("description", "摘要"),
    Column("amount", "金额", "money"),
    Column("bank", "银行对账单余额", "money"),
    Column("ledger", "账面余额", "money"),
    Column("difference", "差额", "money"),
    Column("result", "结论"),
)
NOTES = (
    "账面余额为专项基金各用途银行存款明细科目之和；银行对账单余额为当月最后一笔流水后的余额。",
    "调节后银行余额 = 银行对账单余额 + 账簿已收银行未收 − 账簿已付银行未付；"
    "调节后账面余额 = 账面余额 + 银行已收账簿未收 − 银行已付账簿未付。",
    "一个月无未达账项且银行对账单余额等于账面余额，即为调节相符。",
    UNIT_NOTE,
)


def _result(state: MonthStatus, override_by: str | None) -> str:
    """The month's conclusion, with finance's reason when it let the month close."""
    if state.reconciled:
        return "已调节相符"
    result = "无银行对账单" if state.bank_balance is None else "未调节相符"
    if state.override_reason:
        result += f"；经财务说明准予结账：{state.override_reason}" + (
            f"（{override_by}）" if override_by else "")
    return result


def _month_rows(fund: Fund, month: str, state: MonthStatus,
                override_by: str | None) -> list[dict[str, Any]]:
    """The month's balances, its outstanding items and, when there are any, the
    balances after adjusting for them."""
    label = fund_label(fund)
    rows: list[dict[str, Any]] = [{
        "fund": label, "month": month, "item": "月末余额", "date": state.end,
        "bank": state.bank_balance, "ledger": state.ledger_balance,
        "difference": state.difference, "result": _result(state, override_by), EMPHASIS: True}]
    for line in state.unmatched_lines:
        rows.append({
            "fund": label, "month": month,
            "item": "银行已收、账簿未收" if line.amount > 0 else "银行已付、账簿未付",
            "date": line.date, "ref": line.reference,
            "description": " ".join(p for p in (line.counterparty, line.description) if p),
            "amount": line.amount})
    for entry, amount in state.unmatched_entries:
        rows.append({
            "fund": label, "month": month,
            "item": "账簿已收、银行未收" if amount > 0 else "账簿已付、银行未付",
            "date": entry.date, "ref": f"{fund.code}#{entry.seq}",
            "description": entry.narration, "amount": amount})
    outstanding = state.unmatched_lines or state.unmatched_entries
    if state.bank_balance is not None and (outstanding or state.difference):
        bank = state.bank_balance + sum((a for _e, a in state.unmatched_entries), ZERO)
        ledger = state.ledger_balance + sum((x.amount for x in state.unmatched_lines), ZERO)
        rows.append({"fund": label, "month": month, "item": "调节后余额",
                     "bank": bank, "ledger": ledger, "difference": bank - ledger,
                     "result": "调节后相符" if bank == ledger else "调节后仍不符"})
    return rows


def _months(fund: Fund, period: Period, today: dt.date) -> list[str]:
    """The fund's months in the period, up to this one."""
    first = max(period.start, fund.opened_on)
    last = min(period.end, today)
    return months_between(first, last) if first <= last else []


def reconciliation_report(session: Session, funds: list[Fund], period: Period) -> Table:
    """银行存款余额调节表: month by month, the bank's closing balance against the ledger's,
    the outstanding statement lines and entries, and whether the month reconciled or
    finance let it close with a reason."""
    rows: list[dict[str, Any]] = []
    done = pending = 0
    today = clock.today()
    for fund in funds:
        months = _months(fund, period, today)
        overrides = {r.period: r.override_by for r in session.execute(
            select(Reconciliation).where(Reconciliation.fund_id == fund.id,
                                         Reconciliation.period.in_(months))).scalars()}
        for month in months:
            state = status(session, fund, month)
            done, pending = (done + 1, pending) if state.reconciled else (done, pending + 1)
            rows += _month_rows(fund, month, state, overrides.get(month))
    notes = [f"共 {done + pending} 个月：已调节相符 {done} 个月，未调节相符 {pending} 个月。",
             *NOTES]
    return Table("银行存款余额调节表", list(COLUMNS), rows, subtitle=subtitle(funds, period),
                 notes=notes, slug="bank-reconciliation")
