"""The auditor's downloads: which reports and formats there are, who may have them, and
how each file is made -- the same for a file made in the request (CSV) and one made by
the worker (PDF, XLSX, the Beancount ledgers).

Who may download is decided by one function, ``chosen_funds``: the download page, the
worker before it makes a file, and the job page before it hands the file over all ask it,
so a user who has lost a fund since asking gets nothing of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import Actor
from core.errors import InvalidInput, NotFound
from core.i18n import N_
from grants.access import visible_fund_ids
from ledger.models import Fund
from reports import render, statements
from reports.figures import Period
from reports.tables import Provenance, Table, provenance

Progress = Callable[[str], None]

REPORTS: dict[str, tuple[Callable[[Session, list[Fund], Period], Table], str]] = {
    "fund-statement": (statements.fund_statement, "收支情况表"),
    "activity-statement": (statements.activity_statement, "业务活动表"),
    "grant-register": (statements.grant_register, "项目登记簿"),
    "donation-register": (statements.donation_register, "捐赠登记簿"),
    "receipt-register": (statements.receipt_register, "捐赠票据登记簿"),
    "reconciliation": (statements.reconciliation_report, "银行存款余额调节表"),
    "audit-log": (statements.audit_extract, "审计日志摘录"),
}
FORMATS: dict[str, tuple[str, Callable[[Table, Provenance], bytes]]] = {
    "pdf": ("application/pdf", render.to_pdf),
    "csv": ("text/csv; charset=utf-8", lambda t, p: render.to_csv(t)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             render.to_xlsx),
}
# A CSV is the rows as text, made in the time a page takes; a PDF (WeasyPrint lays out
# every page: the year's audit log runs to minutes), a workbook and the ledgers are made
# by the worker.
QUEUED_FORMATS = frozenset({"pdf", "xlsx"})
LEDGERS = "beancount"
ROLES = ("auditor", "finance")


@dataclass(frozen=True)
class Made:
    """A file made for a user: its bytes, the name it is saved as and its media type."""

    data: bytes
    name: str
    mimetype: str

    @property
    def extension(self) -> str:
        return self.name.rsplit(".", 1)[-1]


def readable_funds(session: Session, actor: Actor) -> list[Fund]:
    """The funds whose reports this user may download: none unless auditor or finance."""
    if actor.role not in ROLES:
        return []
    ids = visible_fund_ids(session, actor)
    return list(session.execute(select(Fund).where(Fund.id.in_(ids)).order_by(Fund.id))
                .scalars()) if ids else []


def chosen_funds(session: Session, actor: Actor, codes: Sequence[str]) -> list[Fund]:
    """The funds named (all the user's when none is), if the user may download each;
    a fund outside the user's scope does not exist for them."""
    funds = readable_funds(session, actor)
    if not codes:
        return funds
    chosen = [f for f in funds if f.code in codes]
    missing = sorted(set(codes) - {f.code for f in chosen})
    if missing:
        raise NotFound("There is no fund with code {code}.", code=missing[0])
    return chosen


def check_choice(report: str, fmt: str, period: str) -> None:
    """A report and format that exist, and a period (the ledgers are whole: none)."""
    if report == LEDGERS:
        return
    if report not in REPORTS or fmt not in FORMATS:
        raise InvalidInput("Choose a report and a format.")
    Period.parse(period)


def is_queued(report: str, fmt: str) -> bool:
    """Whether this file is made by the worker rather than in the request."""
    return report == LEDGERS or fmt in QUEUED_FORMATS


def statement(books: Session, funds: list[Fund], report: str, period: Period, fmt: str,
              progress: Progress = lambda _: None) -> Made:
    """One statement or register in one format, its figures and its stamp (the heads
    it was made from) read from ``books``, one snapshot of the books."""
    progress(N_("Reading the books"))
    table = REPORTS[report][0](books, funds, period)
    source = provenance(books, funds, period)
    progress(N_("Writing the file"))
    mimetype, make = FORMATS[fmt]
    return Made(make(table, source), render.filename(table, source, fmt), mimetype)


def ledgers(books: Session, funds: list[Fund], progress: Progress = lambda _: None) -> Made:
    """Each fund's complete Beancount ledger, zipped with a README on checking it."""
    progress(N_("Writing the ledgers"))
    codes = "-".join(f.code for f in funds)
    return Made(statements.beancount_zip(books, funds), f"ledgers-{codes}.zip",
                "application/zip")


def make(books: Session, actor: Actor, parameters: dict[str, Any],
         progress: Progress = lambda _: None) -> Made:
    """The file a download job asks for, as its user may have it now."""
    funds = chosen_funds(books, actor, parameters["funds"])
    if parameters["report"] == LEDGERS:
        return ledgers(books, funds, progress)
    period = Period.parse(parameters["period"])
    return statement(books, funds, parameters["report"], period, parameters["format"], progress)


def may_have(session: Session, actor: Actor, parameters: dict[str, Any]) -> bool:
    """Whether the user may still have this file: the download's own rule."""
    try:
        chosen_funds(session, actor, parameters["funds"])
    except NotFound:
        return False
    return True
