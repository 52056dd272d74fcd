"""A job's page: how far it got, its file when ready (or, for a statement import, what
the import did), why it failed and a retry.

Only the user who asked sees a job, and only while the rule of the page that asked still
lets them have its file (``jobs.runner.visible_job``); to anyone else it does not exist.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, send_file, url_for
from flask_login import login_required

from core import clock
from core.i18n import gettext
from jobs import annual_preview, downloads, statement_import
from jobs.models import Job
from jobs.runner import can_retry, result_file, retry_job, visible_job
from webapp.access import current_actor
from webapp.extensions import db
from webapp.queue import current_queue, enqueue

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

# Seconds between the job page's own reloads while the job is waiting or running.
REFRESH_SECONDS = 2


def _title(job: Job) -> str:
    parameters = job.parameters
    if job.kind == statement_import.KIND:
        return gettext("Bank statement {file} · {fund}", file=parameters["file"],
                       fund=parameters["fund"])
    if job.kind == annual_preview.KIND:
        return gettext("Annual report {year} (draft) · {fund}", year=parameters["year"],
                       fund=parameters["fund"])
    report = parameters.get("report", "")
    if report == downloads.LEDGERS:
        name = gettext("Beancount ledgers (zip)")
    else:
        name = f"{downloads.REPORTS[report][1]} · {parameters['period']} · " \
               f"{parameters['format'].upper()}"
    return f"{name} · {'、'.join(parameters['funds'])}"


def _words(job: Job) -> dict[str, str]:
    """What the page calls the job's work, and where it leads back to."""
    if job.kind == statement_import.KIND:
        return {"heading": gettext("Importing a bank statement"),
                "busy": gettext("Importing"),
                "not_done": gettext("The statement was not imported."),
                "leave": gettext("This page reloads itself every few seconds; the import "
                                 "goes on when you leave."),
                "back": url_for("money.bank_page", code=job.parameters["fund"]),
                "back_label": gettext("Bank and reconciliation")}
    words = {"heading": gettext("Preparing a file"), "busy": gettext("Being made"),
             "not_done": gettext("The file was not made."),
             "leave": gettext("This page reloads itself every few seconds; the file stays "
                              "here when you leave."),
             "back": url_for("downloads.index"), "back_label": gettext("Downloads")}
    if job.kind == annual_preview.KIND:  # its makers need not be allowed the downloads
        words |= {"back": url_for("annual.edit", code=job.parameters["fund"],
                                  year=job.parameters["year"]),
                  "back_label": gettext("Annual report {year}", year=job.parameters["year"])}
    return words


@bp.route("/<job_id>")
@login_required
def show(job_id: str):
    job = visible_job(db.session, current_actor(), job_id)
    reason = gettext(job.error, **(job.error_params or {})) if job.error else None
    progress = gettext(job.progress, **(job.progress_params or {})) if job.progress else None
    imported = statement_import.result_of(job.outcome) \
        if job.kind == statement_import.KIND and job.outcome else None
    return render_template("jobs/show.html", job=job, title=_title(job), reason=reason,
                           progress=progress, imported=imported, words=_words(job),
                           retry=can_retry(job, clock.now()),
                           refresh=REFRESH_SECONDS if job.state in ("queued", "running")
                           else None)


@bp.route("/<job_id>/file")
@login_required
def file(job_id: str):
    job = visible_job(db.session, current_actor(), job_id)
    path = result_file(current_queue().folder, job)
    return send_file(path, mimetype=job.result_type, as_attachment=True,
                     download_name=job.result_name, max_age=0, etag=False)


@bp.route("/<job_id>/retry", methods=["POST"])
@login_required
def retry(job_id: str):
    job = visible_job(db.session, current_actor(), job_id)
    retry_job(db.session, job)
    enqueue(job.id)
    return redirect(url_for("jobs.show", job_id=job.id), code=303)
