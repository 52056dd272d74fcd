"""业务活动表: a period's income and expense by 民非 account code, one money column per
fund (and their total), ending with the change in net assets; each fund's figures are
checked against ``reports.figures`` and its balance sheet."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.money import ZERO, format_cny
from ledger.chart import BANK_FEES
from ledger.models import Account, Fund
from reports.figures import FundFigures, Period, fund_figures, movements, net_asset_change
from reports.statements.parts import UNIT_NOTE, agree, fund_label, subtitle
from reports.tables import EMPHASIS, Column, Table

PARENT_ZH = {"4101": "捐赠收入", "4401": "政府补助收入", "4901": "其他收入",
             "5101": "业务活动成本", "5301": "筹资费用"}
INCOME_PARENTS = ("4101", "4401", "4901")
EXPENSE_PARENTS = ("5101", "5301")
NOTES = (
    "限定性捐赠为捐赠人指定用途（定向）的捐赠，非限定性捐赠为未指定用途的捐赠。",
    "业务活动成本在项目批准时确认（含尚未拨付的部分）；释放的未拨付承诺和退回的项目结余"
    "冲减当期成本。",
    "净资产变动额 = 收入合计 − 费用合计。",
    UNIT_NOTE,
)


@dataclass(frozen=True)
class _FundActivity:
    """One fund's figures, its income and expense by account code, and the change of
    its net assets."""

    fund: Fund
    figures: FundFigures
    amounts: dict[str, Decimal]  # account code -> amount, income and expense positive
    net_change: Decimal

    def under(self, code: str) -> Decimal:
        """The total of a parent code's accounts."""
        return sum((v for c, v in self.amounts.items() if c.startswith(code)), ZERO)


def _fund_key(fund: Fund) -> str:
    return "fund_" + fund.code.lower().replace("-", "_")


def _account_amounts(session: Session, fund: Fund, period: Period) -> dict[str, Decimal]:
    """Each income and expense account's amount in the period, by account code: income
    as a positive figure, expense as a positive figure."""
    codes = dict(session.execute(
        select(Account.name, Account.code).where(Account.fund_id == fund.id)).all())
    amounts: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for (account, _kind), amount in movements(session, fund, period).items():
        if account.startswith("Income:"):
            amounts[codes[account]] -= amount
        elif account.startswith("Expenses:"):
            amounts[codes[account]] += amount
    return amounts


def _account_names(session: Session, funds: list[Fund]) -> dict[str, str]:
    """The Chinese name of each income and expense account code (the first fund's)."""
    names: dict[str, str] = {}
    for fund in funds:
        for code, name_zh in session.execute(select(Account.code, Account.name_zh).where(
                Account.fund_id == fund.id, or_(Account.name.like("Income:%"),
                                                Account.name.like("Expenses:%")))):
            names.setdefault(code, name_zh)
    return names


class _Lines:
    """The statement's numbered lines, one value per fund (and their total)."""

    def __init__(self, keys: list[str], with_total: bool) -> None:
        self.keys, self.with_total = keys, with_total
        self.rows: list[dict[str, Any]] = []

    def add(self, code: str, name: str, values: list[Decimal], strong: bool = False) -> None:
        row: dict[str, Any] = {"line": len(self.rows) + 1, "code": code, "name": name}
        row.update(zip(self.keys, values, strict=True))
        if self.with_total:
            row["total"] = sum(values, ZERO)
        if strong:
            row[EMPHASIS] = True
        self.rows.append(row)


def _sum_of(parents: tuple[str, ...], of: Callable[[str], list[Decimal]]) -> list[Decimal]:
    return [sum(values, ZERO) for values in zip(*(of(c) for c in parents), strict=True)]


def _lay_out(lines: _Lines, names: dict[str, str],
             funds: list[_FundActivity]) -> tuple[list[Decimal], list[Decimal]]:
    """Income, then expense, then the change in net assets; returns each fund's total
    income and change in net assets."""

    def parent(code: str) -> list[Decimal]:
        return [f.under(code) for f in funds]

    def details(code: str) -> None:
        for child in sorted(c for c in names if c.startswith(code) and c != code):
            lines.add(child, names[child], [f.amounts[child] for f in funds])

    lines.add("4101", PARENT_ZH["4101"], parent("4101"), strong=True)
    lines.add("", "其中：限定性（定向捐赠）", [f.figures.restricted_donations for f in funds])
    lines.add("", "其中：非限定性（未定向捐赠）", [f.figures.unrestricted_donations for f in funds])
    details("4101")
    for code in INCOME_PARENTS[1:]:
        lines.add(code, PARENT_ZH[code], parent(code), strong=True)
        details(code)
    income = _sum_of(INCOME_PARENTS, parent)
    lines.add("", "收入合计", income, strong=True)
    for code in EXPENSE_PARENTS:
        lines.add(code, PARENT_ZH[code], parent(code), strong=True)
        details(code)
    expense = _sum_of(EXPENSE_PARENTS, parent)
    lines.add("", "费用合计", expense, strong=True)
    change = [i - e for i, e in zip(income, expense, strict=True)]
    lines.add("", "净资产变动额", change, strong=True)
    return income, change


def activity_statement(session: Session, funds: list[Fund], period: Period) -> Table:
    """业务活动表: the period's income and expense by 民非 account code, one money column
    per fund (and their total), ending with the change in net assets."""
    keys = [_fund_key(f) for f in funds]
    columns = [Column("line", "行次", "int"), Column("code", "科目编码"), Column("name", "项目")]
    columns += [Column(key, fund_label(f), "money") for key, f in zip(keys, funds, strict=True)]
    if len(funds) > 1:
        columns.append(Column("total", "合计", "money"))
    activity = [_FundActivity(fund, fund_figures(session, fund, period),
                              _account_amounts(session, fund, period),
                              net_asset_change(session, fund, period)) for fund in funds]
    lines = _Lines(keys, with_total=len(funds) > 1)
    income, change = _lay_out(lines, _account_names(session, funds), activity)
    notes = [_activity_check(session, fund, inc, chg)
             for fund, inc, chg in zip(activity, income, change, strict=True)]
    return Table("业务活动表", columns, lines.rows, subtitle=subtitle(funds, period),
                 notes=notes + list(NOTES), slug="activity-statement")


def _activity_check(session: Session, of: _FundActivity, income: Decimal,
                    change: Decimal) -> str:
    """The statement's figures for one fund against fund_figures and the balance sheet."""
    figures, amounts, fund = of.figures, of.amounts, of.fund
    from_figures = sum(figures.income.values(), ZERO)
    donations = figures.income["enterprise"] + figures.income["individual"]
    split = figures.restricted_donations + figures.unrestricted_donations
    fees = amounts[_code_of(session, fund, BANK_FEES)]
    spent = of.under("5101")
    problems = []
    if income != from_figures:
        problems.append(f"收入合计与收支情况表收入{agree(income, from_figures)}")
    if split != donations:
        problems.append(f"限定性与非限定性捐赠之和与捐赠收入{agree(split, donations)}")
    if fees != figures.total.fees or spent != figures.total.spent:
        problems.append("费用与收支情况表不符")
    known = INCOME_PARENTS + EXPENSE_PARENTS
    if any(v for c, v in amounts.items() if not c.startswith(known)):
        problems.append("有未归入本表科目的收入或费用")
    if change != of.net_change:
        problems.append(f"净资产变动额与资产负债变动{agree(change, of.net_change)}")
    if problems:
        return f"{fund.code}：" + "；".join(problems) + "。"
    return (f"{fund.code}：净资产变动额 {format_cny(change)} 与期末、期初净资产"
            "（银行存款减应付资助款）之差相符；收入、费用与收支情况表相符。")


def _code_of(session: Session, fund: Fund, account: str) -> str:
    return session.execute(select(Account.code).where(
        Account.fund_id == fund.id, Account.name == account)).scalar_one()
