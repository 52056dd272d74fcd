"""A job's page: how far it got, its file when ready, why it failed and a retry.

Only the user who asked sees a job, and only while the rule of the page that asked still
lets them have its file (``jobs.runner.visible_job``); to anyone else it does not exist.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, send_file, url_for
from flask_login import login_required

from core import clock
from core.i18n import gettext
from jobs import annual_preview, downloads
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


@bp.route("/<job_id>")
@login_required
def show(job_id: str):
    job = visible_job(db.session, current_actor(), job_id)
    reason = gettext(job.error, **(job.error_params or {})) if job.error else None
    return render_template("jobs/show.html", job=job, title=_title(job), reason=reason,
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
