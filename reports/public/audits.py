"""Published audit results and correction notices: a published fact is never edited in
place; it is corrected by a published notice."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import CST
from core.i18n import N_
from reports.engagements import PublishedResult, published_results
from reports.models import Correction, withdrawn_targets
from reports.public.funds import FundRef, cst_day, fund_id_of, year_range

SEVERITY_LABELS = {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High")}


def audit_results(session: Session, fund_code: FundRef | None = None,
                  year: int | None = None) -> list[PublishedResult]:
    """Published audit results (``reports.engagements.published_results``), newest
    first; ``year``: those whose audited period touches that year."""
    ids = [fund_id_of(session, fund_code)] if fund_code is not None else None
    results = published_results(session, ids)
    if year is None:
        return results
    first, last = year_range(year)
    return [r for r in results if r.period_start <= last and r.period_end >= first]


@dataclass(frozen=True)
class PublicCorrection:
    id: int
    fund: str
    subject: str  # what it corrects: "annual-report:2025", "engagement:3"
    title: str
    text: str
    published_on: dt.date


def corrections(session: Session, fund_code: FundRef | None = None,
                year: int | None = None) -> list[PublicCorrection]:
    """Published correction notices, newest first. A published fact is never edited in
    place; it is corrected by one of these."""
    stmt = (select(Correction).where(Correction.id.not_in(withdrawn_targets("correction")))
            .order_by(Correction.published_at.desc(), Correction.id.desc()))
    if fund_code is not None:
        stmt = stmt.where(Correction.fund_id == fund_id_of(session, fund_code))
    if year is not None:
        stmt = stmt.where(
            Correction.published_at >= dt.datetime(year, 1, 1, tzinfo=CST),
            Correction.published_at < dt.datetime(year + 1, 1, 1, tzinfo=CST))
    return [PublicCorrection(c.id, c.fund.code, c.subject, c.title, c.text,
                             cst_day(c.published_at) or dt.date.min)
            for c in session.execute(stmt).scalars()]
