"""Annual reports: finance writes and publishes them; staff read them; the published
PDF is kept exactly as published and served from the instance folder."""

from __future__ import annotations

import hashlib

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import select

from core import clock
from core.errors import InvalidInput, NotFound
from core.i18n import gettext
from jobs import annual_preview
from jobs.runner import request_job
from reports import annual
from reports.models import AnnualEdition, AnnualReport, Correction
from webapp.access import STAFF, acting, current_actor, readable, roles_required
from webapp.extensions import db
from webapp.published import published_folder, published_path
from webapp.queue import enqueue

bp = Blueprint("annual", __name__, url_prefix="/funds/<code>/annual")


@bp.route("/")
@roles_required(*STAFF)
def index(code: str):
    fund = readable(code)
    reports = {r.year: r for r in db.session.execute(select(AnnualReport).where(
        AnnualReport.fund_id == fund.id)).scalars()}
    years = list(range(clock.today().year - 1, fund.opened_on.year - 1, -1))
    corrections = db.session.execute(select(Correction).where(
        Correction.fund_id == fund.id).order_by(Correction.published_at.desc())).scalars().all()
    return render_template("annual/index.html", fund=fund, years=years, reports=reports,
                           corrections=corrections, sections=annual.SECTIONS)


@bp.route("/<int:year>", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit(code: str, year: int):
    fund = readable(code)
    report = None
    if request.method == "POST":
        fund = acting(code, "finance")
        report = annual.report_for(db.session, current_actor(), fund.code, year, create=True)
        annual.save_narrative(db.session, current_actor(), report,
                              {key: request.form.get(key, "") for key in annual.SECTIONS})
        flash(gettext("Saved."), "success")
        return redirect(url_for("annual.edit", code=fund.code, year=year))
    try:
        report = annual.report_for(db.session, current_actor(), fund.code, year)
    except NotFound:
        report = None
    return render_template("annual/edit.html", fund=fund, year=year, report=report,
                           sections=annual.SECTIONS)


@bp.route("/<int:year>/publish", methods=["POST"])
@roles_required("finance")
def publish(code: str, year: int):
    fund = acting(code, "finance")
    report = annual.report_for(db.session, current_actor(), fund.code, year)
    pdf = annual.publish(db.session, current_actor(), report)
    path = published_path(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf)  # written before the commit; an orphan file is harmless
    flash(gettext("Annual report {year} published.", year=year), "success")
    return redirect(url_for("annual.edit", code=fund.code, year=year))


@bp.route("/<int:year>.pdf")
@roles_required(*STAFF)
def pdf(code: str, year: int):
    fund = readable(code)
    report = annual.report_for(db.session, current_actor(), fund.code, year)
    if report.state == "published" and published_path(report).is_file():
        return send_file(published_path(report), mimetype="application/pdf", max_age=0,
                         download_name=f"annual-{fund.code}-{year}.pdf")
    # A draft is drawn by the worker (prepare, below): the edit page offers it.
    return redirect(url_for("annual.edit", code=fund.code, year=year), code=303)


@bp.route("/<int:year>/prepare", methods=["POST"])
@roles_required(*STAFF)
def prepare(code: str, year: int):
    """Queue the draft's PDF for the worker and show its job."""
    fund = readable(code)
    annual.report_for(db.session, current_actor(), fund.code, year)  # it exists
    job = request_job(db.session, current_actor(), annual_preview.KIND,
                      annual_preview.parameters(fund.code, year), [fund.id])
    enqueue(job.id)
    return redirect(url_for("jobs.show", job_id=job.id), code=303)


@bp.route("/<int:year>/editions/<int:edition>.pdf")
@roles_required("auditor")
def edition(code: str, year: int, edition: int):
    """An edition replaced by a corrected one, as it was published: for auditors only."""
    fund = readable(code)
    report = annual.report_for(db.session, current_actor(), fund.code, year)
    kept = db.session.execute(select(AnnualEdition).where(
        AnnualEdition.report_id == report.id, AnnualEdition.edition == edition)
    ).scalar_one_or_none()
    path = annual.edition_path(published_folder(), report, edition)
    if kept is None or not path.is_file() or \
            hashlib.sha256(path.read_bytes()).hexdigest() != kept.pdf_sha256:
        raise NotFound("There is no edition {edition} of this report on file.", edition=edition)
    return send_file(path, mimetype="application/pdf", max_age=0,
                     download_name=f"annual-{fund.code}-{year}-e{edition}.pdf")


@bp.route("/corrections", methods=["POST"])
@roles_required("finance", "auditor")
def correction(code: str):
    fund = acting(code, "finance", "auditor")
    subject = request.form.get("subject", "")
    if not subject:
        raise InvalidInput("{field} is required.", field=gettext("Subject"))
    annual.publish_correction(db.session, current_actor(), fund.code, subject=subject,
                              title=request.form.get("title", ""),
                              text=request.form.get("text", ""))
    flash(gettext("Correction notice published."), "success")
    return redirect(url_for("annual.index", code=fund.code))
