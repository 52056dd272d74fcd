"""The append-only journal: the one function every posting goes through.

``post_entry`` locks the fund, checks the entry against every rule in
``ledger.rules`` and the fund's locked periods, then writes the entry, its
postings, the running balances, the per-day changes, the grant position, the
fund's hash chain and an audit record -- all in the caller's transaction, and
only flushed: the CLI or web boundary commits once, or rolls everything back.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased, selectinload
from sqlalchemy.orm.attributes import set_committed_value

import audit
from core import clock
from core.actors import Actor
from core.db import SQLITE_BEGIN
from core.errors import Conflict, InvalidInput, NotFound, PeriodLocked
from core.hashing import chain_hash
from core.money import ZERO, MoneyType, format_plain, to_cents
from core.reading import clean_text
from ledger import rules
from ledger.chart import load_chart
from ledger.models import (
    Account,
    DailyChange,
    Fund,
    GrantPositionRow,
    JournalEntry,
    Posting,
    account_label,
)

Line = tuple[str, Decimal]

_META_KEY = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_LINK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


class _SQL:
    """Statements of the posting path, built once so SQLAlchemy compiles each once.

    Parameters are bound at execution; with literal values in the statement every
    posting would pay for a fresh cache key and compilation.
    """

    accounts = Account.__table__
    entries = JournalEntry.__table__
    postings = Posting.__table__
    days = DailyChange.__table__
    grants = GrantPositionRow.__table__
    funds = Fund.__table__

    read_accounts = select(
        accounts.c.id, accounts.c.name, accounts.c.code, accounts.c.name_zh,
        accounts.c.name_en, accounts.c.opened_on, accounts.c.balance,
    ).where(accounts.c.fund_id == bindparam("fund_id"),
            accounts.c.name.in_(bindparam("names", expanding=True)))
    later_changes = select(days.c.account_id, days.c.day, days.c.change).where(
        days.c.account_id.in_(bindparam("ids", expanding=True)), days.c.day > bindparam("day"))
    read_grant = select(grants.c.purpose, grants.c.outstanding, grants.c.paid,
                        grants.c.last_date).where(grants.c.fund_id == bindparam("fund_id"),
                                                  grants.c.grant == bindparam("grant"))
    receipt_taken = select(entries.c.seq).where(entries.c.fund_id == bindparam("fund_id"),
                                                entries.c.receipt_no == bindparam("receipt"))
    insert_entry = insert(entries).returning(entries.c.id)
    insert_postings = insert(postings)
    add_to_balance = update(accounts).where(accounts.c.id == bindparam("b_account_id")).values(
        balance=accounts.c.balance + bindparam("delta", type_=MoneyType))
    add_to_grant = update(grants).where(
        grants.c.fund_id == bindparam("b_fund_id"), grants.c.grant == bindparam("b_grant")
    ).values(outstanding=grants.c.outstanding + bindparam("d_out", type_=MoneyType),
             paid=grants.c.paid + bindparam("d_paid", type_=MoneyType),
             last_date=bindparam("b_day"))
    insert_grant = insert(grants)
    advance_fund = update(funds).where(funds.c.id == bindparam("b_fund_id")).values(
        entry_count=bindparam("b_seq"), last_entry_hash=bindparam("b_hash"))

    @staticmethod
    @functools.cache
    def add_to_day(dialect: str) -> Any:
        """Add to a per-day total, creating the row if needed, in one statement."""
        make = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = make(_SQL.days).values(account_id=bindparam("b_account_id"),
                                      day=bindparam("b_day"),
                                      change=bindparam("delta", type_=MoneyType))
        return stmt.on_conflict_do_update(
            index_elements=["account_id", "day"],
            set_={"change": _SQL.days.c.change + stmt.excluded.change})


_FIND_FUND = select(Fund).where(Fund.code == bindparam("code"))
# Built once: every posting locks its fund (see _SQL for why statements are prebuilt).
_LOCK_FUND = _FIND_FUND.with_for_update().execution_options(populate_existing=True)


def find_fund(session: Session, code: str, *, lock: bool = False) -> Fund:
    if lock:
        # PostgreSQL: row lock serialises postings per fund. SQLite: the
        # transaction must already hold the database write lock (BEGIN IMMEDIATE).
        conn = session.connection()
        if conn.dialect.name == "sqlite" and \
                conn.get_execution_options().get(SQLITE_BEGIN) != "IMMEDIATE":
            raise RuntimeError("ledger writes must run in core.db.transaction() or a session "
                               "started with core.db.begin_write()")
    fund = session.execute(_LOCK_FUND if lock else _FIND_FUND,
                           {"code": code.strip().upper()}).scalar_one_or_none()
    if fund is None:
        raise NotFound("There is no fund with code {code}.", code=code[:20])
    return fund


def postings_in_order(session: Session, fund: Fund, *, from_seq: int = 1) -> Any:
    """(entry id, account id, amount) of every posting of a fund (of the entries
    numbered ``from_seq`` on), in journal order.

    Streamed (a server-side cursor on PostgreSQL); the caller closes it.
    """
    where = [JournalEntry.fund_id == fund.id]
    if from_seq > 1:
        where.append(JournalEntry.seq >= from_seq)
    return session.execute(
        select(Posting.entry_id, Posting.account_id, Posting.amount)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(*where)
        .order_by(Posting.entry_id, Posting.id)
        .execution_options(yield_per=5000)
    )


def find_entry(session: Session, fund: Fund, seq: int) -> JournalEntry:
    entry = session.execute(
        select(JournalEntry).where(JournalEntry.fund_id == fund.id, JournalEntry.seq == seq)
    ).scalar_one_or_none()
    if entry is None:
        raise NotFound("Fund {fund} has no entry #{seq}.", fund=fund.code, seq=seq)
    return entry


def entry_payload(fund: Fund, entry: Mapping[str, Any], lines: Iterable[Line]) -> dict[str, object]:
    """What an entry's hash covers: everything that makes it this entry.
    ``entry`` is a journal row as a mapping (column name to value)."""
    return {
        "fund": fund.code,
        "seq": entry["seq"],
        "date": entry["date"].isoformat(),
        "type": entry["type"],
        "payee": entry["payee"],
        "narration": entry["narration"],
        "links": list(entry["links"]),
        "meta": dict(entry["meta"]),
        "receipt_no": entry["receipt_no"],
        "posted_at": entry["posted_at"],
        "posted_by": entry["posted_by"],
        "postings": [[account, format_plain(amount)] for account, amount in lines],
    }


def _clean_inputs(narration: str, payee: str | None, meta: Mapping[str, str] | None,
                  links: Sequence[str]) -> tuple[str, str | None, dict[str, str]]:
    for key, value in (meta or {}).items():
        if not _META_KEY.match(key) or not isinstance(value, str):
            raise InvalidInput("Invalid metadata {key}.", key=key[:40])
        clean_text(value, key, required=True)
    for link in links:
        if not _LINK.match(link):
            raise InvalidInput("Invalid link {link}.", link=link[:80])
    return (clean_text(narration, "Narration", required=True) or "",
            clean_text(payee, "Payee", limit=200), dict(meta or {}))


def _check_date(fund: Fund, date: dt.date) -> None:
    if date > clock.today():
        raise InvalidInput("{date} is in the future; entries are booked when they happen.",
                           date=date.isoformat())
    if date < fund.opened_on:
        raise InvalidInput("{date} is before fund {fund} opened ({opened}).",
                           date=date.isoformat(), fund=fund.code,
                           opened=fund.opened_on.isoformat())
    if fund.locked_through is not None and date <= fund.locked_through:
        raise PeriodLocked(
            "{date} falls in a closed period (fund {fund} is closed through {locked}); "
            "post the correction in the open period.",
            date=date.isoformat(), fund=fund.code, locked=fund.locked_through.isoformat(),
        )


def _merge(lines: Sequence[Line]) -> dict[str, Decimal]:
    deltas: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for account, amount in lines:
        to_cents(amount)  # refuses fractions of a fen
        deltas[account] += amount
    return {a: v for a, v in deltas.items() if v != 0}


def _check_balances(session: Session, fund: Fund, accounts: Mapping[str, Any],
                    date: dt.date, deltas: Mapping[str, Decimal]) -> None:
    """Refuse if any constrained quantity would dip below zero on any day from ``date`` on."""
    falling = [q for q in rules.quantities(deltas) if q.change(deltas) < 0]
    if not falling:
        return
    by_id = {a.id: a.name for a in accounts.values()}
    later: dict[dt.date, dict[str, Decimal]] = defaultdict(dict)
    rows = session.connection().execute(_SQL.later_changes, {"ids": list(by_id), "day": date})
    for account_id, day, change in rows:
        later[day][by_id[account_id]] = change
    days = sorted(later, reverse=True)
    for quantity in sorted(falling):
        current = quantity.value(lambda name: accounts[name].balance if name in accounts else ZERO)
        lowest = rules.lowest_from(current, ((d, quantity.change(later[d])) for d in days))
        violation = rules.quantity_violation(
            quantity, lowest, quantity.change(deltas), date,
            _labeller(fund, accounts),
        )
        if violation:
            raise violation.error()


def _labeller(fund: Fund, accounts: Mapping[str, Any]) -> Callable[[str], object]:
    """Names for error messages: an account's label, or a purpose's name in the user's language."""
    chart = load_chart(fund.chart)

    def label(key: str) -> object:
        return account_label(accounts[key]) if key in accounts else chart.purpose(key).label

    return label


def _grant_position(session: Session, fund: Fund, grant: str, purpose: str | None,
                    date: dt.date) -> rules.GrantPosition | None:
    """The grant's position before this entry, or None for a new grant."""
    row = session.connection().execute(
        _SQL.read_grant, {"fund_id": fund.id, "grant": grant}).first()
    if row is None:
        if purpose is None:
            raise NotFound("Project {grant} has no commitment in fund {fund}.",
                           grant=rules.project_ref(grant), fund=fund.code)
        return None
    if purpose is not None and row.purpose != purpose:
        chart = load_chart(fund.chart)
        raise rules.Violation(
            "single-purpose", "Grant {grant} belongs to {purpose}; it cannot use {other}.",
            {"grant": rules.project_ref(grant), "purpose": chart.purpose(row.purpose).label,
             "other": chart.purpose(purpose).label},
        ).error()
    if date < row.last_date:
        raise InvalidInput("Project {grant} already has postings dated {last}; "
                           "a later posting cannot be dated {date}.",
                           grant=rules.project_ref(grant), last=row.last_date.isoformat(),
                           date=date.isoformat())
    return rules.GrantPosition(row.outstanding, row.paid)


@dataclass(frozen=True)
class PostedEntry:
    id: int
    fund: str
    seq: int
    date: dt.date
    type: str
    hash: str


# Told of every entry just written -- flushed, not yet committed -- with its session, so
# an outer layer (the web shell's metrics) may count what its commits keep without the
# ledger knowing of it. A listener must not touch the database or raise.
ENTRY_WRITTEN: list[Callable[[Session, PostedEntry], None]] = []


def post_entry(
    session: Session,
    actor: Actor,
    fund: Fund,
    *,
    date: dt.date,
    entry_type: str,
    narration: str,
    lines: Sequence[Line],
    payee: str | None = None,
    links: Sequence[str] = (),
    meta: Mapping[str, str] | None = None,
    receipt_no: str | None = None,
    reverses: JournalEntry | None = None,
    reason: str | None = None,
) -> PostedEntry:
    """Check and write one entry. ``fund`` must have been found with ``lock=True``."""
    narration, payee, meta = _clean_inputs(narration, payee, meta, links)
    entry = _Entry(date=date, entry_type=entry_type, narration=narration, payee=payee,
                   links=list(links), meta=meta, lines=[(a, v) for a, v in lines if v != 0],
                   deltas=_merge(lines))
    accounts = _check_entry(session, fund, entry)
    if receipt_no is not None:
        receipt_no = _free_receipt_no(session, fund, receipt_no)
    posted = _write_entry(session, actor, fund, entry, accounts, receipt_no=receipt_no,
                          reverses=reverses, reason=reason)
    for listener in ENTRY_WRITTEN:
        listener(session, posted)
    return posted


@dataclass(frozen=True)
class _Entry:
    """An entry as it will be written: cleaned inputs, the lines that move money, and
    their net change per account."""

    date: dt.date
    entry_type: str
    narration: str
    payee: str | None
    links: list[str]
    meta: dict[str, str]
    lines: list[Line]
    deltas: dict[str, Decimal]

    @property
    def grant(self) -> str | None:
        """The project whose position this entry moves, if it moves a purpose's money."""
        grants = rules.grant_links(self.links)
        if grants and any(rules.purpose_of(a) for a in self.deltas):
            return grants[0]
        return None


def _check_entry(session: Session, fund: Fund, entry: _Entry) -> dict[str, Any]:
    """Every rule of the books, checked before anything is written; answers the rows of
    the accounts the entry reads."""
    _check_date(fund, entry.date)
    if not entry.deltas:
        raise InvalidInput("An entry must move money.")
    # The entry's own accounts, plus the partners its constrained quantities read
    # (a payable posting moves "available", which also reads the fund account).
    wanted = set(entry.deltas).union(*(q.accounts() for q in rules.quantities(entry.deltas)))
    accounts = {
        row.name: row
        for row in session.connection().execute(
            _SQL.read_accounts, {"fund_id": fund.id, "names": sorted(wanted)})
    }
    for name in entry.deltas:
        if name not in accounts:
            raise NotFound("Fund {fund} has no account {account}.", fund=fund.code, account=name)
        if accounts[name].opened_on > entry.date:
            raise InvalidInput("{account} opens on {opened}.", account=name,
                               opened=accounts[name].opened_on.isoformat())

    violations = rules.entry_violations(entry.entry_type, entry.deltas, entry.links, entry.meta)
    if violations:
        raise violations[0].error()
    _check_balances(session, fund, accounts, entry.date, entry.deltas)

    if entry.grant is not None:
        purposes = {p for a in entry.deltas if (p := rules.purpose_of(a))}
        position = _grant_position(session, fund, entry.grant, next(iter(purposes)), entry.date)
        violation = (position or rules.GrantPosition()).violation(entry.grant, entry.deltas)
        if violation:
            raise violation.error()
    return accounts


def _free_receipt_no(session: Session, fund: Fund, receipt_no: str) -> str:
    number = clean_text(receipt_no, "Receipt number", required=True, limit=60) or ""
    taken = session.connection().execute(
        _SQL.receipt_taken, {"fund_id": fund.id, "receipt": number}).scalar_one_or_none()
    if taken is not None:
        raise Conflict("Receipt number {receipt} is already used by entry #{seq}.",
                       receipt=number, seq=taken)
    return number


def _write_entry(session: Session, actor: Actor, fund: Fund, entry: _Entry,
                 accounts: Mapping[str, Any], *, receipt_no: str | None,
                 reverses: JournalEntry | None, reason: str | None) -> PostedEntry:
    """Write a checked entry: its row and postings, the running balances, the grant's
    position, the fund's chain head, and the audit record.

    Writes use Core statements: this is the hot path, and the ORM's unit of work
    costs several times more than the SQL itself.
    """
    conn = session.connection()
    row: dict[str, Any] = {
        "fund_id": fund.id,
        "seq": fund.entry_count + 1,
        "date": entry.date,
        "type": entry.entry_type,
        "payee": entry.payee,
        "narration": entry.narration,
        "links": entry.links,
        "meta": entry.meta,
        "receipt_no": receipt_no,
        "reverses_id": reverses.id if reverses is not None else None,
        "posted_at": clock.now().isoformat(timespec="microseconds"),
        "posted_by": actor.name,
        "prev_hash": fund.last_entry_hash,
    }
    row["hash"] = chain_hash(row["prev_hash"], entry_payload(fund, row, entry.lines))
    entry_id = conn.execute(_SQL.insert_entry, row).scalar_one()
    conn.execute(_SQL.insert_postings, [
        {"entry_id": entry_id, "account_id": accounts[a].id, "amount": amount}
        for a, amount in entry.lines
    ])
    changes = [{"b_account_id": accounts[name].id, "b_day": entry.date, "delta": delta}
               for name, delta in entry.deltas.items()]
    conn.execute(_SQL.add_to_balance, changes)
    conn.execute(_SQL.add_to_day(conn.dialect.name), changes)
    if entry.grant is not None:
        _write_grant(conn, fund, entry.grant, entry.date, entry.deltas)
    conn.execute(_SQL.advance_fund,
                 {"b_fund_id": fund.id, "b_seq": row["seq"], "b_hash": row["hash"]})
    # Keep the caller's Fund object current without marking it dirty.
    set_committed_value(fund, "entry_count", row["seq"])
    set_committed_value(fund, "last_entry_hash", row["hash"])

    audit.record(
        session, actor, f"ledger.{entry.entry_type}", "journal_entry",
        f"{fund.code}#{row['seq']}",
        after={
            "date": entry.date.isoformat(), "type": entry.entry_type,
            "narration": entry.narration, "links": entry.links,
            "postings": [[a, format_plain(v)] for a, v in entry.lines], "hash": row["hash"],
        },
        reason=reason,
        fund=fund.code,  # whoever posts: the console, a test, a user of the fund
    )
    return PostedEntry(entry_id, fund.code, row["seq"], entry.date, entry.entry_type,
                       row["hash"])


def _write_grant(conn: Connection, fund: Fund, grant: str, date: dt.date,
                 deltas: Mapping[str, Decimal]) -> None:
    d_outstanding, d_paid = rules.GrantPosition.changes(deltas)
    changed = conn.execute(_SQL.add_to_grant, {
        "b_fund_id": fund.id, "b_grant": grant, "d_out": d_outstanding, "d_paid": d_paid,
        "b_day": date}).rowcount
    if not changed:
        purpose = next(p for a in deltas if (p := rules.purpose_of(a)))
        conn.execute(_SQL.insert_grant, {
            "fund_id": fund.id, "grant": grant, "purpose": purpose,
            "outstanding": d_outstanding, "paid": d_paid, "last_date": date})


def entries_page(session: Session, fund: Fund, *, first: dt.date | None = None,
                 last: dt.date | None = None, page: int = 1,
                 per_page: int = 50) -> tuple[list[tuple[JournalEntry, int | None]], bool]:
    """One page of a fund's entries, newest first, each with the number of the entry it
    reverses; and whether another page follows."""
    original = aliased(JournalEntry)
    stmt = (select(JournalEntry, original.seq)
            .outerjoin(original, original.id == JournalEntry.reverses_id)
            .where(JournalEntry.fund_id == fund.id)
            .options(selectinload(JournalEntry.postings))
            .order_by(JournalEntry.seq.desc())
            .limit(per_page + 1).offset((max(page, 1) - 1) * per_page))
    if first is not None:
        stmt = stmt.where(JournalEntry.date >= first)
    if last is not None:
        stmt = stmt.where(JournalEntry.date <= last)
    rows: list[tuple[JournalEntry, int | None]] = [
        (entry, seq) for entry, seq in session.execute(stmt)]
    return rows[:per_page], len(rows) > per_page
