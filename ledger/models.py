"""Tables of the fund ledgers.

Journal entries, postings, balance assertions and period closes are append-only:
migrations install database triggers that refuse UPDATE and DELETE on them.
Account balances, per-day changes and grant positions are running aggregates,
written in the same transaction as the entry that moves them; ``ledger verify``
proves them against Beancount's own realization of the journal.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base
from core.hashing import GENESIS
from core.i18n import Bilingual
from core.money import ZERO, MoneyType
from people.models import Jurisdiction

APPEND_ONLY_TABLES = ("journal_entries", "postings", "balance_assertions", "period_closes",
                      "period_seals", "sealed_grants")


class Fund(Jurisdiction):
    """One jurisdiction's children's special fund: an independent ledger. The
    jurisdiction (code, names, level, parent) is ``people``'s; the fund adds its books
    and shares the jurisdiction's id (joined-table inheritance)."""

    __tablename__ = "funds"
    __table_args__ = (CheckConstraint("entry_count >= 0", name="entry_count"),)

    id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), primary_key=True)
    chart: Mapped[str] = mapped_column(String(40))
    opened_on: Mapped[dt.date] = mapped_column(Date)
    # Last day of the last closed period; nothing may post on or before it.
    locked_through: Mapped[dt.date | None] = mapped_column(Date)
    entry_count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_entry_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("fund_id", "name"),
        UniqueConstraint("fund_id", "code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    code: Mapped[str] = mapped_column(String(20))
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(160))
    opened_on: Mapped[dt.date] = mapped_column(Date)
    # Running balance in Beancount's sign convention (credits negative).
    balance: Mapped[Decimal] = mapped_column(MoneyType, default=ZERO)

    @property
    def label(self) -> Bilingual:
        return account_label(self)


def account_label(account: Any) -> Bilingual:
    """How an account is named to a user; works on a model or a selected row."""
    return Bilingual(f"{account.name_zh}（{account.code}）", f"{account.name} ({account.code})")


class JournalEntry(Base):
    __tablename__ = "journal_entries"
    __table_args__ = (
        UniqueConstraint("fund_id", "seq"),
        UniqueConstraint("fund_id", "receipt_no"),
        UniqueConstraint("reverses_id"),
        CheckConstraint("seq > 0", name="seq_positive"),
        Index("ix_journal_entries_fund_date", "fund_id", "date"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    date: Mapped[dt.date] = mapped_column(Date)
    type: Mapped[str] = mapped_column(String(20))
    payee: Mapped[str | None] = mapped_column(String(200))
    narration: Mapped[str] = mapped_column(Text)
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    meta: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Only donations: the receipt register's number, unique within the fund.
    receipt_no: Mapped[str | None] = mapped_column(String(60))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    posted_at: Mapped[str] = mapped_column(String(40))
    posted_by: Mapped[str] = mapped_column(String(120))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    postings: Mapped[list[Posting]] = relationship(
        back_populates="entry", order_by="Posting.id", lazy="selectin"
    )


class Posting(Base):
    __tablename__ = "postings"
    __table_args__ = (CheckConstraint("amount <> 0", name="nonzero"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MoneyType)

    entry: Mapped[JournalEntry] = relationship(back_populates="postings")
    account: Mapped[Account] = relationship(lazy="joined")


class DailyChange(Base):
    """Net change of an account on one day, so a balance as of any date is the
    current balance minus the changes after it, without reading the journal."""

    __tablename__ = "daily_changes"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    change: Mapped[Decimal] = mapped_column(MoneyType)


class GrantPositionRow(Base):
    __tablename__ = "grant_positions"

    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), primary_key=True)
    grant: Mapped[str] = mapped_column(String(80), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40))
    outstanding: Mapped[Decimal] = mapped_column(MoneyType, default=ZERO)
    paid: Mapped[Decimal] = mapped_column(MoneyType, default=ZERO)
    last_date: Mapped[dt.date] = mapped_column(Date)


class PeriodClose(Base):
    __tablename__ = "period_closes"
    __table_args__ = (
        UniqueConstraint("fund_id", "period_end"),
        CheckConstraint("period_start <= period_end", name="ordered"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"))
    period: Mapped[str] = mapped_column(String(10))  # "2025" or "2025-03"
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    closed_at: Mapped[str] = mapped_column(String(40))
    closed_by: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(Text)
    # The heads when the period closed: the fund's last journal entry, and the audit
    # record that sealed the close. Verify checks both are still there, unchanged.
    # (Empty on closes made before heads were recorded.)
    journal_seq: Mapped[int | None] = mapped_column(BigInteger)
    journal_hash: Mapped[str | None] = mapped_column(String(64))
    audit_id: Mapped[int | None] = mapped_column(BigInteger)
    audit_hash: Mapped[str | None] = mapped_column(String(64))


class BalanceAssertion(Base):
    """A closing balance; exported as a Beancount ``balance`` directive dated the
    day after the period ends (Beancount checks balances at the start of a day)."""

    __tablename__ = "balance_assertions"
    __table_args__ = (UniqueConstraint("account_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    close_id: Mapped[int] = mapped_column(ForeignKey("period_closes.id"))
    date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MoneyType)

    account: Mapped[Account] = relationship(lazy="joined")




class PeriodSeal(Base):
    """What a close sealed, so that ``ledger verify`` re-derives only what came after.

    The seal digest (``ledger.seals``) covers the fund, the period, the journal head at
    the close, the closing balance of every account (the close's balance assertions),
    every project's position at the end of the period (``sealed_grants``) and
    ``first_open_seq``: the lowest entry number dated after the period when it closed
    (entries keyed in after the period ended but before it closed), or the head's
    number plus one. The digest is in the sealing audit record too."""

    __tablename__ = "period_seals"

    close_id: Mapped[int] = mapped_column(ForeignKey("period_closes.id"), primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    first_open_seq: Mapped[int] = mapped_column(BigInteger)
    grants: Mapped[int] = mapped_column(Integer)
    seal: Mapped[str] = mapped_column(String(64))


class SealedGrant(Base):
    """A project's position at the end of a sealed period."""

    __tablename__ = "sealed_grants"

    close_id: Mapped[int] = mapped_column(ForeignKey("period_closes.id"), primary_key=True)
    grant: Mapped[str] = mapped_column(String(80), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40))
    outstanding: Mapped[Decimal] = mapped_column(MoneyType)
    paid: Mapped[Decimal] = mapped_column(MoneyType)
