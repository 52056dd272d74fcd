"""Project pages: list, draft, edit, view, every workflow step, attachments and the
beneficiary list. Each view only translates between the web and ``grants``."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import select

from core import clock
from core.errors import DomainError, InvalidInput
from core.i18n import gettext
from grants import attachments, beneficiaries
from grants import operations as ops
from grants.access import can_see_children, get_project, visible_fund_ids
from grants.models import Project
from grants.operations import CATEGORIES, ProjectInput
from grants.queries import Filters, find_projects
from grants.states import STATE_LABELS, STEPS
from ledger.chart import load_chart
from ledger.journal import find_entry
from ledger.models import Fund
from webapp.access import STAFF, current_actor, roles_required
from webapp.extensions import db, protector
from webapp.i18n import CATEGORY_LABELS
from webapp.projects.forms import AttachmentForm, BeneficiaryForm, ProjectForm, StepForm
from webapp.reading import MAX_PAGE, query_int, refusal

bp = Blueprint("projects", __name__, url_prefix="/projects")


def _folder() -> Path:
    return Path(current_app.config["ATTACHMENTS_DIR"])


@bp.route("/")
@roles_required(*STAFF)
def index():
    actor = current_actor()
    funds = db.session.execute(select(Fund).where(
        Fund.id.in_(visible_fund_ids(db.session, actor)))).scalars().all()
    args = request.args
    found = find_projects(db.session, actor, Filters(
        fund=args.get("fund") or None, purpose=args.get("purpose") or None,
        state=args.get("state") or None, year=query_int("year", None, minimum=2000,
                                                         maximum=2100),
        text=args.get("q")), page=query_int("page", 1, maximum=MAX_PAGE),
        per_page=int(current_app.config["PER_PAGE"]))
    projects, page, pages, total = found.projects, found.page, found.pages, found.total
    chart = load_chart()
    return render_template("projects/index.html", projects=projects, funds=funds, page=page,
                           pages=pages, total=total, purposes=chart.purposes,
                           state_labels=STATE_LABELS, args=args)


def _purpose_choices() -> dict[str, str]:
    return {p.key: str(p.label) for p in load_chart().purposes}


def _input_from(form: ProjectForm) -> ProjectInput:
    lines = [(row.item.data or "", row.amount.data or "") for row in form.budget
             if (row.item.data or "").strip() or (row.amount.data or "").strip()]
    tranches = []
    for row in form.tranches:
        if not (row.amount.data or "").strip():
            continue
        if row.planned_date.data is None:
            raise InvalidInput("Give a planned date for every tranche.")
        tranches.append((row.planned_date.data, row.amount.data, row.condition.data))
    return ProjectInput(
        title=form.title.data or "", purpose=form.purpose.data or "",
        implementing_unit=form.implementing_unit.data or "", payee=form.payee.data or "",
        requested_amount=form.requested_amount.data or "", summary=form.summary.data or "",
        budget=lines, tranches=tranches,
        counts={c: getattr(form, f"count_{c}").data or 0 for c in CATEGORIES},
        progress_report_due=form.progress_report_due.data,
        final_report_due=form.final_report_due.data)


@bp.route("/new", methods=["GET", "POST"])
@roles_required("civil_affairs")
def new():
    form = ProjectForm()
    form.purpose.choices = _purpose_choices()
    if form.validate_on_submit():
        try:
            project = ops.create_project(db.session, current_actor(), _input_from(form))
        except DomainError as error:
            flash(error.message, "error")
            return render_template("projects/form.html", form=form, project=None), 422
        flash(gettext("Draft {ref} saved.", ref=project.ref), "success")
        return redirect(url_for("projects.show", project_id=project.id))
    status = 422 if form.errors else 200
    return render_template("projects/form.html", form=form, project=None), status


@bp.route("/<int:project_id>/edit", methods=["GET", "POST"])
@roles_required("civil_affairs")
def edit(project_id: int):
    actor = current_actor()
    project = get_project(db.session, actor, project_id, for_update=request.method == "POST")
    if project.fund.code != actor.fund or project.state not in ("draft", "returned"):
        abort(403)
    form = ProjectForm(data=None if request.method == "POST" else _form_data(project))
    form.purpose.choices = _purpose_choices()
    if form.validate_on_submit():
        try:
            version = int(form.version.data or 0)
            ops.update_draft(db.session, actor, project, version, _input_from(form))
        except (DomainError, ValueError) as error:
            message = error.message if isinstance(error, DomainError) else str(error)
            flash(message, "error")
            return render_template("projects/form.html", form=form, project=project), 422
        flash(gettext("Changes saved."), "success")
        return redirect(url_for("projects.show", project_id=project.id))
    status = 422 if form.errors else 200
    return render_template("projects/form.html", form=form, project=project), status


def _form_data(project: Project) -> dict[str, object]:
    """A project as the edit form's initial data."""
    counts = {c.category: c.count for c in project.counts}
    reports = {r.kind: r.due_date for r in project.reports}
    return {
        "title": project.title, "purpose": project.purpose,
        "implementing_unit": project.implementing_unit, "payee": project.payee,
        "requested_amount": f"{project.requested_amount:.2f}", "summary": project.summary,
        "version": project.version,
        "budget": [{"item": b.item, "amount": f"{b.amount:.2f}"} for b in project.budget_lines],
        "tranches": [{"planned_date": t.planned_date, "amount": f"{t.amount:.2f}",
                      "condition": t.condition} for t in project.tranches],
        **{f"count_{c}": counts.get(c, 0) for c in CATEGORIES},
        "progress_report_due": reports.get("progress"),
        "final_report_due": reports.get("final"),
    }


@bp.route("/<int:project_id>")
@roles_required(*STAFF)
def show(project_id: int):
    actor = current_actor()
    project = get_project(db.session, actor, project_id)
    steps = ops.available_steps(db.session, actor, project)
    entries = []
    refs = [t.ledger_ref for t in project.transitions if t.ledger_ref]
    for ref in refs:
        code, _, seq = ref.partition("#")
        if code == project.fund.code:
            entries.append(find_entry(db.session, project.fund, int(seq)))
    children = None
    if can_see_children(actor, project):
        children = beneficiaries.list_children(db.session, actor, protector(), project)
    purpose = load_chart(project.fund.chart).purpose(project.purpose)
    return render_template(
        "projects/show.html", project=project, steps=steps, step_defs=STEPS, entries=entries,
        children=children, purpose=purpose, state_labels=STATE_LABELS, form=StepForm(),
        attachment_form=AttachmentForm(), beneficiary_form=BeneficiaryForm(),
        category_labels=CATEGORY_LABELS, unspent=ops.unspent(project),
        threshold=ops.dual_threshold(db.session, project.fund), today=clock.today(),
        first_approvals=[a for a in project.approvals if a.stage == "approve" and not a.void])


@bp.route("/<int:project_id>/steps/<name>", methods=["POST"])
@roles_required(*STAFF)
def step(project_id: int, name: str):
    if name not in STEPS:
        abort(404)
    project = get_project(db.session, current_actor(), project_id, for_update=True)
    form = StepForm()
    if not form.validate_on_submit():
        raise refusal(form)
    result = ops.take_step(db.session, current_actor(), project, name, ops.StepInput(
        reason=form.reason.data or None, amount=form.amount.data or None,
        no_conflict=bool(form.no_conflict.data), seq=form.seq.data,
        bank_ref=form.bank_ref.data or None, paid_on=form.paid_on.data,
        report_id=form.report_id.data, body=form.body.data or None,
        spent_amount=form.spent_amount.data or None))
    if name == "approve" and result is False:
        flash(gettext("First approval recorded; a second, different finance approver must "
                      "approve the same amount."), "success")
    else:
        flash(gettext("Done: {step}.", step=gettext(STEPS[name].label)), "success")
    return redirect(url_for("projects.show", project_id=project.id))


@bp.route("/<int:project_id>/attachments", methods=["POST"])
@roles_required(*STAFF)
def upload(project_id: int):
    project = get_project(db.session, current_actor(), project_id)
    form = AttachmentForm()
    if not form.validate_on_submit():
        raise InvalidInput("Choose a file to attach.")
    upload_file = form.file.data
    attachments.store(db.session, current_actor(), project,
                      filename=upload_file.filename or "attachment",
                      data=upload_file.read(attachments.MAX_BYTES + 1), folder=_folder())
    flash(gettext("File attached."), "success")
    return redirect(url_for("projects.show", project_id=project.id) + "#attachments")


@bp.route("/<int:project_id>/attachments/<int:attachment_id>")
@roles_required(*STAFF)
def download(project_id: int, attachment_id: int):
    actor = current_actor()
    project = get_project(db.session, actor, project_id)
    row, path = attachments.open_attachment(actor, project, attachment_id, _folder())
    return send_file(path, mimetype=row.content_type, as_attachment=True,
                     download_name=row.original_name, max_age=0)


@bp.route("/<int:project_id>/beneficiaries", methods=["POST"])
@roles_required("civil_affairs")
def add_child(project_id: int):
    project = get_project(db.session, current_actor(), project_id, for_update=True)
    form = BeneficiaryForm()
    if not form.validate_on_submit():
        raise InvalidInput("Please check what you entered.")
    beneficiaries.add_beneficiary(
        db.session, current_actor(), protector(), project, name=form.name.data or "",
        id_number=form.id_number.data or "", category=form.category.data or "",
        guardian=form.guardian.data, guardian_consent=bool(form.guardian_consent.data))
    flash(gettext("Child added to the list."), "success")
    return redirect(url_for("projects.show", project_id=project.id) + "#children")


@bp.route("/<int:project_id>/beneficiaries/<int:child_id>/id", methods=["POST"])
@roles_required("civil_affairs", "auditor")
def reveal(project_id: int, child_id: int):
    """Shows one clear ID number on a page of its own (POST: never in a URL or history)."""
    actor = current_actor()
    project = get_project(db.session, actor, project_id)
    if not StepForm().validate_on_submit():
        raise InvalidInput("Please check what you entered.")
    number = beneficiaries.reveal_id(db.session, actor, protector(), project, child_id)
    response = current_app.make_response(render_template(
        "projects/reveal.html", project=project, number=number))
    response.headers["Cache-Control"] = "no-store"
    return response
