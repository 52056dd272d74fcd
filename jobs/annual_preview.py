"""A draft annual report's PDF, made by the worker: it draws every fund's statements and
charts and can take a minute. Staff of the funds the user may read see it, as on the
report's page; a published report is served as published, without a job."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.actors import Actor
from core.errors import NotFound
from core.i18n import N_
from grants.access import visible_fund_ids
from jobs.downloads import Made, Progress
from ledger.journal import find_fund
from reports import annual

KIND = "annual-preview"
READERS = frozenset({"civil_affairs", "charity_office", "finance", "auditor"})


def parameters(fund_code: str, year: int) -> dict[str, Any]:
    return {"fund": fund_code, "year": year}


def make(books: Session, actor: Actor, parameters: dict[str, Any],
         progress: Progress = lambda _: None) -> Made:
    progress(N_("Drawing the statements and charts"))
    code, year = str(parameters["fund"]), int(parameters["year"])
    report = annual.report_for(books, actor, code, year)
    return Made(annual.annual_pdf(books, report), f"annual-{code}-{year}.pdf",
                "application/pdf")


def may_have(session: Session, actor: Actor, parameters: dict[str, Any]) -> bool:
    """Staff who may read the fund, as the report's page allows."""
    if actor.role not in READERS:
        return False
    try:
        fund = find_fund(session, str(parameters["fund"]))
    except NotFound:
        return False
    return fund.id in visible_fund_ids(session, actor)
