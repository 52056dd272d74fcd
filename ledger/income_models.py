"""Tables of the fund's income and custody: donors, the receipt register, yearly
top-up rules, allocation proposals, bank statements and reconciliations.

The receipt register and bank statements are append-only in spirit: receipts are
voided (never deleted), statements are imported whole and never edited.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamp
from core.money import MoneyType
from ledger.models import Fund


class Donor(Base):
    __tablename__ = "donors"
    __table_args__ = (
        CheckConstraint("kind IN ('enterprise', 'individual')", name="kind"),
        CheckConstraint("publish IN ('name', 'anonymous')", name="publish"),
        UniqueConstraint("fund_id", "credit_code"),
        UniqueConstraint("fund_id", "id_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(200))
    # Enterprises: the 18-character unified social credit code (public information).
    credit_code: Mapped[str | None] = mapped_column(String(18))
    # Individuals: the ID number, encrypted, with a keyed hash and a masked form.
    id_number_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_hash: Mapped[str | None] = mapped_column(String(64))
    id_masked: Mapped[str | None] = mapped_column(String(18))
    publish: Mapped[str] = mapped_column(String(10), default="name")
    contact: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)

    @property
    def public_name(self) -> str:
        return "匿名" if self.publish == "anonymous" else self.name


class ReceiptSeries(Base):
    """The numbering of 公益事业捐赠票据 for one fund and year; locked with the fund."""

    __tablename__ = "receipt_series"

    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Receipt(Base):
    __tablename__ = "receipts"
    __table_args__ = (
        UniqueConstraint("fund_id", "year", "number"),
        UniqueConstraint("code"),
        CheckConstraint("state IN ('issued', 'voided')", name="state"),
        CheckConstraint("amount > 0", name="positive"),
        CheckConstraint("state = 'issued' OR void_reason IS NOT NULL", name="void_reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))  # e.g. YJQ-2026-000123
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MoneyType)
    purpose: Mapped[str | None] = mapped_column(String(20))  # None: undirected
    donated_on: Mapped[dt.date] = mapped_column(Date)
    issued_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    issued_by: Mapped[str] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(10), default="issued")
    void_reason: Mapped[str | None] = mapped_column(Text)
    voided_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    voided_by: Mapped[str | None] = mapped_column(String(120))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"))

    fund: Mapped[Fund] = relationship(lazy="joined", innerjoin=True)
    donor: Mapped[Donor] = relationship(lazy="joined", innerjoin=True)


class TopUpRule(Base):
    """How a fund's yearly top-up is computed: a fixed amount, or a ratio of last year's
    donations up to a cap. The result is shown for confirmation, never posted blindly."""

    __tablename__ = "top_up_rules"
    __table_args__ = (
        CheckConstraint("kind IN ('fixed', 'ratio')", name="kind"),
        CheckConstraint("kind = 'fixed' OR (ratio > 0 AND cap > 0)", name="ratio_and_cap"),
    )

    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal | None] = mapped_column(MoneyType)
    ratio: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    cap: Mapped[Decimal | None] = mapped_column(MoneyType)


class AllocationProposal(Base):
    """Finance proposes how general money is split among purposes; a second finance
    user confirms, and only then does it post."""

    __tablename__ = "allocation_proposals"
    __table_args__ = (
        CheckConstraint("state IN ('proposed', 'confirmed', 'withdrawn')", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), default="proposed")
    doc_no: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_by_name: Mapped[str] = mapped_column(String(120))
    proposed_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_name: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)

    fund: Mapped[Fund] = relationship(lazy="joined", innerjoin=True)
    lines: Mapped[list[AllocationLine]] = relationship(cascade="all, delete-orphan",
                                                       order_by="AllocationLine.id")


class AllocationLine(Base):
    __tablename__ = "allocation_lines"
    __table_args__ = (CheckConstraint("amount > 0", name="positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("allocation_proposals.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(MoneyType)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))


class BankStatement(Base):
    """One imported statement file of the fund's dedicated bank account."""

    __tablename__ = "bank_statements"
    __table_args__ = (UniqueConstraint("fund_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    first_date: Mapped[dt.date] = mapped_column(Date)
    last_date: Mapped[dt.date] = mapped_column(Date)
    line_count: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    imported_by: Mapped[str] = mapped_column(String(120))

    lines: Mapped[list[BankLine]] = relationship(order_by="BankLine.line_no")


class BankLine(Base):
    """A statement line. Amount is signed: money in positive, money out negative."""

    __tablename__ = "bank_lines"
    __table_args__ = (
        UniqueConstraint("fund_id", "fingerprint"),
        CheckConstraint("amount <> 0", name="nonzero"),
        CheckConstraint("state IN ('unmatched', 'matched')", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statements.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)  # line in the file, for messages
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    amount: Mapped[Decimal] = mapped_column(MoneyType)
    balance: Mapped[Decimal | None] = mapped_column(MoneyType)  # running balance, if given
    reference: Mapped[str] = mapped_column(String(80))  # the bank's transaction number
    counterparty: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(400))
    # The same transaction in an overlapping file is recognised and not imported twice.
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(10), default="unmatched")
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)
    matched_by: Mapped[str | None] = mapped_column(String(120))


class Reconciliation(Base):
    """A month of the dedicated account checked against the ledger."""

    __tablename__ = "reconciliations"
    __table_args__ = (UniqueConstraint("fund_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))  # "2026-03"
    period_end: Mapped[dt.date] = mapped_column(Date)
    bank_balance: Mapped[Decimal] = mapped_column(MoneyType)
    ledger_balance: Mapped[Decimal] = mapped_column(MoneyType)
    unmatched_lines: Mapped[int] = mapped_column(Integer)
    unmatched_entries: Mapped[int] = mapped_column(Integer)
    reconciled: Mapped[bool] = mapped_column()
    computed_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    computed_by: Mapped[str] = mapped_column(String(120))
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by: Mapped[str | None] = mapped_column(String(120))
