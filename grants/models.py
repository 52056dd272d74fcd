"""Aid projects and everything that hangs off them.

Children's personal data lives only in ``beneficiaries``, encrypted; see
``grants.beneficiaries``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamp
from core.money import ZERO, MoneyType
from grants.states import State
from ledger.models import Fund

STATES_SQL = ", ".join(f"'{s.value}'" for s in State)


class FundPolicy(Base):
    """Per-fund workflow settings."""

    __tablename__ = "fund_policies"

    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), primary_key=True)
    # Approved amounts above this need two different finance approvers.
    dual_approval_threshold: Mapped[Decimal] = mapped_column(MoneyType)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint(f"state IN ({STATES_SQL})", name="state"),
        CheckConstraint("requested_amount > 0", name="requested_positive"),
        CheckConstraint("approved_amount IS NULL OR "
                        "(approved_amount > 0 AND approved_amount <= requested_amount)",
                        name="approved_within_requested"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    # The ledger link of the project's entries is "grant-" + ref.
    ref: Mapped[str] = mapped_column(String(40), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(20))
    implementing_unit: Mapped[str] = mapped_column(String(200))
    payee: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    requested_amount: Mapped[Decimal] = mapped_column(MoneyType)
    approved_amount: Mapped[Decimal | None] = mapped_column(MoneyType)
    state: Mapped[str] = mapped_column(String(20), default=State.DRAFT.value, index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    # Optimistic locking: a form built on an older version is refused, not applied.
    version: Mapped[int] = mapped_column(Integer, default=1)

    fund: Mapped[Fund] = relationship(lazy="joined", innerjoin=True)
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        cascade="all, delete-orphan", order_by="BudgetLine.id")
    counts: Mapped[list[BeneficiaryCount]] = relationship(
        cascade="all, delete-orphan", order_by="BeneficiaryCount.category")
    beneficiaries: Mapped[list[Beneficiary]] = relationship(
        cascade="all, delete-orphan", order_by="Beneficiary.id")
    tranches: Mapped[list[Tranche]] = relationship(
        cascade="all, delete-orphan", order_by="Tranche.seq")
    reports: Mapped[list[Report]] = relationship(
        cascade="all, delete-orphan", order_by="Report.due_date")
    approvals: Mapped[list[Approval]] = relationship(order_by="Approval.id")
    transitions: Mapped[list[Transition]] = relationship(order_by="Transition.id")
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    @property
    def link(self) -> str:
        return f"grant-{self.ref}"

    @property
    def paid_amount(self) -> Decimal:
        return sum((t.amount for t in self.tranches if t.state == "paid"), ZERO)

    @property
    def beneficiary_total(self) -> int:
        return sum(c.count for c in self.counts)


class BudgetLine(Base):
    __tablename__ = "budget_lines"
    __table_args__ = (CheckConstraint("amount > 0", name="positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    item: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(MoneyType)


class BeneficiaryCount(Base):
    __tablename__ = "beneficiary_counts"
    __table_args__ = (CheckConstraint("count >= 0", name="nonnegative"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class Beneficiary(Base):
    """One aided child. Name, ID number and guardian are ciphertext; the ID number is
    also kept as a keyed hash (to find the same child elsewhere) and a masked form, and
    the name as a keyed hash with its length (to keep it out of public text, see
    ``grants.screening``; empty on rows from before that, filled in when first needed)."""

    __tablename__ = "beneficiaries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    name_ct: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_ct: Mapped[bytes] = mapped_column(LargeBinary)
    id_hash: Mapped[str] = mapped_column(String(64), index=True)
    id_masked: Mapped[str] = mapped_column(String(18))
    name_hash: Mapped[str | None] = mapped_column(String(64))
    name_length: Mapped[int | None] = mapped_column(Integer)
    guardian_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    under_14: Mapped[bool] = mapped_column(Boolean)
    guardian_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_date: Mapped[dt.date | None] = mapped_column(Date)
    added_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[dt.datetime] = mapped_column(Timestamp)

    __table_args__ = (
        UniqueConstraint("project_id", "id_hash"),
        CheckConstraint("NOT under_14 OR guardian_consent", name="consent_under_14"),
    )


class Tranche(Base):
    __tablename__ = "tranches"
    __table_args__ = (
        UniqueConstraint("project_id", "seq"),
        CheckConstraint("amount > 0", name="positive"),
        CheckConstraint("state IN ('planned', 'requested', 'approved', 'paid')", name="state"),
        CheckConstraint("condition IN ('none', 'progress_report')", name="condition"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(MoneyType)
    planned_date: Mapped[dt.date] = mapped_column(Date)
    condition: Mapped[str] = mapped_column(String(20), default="none")
    state: Mapped[str] = mapped_column(String(20), default="planned")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paid_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    bank_ref: Mapped[str | None] = mapped_column(String(80))
    ledger_ref: Mapped[str | None] = mapped_column(String(40))


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint("kind IN ('progress', 'final')", name="kind"),
        CheckConstraint("state IN ('due', 'filed', 'accepted')", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    due_date: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10), default="due")
    body: Mapped[str] = mapped_column(Text, default="")
    spent_amount: Mapped[Decimal | None] = mapped_column(MoneyType)
    filed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filed_on: Mapped[dt.date | None] = mapped_column(Date)
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    return_reason: Mapped[str | None] = mapped_column(Text)

    def overdue(self, today: dt.date) -> bool:
        return self.state == "due" and self.due_date < today


class Approval(Base):
    """A check or approval, with the approver's conflict-of-interest declaration."""

    __tablename__ = "approvals"
    __table_args__ = (
        CheckConstraint("stage IN ('check', 'approve', 'tranche')", name="stage"),
        CheckConstraint("declared_no_conflict", name="declared"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    tranche_id: Mapped[int | None] = mapped_column(ForeignKey("tranches.id"))
    stage: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    amount: Mapped[Decimal | None] = mapped_column(MoneyType)
    declared_no_conflict: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = mapped_column(Timestamp)
    # A later return or resubmission voids earlier approvals without deleting them.
    void: Mapped[bool] = mapped_column(Boolean, default=False)


class Transition(Base):
    """The project's timeline: every step, who took it, when and why."""

    __tablename__ = "project_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(Timestamp)
    reason: Mapped[str | None] = mapped_column(Text)
    # Which tranche or report the step concerned, e.g. "tranche:2" or "report:final".
    detail: Mapped[str | None] = mapped_column(String(40))
    ledger_ref: Mapped[str | None] = mapped_column(String(40))  # "YJQ#123"


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    original_name: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(Timestamp)
