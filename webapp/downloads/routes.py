"""The auditor's downloads: statements, registers, reconciliation, the audit-log
extract (PDF, CSV, XLSX) and the Beancount ledgers (zip) of the funds in scope.

A CSV is made in the request. A PDF, a workbook and the ledgers are prepared by the
worker: the form posts to ``prepare``, which queues a job and sends the user to its page
(``webapp.jobs``), where the file is offered when ready. What each report is, who may
have it and how it is made is ``jobs.downloads``, the same for both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from core import clock
from core.db import begin_snapshot
from core.errors import InvalidInput
from jobs import downloads
from jobs.downloads import FORMATS, LEDGERS, QUEUED_FORMATS, REPORTS, ROLES
from jobs.runner import request_job
from reports.figures import Period
from webapp.access import current_actor, roles_required
from webapp.extensions import db
from webapp.queue import enqueue

__all__ = ["FORMATS", "REPORTS", "bp"]

bp = Blueprint("downloads", __name__, url_prefix="/downloads")


@contextmanager
def _snapshot() -> Iterator[Session]:
    """A read-only session on one snapshot of the books: a report's figures and the heads
    it is stamped with come from the same moment, whatever is posted meanwhile."""
    with db.factory() as books:
        yield begin_snapshot(books)


@bp.route("/")
@roles_required(*ROLES)
def index():
    return render_template("downloads/index.html",
                           funds=downloads.readable_funds(db.session, current_actor()),
                           reports=REPORTS, formats=FORMATS, queued=QUEUED_FORMATS,
                           year=clock.today().year - 1)


@bp.route("/prepare", methods=["POST"])
@roles_required(*ROLES)
def prepare():
    """Queue the file for the worker and show its job; a CSV is simply downloaded."""
    report, fmt = request.form.get("report", ""), request.form.get("format", "")
    period = request.form.get("period", "")
    downloads.check_choice(report, fmt, period)
    funds = downloads.chosen_funds(db.session, current_actor(), request.form.getlist("fund"))
    codes = [f.code for f in funds]
    if not downloads.is_queued(report, fmt):
        return redirect(url_for("downloads.file", fund=codes, report=report, period=period,
                                format=fmt), code=303)
    parameters = {"report": report, "funds": codes} if report == LEDGERS else \
        {"report": report, "format": fmt, "period": period, "funds": codes}
    job = request_job(db.session, current_actor(), "download", parameters,
                      [f.id for f in funds])
    enqueue(job.id)
    return redirect(url_for("jobs.show", job_id=job.id), code=303)


@bp.route("/file")
@roles_required(*ROLES)
def file():
    """A CSV, made here. The other files are prepared (above)."""
    kind, fmt = request.args.get("report", ""), request.args.get("format", "")
    downloads.check_choice(kind, fmt, request.args.get("period", ""))
    if downloads.is_queued(kind, fmt):
        raise InvalidInput("A PDF, a workbook or the ledgers are prepared by the worker: "
                           "ask for them on the downloads page.")
    funds = downloads.chosen_funds(db.session, current_actor(), request.args.getlist("fund"))
    with _snapshot() as books:
        made = downloads.statement(books, funds, kind, Period.parse(request.args["period"]),
                                   fmt)
    response = make_response(made.data)
    response.headers["Content-Type"] = made.mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{made.name}"'
    return response
