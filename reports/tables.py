"""A report as data: a titled table with typed columns, and where its figures came from.

Every downloadable statement and register is a function returning a ``Table``;
``reports.render`` turns any table into CSV, XLSX or PDF. Column keys are ASCII
(they name the fields); labels, titles and notes are Chinese, as the reports are
official documents in Chinese.

A ``Provenance`` names the books a report was made from: the period, when it was
generated, each fund's ledger head (entry count and hash of the last entry) and the
head of its audit chain (each fund has its own). Two copies carrying the same heads
describe the same books.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.models import AuditHead
from core import clock
from core.hashing import GENESIS
from ledger.models import Fund
from reports.figures import Period

ColumnKind = Literal["text", "money", "int", "date"]
KINDS: tuple[ColumnKind, ...] = ("text", "money", "int", "date")
# A row may carry this key (never a column) to be set in bold: subtotals and totals
# inside the body of a statement.
EMPHASIS = "_emphasis"


@dataclass(frozen=True)
class Column:
    key: str  # ASCII, the field's name in the rows
    label: str  # Chinese, the column heading
    kind: ColumnKind = "text"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")
        if not self.key.isascii() or not self.key.isidentifier():
            raise ValueError(f"column keys are ASCII identifiers, not {self.key!r}")


@dataclass
class Table:
    """A report's content. Rows are dicts keyed by column key; money is ``Decimal``
    (or None for an empty cell), dates ``datetime.date``, counts ``int``."""

    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    subtitle: str = ""
    totals: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    # ASCII, for file names: fund-statement-2026.pdf
    slug: str = "report"

    def column(self, key: str) -> Column:
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(key)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]


@dataclass(frozen=True)
class FundHead:
    code: str
    name_zh: str
    entry_count: int
    last_entry_hash: str
    audit_seq: int  # the head of the fund's own audit chain: its length and last hash
    audit_hash: str


@dataclass(frozen=True)
class Provenance:
    funds: tuple[FundHead, ...]
    period: Period
    generated_at: dt.datetime

    @property
    def fund_codes(self) -> list[str]:
        return [f.code for f in self.funds]


def provenance(session: Session, funds: Sequence[Fund], period: Period) -> Provenance:
    """The heads of the books as they stand now, read from the database (not from
    possibly stale objects in the session)."""
    ids = [f.id for f in funds]
    rows = {row.id: row for row in session.execute(
        select(Fund.id, Fund.code, Fund.name_zh, Fund.entry_count, Fund.last_entry_hash)
        .where(Fund.id.in_(ids)))} if ids else {}
    codes = [row.code for row in rows.values()]
    chains = {row.chain: (int(row.last_seq), row.last_hash) for row in session.execute(
        select(AuditHead.chain, AuditHead.last_seq, AuditHead.last_hash)
        .where(AuditHead.chain.in_(codes)))} if codes else {}
    heads = tuple(FundHead(rows[i].code, rows[i].name_zh, int(rows[i].entry_count),
                           rows[i].last_entry_hash,
                           *chains.get(rows[i].code, (0, GENESIS))) for i in ids if i in rows)
    return Provenance(heads, period, clock.now())


def period_zh(period: Period) -> str:
    """How a period is written in a heading: 2026年度, 2026年3月, or the two dates."""
    start, end = period.start, period.end
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return f"{start.year}年度"
    following = (end + dt.timedelta(days=1))
    if start.day == 1 and following.day == 1 and (start.year, start.month) == (end.year,
                                                                              end.month):
        return f"{start.year}年{start.month}月"
    return f"{start.isoformat()} 至 {end.isoformat()}"


def scope_zh(funds: Sequence[Fund]) -> str:
    """The funds a report covers, as a heading names them."""
    return "、".join(f"{f.name_zh}儿童专项基金（{f.code}）" for f in funds)
