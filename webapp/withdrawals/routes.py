"""Withdrawals from public view (``reports.withdrawals``): the fund's finance and charity
office users propose, confirm or cancel; its auditors read the list."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from core.i18n import gettext
from reports import withdrawals
from webapp.access import acting, current_actor, readable, roles_required
from webapp.extensions import db
from webapp.published import published_folder

bp = Blueprint("withdrawals", __name__, url_prefix="/funds/<code>/withdrawals")
ROLES = (*withdrawals.ROLES, "auditor")


@bp.route("/")
@roles_required(*ROLES)
def index(code: str):
    fund = readable(code)
    rows = withdrawals.list_withdrawals(db.session, current_actor(), fund.code)
    return render_template("withdrawals/index.html", fund=fund, rows=rows,
                           kinds=withdrawals.KINDS, roles=withdrawals.ROLES)


@bp.route("/", methods=["POST"])
@roles_required(*withdrawals.ROLES)
def propose(code: str):
    fund = acting(code, *withdrawals.ROLES)
    row = withdrawals.propose(db.session, current_actor(), fund.code,
                              kind=request.form.get("kind", ""), ref=request.form.get("ref", ""),
                              reason=request.form.get("reason", ""))
    flash(gettext("Withdrawal of {ref} proposed: a user of the other role confirms it.",
                  ref=row.ref), "success")
    return redirect(url_for("withdrawals.index", code=fund.code))


@bp.route("/<int:withdrawal_id>/confirm", methods=["POST"])
@roles_required(*withdrawals.ROLES)
def confirm(code: str, withdrawal_id: int):
    fund = acting(code, *withdrawals.ROLES)
    row = withdrawals.confirm(db.session, current_actor(), withdrawal_id,
                              folder=published_folder())
    flash(gettext("{ref} is withdrawn from public view; the notice is published.",
                  ref=row.ref), "success")
    return redirect(url_for("withdrawals.index", code=fund.code))


@bp.route("/<int:withdrawal_id>/cancel", methods=["POST"])
@roles_required(*withdrawals.ROLES)
def cancel(code: str, withdrawal_id: int):
    fund = acting(code, *withdrawals.ROLES)
    withdrawals.cancel(db.session, current_actor(), withdrawal_id)
    flash(gettext("The proposal is cancelled."), "success")
    return redirect(url_for("withdrawals.index", code=fund.code))
