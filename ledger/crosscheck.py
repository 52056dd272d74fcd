"""Cross-checks between the journal and the records that name it.

``ledger verify`` proves the journal's own chain and balances; these prove that what
the rest of the books says about the journal is still true of it:

* every receipt in the register says what its donation entry says (amount, donor,
  purpose, date, receipt number), no donation has two receipts in force, and a
  reversed donation's receipt is void;
* the audit log and the journal agree: every money action in the audit log names an
  entry that exists with the hash it recorded, and every entry has its audit record;
* every period close still finds the journal head and the audit record it was sealed
  with, and the audit log and the closes agree on which periods are closed.

Each check takes the fund's entry hashes by number (``journal_hashes``, or the ones
``ledger verify`` collects as it recomputes the chain) and returns problems as text.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.models import AuditRecord
from core.hashing import GENESIS
from core.i18n import N_, gettext
from core.money import ZERO, format_cny
from ledger.chart import FUND_PREFIX, GENERAL, fund_account
from ledger.income_models import Receipt
from ledger.models import Account, Fund, JournalEntry, PeriodClose, Posting

# A register truncated or a journal cut short would otherwise list every row.
MAX_LISTED = 20


def short(digest: str | None) -> str:
    return (digest or "")[:16]


def capped(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_LISTED:
        return problems
    return [*problems[:MAX_LISTED],
            gettext("… and {count} more like these", count=len(problems) - MAX_LISTED)]


def journal_hashes(session: Session, fund: Fund) -> dict[int, str]:
    """The stored hash of every entry of a fund, by entry number."""
    return dict(session.execute(
        select(JournalEntry.seq, JournalEntry.hash).where(JournalEntry.fund_id == fund.id)
    ).all())


def _after(record_after: str | None) -> dict[str, Any]:
    try:
        value = json.loads(record_after) if record_after else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _seq_of(ref: object, fund: Fund) -> int | None:
    """The entry number of a reference "CODE#seq" to this fund, or None."""
    if not isinstance(ref, str) or not ref.startswith(f"{fund.code}#"):
        return None
    number = ref[len(fund.code) + 1:]
    return int(number) if number.isascii() and number.isdigit() else None


# --- receipts ----------------------------------------------------------------------

_RECEIPT_FIELDS = {
    "amount": N_("amount"),
    "donor": N_("donor"),
    "donor type": N_("donor type"),
    "purpose": N_("purpose"),
    "date": N_("date"),
    "receipt number": N_("receipt number"),
}


def _donation_lines(session: Session, fund: Fund,
                    scope: Any = None) -> dict[int, list[tuple[str, Decimal]]]:
    lines: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    where = [JournalEntry.fund_id == fund.id, JournalEntry.type == "donation"]
    if scope is not None:
        where.append(JournalEntry.id.in_(scope))
    rows = session.execute(
        select(Posting.entry_id, Account.name, Posting.amount)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .join(Account, Account.id == Posting.account_id)
        .where(*where)
        .order_by(Posting.id))
    for entry_id, account, amount in rows:
        lines[entry_id].append((account, amount))
    return lines


def check_receipts(session: Session, fund: Fund, *,
                   from_entry_id: int | None = None) -> list[str]:
    """Every receipt says what its donation entry says. ``from_entry_id``: only the
    receipts of the entries from this one on, and of the entries they reverse (the
    open part of the books, in the daily verify)."""
    in_fund = [Receipt.fund_id == fund.id]
    reversals = [JournalEntry.fund_id == fund.id, JournalEntry.reverses_id.is_not(None)]
    scope = None
    if from_entry_id is not None:
        reversals.append(JournalEntry.id >= from_entry_id)
        scope = select(JournalEntry.id).where(JournalEntry.fund_id == fund.id,
                                              JournalEntry.id >= from_entry_id).union(
            select(JournalEntry.reverses_id).where(*reversals)).scalar_subquery()
        in_fund.append(Receipt.entry_id.in_(scope))
    receipts = list(session.execute(
        select(Receipt).where(*in_fund).order_by(Receipt.id)).scalars())
    if not receipts:
        return []
    entries = {e.id: e for e in session.execute(
        select(JournalEntry).join(Receipt, Receipt.entry_id == JournalEntry.id)
        .where(*in_fund)).scalars()}
    lines = _donation_lines(session, fund, scope)
    reversed_by = dict(session.execute(
        select(JournalEntry.reverses_id, JournalEntry.seq).where(*reversals)).all())
    by_id = {r.id: r for r in receipts}

    def first_of(receipt: Receipt) -> Receipt:
        # A replacement names the receipt it replaces; the entry carries the first number.
        seen = set()
        while receipt.replaces_id is not None and receipt.replaces_id in by_id \
                and receipt.id not in seen:
            seen.add(receipt.id)
            receipt = by_id[receipt.replaces_id]
        return receipt

    problems: list[str] = []
    in_force: dict[int, list[str]] = defaultdict(list)
    for receipt in receipts:
        entry = entries.get(receipt.entry_id)
        if entry is None or entry.fund_id != fund.id or entry.type != "donation":
            problems.append(gettext(
                "receipt {code} names journal entry {entry}, which is not a donation of "
                "fund {fund}", code=receipt.code, entry=receipt.entry_id, fund=fund.code))
            continue
        into = [(a, v) for a, v in lines.get(entry.id, []) if a.startswith(FUND_PREFIX)]
        target = fund_account(receipt.purpose) if receipt.purpose else GENERAL
        compared = [
            ("amount", format_cny(receipt.amount), format_cny(sum((v for _, v in into), ZERO))),
            ("donor", receipt.donor.name, entry.payee or ""),
            ("donor", receipt.donor.name, entry.meta.get("donor", "")),
            ("donor type", receipt.donor.kind, entry.meta.get("donor-type", "")),
            ("purpose", target, ", ".join(a for a, _ in into)),
            ("date", receipt.donated_on.isoformat(), entry.date.isoformat()),
            ("receipt number", first_of(receipt).code, entry.receipt_no or ""),
        ]
        differ: set[str] = set()
        for key, on_receipt, in_entry in compared:
            if on_receipt != in_entry and key not in differ:
                differ.add(key)
                problems.append(gettext(
                    "receipt {code} says {what} {receipt}, but its donation entry #{seq} "
                    "says {entry}", code=receipt.code, what=gettext(_RECEIPT_FIELDS[key]),
                    receipt=on_receipt, seq=entry.seq, entry=in_entry or "—"))
        if receipt.state == "issued":
            in_force[entry.seq].append(receipt.code)
            if entry.id in reversed_by:
                problems.append(gettext(
                    "receipt {code} is still in force, but its donation #{seq} was reversed "
                    "by entry #{reversal}", code=receipt.code, seq=entry.seq,
                    reversal=reversed_by[entry.id]))
    for seq, codes in sorted(in_force.items()):
        if len(codes) > 1:
            problems.append(gettext("donation #{seq} has {count} receipts in force: {codes}",
                                    seq=seq, count=len(codes), codes=", ".join(codes)))
    return capped(problems)


# --- audit log and journal -----------------------------------------------------------

_AUDIT = AuditRecord.__table__
_HASH_KEY = '"hash":"'


def _recorded_hash(after: str | None) -> object:
    """The ``hash`` an entry's audit record holds. Its ``after`` is canonical JSON in
    which every quote inside a string is escaped, so the key is found as text; this
    runs once per entry, and parsing every record would cost more than the rest."""
    start = after.find(_HASH_KEY) if after else -1
    if start >= 0 and after is not None and after[start + 72:start + 73] == '"':
        return after[start + 8:start + 72]
    return _after(after).get("hash")


def check_audit_trail(session: Session, fund: Fund, hashes: Mapping[int, str], *,
                      from_audit_id: int | None = None, sealed_seq: int = 0) -> list[str]:
    """Every money action in the audit log names an entry that exists, with the hash it
    recorded; every entry has exactly one audit record.

    The daily verify gives the open part: ``hashes`` of the entries from the seal's first
    open number on, the records from ``from_audit_id`` on (the first of those entries'),
    and ``sealed_seq``: the entries numbered below it are sealed."""
    problems: list[str] = []
    recorded: Counter[int] = Counter()
    prefix = f"{fund.code}#"
    where = [_AUDIT.c.subject_type == "journal_entry",
             _AUDIT.c.subject_id.startswith(prefix, autoescape=True)]
    if from_audit_id is not None:
        where.append(_AUDIT.c.id >= from_audit_id)
    rows = session.connection().execute(
        select(_AUDIT.c.id, _AUDIT.c.action, _AUDIT.c.subject_id, _AUDIT.c.after)
        .where(*where)
        .order_by(_AUDIT.c.id)
        .execution_options(yield_per=5000))
    for record_id, action, subject, after in rows:
        number = subject[len(prefix):]
        seq = int(number) if number.isascii() and number.isdigit() else None
        if seq is not None and 0 < seq < sealed_seq:
            problems.append(gettext(
                "audit record #{id} ({action}) names journal entry {entry}, which was sealed "
                "before the record was written", id=record_id, action=action, entry=subject))
            continue
        if seq is None or seq not in hashes:
            problems.append(gettext(
                "audit record #{id} ({action}) names journal entry {entry}, which is not in "
                "the journal", id=record_id, action=action, entry=subject))
            continue
        recorded[seq] += 1
        claimed = _recorded_hash(after)
        if claimed != hashes[seq]:
            problems.append(gettext(
                "audit record #{id} names journal entry {entry} with hash {claimed}, but the "
                "entry's hash is {hash}", id=record_id, entry=subject,
                claimed=short(claimed if isinstance(claimed, str) else None) or "—",
                hash=short(hashes[seq])))
    for seq in sorted(hashes):
        if recorded[seq] == 0:
            problems.append(gettext("journal entry {fund}#{seq} has no audit record",
                                    fund=fund.code, seq=seq))
        elif recorded[seq] > 1:
            problems.append(gettext("journal entry {fund}#{seq} has {count} audit records",
                                    fund=fund.code, seq=seq, count=recorded[seq]))
    problems.extend(_other_references(session, fund, hashes, from_audit_id, sealed_seq))
    return capped(problems)


def _other_references(session: Session, fund: Fund, hashes: Mapping[int, str],
                      from_audit_id: int | None = None, sealed_seq: int = 0) -> list[str]:
    """Other actions that name an entry they posted or matched (receipts, project steps,
    bank matches): the entry they name must exist (a sealed entry does: the seal's
    checks count them)."""
    problems = []
    where = [AuditRecord.subject_type != "journal_entry",
             AuditRecord.after.contains(f'"entry":"{fund.code}#', autoescape=True)]
    if from_audit_id is not None:
        where.append(AuditRecord.id >= from_audit_id)
    rows = session.execute(
        select(AuditRecord.id, AuditRecord.action, AuditRecord.after)
        .where(*where)
        .order_by(AuditRecord.id))
    for record_id, action, after in rows:
        ref = _after(after).get("entry")
        seq = _seq_of(ref, fund)
        if seq is not None and seq not in hashes and not 0 < seq < sealed_seq:
            problems.append(gettext(
                "audit record #{id} ({action}) names journal entry {entry}, which is not in "
                "the journal", id=record_id, action=action, entry=ref))
    return problems


# --- period closes -----------------------------------------------------------------

CLOSE_ACTION = "ledger.close-period"


def _journal_head_problem(period: str, seq: int, digest: str,
                          hashes: Mapping[int, str]) -> str | None:
    have = GENESIS if seq == 0 else hashes.get(seq)
    if have == digest:
        return None
    if have is None:
        return gettext("period {period} closed at journal entry #{seq} (hash {hash}), but the "
                       "journal now ends at #{last}", period=period, seq=seq,
                       hash=short(digest), last=max(hashes, default=0))
    return gettext("period {period} closed at journal entry #{seq} with hash {hash}; that "
                   "entry's hash is now {now}", period=period, seq=seq, hash=short(digest),
                   now=short(have))


def check_period_heads(session: Session, fund: Fund, hashes: Mapping[int, str]) -> list[str]:
    """Each close still finds its journal head and its sealing audit record; the audit
    log's closes and the fund's closed periods are the same."""
    problems: list[str] = []
    closes = list(session.execute(
        select(PeriodClose).where(PeriodClose.fund_id == fund.id)
        .order_by(PeriodClose.period_end)).scalars())
    records: dict[str, AuditRecord] = {}
    for record in session.execute(
            select(AuditRecord).where(AuditRecord.action == CLOSE_ACTION,
                                      AuditRecord.subject_type == "fund",
                                      AuditRecord.subject_id == fund.code)
            .order_by(AuditRecord.id)).scalars():
        records[str(_after(record.after).get("period"))] = record
    for close in closes:
        sealed = records.pop(close.period, None)
        if sealed is None:
            problems.append(gettext("period {period} of fund {fund} is closed, but the audit "
                                    "log has no record of its close", period=close.period,
                                    fund=fund.code))
        if close.journal_seq is None or close.journal_hash is None:
            continue  # closed before heads were recorded
        problem = _journal_head_problem(close.period, close.journal_seq, close.journal_hash,
                                        hashes)
        if problem:
            problems.append(problem)
        if sealed is None or (sealed.id, sealed.hash) != (close.audit_id, close.audit_hash):
            problems.append(gettext(
                "period {period} was sealed by audit record #{id} (hash {hash}), which is no "
                "longer in the audit log", period=close.period, id=close.audit_id,
                hash=short(close.audit_hash)))
        elif _after(sealed.after).get("journal_head") != {"seq": close.journal_seq,
                                                           "hash": close.journal_hash}:
            problems.append(gettext(
                "audit record #{id} and the close of period {period} name different journal "
                "heads", id=sealed.id, period=close.period))
    for period, record in records.items():
        problems.append(gettext("audit record #{id} closed period {period} of fund {fund}, "
                                "but the fund has no such closed period", id=record.id,
                                period=period, fund=fund.code))
    last = closes[-1].period_end if closes else None
    if fund.locked_through != last:
        problems.append(gettext(
            "fund {fund} is locked through {locked}, but its closed periods end on {last}",
            fund=fund.code, locked=fund.locked_through.isoformat() if fund.locked_through
            else "—", last=last.isoformat() if last else "—"))
    return problems


def check_heads_against(session: Session, fund: Fund, hashes: Mapping[int, str],
                        heads: Iterable[Any]) -> list[str]:
    """The heads an earlier export printed (``beancount_io.PeriodHeads``) are still in
    the books: the journal entry and the sealing audit record, with the same hashes."""
    problems = []
    # Heads the database still holds for the same close are checked with the closes.
    held = {tuple(row) for row in session.execute(
        select(PeriodClose.period, PeriodClose.journal_seq, PeriodClose.journal_hash,
               PeriodClose.audit_id, PeriodClose.audit_hash)
        .where(PeriodClose.fund_id == fund.id))}
    for head in heads:
        if (head.period, head.journal_seq, head.journal_hash, head.audit_id,
                head.audit_hash) in held:
            continue
        problem = _journal_head_problem(head.period, head.journal_seq, head.journal_hash,
                                        hashes)
        if problem:
            problems.append(problem)
        record = session.get(AuditRecord, head.audit_id)
        if record is None or record.hash != head.audit_hash:
            problems.append(gettext(
                "period {period} was sealed by audit record #{id} (hash {hash}), which is no "
                "longer in the audit log", period=head.period, id=head.audit_id,
                hash=short(head.audit_hash)))
    return problems


def check_audit_against_journal(session: Session, fund: Fund) -> list[str]:
    """What ``audit verify`` adds for each fund: the audit log and the journal agree,
    and every period close still finds its heads (stored entry hashes; ``ledger
    verify`` proves those against the entries' content)."""
    hashes = journal_hashes(session, fund)
    return [*check_audit_trail(session, fund, hashes),
            *check_period_heads(session, fund, hashes)]
