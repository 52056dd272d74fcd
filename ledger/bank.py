"""Statements of the fund's dedicated bank account: import, match, book.

A statement is the CSV file a Chinese bank exports for the account (UTF-8 or
GBK), one line per transaction. ``parse_statement`` reads and checks the whole
file before anything is written; ``import_statement`` stores it once (the same
file twice is refused, a line already known from an overlapping file is
skipped) and matches each new line to the journal entry that moved the same
money: same amount on the ``Assets:Fund:*`` accounts, dated within five days,
the entry's ``bank-ref`` deciding between equals. What no entry explains waits
for the charity office: matched by hand, or booked as interest or a bank fee.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath
from typing import Any, NamedTuple

from sqlalchemy import Select, exists, func, insert, select
from sqlalchemy.orm import Session

import audit
from core import clock
from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFound, PeriodLocked
from core.i18n import gettext
from core.money import ZERO, format_cny, format_plain, parse_amount
from core.reading import ascii_digits
from core.screening import strip_invisible
from ledger import events
from ledger.chart import FUND_PREFIX
from ledger.income_models import BankLine, BankStatement
from ledger.journal import PostedEntry, find_entry, find_fund
from ledger.models import Account, Fund, JournalEntry, Posting

# A statement line matches an entry dated at most this far from it.
MATCH_WINDOW = dt.timedelta(days=5)
# A month of a busy account is a few hundred lines; a file this large is not a statement.
MAX_FILE_BYTES = 20 * 1024 * 1024
AUTO_MATCHER = "auto"

# Column names a statement's header may use for each field, Chinese or English.
# The first name of each is the one messages use. Matching ignores case, spaces
# and a unit suffix such as 收入金额(元).
COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("交易日期", "date", "记账日期", "transaction date"),
    "description": ("摘要", "description", "交易摘要"),
    "counterparty": ("对方户名", "counterparty", "对方账户名称", "对方名称"),
    "credit": ("收入金额", "credit", "贷方发生额", "money in"),
    "debit": ("支出金额", "debit", "借方发生额", "money out"),
    "balance": ("余额", "balance", "账户余额"),
    "reference": ("流水号", "reference", "交易流水号"),
}
OPTIONAL_COLUMNS = frozenset({"balance"})
_LIMITS = {"reference": 80, "counterparty": 200, "description": 400}
# Preamble rows (account number, period) may precede the header in a bank's export.
_HEADER_SEARCH_ROWS = 20

_UNIT_SUFFIX = re.compile(r"[(（](元|人民币|rmb|cny)[)）]$")
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# ASCII digits only (full-width ones are normalized first): [0-9], unlike \d, matches no
# Arabic-Indic or other script's digits.
_DATE_SEPARATED = re.compile(r"^([0-9]{4})([-/])([0-9]{1,2})\2([0-9]{1,2})")
_DATE_COMPACT = re.compile(r"^([0-9]{4})([0-9]{2})([0-9]{2})")
_TIME = re.compile(r"^(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?$")
_EMPTY_AMOUNTS = frozenset({"", "-", "--", "—"})


def _normalize_header(name: str) -> str:
    name = _SPACES.sub(" ", name.replace("\ufeff", "").replace("_", " ")).strip().lower()
    return _UNIT_SUFFIX.sub("", name).strip()


_ALIASES: dict[str, tuple[str, int]] = {
    _normalize_header(alias): (field, rank)
    for field, aliases in COLUMNS.items() for rank, alias in enumerate(aliases)
}


def _column_label(field: str) -> str:
    return f"{COLUMNS[field][0]} ({COLUMNS[field][1]})"


@dataclass(frozen=True)
class StatementLine:
    """One transaction of a statement file. ``amount`` is signed: money in positive."""

    line_no: int
    date: dt.date
    amount: Decimal
    reference: str
    balance: Decimal | None = None
    counterparty: str | None = None
    description: str | None = None

    @property
    def fingerprint(self) -> str:
        """The same transaction in another (overlapping) file has the same fingerprint."""
        return fingerprint(self.date, self.amount, self.reference)


def fingerprint(date: dt.date, amount: Decimal, reference: str) -> str:
    key = f"{date.isoformat()}|{format_plain(amount)}|{reference}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


# --- reading a statement file ------------------------------------------------------


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_statement(data: bytes, filename: str) -> str:
    """The file's text: UTF-8 (with or without BOM), else GBK/GB18030, else refused."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput("{file} is larger than {limit} MB; a statement file is far smaller.",
                           file=filename, limit=MAX_FILE_BYTES // (1024 * 1024))
    if b"\x00" in data:
        raise InvalidInput(
            "Line {line}: {file} contains NUL bytes, so it is not a CSV text file (a spreadsheet "
            "or UTF-16 text?). Export the statement from the bank as CSV.",
            line=_line_at(data, data.index(b"\x00")), file=filename)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError as gb_error:
            # The encoding that read further is most likely the file's.
            error = max(utf8_error, gb_error, key=lambda e: e.start)
            byte = f"0x{data[error.start]:02X}"
            raise InvalidInput(
                "Line {line}: {file} is neither UTF-8 nor GBK/GB18030 text (byte {byte} cannot "
                "be read). Export the statement from the bank as CSV again.",
                line=_line_at(data, error.start), file=filename, byte=byte) from None


def _cell(value: str) -> str:
    """A cell's text: trimmed, and unwrapped from Excel's ="..." text guard."""
    value = value.strip()
    if value.startswith('="') and value.endswith('"') and len(value) >= 3:
        value = value[2:-1].strip()
    return value.lstrip("'").strip()


def _rows(text: str) -> Iterable[tuple[int, list[str]]]:
    """(first line number, cells) of each record; quoted fields may span lines."""
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise InvalidInput("Line {line}: the CSV cannot be read ({reason}).",
                               line=reader.line_num, reason=str(error)[:120]) from None
        yield start, row
        start = reader.line_num + 1


def _is_blank(row: Sequence[str]) -> bool:
    return not any(cell.strip() for cell in row)


@dataclass(frozen=True)
class _Header:
    line_no: int
    width: int
    index: dict[str, int]
    names: dict[str, str]  # field -> the column name as the file writes it


def _read_header(line_no: int, row: list[str]) -> _Header:
    found: dict[str, tuple[int, int]] = {}  # field -> (rank of alias, column index)
    for position, name in enumerate(row):
        alias = _ALIASES.get(_normalize_header(name))
        if alias is None:
            continue
        field, rank = alias
        if field in found:
            other_rank = found[field][0]
            if rank == other_rank:
                raise InvalidInput("Line {line}: the header has the column {name} twice.",
                                   line=line_no, name=_cell(name))
            if rank > other_rank:
                continue
        found[field] = (rank, position)
    missing = [f for f in COLUMNS if f not in found and f not in OPTIONAL_COLUMNS]
    if missing:
        raise InvalidInput(
            "Line {line}: the header has no column {columns}. A statement needs the columns "
            "交易日期, 摘要, 对方户名, 收入金额, 支出金额 and 流水号 (余额 is optional), "
            "in any order, named in Chinese or English.",
            line=line_no, columns=", ".join(_column_label(f) for f in missing))
    index = {field: position for field, (_rank, position) in found.items()}
    return _Header(line_no, len(row), index,
                   {field: _cell(row[position]) for field, position in index.items()})


def _find_header(rows: list[tuple[int, list[str]]]) -> int:
    """Index in ``rows`` of the header: the first row naming a date column."""
    for i, (_line, row) in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        if any(_ALIASES.get(_normalize_header(c), ("", 0))[0] == "date" for c in row):
            return i
    return 0


def _parse_date(text: str, line_no: int) -> dt.date:
    text = ascii_digits(text)
    match = _DATE_SEPARATED.match(text) or _DATE_COMPACT.match(text)
    if match is not None and _TIME.match(text[match.end():]):
        year, month, day = (int(g) for g in match.groups() if g not in ("-", "/"))
        try:
            date = dt.date(year, month, day)
        except ValueError:
            pass
        else:
            if date > clock.today():
                raise InvalidInput("Line {line}: the date {date} is in the future.",
                                   line=line_no, date=date.isoformat())
            return date
    raise InvalidInput("Line {line}: “{value}” is not a date (YYYY-MM-DD, YYYY/MM/DD or "
                       "YYYYMMDD).", line=line_no, value=text[:30])


def _parse_money(text: str, line_no: int, column: str, *, signed: bool = False) -> Decimal | None:
    """An amount cell: None when empty (or zero, as some banks fill the unused side)."""
    if text in _EMPTY_AMOUNTS:
        return None
    negative = signed and text.startswith("-")
    try:
        value = parse_amount(text[1:] if negative else text, allow_zero=True, field=column)
    except InvalidInput as error:
        raise InvalidInput("Line {line}: {reason} The cell reads “{value}”.", line=line_no,
                           reason=error.message, value=text[:40]) from None
    if signed:
        return -value if negative else value
    return value if value != 0 else None


def _text(row: list[str], header: _Header, field: str, line_no: int) -> str | None:
    position = header.index.get(field)
    if position is None:
        return None
    value = _SPACES.sub(" ", _cell(row[position]))
    if not value:
        return None
    if _CONTROL.search(value):
        raise InvalidInput("Line {line}: {column} must be a single line of text.",
                           line=line_no, column=header.names[field])
    if len(value) > _LIMITS[field]:
        raise InvalidInput("Line {line}: {column} is longer than {limit} characters.",
                           line=line_no, column=header.names[field], limit=_LIMITS[field])
    return value


def _parse_line(line_no: int, row: list[str], header: _Header) -> StatementLine:
    if len(row) > header.width and not _is_blank(row[header.width:]):
        raise InvalidInput("Line {line} has {count} fields but the header (line {header}) has "
                           "{expected}.", line=line_no, count=len(row), header=header.line_no,
                           expected=header.width)
    row = row + [""] * (header.width - len(row))
    names = header.names
    date = _parse_date(_cell(row[header.index["date"]]), line_no)
    credit = _parse_money(_cell(row[header.index["credit"]]), line_no, names["credit"])
    debit = _parse_money(_cell(row[header.index["debit"]]), line_no, names["debit"])
    if credit is not None and debit is not None:
        raise InvalidInput("Line {line}: both {credit} and {debit} have an amount; a line is "
                           "either money in or money out.", line=line_no,
                           credit=names["credit"], debit=names["debit"])
    if credit is None and debit is None:
        raise InvalidInput("Line {line}: neither {credit} nor {debit} has an amount.",
                           line=line_no, credit=names["credit"], debit=names["debit"])
    balance = None
    if "balance" in header.index:
        balance = _parse_money(_cell(row[header.index["balance"]]), line_no, names["balance"],
                               signed=True)
    reference = _text(row, header, "reference", line_no)
    if reference is None:
        raise InvalidInput("Line {line}: {column} (the bank's transaction number) is empty.",
                           line=line_no, column=names["reference"])
    return StatementLine(
        line_no=line_no, date=date, amount=credit if credit is not None else -(debit or ZERO),
        reference=reference, balance=balance,
        counterparty=_text(row, header, "counterparty", line_no),
        description=_text(row, header, "description", line_no),
    )


def parse_statement(data: bytes, filename: str) -> list[StatementLine]:
    """Every line of a statement file, checked; the first problem is refused with its line."""
    filename = clean_filename(filename)
    rows = [(n, row) for n, row in _rows(decode_statement(data, filename)) if not _is_blank(row)]
    if not rows:
        raise InvalidInput(
            "Line 1: {file} is empty; a statement starts with a header row (交易日期, 摘要, "
            "对方户名, 收入金额, 支出金额, 余额, 流水号).", file=filename)
    at = _find_header(rows)
    header = _read_header(*rows[at])
    lines: list[StatementLine] = []
    seen: dict[str, int] = {}
    for line_no, row in rows[at + 1:]:
        line = _parse_line(line_no, row, header)
        first = seen.setdefault(line.reference, line_no)
        if first != line_no:
            raise InvalidInput("Lines {first} and {line} have the same {column} {reference}; "
                               "a transaction is listed once.", first=first, line=line_no,
                               column=header.names["reference"], reference=line.reference)
        lines.append(line)
    if not lines:
        raise InvalidInput("Line {line}: {file} has a header but no transactions.",
                           line=header.line_no + 1, file=filename)
    return lines


def looks_like_statement(data: bytes) -> bool:
    """Whether the bytes read as a statement's header (for importers' ``identify``)."""
    try:
        rows = [(n, r) for n, r in _rows(decode_statement(data, "")) if not _is_blank(r)]
        if not rows:
            return False
        _read_header(*rows[_find_header(rows)])
    except InvalidInput:
        return False
    return True


def clean_filename(filename: str) -> str:
    name = _CONTROL.sub("", PurePath(strip_invisible(filename).replace("\\", "/")).name).strip()
    return name[:200] or "statement.csv"


# --- importing and matching ---------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    statement_id: int
    lines: int  # lines in the file
    skipped: int  # already imported from an earlier (overlapping) file
    matched: int  # new lines matched to an entry
    unmatched: int  # new lines waiting for the charity office
    # Line numbers (in the file) of new lines dated in a closed period: kept for the record,
    # but nothing can be booked on their date; the importer is told which they are.
    closed: tuple[int, ...] = ()
    locked_through: dt.date | None = None

    @property
    def summary(self) -> str:
        """What the importer is told the import did."""
        return gettext("Statement imported: {lines} lines, {matched} matched, {unmatched} "
                       "waiting.", lines=self.lines, matched=self.matched,
                       unmatched=self.unmatched)

    @property
    def closed_notice(self) -> str | None:
        """What the importer is told about lines in a closed period, or None."""
        if not self.closed or self.locked_through is None:
            return None
        return gettext(
            "Lines {lines} of the statement fall in a closed period (closed through "
            "{locked}). They are kept, but nothing can be booked on their dates: post any "
            "interest, fee or correction in the open period and match the line to it.",
            lines=", ".join(str(n) for n in self.closed), locked=self.locked_through.isoformat())


@dataclass(frozen=True)
class _Candidate:
    id: int
    seq: int
    date: dt.date
    net: Decimal
    bank_ref: str | None


def _bank_effects() -> Select[int, Decimal]:
    """(entry id, net on Assets:Fund:*) of entries, to narrow with ``where``."""
    return (select(Posting.entry_id, func.sum(Posting.amount).label("net"))
            .join(Account, Account.id == Posting.account_id)
            .where(Account.name.startswith(FUND_PREFIX))
            .group_by(Posting.entry_id))


def _candidates(session: Session, fund: Fund, first: dt.date, last: dt.date) -> list[_Candidate]:
    """Entries of the fund near these dates that move the bank and no line explains yet.

    One query for the whole statement, however many lines it has.
    """
    nets = (_bank_effects()
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .where(JournalEntry.fund_id == fund.id,
                   JournalEntry.date.between(first - MATCH_WINDOW, last + MATCH_WINDOW))
            .subquery())
    rows = session.execute(
        select(JournalEntry.id, JournalEntry.seq, JournalEntry.date, JournalEntry.meta,
               nets.c.net)
        .join(nets, nets.c.entry_id == JournalEntry.id)
        .where(nets.c.net != 0, ~exists().where(BankLine.entry_id == JournalEntry.id))
    )
    return [_Candidate(id_, seq, date, net, (meta or {}).get("bank-ref"))
            for id_, seq, date, meta, net in rows]


def _same_ref(a: str | None, b: str) -> bool:
    return a is not None and a.strip().casefold() == b.strip().casefold()


def _match(lines: Sequence[StatementLine],
           candidates: Sequence[_Candidate]) -> dict[int, _Candidate]:
    """Pair lines (by line number) with entries: same amount, within the window; a matching
    bank reference first, then the closest date, then the lowest entry number.

    Pairs are taken best first across the whole statement, so a line never takes
    an entry that another line's reference names. Each entry matches one line.
    """
    by_amount: dict[Decimal, list[_Candidate]] = defaultdict(list)
    for candidate in candidates:
        by_amount[candidate.net].append(candidate)
    pairs = []
    for line in lines:
        for c in by_amount.get(line.amount, ()):
            days = abs((c.date - line.date).days)
            if days <= MATCH_WINDOW.days:
                pairs.append((not _same_ref(c.bank_ref, line.reference), days, c.seq,
                              line.line_no, c))
    pairs.sort(key=lambda p: p[:4])
    taken: set[int] = set()
    matches: dict[int, _Candidate] = {}
    for *_key, i, c in pairs:
        if i not in matches and c.id not in taken:
            matches[i] = c
            taken.add(c.id)
    return matches


@dataclass(frozen=True)
class CheckedStatement:
    """A statement file that may be imported into a fund: its lines, read and checked."""

    name: str  # the file's name, cleaned
    sha256: str
    lines: list[StatementLine]


def statement_digest(data: bytes) -> str:
    """The SHA-256 that tells the same file imported twice."""
    return hashlib.sha256(data).hexdigest()


def earlier_import(session: Session, fund: Fund, digest: str) -> BankStatement | None:
    """The statement of this fund imported from the same file, if there is one."""
    return session.execute(select(BankStatement).where(
        BankStatement.fund_id == fund.id, BankStatement.sha256 == digest)).scalar_one_or_none()


def check_statement(session: Session, fund: Fund, data: bytes,
                    filename: str) -> CheckedStatement:
    """Everything that refuses a file before anything is written: a line that cannot be
    read, a line dated before the fund opened, the same file imported before. Reads
    only, so a page may refuse a file before queuing its import."""
    name = clean_filename(filename)
    digest = statement_digest(data)
    lines = parse_statement(data, name)
    early = next((line for line in lines if line.date < fund.opened_on), None)
    if early is not None:
        raise InvalidInput("Line {line}: {date} is before fund {fund} opened ({opened}); a "
                           "statement of the fund's account starts on or after that day.",
                           line=early.line_no, date=early.date.isoformat(), fund=fund.code,
                           opened=fund.opened_on.isoformat())
    earlier = earlier_import(session, fund, digest)
    if earlier is not None:
        raise Conflict("This file was already imported into fund {fund} as {file} on {date} "
                       "(statement {id}); nothing changed.", fund=fund.code, file=earlier.filename,
                       date=earlier.imported_at.date().isoformat(), id=earlier.id)
    return CheckedStatement(name, digest, lines)


def import_statement(session: Session, actor: Actor, fund_code: str, data: bytes,
                     filename: str, progress: Callable[[], object] | None = None
                     ) -> ImportResult:
    """Store a statement file and match its new lines to journal entries. ``progress``
    is called once for each line of the file as it is stored."""
    fund = find_fund(session, fund_code, lock=True)
    checked = check_statement(session, fund, data, filename)
    name, digest, lines = checked.name, checked.sha256, checked.lines

    first = min(line.date for line in lines)
    last = max(line.date for line in lines)
    known = set(session.execute(select(BankLine.fingerprint).where(
        BankLine.fund_id == fund.id, BankLine.date.between(first, last))).scalars())
    new = [line for line in lines if line.fingerprint not in known]
    matches = _match(new, _candidates(session, fund, first, last)) if new else {}

    statement = BankStatement(fund_id=fund.id, filename=name, sha256=digest, first_date=first,
                              last_date=last, line_count=len(lines), imported_at=clock.now(),
                              imported_by=actor.name)
    session.add(statement)
    session.flush()
    rows: list[dict[str, Any]] = []
    for line in lines:
        if line.fingerprint not in known:
            entry = matches.get(line.line_no)
            rows.append({
                "fund_id": fund.id, "statement_id": statement.id, "line_no": line.line_no,
                "date": line.date, "amount": line.amount, "balance": line.balance,
                "reference": line.reference, "counterparty": line.counterparty,
                "description": line.description, "fingerprint": line.fingerprint,
                "state": "matched" if entry else "unmatched",
                "entry_id": entry.id if entry else None,
                "matched_by": AUTO_MATCHER if entry else None,
            })
        if progress is not None:
            progress()
    if rows:  # one executemany; Core, as the ORM would split it by the columns left NULL
        session.execute(insert(BankLine.__table__), rows)
    locked = fund.locked_through
    closed = tuple(line.line_no for line in new if locked is not None and line.date <= locked)
    result = ImportResult(statement.id, len(lines), len(lines) - len(new), len(matches),
                          len(new) - len(matches), closed, locked)
    audit.record(session, actor, "bank.import", "bank_statement", statement.id, after={
        "fund": fund.code, "file": name, "sha256": digest, "first_date": first.isoformat(),
        "last_date": last.isoformat(), "lines": result.lines, "skipped": result.skipped,
        "matched": result.matched, "unmatched": result.unmatched,
        **({"in_closed_period": list(closed)} if closed else {})}, fund=fund.code)
    return result


# --- the charity office's part --------------------------------------------------------


def unmatched_lines(session: Session, fund: Fund) -> list[BankLine]:
    """Statement lines no entry explains yet, oldest first."""
    return list(session.execute(
        select(BankLine).where(BankLine.fund_id == fund.id, BankLine.state == "unmatched")
        .order_by(BankLine.date, BankLine.id)).scalars())


def find_line(session: Session, fund: Fund, line_id: int) -> BankLine:
    line = session.get(BankLine, line_id, populate_existing=True)
    if line is None or line.fund_id != fund.id:
        raise NotFound("Fund {fund} has no bank statement line {line}.", fund=fund.code,
                       line=line_id)
    return line


def bank_effect(session: Session, entry: JournalEntry) -> Decimal:
    """What an entry moves in the bank: its net on the Assets:Fund:* accounts."""
    row = session.execute(_bank_effects().where(Posting.entry_id == entry.id)).first()
    return row.net if row is not None else ZERO


def _matched_line(session: Session, entry_id: int) -> BankLine | None:
    return session.execute(select(BankLine).where(BankLine.entry_id == entry_id)
                           ).scalar_one_or_none()


def _require_unmatched(session: Session, fund: Fund, line: BankLine) -> None:
    if line.state == "matched" or line.entry_id is not None:
        entry = session.get(JournalEntry, line.entry_id) if line.entry_id else None
        raise Conflict("Bank line {line} is already matched to entry {fund} #{seq}.",
                       line=line.id, fund=fund.code, seq=entry.seq if entry else "?")


def _link(session: Session, actor: Actor, fund: Fund, line: BankLine, entry_id: int, seq: int,
          action: str) -> None:
    line.entry_id, line.state, line.matched_by = entry_id, "matched", actor.name
    session.flush()
    audit.record(session, actor, action, "bank_line", line.id, before={"state": "unmatched"},
                 after={"state": "matched", "entry": f"{fund.code}#{seq}",
                        "date": line.date.isoformat(), "amount": format_plain(line.amount),
                        "reference": line.reference}, fund=fund.code)


def match_line(session: Session, actor: Actor, fund_code: str, line_id: int,
               entry_seq: int) -> BankLine:
    """Match a waiting line to an entry by hand: same amount in the bank, both unmatched."""
    fund = find_fund(session, fund_code, lock=True)
    line = find_line(session, fund, line_id)
    _require_unmatched(session, fund, line)
    entry = find_entry(session, fund, entry_seq)
    other = _matched_line(session, entry.id)
    if other is not None:
        raise Conflict("Entry {fund} #{seq} is already matched to bank line {line}.",
                       fund=fund.code, seq=entry.seq, line=other.id)
    net = bank_effect(session, entry)
    if net == 0:
        raise InvalidInput("Entry {fund} #{seq} moves no money in the bank account; it cannot "
                           "match a statement line.", fund=fund.code, seq=entry.seq)
    if net != line.amount:
        raise InvalidInput("Bank line {line} is {amount} but entry {fund} #{seq} moves {net} in "
                           "the bank account; they cannot match.", line=line.id,
                           amount=format_cny(line.amount), fund=fund.code, seq=entry.seq,
                           net=format_cny(net))
    _link(session, actor, fund, line, entry.id, entry.seq, "bank.match")
    return line


BOOK_KINDS = ("interest", "fee")


def book_line(session: Session, actor: Actor, fund_code: str, line_id: int,
              kind: str) -> PostedEntry:
    """Post a waiting line as bank interest (money in) or a bank fee (money out), dated
    the line's date with its reference, and match the line to the new entry."""
    fund = find_fund(session, fund_code, lock=True)
    line = find_line(session, fund, line_id)
    _require_unmatched(session, fund, line)
    if fund.locked_through is not None and line.date <= fund.locked_through:
        raise PeriodLocked(
            "Bank line {line} is dated {date}, in a closed period (fund {fund} is closed "
            "through {locked}): post the interest or fee in the open period, then match the "
            "line to that entry.", line=line.id, date=line.date.isoformat(), fund=fund.code,
            locked=fund.locked_through.isoformat())
    if kind == "interest":
        if line.amount < 0:
            raise InvalidInput("Bank line {line} is money out ({amount}); interest is money in.",
                               line=line.id, amount=format_cny(line.amount))
        entry = events.post_interest(session, actor, fund.code, date=line.date,
                                     amount=line.amount, bank_ref=line.reference)
    elif kind == "fee":
        if line.amount > 0:
            raise InvalidInput("Bank line {line} is money in ({amount}); a bank fee is money "
                               "out.", line=line.id, amount=format_cny(line.amount))
        entry = events.post_bank_fee(session, actor, fund.code, date=line.date,
                                     amount=-line.amount, bank_ref=line.reference)
    else:
        raise InvalidInput("A bank line is booked as interest or fee, not “{kind}”.",
                           kind=str(kind)[:20])
    _link(session, actor, fund, line, entry.id, entry.seq, "bank.book")
    return entry


class _DayLine(NamedTuple):
    amount: Decimal
    balance: Decimal
    statement_id: int
    line_no: int


def bank_balance(session: Session, fund: Fund, as_of: dt.date) -> Decimal | None:
    """The account's balance at the end of ``as_of`` as the bank states it: the running
    balance after the last line on or before that day; None without balances."""
    day = session.execute(select(func.max(BankLine.date)).where(
        BankLine.fund_id == fund.id, BankLine.date <= as_of)).scalar_one_or_none()
    if day is None:
        return None
    rows = session.execute(
        select(BankLine.amount, BankLine.balance, BankLine.statement_id, BankLine.line_no)
        .where(BankLine.fund_id == fund.id, BankLine.date == day)).all()
    lines = [_DayLine(amount, balance, statement_id, line_no)
             for amount, balance, statement_id, line_no in rows if balance is not None]
    if len(lines) < len(rows):  # a line without a balance: the day's closing is unknown
        return None
    if len(lines) == 1:
        return lines[0].balance
    # Banks list a day's lines oldest or newest first. The day's closing balance is
    # the one that equals an opening balance (a line's balance less its amount) plus
    # the day's total, whichever way the file was sorted.
    total = sum((line.amount for line in lines), ZERO)
    openings = {line.balance - line.amount for line in lines}
    closings = {line.balance for line in lines if line.balance - total in openings}
    if len(closings) == 1:
        return closings.pop()
    # Ambiguous (the day nets to zero): the file's order decides, newest file first.
    statement = max(line.statement_id for line in lines)
    own = sorted((line for line in lines if line.statement_id == statement),
                 key=lambda line: line.line_no)
    dates = session.execute(select(BankLine.date).where(BankLine.statement_id == statement)
                            .order_by(BankLine.line_no)).scalars().all()
    return (own[0] if dates[0] > dates[-1] else own[-1]).balance
