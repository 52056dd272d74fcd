"""``ledger verify``: prove that the SQL books are what Beancount says they are.

For each fund: recompute the journal's hash chain (an edited, removed or
inserted entry is named), export the ledger and load it with Beancount and the
fund-rules plugin (every rule and every closing balance assertion checked), then
compare Beancount's balance of every account, and every project's position, with
the running balances kept in SQL. Then cross-check the records that name the
journal (``ledger.crosscheck``): the receipt register, the audit log and the heads
each period close recorded; and run the caller's further checks (``grants.verify``
adds the projects' approved and paid amounts: ledger cannot import grants).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.hashing import GENESIS, chain_hash
from core.i18n import gettext
from core.money import ZERO, format_cny
from ledger import crosscheck
from ledger.beancount_io import PeriodHeads, format_error, load, realize, write_ledger
from ledger.chart import FUND_PREFIX, PAYABLE_PREFIX
from ledger.journal import entry_payload
from ledger.models import Account, DailyChange, Fund, GrantPositionRow


@dataclass
class FundReport:
    fund: str
    entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class ChainCheck:
    """Recomputes each entry's hash from its stored content as the export goes by,
    and remembers the first break."""

    def __init__(self, fund: Fund) -> None:
        self.fund = fund
        self.previous, self.expected = GENESIS, 1
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


def _compare_grants(session: Session, fund: Fund,
                    by_grant: dict[str, dict[str, Decimal]]) -> list[str]:
    problems = []
    stored = {row.grant: row for row in session.execute(
        select(GrantPositionRow).where(GrantPositionRow.fund_id == fund.id)).scalars()}
    for grant in sorted(set(stored) | set(by_grant)):
        accounts = by_grant.get(grant, {})
        outstanding = -sum((v for a, v in accounts.items() if a.startswith(PAYABLE_PREFIX)), ZERO)
        paid = -sum((v for a, v in accounts.items() if a.startswith(FUND_PREFIX)), ZERO)
        row = stored.get(grant)
        have = (row.outstanding, row.paid) if row else (ZERO, ZERO)
        if have != (outstanding, paid):
            problems.append(gettext(
                "project {grant}: SQL outstanding {sql_out} paid {sql_paid}, Beancount "
                "outstanding {bc_out} paid {bc_paid}", grant=grant,
                sql_out=format_cny(have[0]), sql_paid=format_cny(have[1]),
                bc_out=format_cny(outstanding), bc_paid=format_cny(paid)))
    return problems


# A further check of one fund: its problems as text.
FundCheck = Callable[[Session, Fund], list[str]]


def verify_fund(session: Session, fund: Fund, *, keep: Path | None = None,
                checks: Sequence[FundCheck] = (),
                against: Iterable[PeriodHeads] = ()) -> FundReport:
    """Everything ``ledger verify`` proves of one fund. ``against``: period heads
    printed in an earlier export of it, which must still be in the books."""
    report = FundReport(fund.code)
    chain = ChainCheck(fund)
    with contextlib.ExitStack() as stack:
        path = keep or Path(stack.enter_context(tempfile.TemporaryDirectory(
            prefix="specialfund-verify-"))) / f"{fund.code}.beancount"
        with path.open("w", encoding="utf-8") as out:
            report.entries = write_ledger(session, fund, out, observe=chain)
        report.problems.extend(chain.problems())
        loaded = load(path)
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
