"""Open data: the same facts as the public pages, as datasets of rows (text, whole
numbers, ISO dates; amounts as text) with a data dictionary (``OPEN_DATA``). The
files are written by ``reports.public.writers``.

The money datasets (balances, income) are ``reports.figures``' figures for each year
since a fund opened, read from ``reports.figures.all_year_books`` in two queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy.orm import Session

from core.errors import NotFound
from core.i18n import N_, gettext, locale_as
from core.money import format_plain
from grants.operations import CATEGORIES
from ledger.chart import load_chart
from ledger.journal import find_fund
from reports.figures import (
    SOURCE_LABELS,
    Books,
    all_year_books,
    income_by_source,
    purpose_figures,
    years_of,
)
from reports.public.audits import audit_results, corrections
from reports.public.donations import public_donations
from reports.public.funds import PublicFund, as_of, cst_day, public_funds
from reports.public.projects import public_payments, public_projects

# In open data, in place of a text withdrawn from public view (reports.withdrawals).
WITHDRAWN = "（已撤回）"
Column = tuple[str, str, str]  # name, type, meaning (a message id)
TYPES = {
    "string": N_("text"),
    "integer": N_("whole number"),
    "date": N_("date, YYYY-MM-DD"),
    "amount": N_("amount in yuan, two decimals, as text (1234.56)"),
}
_FUND_COLUMN = ("fund", "string", N_("Fund code (see the funds dataset)"))
_PURPOSE_COLUMNS = (
    ("purpose", "string", N_("Purpose key: General (undirected), Education, Orphans, "
                             "Disability, Medical, Hardship or Disaster")),
    ("purpose_name", "string", N_("Purpose, in Chinese")),
)
OPEN_DATA: dict[str, tuple[str, tuple[Column, ...]]] = {
    "funds": (N_("The children's special funds: the city level and each county or district."), (
        ("code", "string", N_("Fund code, used by every other dataset")),
        ("name_zh", "string", N_("Name in Chinese")),
        ("name_en", "string", N_("Name in English")),
        ("level", "string", N_("city or county")),
        ("parent", "string", N_("For a county, the city fund's code; empty for the city")),
        ("opened_on", "date", N_("The day the fund's books opened")),
    )),
    "balances": (N_("Money by purpose at the end of each year since the fund opened, and "
                    "today for this year."), (
        _FUND_COLUMN,
        ("date", "date", N_("Balances at the end of this day: 31 December, or today for "
                            "this year")),
        *_PURPOSE_COLUMNS,
        ("in_bank", "amount", N_("Money of this purpose in the fund's bank account")),
        ("committed", "amount", N_("Approved for projects and not yet paid")),
        ("available", "amount", N_("In the bank less committed: what can still be approved")),
    )),
    "income": (N_("Income by source and year: treasury money (seed and yearly top-ups), "
                  "enterprise and individual donations, bank interest."), (
        _FUND_COLUMN,
        ("year", "integer", N_("Calendar year")),
        ("source", "string", N_("government, enterprise, individual or interest")),
        ("source_name", "string", N_("Source, in Chinese")),
        ("amount", "amount", N_("Income in the year, net of donations given back")),
    )),
    "projects": (N_("Aid projects approved or later, with what was paid and how many children "
                    "each aids by category. Never the children's names or ID numbers, never "
                    "who was paid."), (
        _FUND_COLUMN,
        ("ref", "string", N_("Project number")),
        ("year", "integer", N_("The project's year (in its number)")),
        ("title", "string", N_("Title; （已撤回） when withdrawn from public view")),
        *_PURPOSE_COLUMNS,
        ("implementing_unit", "string", N_("The unit that carries the project out; "
                                           "（已撤回） when withdrawn from public view")),
        ("approved_amount", "amount", N_("Amount approved")),
        ("paid", "amount", N_("Paid to the project, net of unspent money returned")),
        ("state", "string", N_("approved, under_way, completed or terminated")),
        ("state_name", "string", N_("State, in Chinese")),
        ("approved_on", "date", N_("The day the project was approved")),
        ("children", "integer", N_("Children aided, all categories")),
        ("left_behind", "integer", N_("Left-behind children aided")),
        ("in_difficulty", "integer", N_("Children in difficulty aided")),
        ("orphan", "integer", N_("Orphans aided")),
        ("disabled", "integer", N_("Children with disabilities aided")),
        ("other", "integer", N_("Other children aided")),
    )),
    "payments": (N_("Payments to projects (tranches) and unspent money they returned, from "
                    "the ledger; per project they add up to its paid amount."), (
        _FUND_COLUMN,
        ("project", "string", N_("Project number (see the projects dataset)")),
        ("date", "date", N_("Day of the payment")),
        ("kind", "string", N_("disbursement, or unspent_return (money given back)")),
        ("amount", "amount", N_("Paid out; negative when money came back or a payment "
                                "was reversed")),
        ("entry", "string", N_("The ledger entry, fund#number")),
    )),
    "donations": (N_("Donations, by their donation receipts; voided receipts and donations "
                     "given back are left out."), (
        _FUND_COLUMN,
        ("date", "date", N_("Day of the donation")),
        ("receipt", "string", N_("Donation receipt number (公益事业捐赠票据)")),
        ("donor", "string", N_("The donor's name, or 匿名 when the donor asked; "
                               "（已撤回） when withdrawn from public view")),
        ("donor_kind", "string", N_("enterprise or individual")),
        ("amount", "amount", N_("Amount donated")),
        *_PURPOSE_COLUMNS,
    )),
    "audit_results": (N_("Published audit results: one row per finding (an engagement without "
                         "findings has one row with empty finding columns)."), (
        _FUND_COLUMN,
        ("engagement", "integer", N_("Engagement number")),
        ("title", "string", N_("Engagement title")),
        ("period", "string", N_("Period audited: 2025 or 2025-03")),
        ("published_on", "date", N_("The day the result was published")),
        ("conclusion", "string", N_("The audit bureau's conclusion")),
        ("finding", "integer", N_("Finding number; empty when there are none")),
        ("severity", "string", N_("low, medium or high")),
        ("finding_title", "string", N_("Finding")),
        ("finding_description", "string", N_("What was found")),
        ("response", "string", N_("The audited unit's response")),
        ("responded_on", "date", N_("The day of the response")),
    )),
    "corrections": (N_("Correction notices: a published fact is never edited in place."), (
        _FUND_COLUMN,
        ("id", "integer", N_("Notice number")),
        ("subject", "string", N_("What it corrects, such as annual-report:2025")),
        ("title", "string", N_("Title")),
        ("text", "string", N_("The correction")),
        ("published_on", "date", N_("The day it was published")),
    )),
}


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


Row = dict[str, str | int | None]


def _selected_funds(session: Session, fund_code: str | None) -> list[PublicFund]:
    funds = public_funds(session)
    if fund_code is None:
        return funds
    code = find_fund(session, fund_code).code
    return [f for f in funds if f.code == code]


def _fund_years(session: Session, fund_code: str | None, year: int | None,
                today: dt.date) -> Iterator[tuple[PublicFund, int, Books]]:
    """Each selected fund's books of each year since it opened (or of one year)."""
    funds = _selected_funds(session, fund_code)
    books = all_year_books(session, funds, today)
    for fund in funds:
        for y in years_of(fund, today):
            if year is None or y == year:
                yield fund, y, books[fund.id][y]


def _funds_rows(session: Session, fund_code: str | None, _year: int | None,
                _today: dt.date) -> list[Row]:
    return [{"code": f.code, "name_zh": f.name.zh, "name_en": f.name.en, "level": f.level,
             "parent": f.parent, "opened_on": f.opened_on.isoformat()}
            for f in _selected_funds(session, fund_code)]


def _balances_rows(session: Session, fund_code: str | None, year: int | None,
                   today: dt.date) -> list[Row]:
    return [{"fund": fund.code, "date": as_of(y, today).isoformat(), "purpose": line.key,
             "purpose_name": line.label.zh, "in_bank": format_plain(line.in_bank),
             "committed": format_plain(line.committed),
             "available": format_plain(line.available)}
            for fund, y, books in _fund_years(session, fund_code, year, today)
            for line in purpose_figures(load_chart(fund.chart), books)]


def _income_rows(session: Session, fund_code: str | None, year: int | None,
                 today: dt.date) -> list[Row]:
    return [{"fund": fund.code, "year": y, "source": source,
             "source_name": SOURCE_LABELS[source].zh, "amount": format_plain(amount)}
            for fund, y, books in _fund_years(session, fund_code, year, today)
            for source, amount in income_by_source(books.changes).items()]


def _projects_rows(session: Session, fund_code: str | None, year: int | None,
                   _today: dt.date) -> list[Row]:
    with locale_as("zh_CN"):
        return [{"fund": p.fund, "ref": p.ref, "year": p.year,
                 "title": WITHDRAWN if p.withdrawn else p.title,
                 "purpose": p.purpose, "purpose_name": p.purpose_label.zh,
                 "implementing_unit": WITHDRAWN if p.withdrawn else p.implementing_unit,
                 "approved_amount": format_plain(p.approved_amount), "paid": format_plain(p.paid),
                 "state": p.state, "state_name": gettext(p.state_label),
                 "approved_on": _date(p.approved_on), "children": p.children,
                 **{c: p.counts.get(c, 0) for c in CATEGORIES}}
                for p in public_projects(session, fund_code, year).items]


def _payments_rows(session: Session, fund_code: str | None, year: int | None,
                   _today: dt.date) -> list[Row]:
    return [{"fund": p.fund, "project": p.project, "date": p.date.isoformat(),
             "kind": p.kind, "amount": format_plain(p.amount), "entry": p.entry}
            for p in public_payments(session, fund_code, year)]


def _donations_rows(session: Session, fund_code: str | None, year: int | None,
                    _today: dt.date) -> list[Row]:
    return [{"fund": d.fund, "date": d.date.isoformat(), "receipt": d.receipt,
             "donor": WITHDRAWN if d.withdrawn else d.donor, "donor_kind": d.donor_kind,
             "amount": format_plain(d.amount),
             "purpose": d.purpose or "General", "purpose_name": d.purpose_label.zh}
            for d in public_donations(session, fund_code, year).items]


def _audit_rows(session: Session, fund_code: str | None, year: int | None,
                _today: dt.date) -> list[Row]:
    rows: list[Row] = []
    for result in audit_results(session, fund_code, year):
        head: Row = {"fund": result.fund_code, "engagement": result.id, "title": result.title,
                     "period": result.period, "published_on": _date(cst_day(result.published_at)),
                     "conclusion": result.conclusion}
        empty: Row = {"finding": None, "severity": None, "finding_title": None,
                      "finding_description": None, "response": None, "responded_on": None}
        rows += [{**head, "finding": f.id, "severity": f.severity, "finding_title": f.title,
                  "finding_description": f.description, "response": f.response,
                  "responded_on": _date(cst_day(f.responded_at))}
                 for f in result.findings] or [{**head, **empty}]
    return rows


def _corrections_rows(session: Session, fund_code: str | None, year: int | None,
                      _today: dt.date) -> list[Row]:
    return [{"fund": c.fund, "id": c.id, "subject": c.subject, "title": c.title,
             "text": c.text, "published_on": c.published_on.isoformat()}
            for c in corrections(session, fund_code, year)]


_ROWS = {
    "funds": _funds_rows, "balances": _balances_rows, "income": _income_rows,
    "projects": _projects_rows, "payments": _payments_rows, "donations": _donations_rows,
    "audit_results": _audit_rows, "corrections": _corrections_rows,
}


def dataset(session: Session, name: str, today: dt.date, *, fund_code: str | None = None,
            year: int | None = None) -> list[Row]:
    """The rows of one open dataset, as text, whole numbers and ISO dates, with the
    columns of ``OPEN_DATA[name]``; filtered to a fund and a year when given."""
    if name not in OPEN_DATA:
        raise NotFound("There is no open dataset {name}.", name=name[:40])
    return _ROWS[name](session, fund_code, year, today)

