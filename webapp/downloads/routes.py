"""The auditor's downloads: statements, registers, reconciliation, the audit-log
extract (PDF, CSV, XLSX) and the Beancount ledgers (zip) of the funds in scope."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, abort, make_response, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.db import begin_snapshot
from core.errors import InvalidInput
from grants.access import visible_fund_ids
from ledger.models import Fund
from reports import render, statements
from reports.figures import Period
from reports.tables import provenance
from webapp.access import current_actor, roles_required
from webapp.extensions import db

bp = Blueprint("downloads", __name__, url_prefix="/downloads")

REPORTS = {
    "fund-statement": (statements.fund_statement, "收支情况表"),
    "activity-statement": (statements.activity_statement, "业务活动表"),
    "grant-register": (statements.grant_register, "项目登记簿"),
    "donation-register": (statements.donation_register, "捐赠登记簿"),
    "receipt-register": (statements.receipt_register, "捐赠票据登记簿"),
    "reconciliation": (statements.reconciliation_report, "银行存款余额调节表"),
    "audit-log": (statements.audit_extract, "审计日志摘录"),
}
FORMATS = {
    "pdf": ("application/pdf", render.to_pdf),
    "csv": ("text/csv; charset=utf-8", lambda t, p: render.to_csv(t)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             render.to_xlsx),
}
ROLES = ("auditor", "finance")


@contextmanager
def _snapshot() -> Iterator[Session]:
    """A read-only session on one snapshot of the books: a report's figures and the heads
    it is stamped with come from the same moment, whatever is posted meanwhile."""
    with db.factory() as books:
        yield begin_snapshot(books)


def _funds() -> list[Fund]:
    ids = visible_fund_ids(db.session, current_actor())
    return list(db.session.execute(select(Fund).where(Fund.id.in_(ids)).order_by(Fund.id))
                .scalars())


def _chosen(funds: list[Fund]) -> list[Fund]:
    codes = request.args.getlist("fund")
    chosen = [f for f in funds if f.code in codes] if codes else funds
    if codes and len(chosen) != len(set(codes)):
        abort(404)  # a fund outside the user's scope does not exist for them
    return chosen


@bp.route("/")
@roles_required(*ROLES)
def index():
    return render_template("downloads/index.html", funds=_funds(), reports=REPORTS,
                           formats=FORMATS, year=clock.today().year - 1)


@bp.route("/file")
@roles_required(*ROLES)
def file():
    funds = _chosen(_funds())
    kind = request.args.get("report", "")
    if kind == "beancount":
        with _snapshot() as books:
            data = statements.beancount_zip(books, funds)
        response = make_response(data)
        response.mimetype = "application/zip"
        codes = "-".join(f.code for f in funds)
        response.headers["Content-Disposition"] = f'attachment; filename="ledgers-{codes}.zip"'
        return response
    if kind not in REPORTS or request.args.get("format") not in FORMATS:
        raise InvalidInput("Choose a report and a format.")
    period = Period.parse(request.args.get("period", ""))
    with _snapshot() as books:
        table = REPORTS[kind][0](books, funds, period)
        source = provenance(books, funds, period)
    mimetype, make = FORMATS[request.args["format"]]
    response = make_response(make(table, source))
    response.headers["Content-Type"] = mimetype
    name = render.filename(table, source, request.args["format"])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
