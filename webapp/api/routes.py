"""``/api/v1``: the same work as the pages, for the children's information platform,
the mobile app and scripts. Each view checks nothing the pages do not: it calls the
same access rules (``webapp.access``, ``grants.access``) and the same operations
(``grants.operations``, ``ledger``), and only translates between JSON and them."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response
from sqlalchemy import select

from audit.models import AuditRecord
from core import clock
from core.i18n import gettext
from grants import operations as ops
from grants.access import get_project, visible_fund_ids
from grants.models import Project
from grants.queries import Filters, find_projects
from ledger import bank, donations
from ledger.balances import purpose_summary
from ledger.income_models import BankStatement
from ledger.journal import entries_page
from ledger.models import Fund, JournalEntry
from reports import auditlog, public
from webapp.access import STAFF, acting, current_actor, readable
from webapp.api import PREFIX
from webapp.api import schemas as s
from webapp.api.problems import ApiProblem, from_api, problem
from webapp.api.spec import Api, ApiValidation
from webapp.extensions import db, protector

bp = Blueprint("api", __name__, url_prefix=PREFIX)
api = Api(bp, title="Special Fund API", version="1")


@bp.errorhandler(ApiProblem)
def _api(error: ApiProblem) -> Response:
    return from_api(error)


@bp.errorhandler(ApiValidation)
def _invalid(error: ApiValidation) -> Response:
    # The strict reader's own refusals name their field: the first one is the detail.
    ours = [e["msg"] for e in error.errors if str(e["type"]).startswith("invalid_")]
    detail = (gettext("Please check what you entered: {problem}", problem=ours[0]) if ours
              else gettext("Please check what you entered."))
    return problem(422, "invalid-input", detail, errors=error.errors)


@bp.route("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document, made from the same schemas that validate requests."""
    return Response(json.dumps(api.document(PREFIX), ensure_ascii=False),
                    mimetype="application/json")


# --- funds and balances ---------------------------------------------------------------------


@api.route("GET", "/funds", summary="The funds this token may read", tag="funds",
           response=s.FundList, roles=STAFF)
def list_funds() -> s.FundList:
    ids = set(visible_fund_ids(db.session, current_actor()))
    return s.FundList(items=[
        s.FundOut(code=f.code, name_zh=f.name.zh, name_en=f.name.en, level=f.level,
                  parent=f.parent, opened_on=f.opened_on)
        for f in public.public_funds(db.session) if f.id in ids])


@api.route("GET", "/funds/{code}/balances", summary="Money by purpose, as of a day",
           tag="funds", query=s.BalancesQuery, response=s.FundBalances, roles=STAFF)
def fund_balances(code: str, query: s.BalancesQuery) -> s.FundBalances:
    """The figures of `specialfund ledger balances`: in the bank, committed and unpaid,
    available, spent (programme expense to date) and paid, for each purpose."""
    fund = readable(code)
    day = query.as_of or clock.today()
    return s.FundBalances(fund=fund.code, as_of=day, purposes=[
        s.PurposeBalance(purpose=p.key, name_zh=p.label.zh, name_en=p.label.en, in_bank=p.cash,
                         committed=p.committed, available=p.available, spent=p.spent,
                         paid=p.paid)
        for p in purpose_summary(db.session, fund, query.as_of)])


# --- projects -------------------------------------------------------------------------------


def _summary(project: Project) -> dict[str, Any]:
    return dict(id=project.id, ref=project.ref, fund=project.fund.code, year=project.year,
                title=project.title, purpose=project.purpose, state=project.state,
                requested_amount=project.requested_amount,
                approved_amount=project.approved_amount, updated_at=project.updated_at)


def _project_out(project: Project) -> s.ProjectOut:
    db.session.refresh(project)  # what the step just changed, read back
    return s.ProjectOut(
        **_summary(project), implementing_unit=project.implementing_unit,
        payee=project.payee, summary=project.summary, version=project.version,
        counts={c.category: c.count for c in project.counts},
        budget=[s.BudgetItemOut(item=b.item, amount=b.amount) for b in project.budget_lines],
        tranches=[_tranche_out(t) for t in project.tranches],
        reports=[s.ReportOut(id=r.id, kind=r.kind, due_date=r.due_date, state=r.state,
                             filed_on=r.filed_on, spent_amount=r.spent_amount)
                 for r in project.reports],
        timeline=[s.TimelineOut(action=t.action, from_state=t.from_state, to_state=t.to_state,
                                actor=t.actor, role=t.role, at=t.at, reason=t.reason,
                                ledger_ref=t.ledger_ref) for t in project.transitions],
        steps=ops.available_steps(db.session, current_actor(), project))


def _tranche_out(t: Any) -> s.TrancheOut:
    return s.TrancheOut(seq=t.seq, amount=t.amount, planned_date=t.planned_date,
                        condition=t.condition, state=t.state, paid_on=t.paid_on,
                        bank_ref=t.bank_ref, ledger_ref=t.ledger_ref)


def _input(body: s.ProjectIn) -> ops.ProjectInput:
    return ops.ProjectInput(
        title=body.title, purpose=body.purpose, implementing_unit=body.implementing_unit,
        payee=body.payee, requested_amount=body.requested_amount, summary=body.summary,
        budget=[(b.item, b.amount) for b in body.budget],
        counts={k: v for k, v in body.counts.model_dump().items() if v},
        tranches=[(t.planned_date, t.amount, t.condition) for t in body.tranches],
        progress_report_due=body.progress_report_due, final_report_due=body.final_report_due)


@api.route("GET", "/projects", summary="Projects, filtered and paged", tag="projects",
           query=s.ProjectQuery, response=s.ProjectList, roles=STAFF)
def list_projects(query: s.ProjectQuery) -> s.ProjectList:
    """The projects of the funds this token may read, most recently changed first."""
    found = find_projects(db.session, current_actor(), Filters(
        fund=query.fund, purpose=query.purpose, state=query.state, year=query.year,
        text=query.q), page=query.page, per_page=query.per_page)
    return s.ProjectList(items=[s.ProjectSummary(**_summary(p)) for p in found.projects],
                         page=found.page, pages=found.pages, total=found.total)


@api.route("POST", "/projects", summary="Draft a project", tag="projects", body=s.ProjectIn,
           response=s.ProjectOut, status=201, roles=("civil_affairs",), idempotent=True)
def create_project(body: s.ProjectIn) -> s.ProjectOut:
    """Civil affairs drafts a project in its own fund; it is then submitted with the
    `submit` transition."""
    return _project_out(ops.create_project(db.session, current_actor(), _input(body)))


@api.route("GET", "/projects/{project_id}", summary="A project, with the steps open to you",
           tag="projects", response=s.ProjectOut, roles=STAFF)
def get_one(project_id: int) -> s.ProjectOut:
    return _project_out(get_project(db.session, current_actor(), project_id))


@api.route("PUT", "/projects/{project_id}", summary="Change a draft or returned project",
           tag="projects", body=s.ProjectUpdate, response=s.ProjectOut,
           roles=("civil_affairs",))
def update_project(project_id: int, body: s.ProjectUpdate) -> s.ProjectOut:
    """The whole project as it should be, with the version read: a project changed in
    between is refused with 409."""
    project = get_project(db.session, current_actor(), project_id, for_update=True)
    ops.update_draft(db.session, current_actor(), project, body.version, _input(body))
    return _project_out(project)


@api.route("POST", "/projects/{project_id}/transitions/{name}",
           summary="Take a workflow step", tag="projects", body=s.TransitionIn,
           response=s.ProjectOut, roles=STAFF, idempotent=True)
def transition(project_id: int, name: s.StepName, body: s.TransitionIn) -> s.ProjectOut:
    """Steps and what each reads: submit; check (no_conflict, comment); return, reject
    (reason); approve (amount, no_conflict, comment: above the fund's threshold a second
    finance user approves the same amount); request_tranche (seq); approve_tranche (seq,
    no_conflict); pay_tranche (seq, bank_ref, paid_on); file_report (report_id, body,
    spent_amount); accept_report (report_id); return_report (report_id, reason);
    return_unspent (bank_ref, paid_on); close; cancel (reason). Steps that move money
    accept an Idempotency-Key."""
    project = get_project(db.session, current_actor(), project_id, for_update=True)
    ops.take_step(db.session, current_actor(), project, name,
                  ops.StepInput(**body.model_dump()))
    return _project_out(project)


@api.route("GET", "/projects/{project_id}/tranches", summary="Tranches and their payments",
           tag="projects", response=s.TrancheList, roles=STAFF)
def tranches(project_id: int) -> s.TrancheList:
    project = get_project(db.session, current_actor(), project_id)
    return s.TrancheList(project=project.ref, items=[_tranche_out(t) for t in project.tranches])


# --- income ---------------------------------------------------------------------------------


def _receipts_out(receipts: list[Any], fund: Fund) -> list[s.ReceiptOut]:
    seqs = {entry_id: seq for entry_id, seq in db.session.execute(
        select(JournalEntry.id, JournalEntry.seq).where(
            JournalEntry.id.in_([r.entry_id for r in receipts])))}
    return [s.ReceiptOut(code=r.code, year=r.year, number=r.number, donor_id=r.donor_id,
                         amount=r.amount, purpose=r.purpose, donated_on=r.donated_on,
                         state=r.state, entry=f"{fund.code}#{seqs[r.entry_id]}")
            for r in receipts]


@api.route("POST", "/funds/{code}/donors", summary="Add a donor", tag="income",
           body=s.DonorIn, response=s.DonorOut, status=201, roles=("charity_office",),
           idempotent=True)
def add_donor(code: str, body: s.DonorIn) -> s.DonorOut:
    """An enterprise (with its unified social credit code) or an individual (with an ID
    number, stored encrypted and shown masked)."""
    fund = acting(code, "charity_office")
    donor = donations.add_donor(db.session, current_actor(), fund.code, kind=body.kind,
                                name=body.name, credit_code=body.credit_code,
                                id_number=body.id_number, publish=body.publish,
                                protector=protector())
    return s.DonorOut(id=donor.id, kind=donor.kind, name=donor.name,
                      credit_code=donor.credit_code, id_number=donor.id_masked,
                      publish=donor.publish)


@api.route("POST", "/funds/{code}/donations", summary="Record a donation and issue its receipt",
           tag="income", body=s.DonationIn, response=s.ReceiptOut, status=201,
           roles=("charity_office",), idempotent=True)
def record_donation(code: str, body: s.DonationIn) -> s.ReceiptOut:
    fund = acting(code, "charity_office")
    receipt = donations.record_donation(db.session, current_actor(), fund.code,
                                        donor_id=body.donor_id, date=body.date,
                                        amount=body.amount, purpose=body.purpose)
    return _receipts_out([receipt], fund)[0]


@api.route("GET", "/funds/{code}/receipts", summary="The receipt register", tag="income",
           query=s.YearQuery, response=s.ReceiptList, roles=STAFF)
def receipts(code: str, query: s.YearQuery) -> s.ReceiptList:
    """Every receipt of the fund (or of one year), voided ones included, in number order."""
    fund = readable(code)
    return s.ReceiptList(items=_receipts_out(donations.register(db.session, fund, query.year),
                                             fund))


@api.route("POST", "/funds/{code}/bank-statements", summary="Import a bank statement (CSV)",
           tag="income", query=s.StatementQuery, raw_body="text/csv",
           response=s.StatementImport, status=201, roles=("charity_office",), idempotent=True)
def import_statement(code: str, query: s.StatementQuery, body: bytes) -> s.StatementImport:
    """The dedicated account's statement, UTF-8 or GBK, as the bank exports it. A file
    imports wholly or not at all; the same file twice is refused with 409."""
    fund = acting(code, "charity_office")
    result = bank.import_statement(db.session, current_actor(), fund.code, body,
                                   query.filename)
    return s.StatementImport(statement_id=result.statement_id, lines=result.lines,
                             skipped=result.skipped, matched=result.matched,
                             unmatched=result.unmatched,
                             in_closed_period=list(result.closed))


@api.route("GET", "/funds/{code}/bank-statements", summary="Bank statements imported",
           tag="income", response=s.StatementList, roles=STAFF)
def statements(code: str) -> s.StatementList:
    """Every statement file imported into the fund, newest first, with its SHA-256."""
    fund = readable(code)
    rows = db.session.execute(select(BankStatement).where(BankStatement.fund_id == fund.id)
                              .order_by(BankStatement.id.desc())).scalars()
    return s.StatementList(items=[
        s.StatementOut(id=r.id, filename=r.filename, sha256=r.sha256, first_date=r.first_date,
                       last_date=r.last_date, lines=r.line_count, imported_at=r.imported_at,
                       imported_by=r.imported_by) for r in rows])


# --- records --------------------------------------------------------------------------------


@api.route("GET", "/funds/{code}/entries", summary="Ledger entries, newest first",
           tag="records", query=s.EntriesQuery, response=s.EntryList, roles=STAFF)
def entries(code: str, query: s.EntriesQuery) -> s.EntryList:
    fund = readable(code)
    rows, has_next = entries_page(db.session, fund, first=query.date_from, last=query.date_to,
                                  page=query.page, per_page=query.per_page)
    return s.EntryList(fund=fund.code, page=query.page, has_next=has_next, items=[
        s.EntryOut(seq=e.seq, date=e.date, type=e.type, narration=e.narration,
                   links=list(e.links or ()), reverses=reverses,
                   postings=[s.PostingOut(account=p.account.name, amount=p.amount)
                             for p in e.postings])
        for e, reverses in rows])


@api.route("GET", "/audit-log", summary="The audit trail, newest first", tag="records",
           query=s.PageQuery, response=s.AuditList, roles=("auditor",))
def audit_log(query: s.PageQuery) -> s.AuditList:
    """Auditors only, and only the records of the funds the token's owner may read (a
    city's auditors read their counties'; records of no fund go to those who read every
    fund). The records are as chained -- `fund` is what the hash covers, null for records
    of no fund and for records written before funds were recorded. Each fund's records
    form their own chain (`chain`, `position`); the ids are global, so other funds'
    records leave gaps between them. Verify every chain with `specialfund audit verify`."""
    scope = auditlog.readable_scope(db.session, current_actor())
    rows = db.session.execute(
        select(AuditRecord).where(scope.clause()).order_by(AuditRecord.id.desc())
        .limit(query.per_page + 1).offset((query.page - 1) * query.per_page)).scalars().all()
    return s.AuditList(page=query.page, has_next=len(rows) > query.per_page, items=[
        s.AuditRecordOut(id=r.id, at=r.at, actor=r.actor, role=r.role, action=r.action,
                         subject_type=r.subject_type, subject_id=r.subject_id,
                         before=json.loads(r.before) if r.before else None,
                         after=json.loads(r.after) if r.after else None,
                         reason=r.reason, fund=r.fund, chain=r.chain_key,
                         position=r.position, prev_hash=r.prev_hash, hash=r.hash)
        for r in rows[:query.per_page]])


@api.route("GET", "/public/{dataset}", summary="Open data (no token needed)", tag="public",
           query=s.OpenDataQuery, response=s.OpenData, auth=False)
def open_data(dataset: s.Dataset, query: s.OpenDataQuery) -> s.OpenData:
    """The public site's datasets, as /public/data/<dataset>.json serves them."""
    rows = public.dataset(db.session, dataset, clock.today(), fund_code=query.fund,
                          year=query.year)
    document = json.loads(public.to_json(dataset, rows, fund_code=query.fund,
                                         year=query.year))
    return s.OpenData(**document)
