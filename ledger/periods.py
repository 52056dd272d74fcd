"""Closing a month or a year: every account's closing balance is asserted and the
period is locked. Nothing posts into a locked period afterwards; a late correction
posts in the open period and links what it corrects."""

from __future__ import annotations

import calendar
import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

import audit
from core import clock
from core.actors import Actor
from core.errors import Conflict, InvalidInput
from core.reading import ascii_digits, clean_text
from ledger.balances import balances
from ledger.journal import find_fund
from ledger.models import Account, BalanceAssertion, Fund, PeriodClose, PeriodSeal, SealedGrant
from ledger.reconciliation import require_reconciled
from ledger.seals import positions_at, seal_digest

_PERIOD = re.compile(r"^([0-9]{4})(?:-([0-9]{2}))?$")  # [0-9]: no other script's digits


def parse_period(text: str) -> tuple[str, dt.date, dt.date]:
    """'2025' is a year, '2025-03' a month; returns the label and its first and last day."""
    match = _PERIOD.match(ascii_digits(text).strip())
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise InvalidInput("A period is a year (2025) or a month (2025-03), not “{value}”.",
                           value=text[:20])
    year = int(match.group(1))
    if match.group(2) is None:
        return f"{year:04d}", dt.date(year, 1, 1), dt.date(year, 12, 31)
    month = int(match.group(2))
    if not 1 <= month <= 12:
        raise InvalidInput("A period is a year (2025) or a month (2025-03), not “{value}”.",
                           value=text[:20])
    last = calendar.monthrange(year, month)[1]
    return f"{year:04d}-{month:02d}", dt.date(year, month, 1), dt.date(year, month, last)


def close_period(session: Session, actor: Actor, fund_code: str, period: str, *,
                 reason: str | None = None,
                 unreconciled_reason: str | None = None) -> PeriodClose:
    """Close ``period`` of a fund. Periods close in order with no gap; a year may
    close over months already closed within it. Every month in it must be reconciled
    with the bank, unless finance gives ``unreconciled_reason`` (audited)."""
    fund = find_fund(session, fund_code, lock=True)
    label, start, end = parse_period(period)
    if end >= clock.today():
        raise InvalidInput("Period {period} has not ended yet; it can be closed from {day}.",
                           period=label, day=(end + dt.timedelta(days=1)).isoformat())
    if fund.locked_through is not None and end <= fund.locked_through:
        raise Conflict("Period {period} of fund {fund} is already closed "
                       "(closed through {locked}).",
                       period=label, fund=fund.code, locked=fund.locked_through.isoformat())
    first_open = (fund.locked_through + dt.timedelta(days=1)
                  if fund.locked_through else fund.opened_on)
    if start > first_open:
        raise InvalidInput("Close the periods before {period} first: "
                           "fund {fund} is open from {day}.",
                           period=label, fund=fund.code, day=first_open.isoformat())
    if end < fund.opened_on:
        raise InvalidInput("Fund {fund} opened on {opened}, after period {period}.",
                           fund=fund.code, opened=fund.opened_on.isoformat(), period=label)
    why = clean_text(reason, "Reason")
    require_reconciled(session, actor, fund, max(start, first_open), end, unreconciled_reason)
    closing = balances(session, fund, end)
    # The heads as the period closes, in the audit chain: removing the newest
    # entries or audit records and rewinding the heads afterwards is then caught.
    # The fund's own audit chain: the close is recorded there, right after this head.
    journal_head = {"seq": fund.entry_count, "hash": fund.last_entry_hash}
    audit_head = audit.head(session, fund.code, lock=True)
    # The seal: the head, the closing balances and every project's position at the end
    # of the period, in one digest (ledger.seals); the daily verify trusts the sealed
    # part to it and re-derives only what follows.
    grants, first_open_seq = positions_at(session, fund, end)
    seal = seal_digest(fund.code, label, end, fund.entry_count, fund.last_entry_hash,
                       first_open_seq, closing, grants)
    before = fund.locked_through.isoformat() if fund.locked_through else None
    sealed_id, sealed_hash = audit.record(
        session, actor, "ledger.close-period", "fund", fund.code,
        before={"locked_through": before},
        after={"locked_through": end.isoformat(), "period": label,
               "balances": {k: f"{v:.2f}" for k, v in sorted(closing.items())},
               "journal_head": journal_head,
               "audit_head": {"seq": audit_head.seq, "id": audit_head.id,
                              "hash": audit_head.hash},
               "seal": {"digest": seal, "first_open_seq": first_open_seq,
                        "grants": len(grants)}},
        reason=why, fund=fund.code)
    close = PeriodClose(fund_id=fund.id, period=label, period_start=start, period_end=end,
                        closed_at=clock.now().isoformat(timespec="seconds"),
                        closed_by=actor.name, reason=why,
                        journal_seq=journal_head["seq"], journal_hash=journal_head["hash"],
                        audit_id=sealed_id, audit_hash=sealed_hash)
    session.add(close)
    session.flush()
    session.add(PeriodSeal(close_id=close.id, fund_id=fund.id, first_open_seq=first_open_seq,
                           grants=len(grants), seal=seal))
    session.add_all(SealedGrant(close_id=close.id, grant=grant, purpose=purpose,
                                outstanding=outstanding, paid=paid)
                    for grant, (purpose, outstanding, paid) in grants.items())
    assert_on = end + dt.timedelta(days=1)
    ids = dict(session.execute(
        select(Account.name, Account.id).where(Account.fund_id == fund.id)).all())
    session.add_all(
        BalanceAssertion(fund_id=fund.id, account_id=ids[name], close_id=close.id,
                         date=assert_on, amount=amount)
        for name, amount in sorted(closing.items())
    )
    fund.locked_through = end
    session.flush()
    return close


def closes_of(session: Session, fund: Fund) -> list[PeriodClose]:
    return list(session.execute(
        select(PeriodClose).where(PeriodClose.fund_id == fund.id).order_by(PeriodClose.period_end)
    ).scalars())
