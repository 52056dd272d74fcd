"""Month by month, the dedicated bank account against the ledger.

The sum of a fund's ``Assets:Fund:*`` accounts is the bank account (DESIGN §2). A
month is reconciled when the bank's closing balance equals that sum at month end
and nothing is outstanding: no statement line without its entry and no entry
moving the account without its statement line. A period cannot close while a
month in it is unreconciled, unless finance overrides with a reason (audited).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import audit
from core import clock
from core.actors import Actor
from core.errors import InvalidInput, PermissionDenied
from core.money import ZERO, format_cny
from core.reading import clean_text
from ledger.balances import balances
from ledger.chart import FUND_PREFIX
from ledger.income_models import BankLine, Reconciliation
from ledger.journal import find_fund
from ledger.models import Account, Fund, JournalEntry, Posting


@dataclass
class MonthStatus:
    period: str
    end: dt.date
    bank_balance: Decimal | None
    ledger_balance: Decimal
    unmatched_lines: list[BankLine] = field(default_factory=list)
    unmatched_entries: list[tuple[JournalEntry, Decimal]] = field(default_factory=list)
    override_reason: str | None = None

    @property
    def difference(self) -> Decimal | None:
        return None if self.bank_balance is None else self.bank_balance - self.ledger_balance

    @property
    def reconciled(self) -> bool:
        return (self.bank_balance is not None and self.difference == 0
                and not self.unmatched_lines and not self.unmatched_entries)

    @property
    def closable(self) -> bool:
        return self.reconciled or bool(self.override_reason)


def month_bounds(period: str) -> tuple[dt.date, dt.date]:
    try:
        year, month = (int(part) for part in period.split("-"))
        last = calendar.monthrange(year, month)[1]
        return dt.date(year, month, 1), dt.date(year, month, last)
    except (ValueError, calendar.IllegalMonthError):
        raise InvalidInput("A month is written 2026-03, not “{value}”.",
                           value=period[:20]) from None


def months_between(start: dt.date, end: dt.date) -> list[str]:
    months, day = [], start.replace(day=1)
    while day <= end:
        months.append(f"{day.year:04d}-{day.month:02d}")
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return months


def fund_cash(session: Session, fund: Fund, as_of: dt.date) -> Decimal:
    return sum((v for a, v in balances(session, fund, as_of).items()
                if a.startswith(FUND_PREFIX)), ZERO)


def status(session: Session, fund: Fund, period: str) -> MonthStatus:
    from ledger.bank import bank_balance  # noqa: PLC0415 - bank imports this module's peers

    start, end = month_bounds(period)
    lines = list(session.execute(select(BankLine).where(
        BankLine.fund_id == fund.id, BankLine.date.between(start, end),
        BankLine.state == "unmatched").order_by(BankLine.date, BankLine.id)).scalars())
    cash = func.sum(Posting.amount)
    moving = session.execute(
        select(JournalEntry, cash)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(Account, Account.id == Posting.account_id)
        .where(JournalEntry.fund_id == fund.id, JournalEntry.date.between(start, end),
               Account.name.like(FUND_PREFIX + "%"))
        .group_by(JournalEntry.id)
        .having(cash != 0)
        .order_by(JournalEntry.seq)).all()
    matched = set(session.execute(select(BankLine.entry_id).where(
        BankLine.fund_id == fund.id, BankLine.entry_id.is_not(None))).scalars())
    row = session.execute(select(Reconciliation).where(
        Reconciliation.fund_id == fund.id, Reconciliation.period == period)).scalar_one_or_none()
    return MonthStatus(period, end, bank_balance(session, fund, end),
                       fund_cash(session, fund, end), lines,
                       [(entry, amount) for entry, amount in moving if entry.id not in matched],
                       row.override_reason if row else None)


def reconcile(session: Session, actor: Actor, fund_code: str, period: str) -> MonthStatus:
    """Record the month's reconciliation as it stands now."""
    fund = find_fund(session, fund_code, lock=True)
    result = status(session, fund, period)
    row = session.execute(select(Reconciliation).where(
        Reconciliation.fund_id == fund.id, Reconciliation.period == period)).scalar_one_or_none()
    if row is None:
        row = Reconciliation(fund_id=fund.id, period=period, period_end=result.end)
        session.add(row)
    row.bank_balance = result.bank_balance if result.bank_balance is not None else ZERO
    row.ledger_balance = result.ledger_balance
    row.unmatched_lines, row.unmatched_entries = (len(result.unmatched_lines),
                                                  len(result.unmatched_entries))
    row.reconciled = result.reconciled
    row.computed_at, row.computed_by = clock.now(), actor.name
    session.flush()
    audit.record(session, actor, "bank.reconcile", "fund", fund.code, after={
        "period": period, "bank": str(result.bank_balance), "ledger": str(result.ledger_balance),
        "unmatched_lines": row.unmatched_lines, "unmatched_entries": row.unmatched_entries,
        "reconciled": result.reconciled}, fund=fund.code)
    return result


def override(session: Session, actor: Actor, fund: Fund, period: str, reason: str) -> None:
    """Finance lets a month close unreconciled, saying why."""
    if actor.role != "finance":
        raise PermissionDenied("Only finance may let an unreconciled month close.")
    why = clean_text(reason, "Reason", required=True, limit=1000)
    result = status(session, fund, period)
    row = session.execute(select(Reconciliation).where(
        Reconciliation.fund_id == fund.id, Reconciliation.period == period)).scalar_one_or_none()
    if row is None:
        row = Reconciliation(fund_id=fund.id, period=period, period_end=result.end,
                             bank_balance=result.bank_balance or ZERO,
                             ledger_balance=result.ledger_balance,
                             unmatched_lines=len(result.unmatched_lines),
                             unmatched_entries=len(result.unmatched_entries),
                             reconciled=result.reconciled, computed_at=clock.now(),
                             computed_by=actor.name)
        session.add(row)
    row.override_reason, row.override_by = why, actor.name
    session.flush()
    audit.record(session, actor, "bank.override", "fund", fund.code,
                 after={"period": period, "difference": str(result.difference)}, reason=why,
                 fund=fund.code)


def require_reconciled(session: Session, actor: Actor, fund: Fund, start: dt.date,
                       end: dt.date, unreconciled_reason: str | None) -> None:
    """Before a period closes: every month in it reconciled, or overridden with a reason."""
    open_months = [s for s in (status(session, fund, m) for m in months_between(start, end))
                   if not s.closable]
    if not open_months:
        return
    if unreconciled_reason:
        for month in open_months:
            override(session, actor, fund, month.period, unreconciled_reason)
        return
    first = open_months[0]
    raise InvalidInput(
        "Not reconciled: {period}. In {first}: bank {bank}, ledger {ledger}, {lines} statement "
        "lines and {entries} entries outstanding. Reconcile, or let finance close with a reason.",
        period=", ".join(m.period for m in open_months), first=first.period,
        bank=format_cny(first.bank_balance) if first.bank_balance is not None else "—",
        ledger=format_cny(first.ledger_balance), lines=len(first.unmatched_lines),
        entries=len(first.unmatched_entries))
