"""The one adapter between the SQL journal and Beancount: export and load.

The export is written directly rather than through ``beancount.parser.printer``:
the printer spends about 5 s on 100,000 entries, longer than the rest of
``ledger verify``. A test parses the export and compares it, directive by
directive, with the printer's rendering of the same entries.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from beancount.core import data
from beancount.loader import run_transformations
from beancount.ops import validation
from beancount.parser import booking, parser
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.errors import InvalidInput
from core.i18n import gettext
from ledger.income_models import Reconciliation
from ledger.journal import postings_in_order
from ledger.models import Account, BalanceAssertion, Fund, JournalEntry, PeriodClose, Posting
from ledger.seals import Seal

PLUGIN = "ledger.plugins.fund_rules"
CURRENCY = "CNY"


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _amount(value: Decimal) -> str:
    return f"{value:.2f} {CURRENCY}"


def write_header(out: TextIO, fund: Fund) -> None:
    out.write(f";; {fund.name_zh} 儿童专项基金 ({fund.code}) — Special Fund ledger export\n")
    out.write(f";; generated {clock.now().isoformat(timespec='seconds')}; "
              f"{fund.entry_count} entries; journal head {fund.last_entry_hash}\n\n")
    out.write(f"option \"title\" {quote(fund.name_zh + '儿童专项基金')}\n")
    out.write(f"option \"operating_currency\" \"{CURRENCY}\"\n")
    out.write(f"plugin \"{PLUGIN}\"\n\n")
    parent = fund.parent.code if fund.parent else ""
    out.write(f"{fund.opened_on} custom \"fund\" {quote(fund.code)} {quote(fund.name_zh)}\n"
              f"  en: {quote(fund.name_en)}\n  level: \"{fund.level}\"\n"
              f"  parent: {quote(parent)}\n  chart: {quote(fund.chart)}\n\n")


# Sees each journal row (all its columns) and its postings as (account, amount).
EntryObserver = Callable[[Mapping[str, Any], list[tuple[str, Decimal]]], None]


def write_ledger(session: Session, fund: Fund, out: TextIO, *,
                 observe: EntryObserver | None = None) -> int:
    """Write the complete ledger of one fund; returns the number of entries.

    ``observe`` is shown every entry as it is written, so ``ledger verify`` checks the
    hash chain in the same pass instead of reading the journal twice.
    """
    write_header(out, fund)
    names = _write_opens(session, fund, out)
    postings = postings_in_order(session, fund)
    table = JournalEntry.__table__
    entries = session.execute(
        select(table).where(table.c.fund_id == fund.id).order_by(table.c.id)
        .execution_options(yield_per=5000)
    ).mappings()
    with closing(postings), closing(entries):
        count = _write_entries(out, names, entries, postings, observe, None)

    assertions = session.execute(
        select(BalanceAssertion.date, BalanceAssertion.account_id, BalanceAssertion.amount)
        .where(BalanceAssertion.fund_id == fund.id)
        .order_by(BalanceAssertion.date, BalanceAssertion.id)
    )
    last = None
    for date, account_id, amount in assertions:
        if date != last:
            out.write(f";; closing balances of the period ending the day before {date}\n")
            last = date
        out.write(f"{date} balance {names[account_id]}  {_amount(amount)}\n")
    _write_period_heads(session, fund, out)
    _write_bank_balances(session, fund, out)
    return count


def _write_opens(session: Session, fund: Fund, out: TextIO) -> dict[int, str]:
    accounts = list(session.execute(
        select(Account).where(Account.fund_id == fund.id).order_by(Account.code)).scalars())
    for account in accounts:
        out.write(f"{account.opened_on} open {account.name} {CURRENCY}\n"
                  f"  code: {quote(account.code)}\n  zh: {quote(account.name_zh)}\n"
                  f"  en: {quote(account.name_en)}\n")
    out.write("\n")
    return {a.id: a.name for a in accounts}


PERIOD_CLOSE = "period-close"


@dataclass(frozen=True)
class PeriodHeads:
    """What a closed period's export says the books held when it closed."""

    fund: str
    period: str
    journal_seq: int
    journal_hash: str
    audit_id: int
    audit_hash: str


def _write_period_heads(session: Session, fund: Fund, out: TextIO) -> None:
    """Each close's heads as a ``custom "period-close"`` directive (Beancount and the
    fund-rules plugin ignore it), so a copy of this file can later prove that records
    covered by the close were not removed (``ledger verify --against``)."""
    closes = session.execute(
        select(PeriodClose).where(PeriodClose.fund_id == fund.id,
                                  PeriodClose.journal_hash.is_not(None))
        .order_by(PeriodClose.period_end, PeriodClose.id)).scalars().all()
    if closes:
        out.write("\n;; the journal head and the sealing audit record of each closed period\n")
    for close in closes:
        day = close.period_end + dt.timedelta(days=1)
        out.write(f"{day} custom \"{PERIOD_CLOSE}\" {quote(close.period)}\n"
                  f"  journal-seq: \"{close.journal_seq}\"\n"
                  f"  journal-hash: \"{close.journal_hash}\"\n"
                  f"  audit-id: \"{close.audit_id}\"\n"
                  f"  audit-hash: \"{close.audit_hash}\"\n")


def read_period_heads(path: Path) -> list[PeriodHeads]:
    """The period heads printed in an earlier export of one fund."""
    entries, _errors, _options = parser.parse_file(str(path))
    fund = next((str(e.values[0].value) for e in entries
                 if isinstance(e, data.Custom) and e.type == "fund" and e.values), None)
    if fund is None:
        raise InvalidInput("{file} is not a ledger exported by Special Fund.", file=path.name)
    heads = []
    for entry in entries:
        if not (isinstance(entry, data.Custom) and entry.type == PERIOD_CLOSE):
            continue
        meta = entry.meta
        try:
            heads.append(PeriodHeads(fund, str(entry.values[0].value),
                                     int(meta["journal-seq"]), str(meta["journal-hash"]),
                                     int(meta["audit-id"]), str(meta["audit-hash"])))
        except (IndexError, KeyError, ValueError):
            raise InvalidInput("{file}, line {line}: a period-close directive lacks its "
                               "heads.", file=path.name, line=meta.get("lineno")) from None
    return heads


def _write_bank_balances(session: Session, fund: Fund, out: TextIO) -> None:
    """The bank's balance at the end of each closed, reconciled month, for the plugin's
    check that the fund's accounts add up to the bank account."""
    from ledger.bank import bank_balance  # noqa: PLC0415 - bank builds on this module

    if fund.locked_through is None:
        return
    months = session.execute(select(Reconciliation.period_end).where(
        Reconciliation.fund_id == fund.id, Reconciliation.reconciled.is_(True),
        Reconciliation.override_reason.is_(None),
        Reconciliation.period_end <= fund.locked_through).order_by(Reconciliation.period_end)
    ).scalars().all()
    if months:
        out.write("\n;; the bank's balance at the end of each closed, reconciled month\n")
    for end in months:
        held = bank_balance(session, fund, end)
        if held is not None:
            out.write(f"{end} custom \"bank-balance\" {_amount(held)}\n")


def _write_entries(out: TextIO, names: dict[int, str], entries: Iterable[Any],
                   postings: Iterator[Any], observe: EntryObserver | None,
                   sealed_through: dt.date | None) -> int:
    """Entries dated on or before ``sealed_through`` are shown to ``observe`` but not
    written (the sealed part, in an export of the open part)."""
    count = 0
    write = out.write
    pending = next(postings, None)
    for entry in entries:
        if sealed_through is not None and entry["date"] <= sealed_through:
            lines = []
            while pending is not None and pending[0] == entry["id"]:
                lines.append((names[pending[1]], pending[2]))
                pending = next(postings, None)
            if observe is not None:
                observe(entry, lines)
            continue
        entry_id, payee, narration, links = (entry["id"], entry["payee"], entry["narration"],
                                             entry["links"])
        head = f"{entry['date']} * {quote(payee)} {quote(narration)}" if payee else \
            f"{entry['date']} * {quote(narration)}"
        if links:
            head += " " + " ".join("^" + link for link in links)
        meta = entry["meta"]
        text = [head, f"  entry-no: \"{entry['seq']}\"", f"  type: \"{entry['type']}\""]
        text.extend(f"  {key}: {quote(meta[key])}" for key in sorted(meta))
        text.append(f"  hash: \"{entry['hash']}\"")
        lines = []
        while pending is not None and pending[0] == entry_id:
            account, amount = names[pending[1]], pending[2]
            lines.append((account, amount))
            text.append(f"  {account}  {_amount(amount)}")
            pending = next(postings, None)
        write("\n".join(text))
        write("\n\n")
        if observe is not None:
            observe(entry, lines)
        count += 1
    return count


SEALED, OPENING, SEALED_GRANT, SEALED_ENTRY = "sealed", "opening", "sealed-grant", "sealed-entry"


@dataclass
class OpenPart:
    """What an export of the open part held."""

    seal: Seal
    entries: int  # entries written: those dated after the sealed period
    observed: int  # entries shown to the observer (from the seal's first open number)
    grants: set[str]  # the projects the written entries link


def write_open_part(session: Session, fund: Fund, seal: Seal, out: TextIO, *,
                    observe: EntryObserver | None = None) -> OpenPart:
    """Write the open part of a fund's ledger: its accounts, the balances and the project
    positions sealed at the end of the newest sealed period (one ``opening`` transaction
    and ``custom "sealed-grant"`` directives, which the fund-rules plugin accepts only
    after a ``custom "sealed"`` directive of the same day), then every entry dated after
    the period. ``observe`` sees every entry numbered from the seal's first open number,
    so the hash chain is recomputed from the sealed head onward (entries numbered before
    the head but dated after the period, keyed in before the close, included)."""
    end = seal.end
    write_header(out, fund)
    out.write(f";; the open part: the books as sealed at the end of period {seal.close.period}, "
              f"then every entry dated after it\n\n")
    names = _write_opens(session, fund, out)
    out.write(f"{end} custom \"{SEALED}\" {quote(seal.close.period)}\n"
              f"  journal-seq: \"{seal.seq}\"\n  journal-hash: \"{seal.hash}\"\n"
              f"  first-open-seq: \"{seal.first_open_seq}\"\n  seal: \"{seal.digest}\"\n\n")
    opening = [(name, amount) for name, amount in sorted(seal.balances.items()) if amount]
    if opening:
        out.write(f"{end} * {quote('Balances sealed with period ' + seal.close.period)}\n"
                  f"  type: \"{OPENING}\"\n")
        out.writelines(f"  {name}  {_amount(amount)}\n" for name, amount in opening)
        out.write("\n")

    grants: set[str] = set()
    reversed_seqs: set[str] = set()
    written: set[str] = set()
    observed = 0

    def collect(entry: Mapping[str, Any], lines: list[tuple[str, Decimal]]) -> None:
        nonlocal observed
        observed += 1
        if entry["date"] > end:
            written.add(str(entry["seq"]))
            grants.update(link for link in entry["links"] or () if link.startswith("grant-"))
            if entry["type"] == "reversal" and entry["meta"].get("reverses"):
                reversed_seqs.add(str(entry["meta"]["reverses"]))
        if observe is not None:
            observe(entry, lines)

    postings = postings_in_order(session, fund, from_seq=seal.first_open_seq)
    table = JournalEntry.__table__
    entries = session.execute(
        select(table).where(table.c.fund_id == fund.id, table.c.seq >= seal.first_open_seq)
        .order_by(table.c.id).execution_options(yield_per=5000)).mappings()
    with closing(postings), closing(entries):
        count = _write_entries(out, names, entries, postings, collect, end)

    linked = sorted(grants & set(seal.grants))
    if linked:
        out.write(";; the positions of the projects these entries move, as sealed\n")
    for grant in linked:
        purpose, outstanding, paid = seal.grants[grant]
        out.write(f"{end} custom \"{SEALED_GRANT}\" {quote(grant)}\n"
                  f"  purpose: {quote(purpose)}\n  outstanding: \"{outstanding:.2f}\"\n"
                  f"  paid: \"{paid:.2f}\"\n")
    _write_sealed_entries(session, fund, out, end, sorted(reversed_seqs - written, key=int))

    assertions = session.execute(
        select(BalanceAssertion.date, BalanceAssertion.account_id, BalanceAssertion.amount)
        .where(BalanceAssertion.close_id == seal.close.id).order_by(BalanceAssertion.id))
    out.write(f"\n;; closing balances of period {seal.close.period}\n")
    for date, account_id, amount in assertions:
        out.write(f"{date} balance {names[account_id]}  {_amount(amount)}\n")
    _write_period_heads(session, fund, out)
    return OpenPart(seal, count, observed, grants)


def _write_sealed_entries(session: Session, fund: Fund, out: TextIO, end: dt.date,
                          seqs: list[str]) -> None:
    """Sealed entries that open reversals undo: their number, type and postings, for the
    plugin's ``reversal-link`` rule (``custom "sealed-entry"``; they move no money)."""
    if not seqs:
        return
    rows = session.execute(
        select(JournalEntry.seq, JournalEntry.type, Account.name, Posting.amount)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(Account, Account.id == Posting.account_id)
        .where(JournalEntry.fund_id == fund.id, JournalEntry.seq.in_([int(s) for s in seqs]))
        .order_by(JournalEntry.seq, Posting.id)).all()
    by_seq: dict[int, tuple[str, list[str]]] = {}
    for seq, kind, account, amount in rows:
        by_seq.setdefault(seq, (kind, []))[1].append(f"{account} {amount:.2f}")
    out.write(";; sealed entries that entries of the open part reverse\n")
    for seq, (kind, lines) in sorted(by_seq.items()):
        out.write(f"{end} custom \"{SEALED_ENTRY}\" \"{seq}\"\n  type: {quote(kind)}\n"
                  f"  postings: {quote('; '.join(lines))}\n")


@contextmanager
def _collector_paused() -> Iterator[None]:
    # Loading allocates millions of small objects that all live until the end;
    # the cyclic collector would rescan them repeatedly for nothing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _complete(entries: list[Any]) -> bool:
    """True when every posting states its amount, so booking has nothing to infer."""
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                units = posting.units
                if (posting.cost is not None or posting.price is not None or units is None
                        or not isinstance(units.number, Decimal) or units.currency is None):
                    return False
    return True


@dataclass
class Loaded:
    entries: list[Any]
    errors: list[Any]
    options: dict[str, Any]


def load(path: Path) -> Loaded:
    """Parse, book, run plugins (the file's own, ours included) and validate, as
    ``bean-check`` does, with no pickle cache. Booking is skipped when every
    posting already carries its amount, which is always true of our exports."""
    with _collector_paused():
        entries, errors, options = parser.parse_file(str(path))
        entries.sort(key=data.entry_sortkey)
        if not _complete(entries):
            entries, booking_errors = booking.book(entries, options)
            errors.extend(booking_errors)
        entries, errors = run_transformations(entries, errors, options, None)
        errors.extend(validation.validate(entries, options))
    return Loaded(entries, errors, options)


def realize(entries: list[Any]) -> tuple[dict[str, Decimal], dict[str, dict[str, Decimal]]]:
    """Account balances, and per grant link the net change of each account."""
    totals: dict[str, Decimal] = {}
    by_grant: dict[str, dict[str, Decimal]] = {}
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        grants = [link for link in entry.links if link.startswith("grant-")]
        for posting in entry.postings:
            units = posting.units
            assert units is not None and units.number is not None  # booked: every amount known
            number = units.number
            totals[posting.account] = totals.get(posting.account, Decimal(0)) + number
            for grant in grants:
                account_totals = by_grant.setdefault(grant, {})
                account_totals[posting.account] = account_totals.get(posting.account,
                                                                     Decimal(0)) + number
    return totals, by_grant


def format_error(error: Any) -> str:
    source = getattr(error, "source", None) or {}
    if isinstance(source, dict) and source.get("lineno"):
        return gettext("line {line}: {message}", line=source["lineno"], message=error.message)
    return str(error.message)
