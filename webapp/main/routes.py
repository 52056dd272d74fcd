"""The dashboard ("waiting for me") and the fund pages."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from core import clock
from grants.access import require_fund, visible_fund_ids
from grants.models import Project
from grants.queue import waiting_for
from grants.states import STATE_LABELS, STEPS, State
from ledger.balances import purpose_summary
from ledger.journal import find_fund
from ledger.models import Fund
from webapp.access import STAFF, current_actor, roles_required
from webapp.extensions import db

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    return redirect(url_for("auth.login"))


@bp.route("/dashboard")
@login_required
def dashboard():
    actor = current_actor()
    if actor.role == "admin":
        return redirect(url_for("admin.users"))
    items = waiting_for(db.session, actor)
    funds = db.session.execute(select(Fund).where(
        Fund.id.in_(visible_fund_ids(db.session, actor))).order_by(Fund.id)).scalars().all()
    overdue = []
    if actor.role == "auditor":
        overdue = [
            (p, r) for p in db.session.execute(select(Project).where(
                Project.fund_id.in_([f.id for f in funds]),
                Project.state.in_([State.APPROVED.value, State.PARTIALLY_PAID.value,
                                   State.PAID.value]))).unique().scalars()
            for r in p.reports if r.overdue(clock.today())
        ]
    return render_template("main/dashboard.html", items=items, steps=STEPS, funds=funds,
                           overdue=overdue, state_labels=STATE_LABELS)


@bp.route("/funds/<code>")
@roles_required(*STAFF)
def fund(code: str):
    fund = require_fund(current_actor(), find_fund(db.session, code))
    lines = purpose_summary(db.session, fund)
    counts = dict(db.session.execute(
        select(Project.state, func.count()).where(Project.fund_id == fund.id)
        .group_by(Project.state)).all())
    return render_template("main/fund.html", fund=fund, lines=lines, counts=counts,
                           state_labels=STATE_LABELS)
