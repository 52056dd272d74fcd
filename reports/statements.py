"""The auditor's downloadable statements and registers, each a ``Table``.

All read-only. The money figures come from ``reports.figures`` (``fund_figures`` and
``movements``), the same sums the annual report and the public pages use, so no two
reports can disagree; registers that list documents (receipts, projects, bank lines)
say in their notes whether their totals agree with the ledger's figures.

No report here names an aided child or shows an ID number: projects are listed with
their beneficiary counts only, and audit records are summarised from a short list of
harmless fields, never from their full before/after content.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from audit.chain import verify_chain
from audit.models import AuditRecord
from core import clock
from core.actors import ROLE_LABELS
from core.errors import InvalidInput
from core.i18n import Bilingual, gettext, locale_as
from core.money import ZERO, format_cny
from grants.models import Project
from grants.states import STATE_LABELS, State
from ledger.balances import balances
from ledger.beancount_io import write_ledger
from ledger.chart import BANK_FEES, FUND_PREFIX, PAYABLE_PREFIX, load_chart
from ledger.income_models import (
    Receipt,
    ReceiptSeries,
    Reconciliation,
)
from ledger.models import Account, Fund, JournalEntry
from ledger.reconciliation import months_between, status
from reports import auditlog
from reports.figures import FundFigures, Period, PurposeFlow, fund_figures, movements
from reports.tables import EMPHASIS, Column, Table, period_zh, scope_zh

GENERAL_ZH = "未定向"
KIND_ZH = {"enterprise": "企业", "individual": "个人"}
PUBLISH_ZH = {"name": "实名公示", "anonymous": "匿名公示"}
RECEIPT_STATE_ZH = {"issued": "有效", "voided": "已作废"}
# Approved, and every state a project can reach only through approval.
APPROVED_OR_LATER = frozenset({State.APPROVED, State.PARTIALLY_PAID, State.PAID,
                               State.COMPLETED, State.CLOSED, State.CANCELLED})
ENDED = frozenset({State.CLOSED, State.CANCELLED, State.REJECTED})
UNIT_NOTE = "金额单位：人民币元。"
_CHUNK = 500  # ids per IN (...) list


def _fund_label(fund: Fund) -> str:
    return f"{fund.name_zh}（{fund.code}）"


def _subtitle(funds: Sequence[Fund], period: Period) -> str:
    return f"{scope_zh(funds)}　{period_zh(period)}"


def _purpose_zh(fund: Fund, key: str | None) -> str:
    if not key or key == "General":
        return GENERAL_ZH
    try:
        return load_chart(fund.chart).purpose(key).zh
    except InvalidInput:  # an unknown key is shown as stored
        return key


def _cst_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(clock.CST).date()


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = list(values)
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _agree(register: Decimal, ledger: Decimal) -> str:
    if register == ledger:
        return "相符"
    return f"不符，差额 {format_cny(register - ledger)}"


# --- 收支情况表 --------------------------------------------------------------------------

FLOW_FIELDS = ("opening", "donations", "government", "allocated", "interest", "paid", "fees",
               "closing", "committed")


def flow_difference(flow: PurposeFlow) -> Decimal:
    """Closing balance less what the opening balance and the period's flows make it."""
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
    for name in (*FLOW_FIELDS, "spent"):
        setattr(total, name, getattr(total, name) + getattr(flow, name))


def fund_statement(session: Session, funds: list[Fund], period: Period) -> Table:
    """收支情况表: each fund's money by purpose (未定向 and the six purposes) over the
    period, straight from ``fund_figures``, with a check that each row adds up."""
    columns = [
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
    ]
    rows: list[dict[str, Any]] = []
    grand = PurposeFlow("Total", Bilingual("合计", "Total"))
    broken: list[str] = []
    for fund in funds:
        figures = fund_figures(session, fund, period)
        for flow in figures.purposes:
            rows.append(_flow_row(_fund_label(fund), flow.label.zh, flow))
            if flow_difference(flow) != 0:
                broken.append(f"{fund.code} {flow.label.zh}")
            _add_flow(grand, flow)
        if len(funds) > 1:
            rows.append({**_flow_row(_fund_label(fund), "小计", figures.total), EMPHASIS: True})
    totals = _flow_row("合计", "", grand)
    notes = [
        "勾稽：期初余额 + 捐赠收入 + 财政资金 + 分配调入（调出） + 利息收入 − 项目拨付 − 银行手续费"
        " = 期末余额，逐行核对。",
        "可用余额 = 期末余额 − 已批未付；已批未付是已批准而尚未拨付的项目资金。",
        "项目拨付已扣除项目结余退回；捐赠退回以冲销计入当期捐赠收入。",
        "余额为专项基金银行账户中属于各用途的部分，各用途之和即银行账户余额。",
        UNIT_NOTE,
    ]
    if broken:
        notes.insert(0, "以下各行勾稽不符：" + "、".join(broken) + "。")
    return Table("收支情况表", columns, rows, subtitle=_subtitle(funds, period), totals=totals,
                 notes=notes, slug="fund-statement")


# --- 业务活动表 --------------------------------------------------------------------------

PARENT_ZH = {"4101": "捐赠收入", "4401": "政府补助收入", "4901": "其他收入",
             "5101": "业务活动成本", "5301": "筹资费用"}
INCOME_PARENTS = ("4101", "4401", "4901")
EXPENSE_PARENTS = ("5101", "5301")


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


def activity_statement(session: Session, funds: list[Fund], period: Period) -> Table:
    """业务活动表: the period's income and expense by 民非 account code, one money column
    per fund (and their total), ending with the change in net assets."""
    keys = [_fund_key(f) for f in funds]
    columns = [Column("line", "行次", "int"), Column("code", "科目编码"), Column("name", "项目")]
    columns += [Column(key, _fund_label(f), "money") for key, f in zip(keys, funds, strict=True)]
    if len(funds) > 1:
        columns.append(Column("total", "合计", "money"))
    names: dict[str, str] = {}
    by_fund: list[tuple[FundFigures, dict[str, Decimal], Decimal]] = []
    for fund in funds:
        figures = fund_figures(session, fund, period)
        amounts = _account_amounts(session, fund, period)
        for code, name_zh in session.execute(select(Account.code, Account.name_zh).where(
                Account.fund_id == fund.id, or_(Account.name.like("Income:%"),
                                                Account.name.like("Expenses:%")))):
            names.setdefault(code, name_zh)
        by_fund.append((figures, amounts, _net_asset_change(session, fund, period)))

    rows: list[dict[str, Any]] = []

    def add(code: str, name: str, values: list[Decimal], strong: bool = False) -> None:
        row: dict[str, Any] = {"line": len(rows) + 1, "code": code, "name": name}
        row.update(zip(keys, values, strict=True))
        if len(funds) > 1:
            row["total"] = sum(values, ZERO)
        if strong:
            row[EMPHASIS] = True
        rows.append(row)

    def parent(code: str) -> list[Decimal]:
        return [sum((v for c, v in amounts.items() if c.startswith(code)), ZERO)
                for _f, amounts, _n in by_fund]

    def details(code: str) -> None:
        for child in sorted(c for c in names if c.startswith(code) and c != code):
            add(child, names[child], [amounts[child] for _f, amounts, _n in by_fund])

    add("4101", PARENT_ZH["4101"], parent("4101"), strong=True)
    add("", "其中：限定性（定向捐赠）", [f.restricted_donations for f, _a, _n in by_fund])
    add("", "其中：非限定性（未定向捐赠）", [f.unrestricted_donations for f, _a, _n in by_fund])
    details("4101")
    for code in INCOME_PARENTS[1:]:
        add(code, PARENT_ZH[code], parent(code), strong=True)
        details(code)
    income = [sum(values, ZERO) for values in zip(*(parent(c) for c in INCOME_PARENTS),
                                                   strict=True)]
    add("", "收入合计", income, strong=True)
    for code in EXPENSE_PARENTS:
        add(code, PARENT_ZH[code], parent(code), strong=True)
        details(code)
    expense = [sum(values, ZERO) for values in zip(*(parent(c) for c in EXPENSE_PARENTS),
                                                    strict=True)]
    add("", "费用合计", expense, strong=True)
    change = [i - e for i, e in zip(income, expense, strict=True)]
    add("", "净资产变动额", change, strong=True)

    notes = [_activity_check(session, fund, figures, amounts, net_change, inc, chg)
             for (figures, amounts, net_change), fund, inc, chg
             in zip(by_fund, funds, income, change, strict=True)]
    notes += [
        "限定性捐赠为捐赠人指定用途（定向）的捐赠，非限定性捐赠为未指定用途的捐赠。",
        "业务活动成本在项目批准时确认（含尚未拨付的部分）；释放的未拨付承诺和退回的项目结余"
        "冲减当期成本。",
        "净资产变动额 = 收入合计 − 费用合计。",
        UNIT_NOTE,
    ]
    return Table("业务活动表", columns, rows, subtitle=_subtitle(funds, period), notes=notes,
                 slug="activity-statement")


def _activity_check(session: Session, fund: Fund, figures: FundFigures,
                    amounts: dict[str, Decimal], net_change: Decimal, income: Decimal,
                    change: Decimal) -> str:
    """The statement's figures for one fund against fund_figures and the balance sheet."""
    from_figures = sum(figures.income.values(), ZERO)
    donations = figures.income["enterprise"] + figures.income["individual"]
    split = figures.restricted_donations + figures.unrestricted_donations
    fees = amounts[_code_of(session, fund, BANK_FEES)]
    spent = sum((v for c, v in amounts.items() if c.startswith("5101")), ZERO)
    problems = []
    if income != from_figures:
        problems.append(f"收入合计与收支情况表收入{_agree(income, from_figures)}")
    if split != donations:
        problems.append(f"限定性与非限定性捐赠之和与捐赠收入{_agree(split, donations)}")
    if fees != figures.total.fees or spent != figures.total.spent:
        problems.append("费用与收支情况表不符")
    known = INCOME_PARENTS + EXPENSE_PARENTS
    if any(v for c, v in amounts.items() if not c.startswith(known)):
        problems.append("有未归入本表科目的收入或费用")
    if change != net_change:
        problems.append(f"净资产变动额与资产负债变动{_agree(change, net_change)}")
    if problems:
        return f"{fund.code}：" + "；".join(problems) + "。"
    return (f"{fund.code}：净资产变动额 {format_cny(change)} 与期末、期初净资产"
            "（银行存款减应付资助款）之差相符；收入、费用与收支情况表相符。")


def _code_of(session: Session, fund: Fund, account: str) -> str:
    return session.execute(select(Account.code).where(
        Account.fund_id == fund.id, Account.name == account)).scalar_one()


def _net_asset_change(session: Session, fund: Fund, period: Period) -> Decimal:
    """Net assets (fund cash less grants payable) at the end less at the start."""

    def net(book: dict[str, Decimal]) -> Decimal:
        return sum((v for a, v in book.items() if a.startswith((FUND_PREFIX, PAYABLE_PREFIX))),
                   ZERO)

    return (net(balances(session, fund, period.end))
            - net(balances(session, fund, period.start - dt.timedelta(days=1))))


# --- 项目登记簿 --------------------------------------------------------------------------


def _approval_day(project: Project) -> dt.date | None:
    days = [t.at for t in project.transitions if t.action == "approve"]
    return _cst_date(max(days)) if days else None


def _ended_day(project: Project) -> dt.date | None:
    days = [t.at for t in project.transitions if t.to_state == project.state]
    return _cst_date(max(days)) if days and State(project.state) in ENDED else None


def grant_register(session: Session, funds: list[Fund], period: Period, *,
                   all_states: bool = False) -> Table:
    """项目登记簿: the funds' projects approved by the end of the period and not finished
    before it began (with ``all_states``, every project created by the period's end),
    with amounts requested, approved and paid, and beneficiary counts, never names."""
    columns = [
        Column("fund", "基金"),
        Column("ref", "项目编号"),
        Column("title", "项目名称"),
        Column("purpose", "用途"),
        Column("unit", "实施单位"),
        Column("requested", "申请金额", "money"),
        Column("approved", "批准金额", "money"),
        Column("paid_in_period", "本期拨付", "money"),
        Column("paid_to_date", "累计拨付", "money"),
        Column("state", "状态"),
        Column("approved_on", "批准日期", "date"),
        Column("beneficiaries", "受益儿童人数", "int"),
    ]
    by_id = {f.id: f for f in funds}
    projects = list(session.execute(
        select(Project).where(Project.fund_id.in_(list(by_id)))
        .options(selectinload(Project.tranches), selectinload(Project.counts),
                 selectinload(Project.transitions))
        .order_by(Project.fund_id, Project.year, Project.ref)).scalars()) if by_id else []
    rows: list[dict[str, Any]] = []
    all_paid_in_period: dict[int, Decimal] = defaultdict(lambda: ZERO)
    with locale_as("zh_CN"):
        for project in projects:
            paid = [t for t in project.tranches if t.state == "paid" and t.paid_on is not None]
            in_period = sum((t.amount for t in paid
                             if period.start <= t.paid_on <= period.end), ZERO)
            all_paid_in_period[project.fund_id] += in_period
            approved_on = _approval_day(project)
            ended = _ended_day(project)
            if ended is not None and ended < period.start and not in_period:
                continue
            if all_states:
                if _cst_date(project.created_at) > period.end:
                    continue
            elif (State(project.state) not in APPROVED_OR_LATER or approved_on is None
                  or approved_on > period.end):
                continue
            fund = by_id[project.fund_id]
            rows.append({
                "fund": _fund_label(fund),
                "ref": project.ref,
                "title": project.title,
                "purpose": _purpose_zh(fund, project.purpose),
                "unit": project.implementing_unit,
                "requested": project.requested_amount,
                "approved": project.approved_amount,
                "paid_in_period": in_period,
                "paid_to_date": sum((t.amount for t in paid if t.paid_on <= period.end), ZERO),
                "state": gettext(STATE_LABELS[State(project.state)]),
                "approved_on": approved_on,
                "beneficiaries": project.beneficiary_total,
            })
    totals = {
        "fund": "合计",
        "ref": f"{len(rows)} 个项目",
        **{key: sum((r[key] or ZERO for r in rows), ZERO)
           for key in ("requested", "approved", "paid_in_period", "paid_to_date")},
        "beneficiaries": sum(r["beneficiaries"] for r in rows),
    }
    notes = []
    for fund in funds:
        ledger = -sum((v for (a, kind), v in movements(session, fund, period).items()
                       if a.startswith(FUND_PREFIX) and kind == "disbursement"), ZERO)
        register = all_paid_in_period[fund.id]
        notes.append(f"{fund.code}：本期项目拨付 {format_cny(register)}，与账簿本期拨付"
                     f" {format_cny(ledger)} {_agree(register, ledger)}。")
    notes += [
        ("所列为截至期末已批准、且未在期初前结项或终止的项目。" if not all_states
         else "所列为截至期末已登记的全部项目（含未批准的）。"),
        "状态为报表生成时项目的当前状态；批准日期为最后一次批准的日期。",
        "本期拨付和累计拨付按拨付日期计算，不扣除项目结余退回。",
        "受益儿童只列人数，不列姓名和身份证号码。",
        UNIT_NOTE,
    ]
    return Table("项目登记簿", columns, rows, subtitle=_subtitle(funds, period), totals=totals,
                 notes=notes, slug="grant-register")


# --- 捐赠登记簿 --------------------------------------------------------------------------


def _reversal_days(session: Session, entry_ids: Iterable[int]) -> dict[int, dt.date]:
    """The day each of these entries was reversed (a donation returned)."""
    days: dict[int, dt.date] = {}
    for chunk in _chunks(entry_ids):
        days.update(session.execute(select(JournalEntry.reverses_id, JournalEntry.date).where(
            JournalEntry.reverses_id.in_(chunk))).all())
    return days


def _current(receipts: list[Receipt]) -> Receipt:
    """Of a donation's receipts (voided ones and their replacement), the one that stands."""
    issued = [r for r in receipts if r.state == "issued"]
    return issued[-1] if issued else receipts[-1]


def donation_register(session: Session, funds: list[Fund], period: Period) -> Table:
    """捐赠登记簿: each donation dated in the period, from the receipt register, with
    the receipt that stands for it; a donation given back is marked, not left out."""
    columns = [
        Column("fund", "基金"),
        Column("date", "捐赠日期", "date"),
        Column("receipt", "票据号码"),
        Column("donor", "捐赠人"),
        Column("kind", "捐赠人类型"),
        Column("purpose", "用途"),
        Column("amount", "金额", "money"),
        Column("publish", "公示方式"),
        Column("status", "状态"),
    ]
    by_id = {f.id: f for f in funds}
    receipts = list(session.execute(
        select(Receipt).where(Receipt.fund_id.in_(list(by_id)),
                              Receipt.donated_on.between(period.start, period.end))
        .order_by(Receipt.fund_id, Receipt.donated_on, Receipt.entry_id, Receipt.id)
    ).scalars()) if by_id else []
    by_entry: dict[int, list[Receipt]] = defaultdict(list)
    for receipt in receipts:
        by_entry[receipt.entry_id].append(receipt)
    returned = _reversal_days(session, by_entry)
    rows = []
    gross = {f.id: ZERO for f in funds}
    for entry_id, group in by_entry.items():
        receipt = _current(group)
        fund = by_id[receipt.fund_id]
        if entry_id in returned:
            state = f"已退回（{returned[entry_id].isoformat()}）"
        elif receipt.state == "voided":
            state = "票据已作废"
        else:
            state = "有效"
        gross[fund.id] += receipt.amount
        rows.append({
            "fund": _fund_label(fund), "date": receipt.donated_on, "receipt": receipt.code,
            "donor": receipt.donor.name, "kind": KIND_ZH.get(receipt.donor.kind,
                                                             receipt.donor.kind),
            "purpose": _purpose_zh(fund, receipt.purpose), "amount": receipt.amount,
            "publish": PUBLISH_ZH.get(receipt.donor.publish, receipt.donor.publish),
            "status": state,
        })
    total = sum((r["amount"] for r in rows), ZERO)
    notes = []
    given_back = _returns_in_period(session, funds, period)
    for fund in funds:
        figures = fund_figures(session, fund, period)
        ledger = figures.income["enterprise"] + figures.income["individual"]
        expected = gross[fund.id] - given_back[fund.id]
        back = (f"，减本期退回 {format_cny(given_back[fund.id])}" if given_back[fund.id]
                else "")
        notes.append(f"{fund.code}：登记簿本期捐赠 {format_cny(gross[fund.id])}{back}，"
                     f"与账簿本期捐赠收入 {format_cny(ledger)} {_agree(expected, ledger)}。")
    notes += [
        "合计含本期捐赠中后来退回的部分；退回的捐赠以冲销计入退回当期的捐赠收入。",
        "捐赠人选择匿名公示的，本登记簿仍载明实名，对外公示时显示为“匿名”。",
        UNIT_NOTE,
    ]
    return Table("捐赠登记簿", columns, rows, subtitle=_subtitle(funds, period),
                 totals={"fund": "合计", "receipt": f"{len(rows)} 笔", "amount": total},
                 notes=notes, slug="donation-register")


def _returns_in_period(session: Session, funds: Sequence[Fund],
                       period: Period) -> dict[int, Decimal]:
    """Donations given back (their entries reversed) within the period, by fund."""
    ids = [f.id for f in funds]
    reversed_ids = list(session.execute(select(JournalEntry.reverses_id).where(
        JournalEntry.fund_id.in_(ids), JournalEntry.type == "reversal",
        JournalEntry.reverses_id.is_not(None),
        JournalEntry.date.between(period.start, period.end))).scalars()) if ids else []
    amounts: dict[int, Decimal] = {i: ZERO for i in ids}
    for chunk in _chunks(reversed_ids):
        seen: set[int] = set()
        for entry_id, fund_id, amount in session.execute(
                select(Receipt.entry_id, Receipt.fund_id, Receipt.amount)
                .where(Receipt.entry_id.in_(chunk)).order_by(Receipt.id)):
            if entry_id not in seen:
                seen.add(entry_id)
                amounts[fund_id] += amount
    return amounts


# --- 捐赠票据登记簿 ----------------------------------------------------------------------


def _day_bounds(period: Period) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(period.start, dt.time(), clock.CST)
    return start, dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), clock.CST)


def receipt_register(session: Session, funds: list[Fund], period: Period) -> Table:
    """捐赠票据登记簿: every receipt of a donation in the period, or issued or voided in
    it, with its state, void reason and the receipt that replaced it."""
    columns = [
        Column("fund", "基金"),
        Column("code", "票据号码"),
        Column("issued_on", "开票日期", "date"),
        Column("donated_on", "捐赠日期", "date"),
        Column("donor", "捐赠人"),
        Column("purpose", "用途"),
        Column("amount", "金额", "money"),
        Column("state", "状态"),
        Column("void_reason", "作废原因"),
        Column("voided_on", "作废日期", "date"),
        Column("replaces", "替代票据"),
        Column("replaced_by", "重开票据"),
        Column("entry", "账簿记录"),
    ]
    by_id = {f.id: f for f in funds}
    start, end = _day_bounds(period)
    receipts = list(session.execute(
        select(Receipt).where(
            Receipt.fund_id.in_(list(by_id)),
            or_(Receipt.donated_on.between(period.start, period.end),
                and_(Receipt.issued_at >= start, Receipt.issued_at < end),
                and_(Receipt.voided_at >= start, Receipt.voided_at < end)))
        .order_by(Receipt.fund_id, Receipt.year, Receipt.number)).scalars()) if by_id else []
    codes = dict(session.execute(select(Receipt.id, Receipt.code).where(
        Receipt.fund_id.in_(list(by_id)))).all()) if by_id else {}
    replaced_by = dict(session.execute(select(Receipt.replaces_id, Receipt.code).where(
        Receipt.fund_id.in_(list(by_id)), Receipt.replaces_id.is_not(None))).all()
    ) if by_id else {}
    seqs: dict[int, int] = {}
    for chunk in _chunks({r.entry_id for r in receipts}):
        seqs.update(session.execute(select(JournalEntry.id, JournalEntry.seq).where(
            JournalEntry.id.in_(chunk))).all())
    rows = []
    for receipt in receipts:
        fund = by_id[receipt.fund_id]
        rows.append({
            "fund": _fund_label(fund), "code": receipt.code,
            "issued_on": _cst_date(receipt.issued_at), "donated_on": receipt.donated_on,
            "donor": receipt.donor.name, "purpose": _purpose_zh(fund, receipt.purpose),
            "amount": receipt.amount,
            "state": RECEIPT_STATE_ZH.get(receipt.state, receipt.state),
            "void_reason": receipt.void_reason,
            "voided_on": _cst_date(receipt.voided_at) if receipt.voided_at else None,
            "replaces": codes.get(receipt.replaces_id) if receipt.replaces_id else None,
            "replaced_by": replaced_by.get(receipt.id),
            "entry": f"{fund.code}#{seqs[receipt.entry_id]}" if receipt.entry_id in seqs
            else None,
        })
    valid = [r for r in rows if r["state"] == RECEIPT_STATE_ZH["issued"]]
    notes = [f"共 {len(rows)} 张票据：有效 {len(valid)} 张，已作废 {len(rows) - len(valid)} 张；"
             "合计为有效票据金额。"]
    notes += _numbering_notes(session, funds)
    notes += ["票据作废后保留在登记簿中，不删除；重开的票据另编新号并注明所替代的票据。",
              UNIT_NOTE]
    return Table("捐赠票据登记簿", columns, rows, subtitle=_subtitle(funds, period),
                 totals={"fund": "有效票据合计", "code": f"{len(valid)} 张",
                         "amount": sum((r["amount"] for r in valid), ZERO)},
                 notes=notes, slug="receipt-register")


def _numbering_notes(session: Session, funds: Sequence[Fund]) -> list[str]:
    """Whether each series' numbers run from 1 to its last without a gap."""
    notes = []
    for fund in funds:
        series = session.execute(select(ReceiptSeries.year, ReceiptSeries.last_number).where(
            ReceiptSeries.fund_id == fund.id).order_by(ReceiptSeries.year)).all()
        for year, last in series:
            count, low, high = session.execute(
                select(func.count(Receipt.id), func.min(Receipt.number), func.max(Receipt.number))
                .where(Receipt.fund_id == fund.id, Receipt.year == year)).one()
            if count == last and (count == 0 or (low, high) == (1, last)):
                notes.append(f"{fund.code} {year} 年票据编号 1 至 {last} 连续，无缺号、无重号。")
            else:
                notes.append(f"{fund.code} {year} 年票据编号不连续：已用至第 {last} 号，"
                             f"登记簿有 {count} 张（{low}–{high}）。")
    return notes


# --- 银行存款余额调节表 ------------------------------------------------------------------


def reconciliation_report(session: Session, funds: list[Fund], period: Period) -> Table:
    """银行存款余额调节表: month by month, the bank's closing balance against the ledger's,
    the outstanding statement lines and entries, and whether the month reconciled or
    finance let it close with a reason."""
    columns = [
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
    ]
    rows: list[dict[str, Any]] = []
    done = pending = 0
    today = clock.today()
    for fund in funds:
        first = max(period.start, fund.opened_on)
        last = min(period.end, today)
        months = months_between(first, last) if first <= last else []
        overrides = {r.period: r for r in session.execute(select(Reconciliation).where(
            Reconciliation.fund_id == fund.id, Reconciliation.period.in_(months))).scalars()}
        for month in months:
            state = status(session, fund, month)
            label = _fund_label(fund)
            if state.reconciled:
                result, done = "已调节相符", done + 1
            else:
                pending += 1
                result = "无银行对账单" if state.bank_balance is None else "未调节相符"
                if state.override_reason:
                    by = overrides[month].override_by if month in overrides else None
                    result += f"；经财务说明准予结账：{state.override_reason}" + (
                        f"（{by}）" if by else "")
            rows.append({"fund": label, "month": month, "item": "月末余额", "date": state.end,
                         "bank": state.bank_balance, "ledger": state.ledger_balance,
                         "difference": state.difference, "result": result, EMPHASIS: True})
            for line in state.unmatched_lines:
                rows.append({
                    "fund": label, "month": month,
                    "item": "银行已收、账簿未收" if line.amount > 0 else "银行已付、账簿未付",
                    "date": line.date, "ref": line.reference,
                    "description": " ".join(p for p in (line.counterparty, line.description)
                                            if p),
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
                ledger = state.ledger_balance + sum((x.amount for x in state.unmatched_lines),
                                                    ZERO)
                rows.append({"fund": label, "month": month, "item": "调节后余额",
                             "bank": bank, "ledger": ledger, "difference": bank - ledger,
                             "result": "调节后相符" if bank == ledger else "调节后仍不符"})
    notes = [
        f"共 {done + pending} 个月：已调节相符 {done} 个月，未调节相符 {pending} 个月。",
        "账面余额为专项基金各用途银行存款明细科目之和；银行对账单余额为当月最后一笔流水后的余额。",
        "调节后银行余额 = 银行对账单余额 + 账簿已收银行未收 − 账簿已付银行未付；"
        "调节后账面余额 = 账面余额 + 银行已收账簿未收 − 银行已付账簿未付。",
        "一个月无未达账项且银行对账单余额等于账面余额，即为调节相符。",
        UNIT_NOTE,
    ]
    return Table("银行存款余额调节表", columns, rows, subtitle=_subtitle(funds, period),
                 notes=notes, slug="bank-reconciliation")


# --- 审计日志摘录 ------------------------------------------------------------------------

ACTION_ZH = {
    "fund.add": "开立基金", "fund.top-up-rule": "设定年度补充规则", "fund.policy": "设定审批规则",
    "donor.add": "登记捐赠人", "receipt.issue": "开具捐赠票据", "receipt.void": "作废捐赠票据",
    "allocation.propose": "提出分配方案", "allocation.confirm": "确认分配方案",
    "allocation.withdraw": "撤回分配方案",
    "bank.import": "导入银行对账单", "bank.match": "匹配银行流水", "bank.book": "银行流水入账",
    "bank.reconcile": "银行对账", "bank.override": "未调节准予结账",
    "ledger.close-period": "期末结账",
    "beneficiary.add": "登记受益儿童", "beneficiary.view-id": "查看受益儿童身份证号码",
    "attachment.add": "上传附件",
    "user.add": "添加用户", "user.login": "登录", "user.logout": "退出", "user.locked": "账户锁定",
    "user.password": "修改密码", "user.activate": "启用用户", "user.deactivate": "停用用户",
    "user.related-party": "申报关联方",
    "ledger.seed": "记账：财政启动资金", "ledger.top-up": "记账：财政年度补充资金",
    "ledger.donation": "记账：捐赠", "ledger.allocation": "记账：分配",
    "ledger.commitment": "记账：项目批准", "ledger.disbursement": "记账：项目拨付",
    "ledger.release": "记账：释放承诺", "ledger.unspent-return": "记账：结余退回",
    "ledger.interest": "记账：利息", "ledger.bank-fee": "记账：手续费",
    "ledger.reversal": "记账：冲销",
}
PROJECT_ACTION_ZH = {
    "create": "起草", "edit": "修改", "submit": "提交", "return": "退回修改", "reject": "不予资助",
    "check": "审核", "approve_first": "第一审批人批准", "approve": "批准",
    "request_tranche": "申请拨付", "approve_tranche": "批准拨付", "pay_tranche": "拨付",
    "file_report": "提交报告", "accept_report": "验收报告", "return_report": "退回报告",
    "return_unspent": "结余退回", "close": "结项", "cancel": "终止",
}
SUMMARY_FIELDS = {
    "state": "状态", "type": "类型", "date": "日期", "amount": "金额", "period": "期间",
    "tranche": "批次", "report": "报告", "entry": "记账", "reconciled": "相符",
    "bank": "银行余额", "ledger": "账面余额", "difference": "差额", "replaces": "替代",
    "lines": "行数", "matched": "已匹配", "unmatched": "未匹配", "category": "类别",
    "kind": "类型", "publish": "公示", "project": "项目", "first_date": "起",
    "last_date": "止",
}
SUMMARY_LIMIT = 160
SUBJECT_ZH = {"fund": "基金", "journal_entry": "分录", "receipt": "票据", "project": "项目",
              "bank_statement": "对账单", "bank_line": "银行流水", "allocation": "分配方案",
              "donor": "捐赠人", "beneficiary": "受益儿童记录", "user": "用户"}


def _action_zh(action: str) -> str:
    if action.startswith("project."):
        return "项目" + PROJECT_ACTION_ZH.get(action.removeprefix("project."), action)
    return ACTION_ZH.get(action, action)


def _loads(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


def summarize(record: AuditRecord) -> str:
    """A short summary of a record's change from a few harmless fields: never names,
    ID numbers or free text, whatever the record holds."""
    before, after = _loads(record.before), _loads(record.after)
    parts = []
    if record.subject_type == "journal_entry" and isinstance(after.get("postings"), list):
        debits = ZERO
        for posting in after["postings"]:
            try:
                amount = Decimal(str(posting[1]))
            except (ArithmeticError, IndexError, TypeError, ValueError):
                continue
            debits += max(amount, ZERO)
        parts.append(f"金额 {debits:.2f}")
    for key, label in SUMMARY_FIELDS.items():
        if key in after:
            if key in before and before[key] != after[key]:
                parts.append(f"{label} {_short(before[key])}→{_short(after[key])}")
            else:
                parts.append(f"{label} {_short(after[key])}")
        elif key in before:
            parts.append(f"{label} {_short(before[key])}→")
    text = "；".join(parts)
    return text if len(text) <= SUMMARY_LIMIT else text[:SUMMARY_LIMIT - 1] + "…"


def audit_extract(session: Session, funds: list[Fund], period: Period) -> Table:
    """审计日志摘录: the audit records of the period that belong to these funds (when the
    funds are all the system keeps, also those that belong to no fund), each with a short
    summary, the result of checking the whole chain, and the chain head the extract was
    cut at. A record's fund is the one it names; a record written before funds were
    recorded is attributed by its subject (``reports.auditlog``)."""
    columns = [
        Column("id", "序号", "int"),
        Column("at", "时间"),
        Column("actor", "操作人"),
        Column("role", "角色"),
        Column("action", "操作"),
        Column("subject", "对象"),
        Column("fund", "基金"),
        Column("reason", "理由"),
        Column("summary", "摘要"),
    ]
    scope = auditlog.scope_of(session, funds)
    # ISO text with the +08:00 offset: a range a day wider on each side, then the exact day.
    low = (period.start - dt.timedelta(days=1)).isoformat()
    high = (period.end + dt.timedelta(days=2)).isoformat()
    near = (AuditRecord.at >= low, AuditRecord.at < high)

    def in_period(at: str) -> bool:
        return period.start <= _cst_date(dt.datetime.fromisoformat(at)) <= period.end

    # Cut at one head: records appended while this runs are in neither list nor count.
    head = session.execute(select(AuditRecord.id, AuditRecord.hash)
                           .order_by(AuditRecord.id.desc()).limit(1)).first()
    last_id = head.id if head is not None else 0
    owner = auditlog.record_fund()
    records = [(record, fund) for record, fund in session.execute(
        select(AuditRecord, owner).where(*near, AuditRecord.id <= last_id, scope.clause(owner))
        .order_by(AuditRecord.id)) if in_period(record.at)]
    total = sum(1 for at in session.execute(select(AuditRecord.at).where(
        *near, AuditRecord.id <= last_id)).scalars() if in_period(at))
    rows = []
    with locale_as("zh_CN"):
        roles = {role: gettext(label) for role, label in ROLE_LABELS.items()}
        roles["console"] = "系统控制台"
        for record, fund in records:
            moment = dt.datetime.fromisoformat(record.at).astimezone(clock.CST)
            rows.append({
                "id": record.id,
                "at": moment.strftime("%Y-%m-%d %H:%M:%S"),
                "actor": record.actor,
                "role": roles.get(record.role, record.role),
                "action": _action_zh(record.action),
                "subject": f"{SUBJECT_ZH.get(record.subject_type, record.subject_type)} "
                           f"{record.subject_id}",
                "fund": fund or "—",
                "reason": record.reason,
                "summary": summarize(record),
            })
        chain = verify_chain(session)
    if chain.ok:
        verdict = (f"审计日志链校验完整：自第 1 条至第 {chain.checked} 条逐条重算哈希，全部相符；"
                   f"链头哈希 {chain.head_hash}。")
    else:
        verdict = (f"审计日志链校验不通过：第 {chain.broken_at} 条断链（{chain.problem}）；"
                   f"此前 {chain.checked} 条完整，最后一个完好的哈希为 {chain.head_hash}。")
    notes = [verdict]
    if head is not None and head.hash != chain.head_hash:
        notes.append(f"日志最后一条为第 {head.id} 条，其哈希为 {head.hash}。")
    left_out = total - len(rows)
    covered = "、".join(f"{f.code} {f.name_zh}" for f in funds) or "无"
    notes += [
        f"本摘录截至审计日志第 {last_id} 条"
        + (f"（链头哈希 {head.hash}）" if head is not None else "")
        + f"，只列基金 {covered} 的记录"
        + ("及不属于任何基金的记录" if scope.unattributed else "")
        + "。全系统的审计日志是一条链，各基金的记录交错其中，序号不连续之处是其他基金的记录；"
          "逐条核对哈希须对全链进行（specialfund audit verify）。",
        f"本期审计日志 {total} 条，本摘录列出与所列基金有关的 {len(rows)} 条"
        + (f"（另 {left_out} 条属其他基金或无法归属，未列出）" if left_out else "") + "。",
        "摘要只列状态、金额、日期等字段，不列修改前后记录的全文，不列姓名和身份证号码；"
        "全文可在系统中按序号查阅。",
    ]
    return Table("审计日志摘录", columns, rows, subtitle=_subtitle(funds, period), notes=notes,
                 slug="audit-extract")


# --- Beancount export ------------------------------------------------------------------

README = """资阳市儿童专项基金账簿 Beancount 导出
==========================================

生成时间：{generated}

本压缩包内每个基金一份账簿，文件名为基金代码：
{files}

每份账簿是完整的复式记账日记账（Beancount 3 格式），文件头注明分录笔数和账簿链头哈希，
每笔分录的 hash 元数据即账簿哈希链中该笔的哈希。

用 bean-check 校验
------------------
账簿使用本系统的规则插件（plugin "ledger.plugins.fund_rules"），校验前先安装：

    pip install special-fund

然后逐个校验：

    bean-check ZYS.beancount

没有任何输出即表示账簿平衡、余额断言成立且符合专项基金的记账规则；如有错误，
bean-check 会逐条列出。也可用 fava 浏览：fava ZYS.beancount

How to check (English)
----------------------
Each CODE.beancount file is one fund's complete ledger. Install the rules plugin with
`pip install special-fund`, then run `bean-check CODE.beancount`: no output means the
ledger balances, its balance assertions hold and it follows the fund's rules.
"""


def beancount_zip(session: Session, funds: list[Fund]) -> bytes:
    """Each fund's complete Beancount ledger as CODE.beancount, with a README.txt on
    checking them with bean-check."""
    moment = clock.now().astimezone(clock.CST)
    stamp = (moment.year, moment.month, moment.day, moment.hour, moment.minute,
             moment.second - moment.second % 2)
    buffer = io.BytesIO()
    listing = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for fund in funds:
            text = io.StringIO()
            count = write_ledger(session, fund, text)
            info = zipfile.ZipInfo(f"{fund.code}.beancount", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.getvalue().encode("utf-8"))
            listing.append(f"  {fund.code}.beancount　{fund.name_zh}　{count} 笔分录　"
                           f"链头哈希 {fund.last_entry_hash}")
        readme = README.format(generated=moment.isoformat(timespec="seconds"),
                               files="\n".join(listing))
        info = zipfile.ZipInfo("README.txt", date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, readme.encode("utf-8"))
    return buffer.getvalue()
