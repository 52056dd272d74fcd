"""Sealed periods: what a close seals, and the cheap checks that a seal still holds.

Closing a period seals it. The seal digest covers the fund and the period, the journal
head at the close (its number and hash: the hash chains every earlier entry), the
closing balance of every account at the end of the period, every project's position
(outstanding, paid) at the end of the period, and ``first_open_seq``: the lowest entry
number dated after the period when it closed (entries keyed in after the period ended
but before it closed), or the head's number plus one. The digest enters the audit chain
in the sealing record (``after.seal``) and is kept with what verify needs in
``period_seals`` and ``sealed_grants``.

The daily ``ledger verify`` trusts the sealed part to its seal and re-derives only the
open part (``ledger.verify``). What it checks of the sealed part here, in a few queries:

* the seal recomputed from the rows it covers equals the stored digest and the digest
  in its audit record (the record itself is checked by ``crosscheck.check_period_heads``);
* the journal head entry still carries the sealed hash;
* per account, the postings of the entries numbered up to the head and dated within
  the closed periods add up to the sealed closing balances (one ``GROUP BY``);
* the journal holds exactly ``seq`` entries up to the head, and none after it is dated
  within the closed periods.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.models import AuditRecord
from core.hashing import canonical_json
from core.i18n import gettext
from core.money import ZERO, format_cny
from ledger.models import (
    Account,
    BalanceAssertion,
    Fund,
    GrantPositionRow,
    JournalEntry,
    PeriodClose,
    PeriodSeal,
    Posting,
    SealedGrant,
)
from ledger.rules import GrantPosition, grant_links

# A project's position at the end of a sealed period: purpose, outstanding, paid.
Position = tuple[str, Decimal, Decimal]


def seal_digest(fund_code: str, period: str, period_end: dt.date, journal_seq: int,
                journal_hash: str, first_open_seq: int, balances: Mapping[str, Decimal],
                grants: Mapping[str, Position]) -> str:
    payload = {
        "fund": fund_code, "period": period, "period_end": period_end.isoformat(),
        "journal_head": {"seq": journal_seq, "hash": journal_hash},
        "first_open_seq": first_open_seq,
        "balances": {name: f"{value:.2f}" for name, value in balances.items()},
        "grants": {grant: [purpose, f"{outstanding:.2f}", f"{paid:.2f}"]
                   for grant, (purpose, outstanding, paid) in grants.items()},
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def _late_entries(session: Session, fund: Fund, end: dt.date) -> Sequence[Any]:
    """Entries dated after ``end`` (at a close: the few keyed in since the period ended),
    with their postings as (account, amount)."""
    rows = session.execute(
        select(JournalEntry.id, JournalEntry.seq, JournalEntry.type, JournalEntry.links,
               Account.name, Posting.amount)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(Account, Account.id == Posting.account_id)
        .where(JournalEntry.fund_id == fund.id, JournalEntry.date > end)
        .order_by(JournalEntry.id, Posting.id)).all()
    return rows


def positions_at(session: Session, fund: Fund, end: dt.date) -> tuple[dict[str, Position], int]:
    """Every project's position at the end of ``end``, and the first entry number dated
    after it (or the next number): the current positions less what later entries moved."""
    current: dict[str, Position] = {
        row.grant: (row.purpose, row.outstanding, row.paid) for row in session.execute(
            select(GrantPositionRow).where(GrantPositionRow.fund_id == fund.id)).scalars()}
    by_entry: dict[int, tuple[int, str, list[str], dict[str, Decimal]]] = {}
    for entry_id, seq, kind, links, account, amount in _late_entries(session, fund, end):
        _seq, _kind, _links, deltas = by_entry.setdefault(
            entry_id, (seq, kind, list(links or ()), defaultdict(lambda: ZERO)))
        deltas[account] += amount
    committed_later = set()
    for _seq, kind, links, deltas in by_entry.values():
        for grant in grant_links(links):
            if grant not in current:
                continue
            d_outstanding, d_paid = GrantPosition.changes(deltas)
            purpose, outstanding, paid = current[grant]
            current[grant] = (purpose, outstanding - d_outstanding, paid - d_paid)
            if kind == "commitment":
                committed_later.add(grant)
    first_open = min((seq for seq, *_ in by_entry.values()), default=fund.entry_count + 1)
    return ({grant: current[grant] for grant in sorted(current) if grant not in committed_later},
            first_open)


@dataclass
class Seal:
    """The newest seal of a fund, as stored."""

    close: PeriodClose
    first_open_seq: int
    digest: str
    balances: dict[str, Decimal]  # every account's closing balance, by name
    grants: dict[str, Position]

    @property
    def seq(self) -> int:
        assert self.close.journal_seq is not None
        return self.close.journal_seq

    @property
    def hash(self) -> str:
        assert self.close.journal_hash is not None
        return self.close.journal_hash

    @property
    def end(self) -> dt.date:
        return self.close.period_end

    def recomputed(self, fund: Fund) -> str:
        return seal_digest(fund.code, self.close.period, self.end, self.seq, self.hash,
                           self.first_open_seq, self.balances, self.grants)


def latest_seal(session: Session, fund: Fund) -> Seal | None:
    row = session.execute(
        select(PeriodClose, PeriodSeal).join(PeriodSeal, PeriodSeal.close_id == PeriodClose.id)
        .where(PeriodClose.fund_id == fund.id, PeriodClose.journal_seq.is_not(None))
        .order_by(PeriodClose.period_end.desc()).limit(1)).first()
    if row is None:
        return None
    close, sealed = row
    balances = dict(session.execute(
        select(Account.name, BalanceAssertion.amount)
        .join(Account, Account.id == BalanceAssertion.account_id)
        .where(BalanceAssertion.close_id == close.id).order_by(Account.name)).all())
    # Columns, not objects: a province's fund seals tens of thousands of projects.
    grants = {grant: (purpose, outstanding, paid) for grant, purpose, outstanding, paid
              in session.execute(
                  select(SealedGrant.grant, SealedGrant.purpose, SealedGrant.outstanding,
                         SealedGrant.paid).where(SealedGrant.close_id == close.id)
                  .order_by(SealedGrant.grant))}
    return Seal(close, sealed.first_open_seq, sealed.seal, balances, grants)


def _recorded_seal(session: Session, close: PeriodClose) -> object:
    record = session.get(AuditRecord, close.audit_id) if close.audit_id is not None else None
    if record is None or record.hash != close.audit_hash or not record.after:
        return None  # a missing or changed sealing record is check_period_heads' to name
    try:
        after = json.loads(record.after)
    except ValueError:
        return None
    seal = after.get("seal") if isinstance(after, dict) else None
    return seal.get("digest") if isinstance(seal, dict) else seal


def seal_problems(session: Session, fund: Fund, seal: Seal) -> list[str]:
    """The cheap checks that the sealed part of the books is what was sealed."""
    period, problems = seal.close.period, []
    if seal.recomputed(fund) != seal.digest:
        problems.append(gettext(
            "period {period}: its seal no longer matches the closing balances, project "
            "positions and journal head kept with it", period=period))
    recorded = _recorded_seal(session, seal.close)
    if recorded is not None and recorded != seal.digest:
        problems.append(gettext(
            "period {period}: the seal kept with the close differs from the seal in its "
            "audit record #{id}", period=period, id=seal.close.audit_id))
    head = session.execute(select(JournalEntry.hash).where(
        JournalEntry.fund_id == fund.id, JournalEntry.seq == seal.seq)).scalar_one_or_none()
    if seal.seq > 0 and head != seal.hash:
        problems.append(gettext(
            "period {period} was sealed at journal entry #{seq} with hash {hash}; that entry's "
            "hash is now {now}", period=period, seq=seal.seq, hash=seal.hash[:16],
            now=(head or "—")[:16]))
    sealed = (JournalEntry.fund_id == fund.id, JournalEntry.seq <= seal.seq)
    count = session.execute(select(func.count()).select_from(JournalEntry)
                            .where(*sealed)).scalar_one()
    if count != seal.seq:
        problems.append(gettext(
            "period {period} was sealed at journal entry #{seq}, but the journal holds {count} "
            "entries up to it", period=period, seq=seal.seq, count=count))
    inside = session.execute(select(func.count()).select_from(JournalEntry).where(
        JournalEntry.fund_id == fund.id, JournalEntry.seq > seal.seq,
        JournalEntry.date <= seal.end)).scalar_one()
    if inside:
        problems.append(gettext(
            "{count} entries after the seal of period {period} are dated within it",
            count=inside, period=period))
    sums = dict(session.execute(
        select(Account.name, func.sum(Posting.amount))
        .join(Posting, Posting.account_id == Account.id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(*sealed, JournalEntry.date <= seal.end)
        .group_by(Account.name)).all())
    for name in sorted(set(sums) | set(seal.balances)):
        have, sealed_balance = sums.get(name) or ZERO, seal.balances.get(name, ZERO)
        if have != sealed_balance:
            problems.append(gettext(
                "{account}: the entries of the sealed periods (up to #{seq}) add up to {sum}, "
                "but period {period} was sealed with {sealed}", account=name, seq=seal.seq,
                sum=format_cny(have), period=period, sealed=format_cny(sealed_balance)))
    return problems
