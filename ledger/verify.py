"""``ledger verify``: prove that the SQL books are what Beancount says they are.

For each fund: recompute the journal's hash chain (an edited, removed or
inserted entry is named), export the ledger and load it with Beancount and the
fund-rules plugin (every rule and every closing balance assertion checked), then
compare Beancount's balance of every account, and every project's position, with
the running balances kept in SQL. Then cross-check the records that name the
journal (``ledger.crosscheck``): the receipt register, the audit log and the heads
each period close recorded; and run the caller's further checks (``grants.verify``
adds the projects' approved and paid amounts: ledger cannot import grants).

That is ``--full``. The daily verify (``full=False``) trusts the periods sealed by the
newest close to their seal and re-derives only the open part: the seal's cheap checks
(``ledger.seals``) and the closes' heads first -- if any fails, everything is
re-derived as with ``--full``, to name what changed --, then the hash chain from the
sealed head onward, an export of the open part (the sealed balances and positions, then
every entry dated after the sealed period) loaded by Beancount with the plugin and
compared with SQL, and the cross-checks limited to the open part.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TextIO, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.models import AuditRecord
from core.hashing import GENESIS, chain_hash
from core.i18n import gettext
from core.money import ZERO, format_cny
from ledger import crosscheck
from ledger.beancount_io import (
    Loaded,
    OpenPart,
    PeriodHeads,
    format_error,
    load,
    realize,
    write_ledger,
    write_open_part,
)
from ledger.chart import FUND_PREFIX, PAYABLE_PREFIX
from ledger.journal import entry_payload
from ledger.models import Account, DailyChange, Fund, GrantPositionRow, JournalEntry, PeriodClose
from ledger.seals import Position, Seal, latest_seal, seal_problems

_T = TypeVar("_T")


@dataclass
class FundReport:
    fund: str
    entries: int = 0
    problems: list[str] = field(default_factory=list)
    # The daily verify: the sealed period it trusted, and how many entries it exported
    # and loaded (those dated after the period). None and 0 when it re-derived it all.
    sealed: str | None = None
    open_entries: int = 0
    # The seal's checks failed, so everything was re-derived.
    seal_failed: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


class ChainCheck:
    """Recomputes each entry's hash from its stored content as the export goes by,
    and remembers the first break."""

    def __init__(self, fund: Fund, previous: str = GENESIS, expected: int = 1) -> None:
        self.fund = fund
        self.previous, self.expected = previous, expected
        self.problem: str | None = None
        # Every entry's stored hash, for the cross-checks that name entries.
        self.hashes: dict[int, str] = {}

    def __call__(self, entry: Mapping[str, Any], lines: list[tuple[str, Any]]) -> None:
        self.hashes[entry["seq"]] = entry["hash"]
        if self.problem is not None:
            return
        seq = entry["seq"]
        if seq != self.expected:
            self.problem = gettext("journal entry #{seq} is missing (the next present is "
                                   "#{present})", seq=self.expected, present=seq)
        elif entry["prev_hash"] != self.previous:
            self.problem = gettext("journal entry #{seq} does not link to the hash of entry "
                                   "#{previous}", seq=seq, previous=seq - 1)
        elif chain_hash(self.previous, entry_payload(self.fund, entry, lines)) != entry["hash"]:
            self.problem = gettext("journal entry #{seq} ({date} {type}) was altered: its "
                                   "content no longer matches its hash", seq=seq,
                                   date=entry["date"].isoformat(), type=entry["type"])
        self.previous, self.expected = entry["hash"], self.expected + 1

    def problems(self) -> list[str]:
        if self.problem is not None:
            return [self.problem]
        fund = self.fund
        if (fund.entry_count, fund.last_entry_hash) != (self.expected - 1, self.previous):
            return [gettext("fund {fund} records {count} entries but its journal ends at #{last}",
                            fund=fund.code, count=fund.entry_count, last=self.expected - 1)]
        return []


def _compare_balances(session: Session, fund: Fund, realized: dict[str, Decimal]) -> list[str]:
    problems = []
    rows = session.execute(
        select(Account.name, Account.balance, func.coalesce(func.sum(DailyChange.change), 0))
        .outerjoin(DailyChange, DailyChange.account_id == Account.id)
        .where(Account.fund_id == fund.id)
        .group_by(Account.id, Account.name, Account.balance)
        .order_by(Account.name)
    )
    known = set()
    for name, stored, by_day in rows:
        known.add(name)
        beancount_value = realized.get(name, ZERO)
        if stored != beancount_value:
            problems.append(gettext(
                "{account}: SQL balance {sql}, Beancount {beancount} (difference {diff})",
                account=name, sql=format_cny(stored), beancount=format_cny(beancount_value),
                diff=format_cny(stored - beancount_value)))
        if by_day != stored:
            problems.append(gettext(
                "{account}: per-day changes sum to {days} but the balance is {sql}",
                account=name, days=format_cny(by_day), sql=format_cny(stored)))
    for name in sorted(set(realized) - known):
        problems.append(gettext("{account} is in the Beancount ledger but not in SQL",
                                account=name))
    return problems


def _compare_grants(session: Session, fund: Fund, by_grant: dict[str, dict[str, Decimal]],
                    sealed: Mapping[str, Position] | None = None) -> list[str]:
    """Each project's position in SQL against Beancount's: its linked entries, from its
    ``sealed`` position when only the open part was loaded."""
    problems = []
    sealed = sealed or {}
    stored = {grant: (outstanding, paid) for grant, outstanding, paid in session.execute(
        select(GrantPositionRow.grant, GrantPositionRow.outstanding, GrantPositionRow.paid)
        .where(GrantPositionRow.fund_id == fund.id))}
    for grant in sorted(set(stored) | set(by_grant) | set(sealed)):
        accounts = by_grant.get(grant, {})
        _purpose, outstanding, paid = sealed.get(grant, ("", ZERO, ZERO))
        outstanding -= sum((v for a, v in accounts.items() if a.startswith(PAYABLE_PREFIX)), ZERO)
        paid -= sum((v for a, v in accounts.items() if a.startswith(FUND_PREFIX)), ZERO)
        have = stored.get(grant, (ZERO, ZERO))
        if have != (outstanding, paid):
            problems.append(gettext(
                "project {grant}: SQL outstanding {sql_out} paid {sql_paid}, Beancount "
                "outstanding {bc_out} paid {bc_paid}", grant=grant,
                sql_out=format_cny(have[0]), sql_paid=format_cny(have[1]),
                bc_out=format_cny(outstanding), bc_paid=format_cny(paid)))
    return problems


class FundCheck(Protocol):
    """A further check of one fund: its problems as text. ``open_part``: the daily
    verify's export of the open part (the check may limit itself to what it moves);
    None when everything is re-derived."""

    def __call__(self, session: Session, fund: Fund, /,
                 open_part: OpenPart | None = None) -> list[str]: ...


def verify_fund(session: Session, fund: Fund, *, keep: Path | None = None,
                checks: Sequence[FundCheck | Callable[[Session, Fund], list[str]]] = (),
                against: Iterable[PeriodHeads] = (), full: bool = True) -> FundReport:
    """Everything ``ledger verify`` proves of one fund. ``against``: period heads
    printed in an earlier export of it, which must still be in the books. ``full``:
    re-derive every entry; otherwise (the daily verify) only the open part, the
    sealed part checked against its seal."""
    against = list(against)
    seal = None if full else latest_seal(session, fund)
    if seal is not None:
        problems = seal_problems(session, fund, seal)
        heads = _sealed_hashes(session, fund, against)
        problems.extend(crosscheck.check_period_heads(session, fund, heads))
        if not problems:
            return _verify_open_part(session, fund, seal, heads, keep, checks, against)
        report = _verify_all(session, fund, keep, checks, against)
        report.seal_failed = True
        report.problems.extend(p for p in problems if p not in report.problems)
        return report
    return _verify_all(session, fund, keep, checks, against)


def _sealed_hashes(session: Session, fund: Fund, against: list[PeriodHeads]) -> dict[int, str]:
    """The stored hashes of the journal heads the closes (and ``against``) name."""
    seqs = {seq for seq in session.execute(select(PeriodClose.journal_seq).where(
        PeriodClose.fund_id == fund.id, PeriodClose.journal_seq.is_not(None))).scalars()}
    seqs.update(head.journal_seq for head in against)
    if not seqs:
        return {}
    return dict(session.execute(select(JournalEntry.seq, JournalEntry.hash).where(
        JournalEntry.fund_id == fund.id, JournalEntry.seq.in_(sorted(seqs)))).all())


def _verify_open_part(session: Session, fund: Fund, seal: Seal, heads: dict[int, str],
                      keep: Path | None, checks: Sequence[Any],
                      against: list[PeriodHeads]) -> FundReport:
    report = FundReport(fund.code, entries=fund.entry_count, sealed=seal.close.period)
    first = seal.first_open_seq
    before = session.execute(select(JournalEntry.hash).where(
        JournalEntry.fund_id == fund.id, JournalEntry.seq == first - 1)).scalar_one_or_none()
    chain = ChainCheck(fund, before or GENESIS, first)
    part, loaded = _exported(fund, keep, lambda out: write_open_part(
        session, fund, seal, out, observe=chain))
    report.open_entries = part.entries
    report.problems.extend(chain.problems())
    report.problems.extend(
        gettext("Beancount: {error}", error=format_error(e)) for e in loaded.errors)
    totals, by_grant = realize(loaded.entries)
    report.problems.extend(_compare_balances(session, fund, totals))
    report.problems.extend(_compare_grants(session, fund, by_grant, seal.grants))
    first_id = session.execute(select(JournalEntry.id).where(
        JournalEntry.fund_id == fund.id, JournalEntry.seq >= first)
        .order_by(JournalEntry.seq).limit(1)).scalar_one_or_none()
    if first_id is not None:
        report.problems.extend(crosscheck.check_receipts(session, fund, from_entry_id=first_id))
    hashes = {**heads, **chain.hashes}
    report.problems.extend(crosscheck.check_audit_trail(
        session, fund, chain.hashes, sealed_seq=first,
        from_audit_id=_first_audit_id(session, fund, seal)))
    report.problems.extend(crosscheck.check_heads_against(session, fund, hashes, against))
    for check in checks:
        report.problems.extend(check(session, fund, part))
    return report


def _exported(fund: Fund, keep: Path | None,
              write: Callable[[TextIO], _T]) -> tuple[_T, Loaded]:
    """Write the fund's export with ``write`` -- into ``keep``, or a temporary file -- and
    load it with Beancount and the fund-rules plugin."""
    with contextlib.ExitStack() as stack:
        path = keep or Path(stack.enter_context(tempfile.TemporaryDirectory(
            prefix="specialfund-verify-"))) / f"{fund.code}.beancount"
        with path.open("w", encoding="utf-8") as out:
            written = write(out)
        return written, load(path)


def _first_audit_id(session: Session, fund: Fund, seal: Seal) -> int:
    """The audit record of the first entry of the open part: the records of the open
    part's entries come from it on (the sealing record's, when it was lost)."""
    subjects = [f"{fund.code}#{seq}" for seq in range(seal.first_open_seq, seal.seq + 2)]
    found = session.execute(select(func.min(AuditRecord.id)).where(
        AuditRecord.subject_type == "journal_entry",
        AuditRecord.subject_id.in_(subjects[:1000]))).scalar_one_or_none()
    return found if found is not None else (seal.close.audit_id or 0)


def _verify_all(session: Session, fund: Fund, keep: Path | None, checks: Sequence[Any],
                against: list[PeriodHeads]) -> FundReport:
    report = FundReport(fund.code)
    chain = ChainCheck(fund)
    report.entries, loaded = _exported(fund, keep, lambda out: write_ledger(
        session, fund, out, observe=chain))
    report.problems.extend(chain.problems())
    report.problems.extend(
        gettext("Beancount: {error}", error=format_error(e)) for e in loaded.errors)
    totals, by_grant = realize(loaded.entries)
    report.problems.extend(_compare_balances(session, fund, totals))
    report.problems.extend(_compare_grants(session, fund, by_grant))
    report.problems.extend(crosscheck.check_receipts(session, fund))
    report.problems.extend(crosscheck.check_audit_trail(session, fund, chain.hashes))
    report.problems.extend(crosscheck.check_period_heads(session, fund, chain.hashes))
    report.problems.extend(crosscheck.check_heads_against(session, fund, chain.hashes,
                                                          against))
    for check in checks:
        report.problems.extend(check(session, fund))
    return report
