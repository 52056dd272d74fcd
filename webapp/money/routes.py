"""A fund's money pages: treasury money, donations and receipts, allocations,
bank statements and reconciliation, period close. Each view translates between
the web and ``ledger``; the rules live there."""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from core import clock
from core.errors import DomainError, InvalidInput
from core.i18n import gettext
from jobs import statement_import
from jobs.runner import request_job
from ledger import allocations, bank, donations, events, treasury
from ledger.chart import load_chart
from ledger.income_models import BankStatement, Donor, TopUpRule
from ledger.models import Fund
from ledger.periods import close_period, closes_of
from ledger.reconciliation import months_between, reconcile, status
from reports.receipts import receipt_pdf as render_receipt
from webapp.access import STAFF, acting, current_actor, readable, roles_required
from webapp.extensions import db, protector
from webapp.money.forms import (
    DonationForm,
    DonorForm,
    MatchForm,
    PeriodForm,
    RuleForm,
    StatementForm,
    TreasuryForm,
    VoidForm,
)
from webapp.queue import enqueue, keep_input
from webapp.reading import refusal

bp = Blueprint("money", __name__, url_prefix="/funds/<code>")


# --- treasury money -------------------------------------------------------------

@bp.route("/treasury")
@roles_required(*STAFF)
def treasury_page(code: str):
    fund = readable(code)
    rule = db.session.get(TopUpRule, fund.id)
    proposal = None
    if rule is not None:
        proposal = treasury.propose_top_up(db.session, fund.code, clock.today().year)
    form = TreasuryForm(data={"date": clock.today(), "kind": "top-up",
                              "amount": f"{proposal.amount:.2f}" if proposal else ""})
    rule_form = RuleForm(data={"kind": rule.kind if rule else "fixed",
                               "amount": rule.amount if rule and rule.amount else "",
                               "ratio": rule.ratio if rule and rule.ratio else "",
                               "cap": rule.cap if rule and rule.cap else ""})
    return render_template("money/treasury.html", fund=fund, form=form, rule_form=rule_form,
                           rule=rule, proposal=proposal)


@bp.route("/treasury", methods=["POST"])
@roles_required("finance")
def post_treasury(code: str):
    fund = acting(code, "finance")
    form = TreasuryForm()
    if not form.validate_on_submit():
        raise refusal(form)
    assert form.date.data is not None  # DataRequired
    post = events.post_seed if form.kind.data == "seed" else events.post_top_up
    entry = post(db.session, current_actor(), fund.code, date=form.date.data,
                 amount=form.amount.data, doc_no=form.doc_no.data or "")
    flash(gettext("Posted {fund} #{seq}.", fund=fund.code, seq=entry.seq), "success")
    return redirect(url_for("money.treasury_page", code=fund.code))


@bp.route("/treasury/rule", methods=["POST"])
@roles_required("finance")
def top_up_rule(code: str):
    fund = acting(code, "finance")
    form = RuleForm()
    if not form.validate_on_submit():
        raise refusal(form)
    treasury.set_rule(db.session, current_actor(), fund.code, kind=form.kind.data or "",
                      amount=form.amount.data, ratio=form.ratio.data, cap=form.cap.data)
    flash(gettext("Top-up rule saved."), "success")
    return redirect(url_for("money.treasury_page", code=fund.code))


# --- donors, donations, receipts ------------------------------------------------------

def _donation_form(fund: Fund) -> DonationForm:
    form = DonationForm(data={"date": clock.today()})
    donors = db.session.execute(select(Donor).where(Donor.fund_id == fund.id)
                                .order_by(Donor.name)).scalars()
    form.donor_id.choices = {str(d.id): d.name for d in donors}
    form.purpose.choices = {"": gettext("General (undirected)"),
                            **{p.key: str(p.label) for p in load_chart(fund.chart).purposes}}
    return form


@bp.route("/donations")
@roles_required(*STAFF)
def donations_page(code: str):
    fund = readable(code)
    year = clock.today().year
    receipts = donations.register(db.session, fund)
    donors = db.session.execute(select(Donor).where(Donor.fund_id == fund.id)
                                .order_by(Donor.name)).scalars().all()
    purposes = {p.key: p.label for p in load_chart(fund.chart).purposes}
    return render_template("money/donations.html", fund=fund, receipts=receipts,
                           donors=donors, year=year, purposes=purposes,
                           form=_donation_form(fund), donor_form=DonorForm(),
                           void_form=VoidForm())


@bp.route("/donors", methods=["POST"])
@roles_required("charity_office")
def add_donor(code: str):
    fund = acting(code, "charity_office")
    form = DonorForm()
    if not form.validate_on_submit():
        raise InvalidInput("Please check what you entered.")
    donor = donations.add_donor(
        db.session, current_actor(), fund.code, kind=form.kind.data or "",
        name=form.name.data or "", credit_code=form.credit_code.data or None,
        id_number=form.id_number.data or None, publish=form.publish.data or "name",
        contact=form.contact.data or None, protector=protector())
    flash(gettext("Donor {name} registered.", name=donor.name), "success")
    return redirect(url_for("money.donations_page", code=fund.code))


@bp.route("/donations", methods=["POST"])
@roles_required("charity_office")
def record_donation(code: str):
    fund = acting(code, "charity_office")
    form = _donation_form(fund)
    if not form.validate_on_submit():
        raise refusal(form)
    assert form.date.data is not None  # DataRequired
    receipt = donations.record_donation(
        db.session, current_actor(), fund.code, donor_id=int(form.donor_id.data or 0),
        date=form.date.data, amount=form.amount.data, purpose=form.purpose.data or None)
    flash(gettext("Donation booked; receipt {code} issued.", code=receipt.code), "success")
    return redirect(url_for("money.donations_page", code=fund.code))


@bp.route("/receipts/<receipt>/void", methods=["POST"])
@roles_required("charity_office")
def void(code: str, receipt: str):
    fund = acting(code, "charity_office")
    form = VoidForm()
    if not form.validate_on_submit():
        raise refusal(form)
    replacement = donations.void_receipt(db.session, current_actor(), fund.code, receipt,
                                         reason=form.reason.data or "",
                                         reissue=bool(form.reissue.data))
    flash(gettext("Receipt {code} voided.", code=receipt) + (
        " " + gettext("Replacement {code} issued.", code=replacement.code)
        if replacement else ""), "success")
    return redirect(url_for("money.donations_page", code=fund.code))


@bp.route("/receipts/<receipt>/return", methods=["POST"])
@roles_required("charity_office")
def return_donation(code: str, receipt: str):
    fund = acting(code, "charity_office")
    form = VoidForm()
    if not form.validate_on_submit():
        raise refusal(form)
    entry = donations.return_donation(db.session, current_actor(), fund.code, receipt,
                                      date=form.date.data or clock.today(),
                                      reason=form.reason.data or "")
    flash(gettext("Donation returned: reversal {fund} #{seq}.", fund=fund.code, seq=entry.seq),
          "success")
    return redirect(url_for("money.donations_page", code=fund.code))


@bp.route("/receipts/<receipt>.pdf")
@roles_required(*STAFF)
def receipt_pdf(code: str, receipt: str):
    fund = readable(code)
    row = donations.find_receipt(db.session, fund, receipt)
    response = make_response(render_receipt(db.session, row))
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{row.code}.pdf"'
    return response


# --- allocations ---------------------------------------------------------------------

@bp.route("/allocations", methods=["GET", "POST"])
@roles_required(*STAFF)
def allocations_page(code: str):
    fund = readable(code)
    chart = load_chart(fund.chart)
    status_code = 200
    if request.method == "POST":
        fund = acting(code, "finance")
        try:
            allocations.propose(db.session, current_actor(), fund.code,
                                amounts={p.key: request.form.get(p.key, "")
                                         for p in chart.purposes},
                                doc_no=request.form.get("doc_no"),
                                note=request.form.get("note"))
        except DomainError as error:
            flash(error.message, "error")
            status_code = 422
        else:
            flash(gettext("Allocation proposed; a second finance user confirms it."), "success")
            return redirect(url_for("money.allocations_page", code=fund.code))
    return render_template("money/allocations.html", fund=fund, purposes=chart.purposes,
                           proposals=allocations.proposals(db.session, fund.code),
                           form=PeriodForm()), status_code


@bp.route("/allocations/<int:proposal_id>/<decision>", methods=["POST"])
@roles_required("finance")
def decide(code: str, proposal_id: int, decision: str):
    fund = acting(code, "finance")
    if decision == "confirm":
        allocations.confirm(db.session, current_actor(), fund.code, proposal_id)
        flash(gettext("Allocation confirmed and posted."), "success")
    elif decision == "withdraw":
        allocations.withdraw(db.session, current_actor(), fund.code, proposal_id,
                             request.form.get("reason", ""))
        flash(gettext("Allocation withdrawn."), "success")
    else:
        abort(404)
    return redirect(url_for("money.allocations_page", code=fund.code))


# --- bank statements, reconciliation, period close --------------------------------

@bp.route("/bank")
@roles_required(*STAFF)
def bank_page(code: str):
    fund = readable(code)
    statements = db.session.execute(select(BankStatement).where(
        BankStatement.fund_id == fund.id).order_by(BankStatement.first_date.desc())
    ).scalars().all()
    today = clock.today()
    start = fund.locked_through + dt.timedelta(days=1) if fund.locked_through else fund.opened_on
    months = [status(db.session, fund, m) for m in months_between(start, today)]
    return render_template("money/bank.html", fund=fund, statements=statements,
                           lines=bank.unmatched_lines(db.session, fund), months=months[-12:],
                           closes=closes_of(db.session, fund)[-6:], form=StatementForm(),
                           match_form=MatchForm(), period_form=PeriodForm())


@bp.route("/bank/import", methods=["POST"])
@roles_required("charity_office")
def import_statement(code: str):
    fund = acting(code, "charity_office")
    form = StatementForm()
    if not form.validate_on_submit():
        raise InvalidInput("Choose a statement file.")
    upload = form.file.data
    data, filename = upload.read(), upload.filename or "statement.csv"
    if len(data) > int(current_app.config["IMPORT_QUEUE_BYTES"]):
        return _queue_import(fund, data, filename)
    result = bank.import_statement(db.session, current_actor(), fund.code, data, filename)
    flash(result.summary, "success")
    if result.closed_notice:
        flash(result.closed_notice, "error")
    return redirect(url_for("money.bank_page", code=fund.code))


def _queue_import(fund: Fund, data: bytes, filename: str):
    """A large statement is imported by the worker. Whatever would refuse the file is
    checked here first -- a line that cannot be read, the same file imported before --
    so it is refused at once, with the words of a small file's refusal, and nothing is
    saved or queued."""
    checked = bank.check_statement(db.session, fund, data, filename)
    job = request_job(db.session, current_actor(), statement_import.KIND,
                      statement_import.parameters(fund.code, checked), [fund.id])
    keep_input(job.id, data)
    enqueue(job.id)
    return redirect(url_for("jobs.show", job_id=job.id), code=303)


@bp.route("/bank/lines/<int:line_id>", methods=["POST"])
@roles_required("charity_office")
def settle_line(code: str, line_id: int):
    fund = acting(code, "charity_office")
    form = MatchForm()
    if not form.validate_on_submit():
        raise refusal(form)
    if form.entry.data:
        bank.match_line(db.session, current_actor(), fund.code, line_id, form.entry.data)
    else:
        bank.book_line(db.session, current_actor(), fund.code, line_id, form.kind.data or "")
    flash(gettext("Statement line settled."), "success")
    return redirect(url_for("money.bank_page", code=fund.code))


@bp.route("/bank/reconcile", methods=["POST"])
@roles_required("charity_office", "finance")
def reconcile_month(code: str):
    fund = acting(code, "charity_office", "finance")
    form = PeriodForm()
    if not form.validate_on_submit():
        raise InvalidInput("Please check what you entered.")
    result = reconcile(db.session, current_actor(), fund.code, form.period.data or "")
    flash(gettext("{period}: reconciled.", period=result.period) if result.reconciled
          else gettext("{period}: not reconciled; see the outstanding items.",
                       period=result.period), "success" if result.reconciled else "error")
    return redirect(url_for("money.bank_page", code=fund.code))


@bp.route("/periods/close", methods=["POST"])
@roles_required("finance")
def close(code: str):
    fund = acting(code, "finance")
    form = PeriodForm()
    if not form.validate_on_submit():
        raise InvalidInput("Please check what you entered.")
    closed = close_period(db.session, current_actor(), fund.code, form.period.data or "",
                          unreconciled_reason=form.reason.data or None)
    flash(gettext("Closed {period} of fund {fund}: nothing can post on or before {end}.",
                  period=closed.period, fund=fund.code, end=closed.period_end.isoformat()),
          "success")
    return redirect(url_for("money.bank_page", code=fund.code))
