"""Audit pages: the engagements in scope, opening one, and the engagement page with its
sample, flags, findings, the audited unit's responses and publication. Each view
only translates between the web and ``reports.engagements``, which holds the rules;
a refused request is answered by the error pages (403, 404, 409)."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from sqlalchemy import select

from core import clock
from core.actors import Actor
from core.errors import InvalidInput
from core.i18n import gettext
from grants.access import can_read_fund, visible_fund_ids
from grants.models import Project
from ledger.income_models import Receipt
from ledger.models import Fund
from reports import engagements as eng
from reports.flags import KIND_LABELS
from reports.models import Engagement
from webapp.access import STAFF, current_actor, roles_required
from webapp.audits.forms import FindingForm, OpenForm, PublishForm, ResponseForm, SampleForm
from webapp.extensions import db

bp = Blueprint("audits", __name__, url_prefix="/audits")

UNIT = tuple(sorted(eng.UNIT_ROLES))


def _fund_choices(actor: Actor) -> dict[str, str]:
    funds = db.session.execute(select(Fund).where(
        Fund.id.in_(visible_fund_ids(db.session, actor))).order_by(Fund.id)).scalars()
    return {f.code: str(f.name) for f in funds}


def _index(form: OpenForm | None, status: int = 200):
    actor = current_actor()
    if form is not None:
        form.fund.choices = _fund_choices(actor)
    return render_template("audits/index.html", form=form,
                           engagements=eng.engagements_in_scope(db.session, actor),
                           state_labels=eng.STATE_LABELS), status


@bp.route("/")
@roles_required(*STAFF)
def index():
    actor = current_actor()
    form = None
    if actor.role == "auditor":
        form = OpenForm(data={"fund": actor.fund, "period": str(clock.today().year - 1)})
    return _index(form)


@bp.route("/", methods=["POST"])
@roles_required("auditor")
def create():
    form = OpenForm()
    form.fund.choices = _fund_choices(current_actor())
    if not form.validate_on_submit():
        return _index(form, 422)
    try:
        engagement = eng.open_engagement(
            db.session, current_actor(), form.fund.data or "", title=form.title.data or "",
            period=form.period.data or "", scope=form.scope.data or "")
    except InvalidInput as error:
        flash(error.message, "error")
        return _index(form, 422)
    flash(gettext("Audit engagement opened."), "success")
    return redirect(url_for("audits.show", engagement_id=engagement.id))


def _urls(actor: Actor, links: set[str]) -> dict[str, str]:
    """Pages of the linked projects and receipts, for those this user may read."""
    refs = {link.split(":", 1)[1] for link in links if link.startswith("project:")}
    codes = {link.split(":", 1)[1] for link in links if link.startswith("receipt:")}
    urls = {}
    if refs:
        for project in db.session.execute(
                select(Project).where(Project.ref.in_(refs))).unique().scalars():
            if can_read_fund(actor, project.fund):
                urls[f"project:{project.ref}"] = url_for("projects.show", project_id=project.id)
    if codes:
        for receipt in db.session.execute(
                select(Receipt).where(Receipt.code.in_(codes))).unique().scalars():
            if can_read_fund(actor, receipt.fund):
                urls[f"receipt:{receipt.code}"] = url_for(
                    "money.receipt_pdf", code=receipt.fund.code, receipt=receipt.code)
    return urls


def _show(engagement_id: int, status: int = 200, *,
          sample_form: SampleForm | None = None, finding_form: FindingForm | None = None,
          publish_form: PublishForm | None = None):
    actor = current_actor()
    engagement = eng.get_engagement(db.session, actor, engagement_id)
    audits = eng.can_audit(actor, engagement)
    flags = (eng.engagement_flags(db.session, actor, engagement.id)
             if actor.role == "auditor" else [])
    population = eng.population(db.session, engagement) if audits else None
    if sample_form is None:
        seed = engagement.sample_seed
        sample_form = SampleForm(data={
            "size": engagement.sample_size or 10,
            # A suggestion; the auditor may type any seed, e.g. one drawn in public.
            "seed": seed if seed is not None else secrets.randbelow(1_000_000)})
    links = {f"project:{ref}" for ref in engagement.sample or []}
    links.update(link for finding in engagement.findings for link in finding.links or [])
    links.update(link for flag in flags for link in flag.links)
    return render_template(
        "audits/show.html", engagement=engagement, flags=flags, population=population,
        audits=audits, responds=eng.can_respond(actor, engagement), urls=_urls(actor, links),
        sample_form=sample_form, finding_form=finding_form or FindingForm(),
        publish_form=publish_form or PublishForm(), response_form=ResponseForm(),
        state_labels=eng.STATE_LABELS, severity_labels=eng.SEVERITY_LABELS,
        kind_labels=KIND_LABELS), status


@bp.route("/<int:engagement_id>")
@roles_required(*STAFF)
def show(engagement_id: int):
    return _show(engagement_id)


def _engagement(engagement_id: int) -> Engagement:
    """For an auditor's action: the engagement (404 if out of sight)."""
    return eng.get_engagement(db.session, current_actor(), engagement_id)


@bp.route("/<int:engagement_id>/sample", methods=["POST"])
@roles_required("auditor")
def sample(engagement_id: int):
    _engagement(engagement_id)
    form = SampleForm()
    if not form.validate_on_submit():
        return _show(engagement_id, 422, sample_form=form)
    try:
        chosen = eng.draw_sample(db.session, current_actor(), engagement_id,
                                 size=form.size.data or 0, seed=form.seed.data or 0)
    except InvalidInput as error:
        flash(error.message, "error")
        return _show(engagement_id, 422, sample_form=form)
    flash(gettext("Sample drawn: {n} projects.", n=len(chosen)), "success")
    return redirect(url_for("audits.show", engagement_id=engagement_id) + "#sample")


@bp.route("/<int:engagement_id>/findings", methods=["POST"])
@roles_required("auditor")
def record(engagement_id: int):
    _engagement(engagement_id)
    form = FindingForm()
    if not form.validate_on_submit():
        return _show(engagement_id, 422, finding_form=form)
    try:
        eng.record_finding(db.session, current_actor(), engagement_id,
                           severity=form.severity.data or "", title=form.title.data or "",
                           description=form.description.data or "",
                           links=form.links.data or "")
    except InvalidInput as error:
        flash(error.message, "error")
        return _show(engagement_id, 422, finding_form=form)
    flash(gettext("Finding recorded."), "success")
    return redirect(url_for("audits.show", engagement_id=engagement_id) + "#findings")


@bp.route("/<int:engagement_id>/findings/<int:finding_id>/response", methods=["POST"])
@roles_required(*UNIT)
def respond(engagement_id: int, finding_id: int):
    engagement, finding = eng.get_finding(db.session, current_actor(), finding_id)
    if engagement.id != engagement_id:
        abort(404)
    form = ResponseForm()
    if not form.validate_on_submit():
        flash(gettext("Write the response before sending it."), "error")
        return _show(engagement_id, 422)
    try:
        eng.respond(db.session, current_actor(), finding.id, form.response.data or "")
    except InvalidInput as error:
        flash(error.message, "error")
        return _show(engagement_id, 422)
    flash(gettext("Response saved."), "success")
    return redirect(url_for("audits.show", engagement_id=engagement_id)
                    + f"#finding-{finding.id}")


@bp.route("/<int:engagement_id>/publish", methods=["POST"])
@roles_required("auditor")
def publish(engagement_id: int):
    _engagement(engagement_id)
    form = PublishForm()
    if not form.validate_on_submit():
        return _show(engagement_id, 422, publish_form=form)
    try:
        eng.publish(db.session, current_actor(), engagement_id,
                    conclusion=form.conclusion.data or "")
    except InvalidInput as error:
        flash(error.message, "error")
        return _show(engagement_id, 422, publish_form=form)
    flash(gettext("Audit results published."), "success")
    return redirect(url_for("audits.show", engagement_id=engagement_id))
