"""Administration: users and funds of the administrator's jurisdiction -- never money."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from sqlalchemy import select

import audit
from core.errors import DomainError
from core.i18n import gettext
from core.money import parse_amount
from grants.models import FundPolicy
from grants.operations import dual_threshold
from ledger.funds import add_fund, managed_funds
from ledger.models import Fund
from people import tokens as api_tokens
from people.models import RelatedParty, User
from people.users import add_user, declare_related_party, manages, set_active
from webapp.access import current_actor, roles_required
from webapp.admin.forms import FundForm, PolicyForm, RelatedPartyForm, UserForm
from webapp.extensions import db
from webapp.reading import refusal
from webapp.token_pages import token_page

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _funds() -> list[Fund]:
    """The administrator's fund and, for a city administrator, the counties below it."""
    return managed_funds(db.session, current_actor())


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not manages(db.session, current_actor(), user):
        abort(404)
    return user


@bp.route("/users", methods=["GET", "POST"])
@roles_required("admin")
def users():
    funds = _funds()
    form = UserForm()
    form.fund.choices = {f.code: str(f.name) for f in funds}
    status = 200
    if form.validate_on_submit():
        try:
            user = add_user(db.session, current_actor(), username=form.username.data or "",
                            display_name=form.display_name.data or "",
                            role=form.role.data or "", fund_code=form.fund.data or "",
                            password=form.password.data or "")
        except DomainError as error:
            flash(error.message, "error")
            status = 422
        else:
            flash(gettext("User {name} created.", name=user.username), "success")
            return redirect(url_for("admin.users"))
    elif form.errors:
        status = 422
    people = db.session.execute(
        select(User).where(User.jurisdiction_id.in_([f.id for f in funds]))
        .order_by(User.jurisdiction_id, User.role, User.username)).scalars().all()
    parties: dict[int, list[str]] = {}
    for row in db.session.execute(select(RelatedParty).where(
            RelatedParty.user_id.in_([u.id for u in people]))).scalars():
        parties.setdefault(row.user_id, []).append(row.party)
    return render_template("admin/users.html", form=form, users=people, parties=parties,
                           party_form=RelatedPartyForm()), status


@bp.route("/users/<int:user_id>/active/<int:active>", methods=["POST"])
@roles_required("admin")
def activate(user_id: int, active: int):
    user = _user(user_id)
    if user.id == current_actor().user_id:
        abort(403)
    ended = set_active(db.session, current_actor(), user, bool(active))
    if active:
        flash(gettext("User {name} activated.", name=user.username), "success")
    else:
        flash(gettext("User {name} deactivated. Sessions signed out: {n}. API tokens revoked: "
                      "{tokens}.", name=user.username, n=ended.sessions,
                      tokens=len(ended.tokens)), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/related", methods=["POST"])
@roles_required("admin")
def related(user_id: int):
    user = _user(user_id)
    form = RelatedPartyForm()
    if form.validate_on_submit():
        declare_related_party(db.session, current_actor(), user, form.party.data or "")
        flash(gettext("Declaration recorded."), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/tokens")
@roles_required("admin")
def user_tokens(user_id: int):
    """List and revoke; only the user makes their tokens (an admin never acts as them)."""
    return token_page(_user(user_id), "admin/tokens.html")


@bp.route("/users/<int:user_id>/tokens/<int:token_id>/revoke", methods=["POST"])
@roles_required("admin")
def revoke_token(user_id: int, token_id: int):
    row = api_tokens.revoke_token(db.session, current_actor(), token_id, owner=_user(user_id))
    flash(gettext("API token {hint}… revoked.", hint=row.hint), "success")
    return redirect(url_for("admin.user_tokens", user_id=user_id))


@bp.route("/funds", methods=["GET", "POST"])
@roles_required("admin")
def funds():
    funds = _funds()
    form = FundForm()
    status = 200
    if funds[0].level == "city" and form.validate_on_submit():
        assert form.opened_on.data is not None  # DataRequired
        try:
            fund = add_fund(db.session, current_actor(), code=form.code.data or "",
                            name_zh=form.name_zh.data or "", name_en=form.name_en.data or "",
                            opened_on=form.opened_on.data, parent_code=funds[0].code)
        except DomainError as error:
            flash(error.message, "error")
            status = 422
        else:
            flash(gettext("Fund {code} opened.", code=fund.code), "success")
            return redirect(url_for("admin.funds"))
    thresholds = {f.id: dual_threshold(db.session, f) for f in funds}
    return render_template("admin/funds.html", funds=funds, form=form, thresholds=thresholds,
                           policy_form=PolicyForm()), status


@bp.route("/funds/<code>/policy", methods=["POST"])
@roles_required("admin")
def policy(code: str):
    fund = next((f for f in _funds() if f.code == code), None)
    if fund is None:
        abort(404)
    form = PolicyForm()
    if not form.validate_on_submit():
        raise refusal(form)
    value = parse_amount(form.threshold.data or "",
                         field=gettext(form.threshold.label.text))
    row = db.session.get(FundPolicy, fund.id)
    before = str(row.dual_approval_threshold) if row else None
    if row is None:
        db.session.add(FundPolicy(fund_id=fund.id, dual_approval_threshold=value))
    else:
        row.dual_approval_threshold = value
    audit.record(db.session, current_actor(), "fund.policy", "fund", fund.code,
                 before={"dual_approval_threshold": before},
                 after={"dual_approval_threshold": str(value)}, fund=fund.code)
    flash(gettext("Threshold saved."), "success")
    return redirect(url_for("admin.funds"))
