"""What auditors and finance publish: audit engagements and their findings, annual
reports, and correction notices. A published fact is never edited in place: it is
corrected by a published correction notice that names it, or withdrawn from public
view (``Withdrawal``) by a notice that says why, never what."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Select,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamp
from ledger.models import Fund


class Engagement(Base):
    """An audit of one fund over one period, by the audit bureau."""

    __tablename__ = "engagements"
    __table_args__ = (CheckConstraint("state IN ('open', 'published')", name="state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(24))  # "2025" or "2025-03"
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    scope: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default="open")
    # The sample is drawn with this seed, so anyone can draw it again and get the same.
    sample_seed: Mapped[int | None] = mapped_column(Integer)
    sample_size: Mapped[int | None] = mapped_column(Integer)
    sample: Mapped[list[str]] = mapped_column(JSON, default=list)  # project refs
    conclusion: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(120))
    opened_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    published_by: Mapped[str | None] = mapped_column(String(120))
    published_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)

    fund: Mapped[Fund] = relationship(lazy="joined", innerjoin=True)
    findings: Mapped[list[Finding]] = relationship(order_by="Finding.id")


class Finding(Base):
    __tablename__ = "findings"
    __table_args__ = (CheckConstraint("severity IN ('low', 'medium', 'high')", name="severity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    severity: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    # What it concerns: "project:YJQ-2026-003", "entry:YJQ#120", "receipt:YJQ-2026-000005"
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    response: Mapped[str | None] = mapped_column(Text)  # the audited unit's answer
    responded_by: Mapped[str | None] = mapped_column(String(120))
    responded_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class AnnualReport(Base):
    """A fund's yearly work and financial report; the city's also consolidates its
    counties. Finance writes the narrative; figures come from the ledger."""

    __tablename__ = "annual_reports"
    __table_args__ = (CheckConstraint("state IN ('draft', 'published')", name="state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    consolidated: Mapped[bool] = mapped_column(default=False)
    narrative: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # section -> text
    state: Mapped[str] = mapped_column(String(10), default="draft")
    published_by: Mapped[str | None] = mapped_column(String(120))
    published_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    # The published PDF's digest, and the ledger and audit heads it was made from.
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    ledger_head: Mapped[str | None] = mapped_column(String(64))
    audit_head: Mapped[str | None] = mapped_column(String(64))
    # The edition the public reads: 1 as published, one more for each corrected edition
    # made when something it prints was withdrawn (the earlier ones: AnnualEdition).
    edition: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    fund: Mapped[Fund] = relationship(lazy="joined", innerjoin=True)


class AnnualEdition(Base):
    """An edition of a published annual report replaced by a corrected one: kept, with
    its digest, for auditors only."""

    __tablename__ = "annual_editions"
    __table_args__ = (UniqueConstraint("report_id", "edition"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("annual_reports.id"), index=True)
    edition: Mapped[int] = mapped_column(Integer)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    ledger_head: Mapped[str | None] = mapped_column(String(64))
    audit_head: Mapped[str | None] = mapped_column(String(64))
    replaced_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    withdrawal_id: Mapped[int] = mapped_column(ForeignKey("withdrawals.id"))


class Correction(Base):
    """A published correction of a published fact."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    subject: Mapped[str] = mapped_column(String(80))  # "annual-report:2025", "engagement:3"
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    published_by: Mapped[str] = mapped_column(String(120))
    published_at: Mapped[dt.datetime] = mapped_column(Timestamp)

    fund: Mapped[Fund] = relationship(lazy="joined", innerjoin=True)


class Withdrawal(Base):
    """A published item taken out of public view: proposed by a finance or charity office
    user of the fund, confirmed by a user of the other of those two roles, and announced
    by a correction notice that says that something was withdrawn and why, never what.

    ``kind`` and ``target_id`` name the item: a project (its public title, unit and
    summary), a donation (the donor line of its journal entry, whatever receipt stands
    for it), an engagement (the published audit result), an annual report (its
    narrative; the PDF is replaced by a corrected edition) or a correction notice.
    """

    __tablename__ = "withdrawals"
    __table_args__ = (
        CheckConstraint("state IN ('proposed', 'confirmed', 'cancelled')", name="state"),
        CheckConstraint("kind IN ('project', 'donation', 'engagement', 'annual-report', "
                        "'correction')", name="kind"),
        # One live withdrawal per item: ``live`` is true while proposed or confirmed and
        # NULL once cancelled (NULLs never clash).
        UniqueConstraint("kind", "target_id", "live"),
        CheckConstraint("live OR live IS NULL", name="live"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column(Integer)
    ref: Mapped[str] = mapped_column(String(80))  # as people name it: YJQ-2026-003, 2025, …
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="proposed")
    live: Mapped[bool | None] = mapped_column(Boolean, default=True)
    proposed_by: Mapped[str] = mapped_column(String(120))
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_role: Mapped[str] = mapped_column(String(20))
    proposed_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_role: Mapped[str | None] = mapped_column(String(20))
    decided_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    correction_id: Mapped[int | None] = mapped_column(ForeignKey("corrections.id"))

    fund: Mapped[Fund] = relationship(lazy="joined", innerjoin=True)


def withdrawn_targets(kind: str) -> Select[int]:
    """The ids of the items of this kind withdrawn from public view (confirmed)."""
    return select(Withdrawal.target_id).where(Withdrawal.kind == kind,
                                              Withdrawal.state == "confirmed")
