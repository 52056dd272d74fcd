"""The registers: 项目登记簿 (projects), 捐赠登记簿 (donations) and 捐赠票据登记簿
(donation receipts). Each lists documents, not ledger entries, and says in its notes
whether its totals agree with the ledger's figures (``reports.figures``).

No register names an aided child or shows an ID number: projects are listed with their
beneficiary counts only."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from core import clock
from core.i18n import gettext, locale_as
from core.money import ZERO, format_cny
from grants.models import Project
from grants.states import STATE_LABELS, State
from ledger.income_models import Receipt, ReceiptSeries
from ledger.models import Fund, JournalEntry
from reports.figures import Period, disbursed, fund_figures, movements
from reports.statements.parts import (
    UNIT_NOTE,
    agree,
    chunks,
    cst_date,
    fund_label,
    purpose_zh,
    subtitle,
)
from reports.tables import Column, Table

KIND_ZH = {"enterprise": "企业", "individual": "个人"}
PUBLISH_ZH = {"name": "实名公示", "anonymous": "匿名公示"}
RECEIPT_STATE_ZH = {"issued": "有效", "voided": "已作废"}
# Approved, and every state a project can reach only through approval.
APPROVED_OR_LATER = frozenset({State.APPROVED, State.PARTIALLY_PAID, State.PAID,
                               State.COMPLETED, State.CLOSED, State.CANCELLED})
ENDED = frozenset({State.CLOSED, State.CANCELLED, State.REJECTED})


# --- 项目登记簿 --------------------------------------------------------------------------

GRANT_COLUMNS = (
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
)
GRANT_NOTES = (
    "状态为报表生成时项目的当前状态；批准日期为最后一次批准的日期。",
    "本期拨付和累计拨付按拨付日期计算，不扣除项目结余退回。",
    "受益儿童只列人数，不列姓名和身份证号码。",
    UNIT_NOTE,
)


def _approval_day(project: Project) -> dt.date | None:
    days = [t.at for t in project.transitions if t.action == "approve"]
    return cst_date(max(days)) if days else None


def _ended_day(project: Project) -> dt.date | None:
    days = [t.at for t in project.transitions if t.to_state == project.state]
    return cst_date(max(days)) if days and State(project.state) in ENDED else None


def _projects(session: Session, fund_ids: list[int]) -> list[Project]:
    if not fund_ids:
        return []
    return list(session.execute(
        select(Project).where(Project.fund_id.in_(fund_ids))
        .options(selectinload(Project.tranches), selectinload(Project.counts),
                 selectinload(Project.transitions))
        .order_by(Project.fund_id, Project.year, Project.ref)).scalars())


def _listed(project: Project, period: Period, paid_in_period: Decimal, all_states: bool) -> bool:
    """Approved by the period's end (or, with ``all_states``, created by it), and not
    finished before the period began unless it was paid in it."""
    ended = _ended_day(project)
    if ended is not None and ended < period.start and not paid_in_period:
        return False
    if all_states:
        return cst_date(project.created_at) <= period.end
    approved_on = _approval_day(project)
    return (State(project.state) in APPROVED_OR_LATER and approved_on is not None
            and approved_on <= period.end)


def _grant_row(fund: Fund, project: Project, period: Period,
               paid_in_period: Decimal) -> dict[str, Any]:
    paid_on = [(t.amount, t.paid_on) for t in project.tranches
               if t.state == "paid" and t.paid_on is not None]
    return {
        "fund": fund_label(fund),
        "ref": project.ref,
        "title": project.title,
        "purpose": purpose_zh(fund, project.purpose),
        "unit": project.implementing_unit,
        "requested": project.requested_amount,
        "approved": project.approved_amount,
        "paid_in_period": paid_in_period,
        "paid_to_date": sum((amount for amount, day in paid_on if day <= period.end), ZERO),
        "state": gettext(STATE_LABELS[State(project.state)]),
        "approved_on": _approval_day(project),
        "beneficiaries": project.beneficiary_total,
    }


def _paid_in(project: Project, period: Period) -> Decimal:
    """The project's tranches paid in the period, by their payment dates."""
    return sum((t.amount for t in project.tranches
                if t.state == "paid" and t.paid_on is not None
                and period.start <= t.paid_on <= period.end), ZERO)


def grant_register(session: Session, funds: list[Fund], period: Period, *,
                   all_states: bool = False) -> Table:
    """项目登记簿: the funds' projects approved by the end of the period and not finished
    before it began (with ``all_states``, every project created by the period's end),
    with amounts requested, approved and paid, and beneficiary counts, never names."""
    by_id = {f.id: f for f in funds}
    rows: list[dict[str, Any]] = []
    paid_by_fund: dict[int, Decimal] = defaultdict(lambda: ZERO)
    with locale_as("zh_CN"):
        for project in _projects(session, list(by_id)):
            in_period = _paid_in(project, period)
            paid_by_fund[project.fund_id] += in_period
            if _listed(project, period, in_period, all_states):
                rows.append(_grant_row(by_id[project.fund_id], project, period, in_period))
    totals = {
        "fund": "合计",
        "ref": f"{len(rows)} 个项目",
        **{key: sum((r[key] or ZERO for r in rows), ZERO)
           for key in ("requested", "approved", "paid_in_period", "paid_to_date")},
        "beneficiaries": sum(r["beneficiaries"] for r in rows),
    }
    notes = [_against_ledger(session, fund, period, paid_by_fund[fund.id]) for fund in funds]
    notes.append("所列为截至期末已批准、且未在期初前结项或终止的项目。" if not all_states
                 else "所列为截至期末已登记的全部项目（含未批准的）。")
    return Table("项目登记簿", list(GRANT_COLUMNS), rows, subtitle=subtitle(funds, period),
                 totals=totals, notes=notes + list(GRANT_NOTES), slug="grant-register")


def _against_ledger(session: Session, fund: Fund, period: Period, register: Decimal) -> str:
    ledger = disbursed(movements(session, fund, period))
    return (f"{fund.code}：本期项目拨付 {format_cny(register)}，与账簿本期拨付"
            f" {format_cny(ledger)} {agree(register, ledger)}。")


# --- 捐赠登记簿 --------------------------------------------------------------------------

DONATION_COLUMNS = (
    Column("fund", "基金"),
    Column("date", "捐赠日期", "date"),
    Column("receipt", "票据号码"),
    Column("donor", "捐赠人"),
    Column("kind", "捐赠人类型"),
    Column("purpose", "用途"),
    Column("amount", "金额", "money"),
    Column("publish", "公示方式"),
    Column("status", "状态"),
)
DONATION_NOTES = (
    "合计含本期捐赠中后来退回的部分；退回的捐赠以冲销计入退回当期的捐赠收入。",
    "捐赠人选择匿名公示的，本登记簿仍载明实名，对外公示时显示为“匿名”。",
    UNIT_NOTE,
)


def _reversal_days(session: Session, entry_ids: Iterable[int]) -> dict[int, dt.date]:
    """The day each of these entries was reversed (a donation returned)."""
    days: dict[int, dt.date] = {}
    for chunk in chunks(entry_ids):
        days.update((entry_id, day) for entry_id, day in session.execute(
            select(JournalEntry.reverses_id, JournalEntry.date).where(
                JournalEntry.reverses_id.in_(chunk))) if entry_id is not None)
    return days


def _current(receipts: list[Receipt]) -> Receipt:
    """Of a donation's receipts (voided ones and their replacement), the one that stands."""
    issued = [r for r in receipts if r.state == "issued"]
    return issued[-1] if issued else receipts[-1]


def _donations(session: Session, fund_ids: list[int], period: Period) -> dict[int, list[Receipt]]:
    """The receipts of each donation dated in the period, by its ledger entry."""
    receipts = list(session.execute(
        select(Receipt).where(Receipt.fund_id.in_(fund_ids),
                              Receipt.donated_on.between(period.start, period.end))
        .order_by(Receipt.fund_id, Receipt.donated_on, Receipt.entry_id, Receipt.id)
    ).scalars()) if fund_ids else []
    by_entry: dict[int, list[Receipt]] = defaultdict(list)
    for receipt in receipts:
        by_entry[receipt.entry_id].append(receipt)
    return by_entry


def _donation_row(fund: Fund, receipt: Receipt, returned_on: dt.date | None) -> dict[str, Any]:
    if returned_on is not None:
        state = f"已退回（{returned_on.isoformat()}）"
    elif receipt.state == "voided":
        state = "票据已作废"
    else:
        state = "有效"
    return {
        "fund": fund_label(fund), "date": receipt.donated_on, "receipt": receipt.code,
        "donor": receipt.donor.name, "kind": KIND_ZH.get(receipt.donor.kind, receipt.donor.kind),
        "purpose": purpose_zh(fund, receipt.purpose), "amount": receipt.amount,
        "publish": PUBLISH_ZH.get(receipt.donor.publish, receipt.donor.publish),
        "status": state,
    }


def donation_register(session: Session, funds: list[Fund], period: Period) -> Table:
    """捐赠登记簿: each donation dated in the period, from the receipt register, with
    the receipt that stands for it; a donation given back is marked, not left out."""
    by_id = {f.id: f for f in funds}
    by_entry = _donations(session, list(by_id), period)
    returned = _reversal_days(session, by_entry)
    rows = []
    gross = {f.id: ZERO for f in funds}
    for entry_id, group in by_entry.items():
        receipt = _current(group)
        gross[receipt.fund_id] += receipt.amount
        rows.append(_donation_row(by_id[receipt.fund_id], receipt, returned.get(entry_id)))
    total = sum((r["amount"] for r in rows), ZERO)
    given_back = _returns_in_period(session, funds, period)
    notes = [_donations_against_ledger(session, fund, period, gross[fund.id],
                                       given_back[fund.id]) for fund in funds]
    return Table("捐赠登记簿", list(DONATION_COLUMNS), rows, subtitle=subtitle(funds, period),
                 totals={"fund": "合计", "receipt": f"{len(rows)} 笔", "amount": total},
                 notes=notes + list(DONATION_NOTES), slug="donation-register")


def _donations_against_ledger(session: Session, fund: Fund, period: Period, gross: Decimal,
                              given_back: Decimal) -> str:
    figures = fund_figures(session, fund, period)
    ledger = figures.income["enterprise"] + figures.income["individual"]
    back = f"，减本期退回 {format_cny(given_back)}" if given_back else ""
    return (f"{fund.code}：登记簿本期捐赠 {format_cny(gross)}{back}，"
            f"与账簿本期捐赠收入 {format_cny(ledger)} {agree(gross - given_back, ledger)}。")


def _returns_in_period(session: Session, funds: Sequence[Fund],
                       period: Period) -> dict[int, Decimal]:
    """Donations given back (their entries reversed) within the period, by fund."""
    ids = [f.id for f in funds]
    reversed_ids = list(session.execute(select(JournalEntry.reverses_id).where(
        JournalEntry.fund_id.in_(ids), JournalEntry.type == "reversal",
        JournalEntry.reverses_id.is_not(None),
        JournalEntry.date.between(period.start, period.end))).scalars()) if ids else []
    amounts: dict[int, Decimal] = {i: ZERO for i in ids}
    for chunk in chunks(reversed_ids):
        seen: set[int] = set()
        for entry_id, fund_id, amount in session.execute(
                select(Receipt.entry_id, Receipt.fund_id, Receipt.amount)
                .where(Receipt.entry_id.in_(chunk)).order_by(Receipt.id)):
            if entry_id not in seen:
                seen.add(entry_id)
                amounts[fund_id] += amount
    return amounts


# --- 捐赠票据登记簿 ----------------------------------------------------------------------

RECEIPT_COLUMNS = (
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
)


def _day_bounds(period: Period) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(period.start, dt.time(), clock.CST)
    return start, dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), clock.CST)


def _receipts(session: Session, fund_ids: list[int], period: Period) -> list[Receipt]:
    """Receipts of a donation in the period, or issued or voided in it."""
    if not fund_ids:
        return []
    start, end = _day_bounds(period)
    return list(session.execute(
        select(Receipt).where(
            Receipt.fund_id.in_(fund_ids),
            or_(Receipt.donated_on.between(period.start, period.end),
                and_(Receipt.issued_at >= start, Receipt.issued_at < end),
                and_(Receipt.voided_at >= start, Receipt.voided_at < end)))
        .order_by(Receipt.fund_id, Receipt.year, Receipt.number)).scalars())


class _ReceiptLinks:
    """What a receipt row names besides itself: the receipt it replaces, the one that
    replaced it, its ledger entry."""

    def __init__(self, session: Session, fund_ids: list[int], receipts: list[Receipt]) -> None:
        self.codes: dict[int, str] = dict(session.execute(select(Receipt.id, Receipt.code).where(
            Receipt.fund_id.in_(fund_ids))).all()) if fund_ids else {}
        self.replaced_by: dict[int, str] = {
            replaces: code for replaces, code in session.execute(
                select(Receipt.replaces_id, Receipt.code).where(
                    Receipt.fund_id.in_(fund_ids), Receipt.replaces_id.is_not(None)))
            if replaces is not None} if fund_ids else {}
        self.seqs: dict[int, int] = {}
        for chunk in chunks({r.entry_id for r in receipts}):
            self.seqs.update(session.execute(select(JournalEntry.id, JournalEntry.seq).where(
                JournalEntry.id.in_(chunk))).all())

    def row(self, fund: Fund, receipt: Receipt) -> dict[str, Any]:
        return {
            "fund": fund_label(fund), "code": receipt.code,
            "issued_on": cst_date(receipt.issued_at), "donated_on": receipt.donated_on,
            "donor": receipt.donor.name, "purpose": purpose_zh(fund, receipt.purpose),
            "amount": receipt.amount,
            "state": RECEIPT_STATE_ZH.get(receipt.state, receipt.state),
            "void_reason": receipt.void_reason,
            "voided_on": cst_date(receipt.voided_at) if receipt.voided_at else None,
            "replaces": self.codes.get(receipt.replaces_id) if receipt.replaces_id else None,
            "replaced_by": self.replaced_by.get(receipt.id),
            "entry": f"{fund.code}#{self.seqs[receipt.entry_id]}"
            if receipt.entry_id in self.seqs else None,
        }


def receipt_register(session: Session, funds: list[Fund], period: Period) -> Table:
    """捐赠票据登记簿: every receipt of a donation in the period, or issued or voided in
    it, with its state, void reason and the receipt that replaced it."""
    by_id = {f.id: f for f in funds}
    receipts = _receipts(session, list(by_id), period)
    links = _ReceiptLinks(session, list(by_id), receipts)
    rows = [links.row(by_id[r.fund_id], r) for r in receipts]
    valid = [r for r in rows if r["state"] == RECEIPT_STATE_ZH["issued"]]
    notes = [f"共 {len(rows)} 张票据：有效 {len(valid)} 张，已作废 {len(rows) - len(valid)} 张；"
             "合计为有效票据金额。"]
    notes += _numbering_notes(session, funds)
    notes += ["票据作废后保留在登记簿中，不删除；重开的票据另编新号并注明所替代的票据。",
              UNIT_NOTE]
    return Table("捐赠票据登记簿", list(RECEIPT_COLUMNS), rows, subtitle=subtitle(funds, period),
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
