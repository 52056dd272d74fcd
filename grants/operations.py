"""Project operations. Each takes the session and the acting user, checks that this
user may take this step now (``grants.access``), changes the project, posts the
step's ledger entry, records the timeline and the audit trail -- and flushes.
The web request or console command commits once, so a transition, its ledger
entry and its audit record are written together or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import audit
from core import clock
from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.i18n import N_
from core.money import ZERO, format_cny, parse_amount
from core.reading import clean_text
from core.screening import Fields, strip_invisible
from grants.access import require_step
from grants.models import (
    Approval,
    BeneficiaryCount,
    BudgetLine,
    FundPolicy,
    Project,
    Report,
    Tranche,
    Transition,
)
from grants.screening import screen_project, screen_public_text
from grants.states import EDITABLE, STEPS, State
from ledger import events
from ledger.balances import available
from ledger.chart import load_chart
from ledger.journal import find_fund
from ledger.models import Fund

DEFAULT_DUAL_APPROVAL_THRESHOLD = Decimal("100000.00")
CATEGORIES = ("left_behind", "in_difficulty", "orphan", "disabled", "other")


@dataclass
class ProjectInput:
    """What civil affairs fills in; validated by ``validate``."""

    title: str
    purpose: str
    implementing_unit: str
    payee: str
    requested_amount: object
    summary: str = ""
    budget: list[tuple[str, object]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    # (planned date, amount, condition: "none" | "progress_report")
    tranches: list[tuple[dt.date, object, str]] = field(default_factory=list)
    progress_report_due: dt.date | None = None
    final_report_due: dt.date | None = None


@dataclass
class _Valid:
    title: str
    purpose: str
    implementing_unit: str
    payee: str
    summary: str
    requested: Decimal
    budget: list[tuple[str, Decimal]]
    counts: dict[str, int]
    tranches: list[tuple[dt.date, Decimal, str]]
    progress_due: dt.date | None
    final_due: dt.date


def validate(fund: Fund, data: ProjectInput) -> _Valid:
    """Check a project's plan: its budget, its children, its tranches and its reports."""
    requested = parse_amount(data.requested_amount)
    budget = _budget(data.budget, requested)
    counts = _counts(data.counts)
    tranches = _tranches(data.tranches, requested)
    if any(c == "progress_report" for *_, c in tranches) and data.progress_report_due is None:
        raise InvalidInput("A tranche waits on a progress report, so give the report's due date.")
    if data.final_report_due is None:
        raise InvalidInput("Give the due date of the final report.")
    return _Valid(
        title=clean_text(data.title, "Title", required=True, limit=200) or "",
        purpose=load_chart(fund.chart).purpose(data.purpose).key,
        implementing_unit=clean_text(data.implementing_unit, "Implementing unit", required=True,
                                     limit=200) or "",
        payee=clean_text(data.payee, "Payee", required=True, limit=200) or "",
        summary=strip_invisible(data.summary or "").strip()[:5000],
        requested=requested, budget=budget, counts=counts, tranches=tranches,
        progress_due=data.progress_report_due, final_due=data.final_report_due,
    )


def _adds_up(message: str, amounts: list[Decimal], requested: Decimal) -> None:
    total = sum(amounts, ZERO)
    if total != requested:
        raise InvalidInput(message, total=format_cny(total), requested=format_cny(requested))


def _budget(lines: list[tuple[str, object]], requested: Decimal) -> list[tuple[str, Decimal]]:
    budget = [(clean_text(item, "Budget item", required=True, limit=200) or "",
               parse_amount(amount)) for item, amount in lines]
    if not budget:
        raise InvalidInput("A project needs at least one budget line.")
    _adds_up(N_("The budget lines add up to {total}, not the requested {requested}."),
             [a for _, a in budget], requested)
    return budget


def _counts(given: dict[str, int]) -> dict[str, int]:
    counts = {}
    for category, count in given.items():
        if category not in CATEGORIES:
            raise InvalidInput("Unknown beneficiary category “{value}”.", value=str(category)[:30])
        if not isinstance(count, int) or count < 0 or count > 1_000_000:
            raise InvalidInput("A beneficiary count is a whole number from 0 to 1,000,000.")
        counts[category] = count
    if sum(counts.values()) == 0:
        raise InvalidInput("Give the number of children the project will aid.")
    return counts


def _tranches(planned: list[tuple[dt.date, object, str]],
              requested: Decimal) -> list[tuple[dt.date, Decimal, str]]:
    tranches = []
    for day, amount, condition in planned:
        if condition not in ("none", "progress_report"):
            raise InvalidInput("Unknown tranche condition “{value}”.", value=str(condition)[:30])
        tranches.append((day, parse_amount(amount), condition))
    if not tranches:
        raise InvalidInput("A project needs at least one tranche.")
    _adds_up(N_("The tranches add up to {total}, not the requested {requested}."),
             [a for _, a, _ in tranches], requested)
    return tranches


def _public_fields(valid: _Valid) -> Fields:
    """What of a project can reach the public, or a download (``grants.screening``)."""
    return [(N_("Title"), valid.title), (N_("Implementing unit"), valid.implementing_unit),
            (N_("Payee"), valid.payee), (N_("Summary"), valid.summary)]


def _apply(session: Session, project: Project, valid: _Valid) -> None:
    if project.id is not None:
        # Replace the plan's rows: the old ones go first, or (project, seq) would clash.
        project.budget_lines.clear()
        project.counts.clear()
        project.tranches.clear()
        project.reports.clear()
        session.flush()
    project.title, project.purpose = valid.title, valid.purpose
    project.implementing_unit, project.payee = valid.implementing_unit, valid.payee
    project.summary, project.requested_amount = valid.summary, valid.requested
    project.budget_lines = [BudgetLine(item=i, amount=a) for i, a in valid.budget]
    project.counts = [BeneficiaryCount(category=c, count=n) for c, n in valid.counts.items()]
    project.tranches = [Tranche(seq=n, planned_date=d, amount=a, condition=c, state="planned")
                        for n, (d, a, c) in enumerate(valid.tranches, start=1)]
    project.reports = [Report(kind="final", due_date=valid.final_due, state="due")] + (
        [Report(kind="progress", due_date=valid.progress_due, state="due")]
        if valid.progress_due else [])
    project.updated_at = clock.now()


def _record(session: Session, actor: Actor, project: Project, action: str, before: str, *,
            reason: str | None = None, ledger_ref: str | None = None,
            details: dict[str, object] | None = None) -> None:
    details = details or {}
    detail = (f"tranche:{details['tranche']}" if "tranche" in details
              else f"report:{details['report']}" if "report" in details else None)
    # Appended through the relationship so the loaded project sees it at once.
    project.transitions.append(Transition(
        action=action, from_state=before, to_state=project.state, user_id=actor.user_id,
        actor=actor.name, role=actor.role, at=clock.now(), reason=reason, detail=detail,
        ledger_ref=ledger_ref))
    # A step that posted names its entry, which verify checks against the journal.
    posted = {"entry": ledger_ref} if ledger_ref else {}
    audit.record(session, actor, f"project.{action}", "project", project.ref,
                 before={"state": before},
                 after={"state": project.state, **details, **posted}, reason=reason,
                 fund=project.fund.code)
    session.flush()


def _reason(step: str, reason: str | None) -> str | None:
    if STEPS[step].reason:
        return clean_text(reason, "Reason", required=True, limit=2000)
    return clean_text(reason, "Reason", limit=2000)


def _declared(no_conflict: bool) -> None:
    if no_conflict is not True:
        raise InvalidInput("Declare that you have no conflict of interest with the implementing "
                           "unit or the payee before you act.")


def create_project(session: Session, actor: Actor, data: ProjectInput) -> Project:
    """Civil affairs drafts a project in its own fund."""
    if actor.role != "civil_affairs":
        raise PermissionDenied("Only civil affairs users draft projects.")
    # The year's next number is counted under the fund's lock, so two people drafting at
    # once take turns here instead of both taking the same number.
    fund = find_fund(session, actor.fund or "", lock=True)
    valid = validate(fund, data)
    screen_public_text(session, [fund], _public_fields(valid))
    today = clock.today()
    count = session.execute(select(func.count()).select_from(Project).where(
        Project.fund_id == fund.id, Project.year == today.year)).scalar_one()
    now = clock.now()
    project = Project(fund_id=fund.id, fund=fund, ref=f"{fund.code}-{today.year}-{count + 1:03d}",
                      year=today.year, state=State.DRAFT.value, created_by=actor.user_id,
                      created_at=now, updated_at=now, requested_amount=valid.requested,
                      title=valid.title, purpose=valid.purpose,
                      implementing_unit=valid.implementing_unit, payee=valid.payee)
    session.add(project)
    _apply(session, project, valid)
    session.flush()
    _record(session, actor, project, "create", State.DRAFT.value,
            details={"requested": str(valid.requested), "purpose": valid.purpose})
    return project


def update_draft(session: Session, actor: Actor, project: Project, version: int,
                 data: ProjectInput) -> Project:
    """Civil affairs edits a draft or a returned project."""
    if project.fund.code != actor.fund or actor.role != "civil_affairs":
        raise PermissionDenied("Only civil affairs users of {fund} edit its projects.",
                               fund=project.fund.name)
    if State(project.state) not in EDITABLE:
        raise PermissionDenied("Only a draft or a returned project can be edited.")
    if version != project.version:
        raise Conflict("Someone changed this project after you opened it; reload it and "
                       "make your changes again.")
    valid = validate(project.fund, data)
    screen_public_text(session, [project.fund], _public_fields(valid))
    _apply(session, project, valid)
    session.flush()
    _record(session, actor, project, "edit", project.state,
            details={"requested": str(project.requested_amount)})
    return project


def submit(session: Session, actor: Actor, project: Project) -> None:
    # A child under 14 is never listed without the guardian's consent: the rule is kept
    # where the child is added (grants.beneficiaries) and by the table's check constraint.
    require_step(session, actor, project, "submit")
    before = project.state
    for approval in project.approvals:
        approval.void = True  # a resubmitted project is reviewed afresh
    project.state, project.submitted_by = State.SUBMITTED.value, actor.user_id
    _record(session, actor, project, "submit", before)


def return_for_revision(session: Session, actor: Actor, project: Project, reason: str) -> None:
    require_step(session, actor, project, "return")
    why = _reason("return", reason)
    before, project.state = project.state, State.RETURNED.value
    _record(session, actor, project, "return", before, reason=why)


def reject(session: Session, actor: Actor, project: Project, reason: str) -> None:
    require_step(session, actor, project, "reject")
    why = _reason("reject", reason)
    before, project.state = project.state, State.REJECTED.value
    _record(session, actor, project, "reject", before, reason=why)


def check(session: Session, actor: Actor, project: Project, *, no_conflict: bool,
          comment: str | None = None) -> None:
    """The charity office checks the project against the fund's rules."""
    require_step(session, actor, project, "check")
    _declared(no_conflict)
    room = available(session, project.fund, project.purpose)
    if room < project.requested_amount:
        purpose = load_chart(project.fund.chart).purpose(project.purpose)
        raise InvalidInput("{purpose} available {available}, requested {requested}.",
                           purpose=purpose.label, available=format_cny(room),
                           requested=format_cny(project.requested_amount))
    project.approvals.append(Approval(stage="check", user_id=actor.user_id,
                                      declared_no_conflict=True, at=clock.now()))
    before, project.state = project.state, State.CHECKED.value
    _record(session, actor, project, "check", before, reason=_reason("check", comment))


def dual_threshold(session: Session, fund: Fund) -> Decimal:
    policy = session.get(FundPolicy, fund.id)
    return policy.dual_approval_threshold if policy else DEFAULT_DUAL_APPROVAL_THRESHOLD


def approve(session: Session, actor: Actor, project: Project, *, amount: object,
            no_conflict: bool, comment: str | None = None) -> bool:
    """Finance approves; above the fund's threshold two different finance users must.

    Returns True when the project is approved (its commitment posted), False when this
    was the first of two approvals.
    """
    require_step(session, actor, project, "approve")
    _declared(no_conflict)
    screen_project(session, project)  # made public by this step; a child may be listed since
    value = parse_amount(amount)
    if value > project.requested_amount:
        raise InvalidInput("The approved amount {approved} cannot exceed the requested "
                           "{requested}.",
                           approved=format_cny(value),
                           requested=format_cny(project.requested_amount))
    earlier = [a for a in project.approvals if a.stage == "approve" and not a.void]
    if earlier and earlier[0].amount != value:
        raise Conflict("The first approver approved {amount}; approve the same amount or "
                       "return the project.", amount=format_cny(earlier[0].amount or ZERO))
    project.approvals.append(Approval(stage="approve", user_id=actor.user_id, amount=value,
                                      declared_no_conflict=True, at=clock.now()))
    why = _reason("approve", comment)
    if value > dual_threshold(session, project.fund) and not earlier:
        _record(session, actor, project, "approve_first", project.state, reason=why,
                details={"amount": str(value)})
        return False
    before = project.state
    project.approved_amount = value
    _rescale_tranches(project, value)
    entry = events.post_commitment(session, actor, project.fund.code, date=clock.today(),
                                   amount=value, grant=project.ref, purpose=project.purpose,
                                   payee=project.implementing_unit,
                                   narration=f"{project.title}（项目批准）")
    project.state = State.APPROVED.value
    _record(session, actor, project, "approve", before, reason=why,
            ledger_ref=f"{entry.fund}#{entry.seq}", details={"amount": str(value)})
    return True


def _rescale_tranches(project: Project, approved: Decimal) -> None:
    """An approval below the request scales the tranches; the last takes the rounding."""
    if approved == project.requested_amount:
        return
    tranches = project.tranches
    scaled = [(t.amount * approved / project.requested_amount).quantize(Decimal("0.01"))
              for t in tranches[:-1]]
    remainder = approved - sum(scaled, ZERO)
    if remainder <= 0 or any(a <= 0 for a in scaled):
        raise InvalidInput("The approved amount is too small to split into the planned tranches.")
    for tranche, amount in zip(tranches, [*scaled, remainder], strict=True):
        tranche.amount = amount


def _tranche(project: Project, seq: int) -> Tranche:
    for tranche in project.tranches:
        if tranche.seq == seq:
            return tranche
    raise InvalidInput("Project {ref} has no tranche {seq}.", ref=project.ref, seq=seq)


def _report(project: Project, report_id: int) -> Report:
    for report in project.reports:
        if report.id == report_id:
            return report
    raise InvalidInput("Project {ref} has no such report.", ref=project.ref)


def request_tranche(session: Session, actor: Actor, project: Project, seq: int) -> None:
    require_step(session, actor, project, "request_tranche")
    tranche = _tranche(project, seq)
    if tranche.state != "planned":
        raise Conflict("Tranche {seq} has already been requested.", seq=seq)
    if tranche.condition == "progress_report" and not any(
            r.kind == "progress" and r.state == "accepted" for r in project.reports):
        raise InvalidInput("Tranche {seq} waits for an accepted progress report.", seq=seq)
    tranche.state, tranche.requested_by = "requested", actor.user_id
    _record(session, actor, project, "request_tranche", project.state,
            details={"tranche": seq, "amount": str(tranche.amount)})


def approve_tranche(session: Session, actor: Actor, project: Project, seq: int, *,
                    no_conflict: bool) -> None:
    require_step(session, actor, project, "approve_tranche")
    _declared(no_conflict)
    tranche = _tranche(project, seq)
    if tranche.state != "requested":
        raise Conflict("Tranche {seq} is not waiting for approval.", seq=seq)
    tranche.state, tranche.approved_by = "approved", actor.user_id
    project.approvals.append(Approval(tranche_id=tranche.id, stage="tranche",
                                      user_id=actor.user_id, amount=tranche.amount,
                                      declared_no_conflict=True, at=clock.now()))
    _record(session, actor, project, "approve_tranche", project.state,
            details={"tranche": seq, "amount": str(tranche.amount)})


def _not_paid_yet(project: Project, seq: int) -> Tranche:
    tranche = _tranche(project, seq)
    if tranche.state == "paid":
        raise Conflict("Tranche {seq} has already been paid.", seq=seq)
    return tranche


def pay_tranche(session: Session, actor: Actor, project: Project, seq: int, *, bank_ref: str,
                paid_on: dt.date | None = None) -> None:
    """The charity office pays an approved tranche from the dedicated account."""
    try:
        require_step(session, actor, project, "pay_tranche")
    except Conflict:  # the project is paid in full: say which payment is done
        _not_paid_yet(project, seq)
        raise
    tranche = _not_paid_yet(project, seq)
    if tranche.state != "approved":
        raise Conflict("Tranche {seq} is not approved for payment.", seq=seq)
    if actor.user_id == tranche.approved_by:
        raise PermissionDenied("The payer cannot be the person who approved the disbursement.")
    ref = clean_text(bank_ref, "Bank reference", required=True, limit=80) or ""
    day = paid_on or clock.today()
    entry = events.post_disbursement(session, actor, project.fund.code, date=day,
                                     amount=tranche.amount, grant=project.ref, bank_ref=ref,
                                     payee=project.payee,
                                     narration=f"{project.title}（第{seq}笔拨付）")
    tranche.state, tranche.paid_by, tranche.paid_on, tranche.bank_ref = (
        "paid", actor.user_id, day, ref)
    tranche.ledger_ref = f"{entry.fund}#{entry.seq}"
    before = project.state
    project.state = (State.PAID if project.paid_amount == project.approved_amount
                     else State.PARTIALLY_PAID).value
    _record(session, actor, project, "pay_tranche", before, ledger_ref=tranche.ledger_ref,
            details={"tranche": seq, "amount": str(tranche.amount), "bank_ref": ref})


def file_report(session: Session, actor: Actor, project: Project, report_id: int, *,
                body: str, spent_amount: object = None) -> None:
    require_step(session, actor, project, "file_report")
    report = _report(project, report_id)
    if report.state != "due":
        raise Conflict("This report has already been filed.")
    text = (body or "").strip()
    if not text:
        raise InvalidInput("{field} is required.", field="报告内容")
    if report.kind == "final":
        spent = parse_amount(spent_amount, allow_zero=True)
        if spent > project.paid_amount:
            raise InvalidInput("The project reports spending {spent} but was paid {paid}.",
                               spent=format_cny(spent), paid=format_cny(project.paid_amount))
        report.spent_amount = spent
    report.body, report.state = text[:20000], "filed"
    report.filed_by, report.filed_on = actor.user_id, clock.today()
    _record(session, actor, project, "file_report", project.state,
            details={"report": report.kind})


def accept_report(session: Session, actor: Actor, project: Project, report_id: int) -> None:
    require_step(session, actor, project, "accept_report")
    report = _report(project, report_id)
    if report.state != "filed":
        raise Conflict("Only a filed report can be accepted.")
    if actor.user_id == report.filed_by:
        raise PermissionDenied("Nobody may accept a report they filed.")
    report.state, report.accepted_by = "accepted", actor.user_id
    before = project.state
    if report.kind == "final":
        if any(t.state in ("requested", "approved") for t in project.tranches):
            raise InvalidInput("Finish paying the tranches already requested or approved "
                               "before accepting the final report.")
        project.state = State.COMPLETED.value
    _record(session, actor, project, "accept_report", before, details={"report": report.kind})


def return_report(session: Session, actor: Actor, project: Project, report_id: int,
                  reason: str) -> None:
    require_step(session, actor, project, "return_report")
    report = _report(project, report_id)
    if report.state != "filed":
        raise Conflict("Only a filed report can be returned.")
    report.state, report.return_reason = "due", _reason("return_report", reason)
    _record(session, actor, project, "return_report", project.state, reason=report.return_reason,
            details={"report": report.kind})


def unspent(project: Project) -> Decimal:
    """Money paid to the project that its final report says was not spent."""
    final = next((r for r in project.reports if r.kind == "final" and r.state == "accepted"),
                 None)
    if final is None or final.spent_amount is None:
        return ZERO
    return project.paid_amount - final.spent_amount


def unspent_returned(project: Project) -> bool:
    return any(t.action == "return_unspent" for t in project.transitions)


def return_unspent(session: Session, actor: Actor, project: Project, *, bank_ref: str,
                   received_on: dt.date | None = None) -> None:
    require_step(session, actor, project, "return_unspent")
    amount = unspent(project)
    if amount <= 0 or unspent_returned(project):
        raise Conflict("This project has no unspent money to return.")
    ref = clean_text(bank_ref, "Bank reference", required=True, limit=80) or ""
    entry = events.post_unspent_return(session, actor, project.fund.code,
                                       date=received_on or clock.today(), amount=amount,
                                       grant=project.ref, bank_ref=ref, reason="项目结余退回")
    _record(session, actor, project, "return_unspent", project.state,
            ledger_ref=f"{entry.fund}#{entry.seq}",
            details={"amount": str(amount), "bank_ref": ref})


def _release_rest(session: Session, actor: Actor, project: Project, reason: str) -> str | None:
    rest = (project.approved_amount or ZERO) - project.paid_amount
    if rest <= 0:
        return None
    entry = events.post_release(session, actor, project.fund.code, date=clock.today(),
                                amount=rest, grant=project.ref, reason=reason)
    return f"{entry.fund}#{entry.seq}"


def close(session: Session, actor: Actor, project: Project) -> None:
    """Finance closes a completed project; any unpaid commitment is released."""
    require_step(session, actor, project, "close")
    if unspent(project) > 0 and not unspent_returned(project):
        raise InvalidInput("The unspent {amount} must be returned before the project closes.",
                           amount=format_cny(unspent(project)))
    ledger_ref = _release_rest(session, actor, project, "项目结项，释放未拨付资金")
    before, project.state = project.state, State.CLOSED.value
    _record(session, actor, project, "close", before, ledger_ref=ledger_ref)


def cancel(session: Session, actor: Actor, project: Project, reason: str) -> None:
    """Finance cancels an approved project; the unpaid commitment is released."""
    require_step(session, actor, project, "cancel")
    why = _reason("cancel", reason) or ""
    ledger_ref = _release_rest(session, actor, project, why)
    before, project.state = project.state, State.CANCELLED.value
    _record(session, actor, project, "cancel", before, reason=why, ledger_ref=ledger_ref)


def available_steps(session: Session, actor: Actor, project: Project) -> list[str]:
    """The steps this user could take on this project now (for pages and the API)."""
    allowed = []
    for name in STEPS:
        try:
            require_step(session, actor, project, name)
        except (PermissionDenied, Conflict):
            continue
        allowed.append(name)
    return allowed



@dataclass(frozen=True)
class StepInput:
    """What any step may carry; each step reads only its own fields. The pages' step
    forms and the API's transition bodies both arrive as this."""

    reason: str | None = None
    comment: str | None = None
    amount: object = None
    no_conflict: bool = False
    seq: int | None = None
    bank_ref: str | None = None
    paid_on: dt.date | None = None
    report_id: int | None = None
    body: str | None = None
    spent_amount: object = None


def _needed(value: int | None) -> int:
    if value is None:
        raise InvalidInput("Please check what you entered.")
    return value


_STEP_CALLS: dict[str, Callable[[Session, Actor, Project, StepInput], object]] = {
    "submit": lambda s, a, p, i: submit(s, a, p),
    "return": lambda s, a, p, i: return_for_revision(s, a, p, i.reason or ""),
    "reject": lambda s, a, p, i: reject(s, a, p, i.reason or ""),
    "check": lambda s, a, p, i: check(s, a, p, no_conflict=i.no_conflict,
                                      comment=i.comment or i.reason or None),
    "approve": lambda s, a, p, i: approve(s, a, p, amount=i.amount or "",
                                          no_conflict=i.no_conflict,
                                          comment=i.comment or i.reason or None),
    "request_tranche": lambda s, a, p, i: request_tranche(s, a, p, _needed(i.seq)),
    "approve_tranche": lambda s, a, p, i: approve_tranche(s, a, p, _needed(i.seq),
                                                          no_conflict=i.no_conflict),
    "pay_tranche": lambda s, a, p, i: pay_tranche(s, a, p, _needed(i.seq),
                                                  bank_ref=i.bank_ref or "", paid_on=i.paid_on),
    "file_report": lambda s, a, p, i: file_report(s, a, p, _needed(i.report_id),
                                                  body=i.body or "",
                                                  spent_amount=i.spent_amount or "0"),
    "accept_report": lambda s, a, p, i: accept_report(s, a, p, _needed(i.report_id)),
    "return_report": lambda s, a, p, i: return_report(s, a, p, _needed(i.report_id),
                                                      i.reason or ""),
    "return_unspent": lambda s, a, p, i: return_unspent(s, a, p, bank_ref=i.bank_ref or "",
                                                        received_on=i.paid_on),
    "close": lambda s, a, p, i: close(s, a, p),
    "cancel": lambda s, a, p, i: cancel(s, a, p, i.reason or ""),
}
assert set(_STEP_CALLS) == set(STEPS), "every step of grants.states has its operation"


def take_step(session: Session, actor: Actor, project: Project, name: str,
              data: StepInput) -> object:
    """Take the named step of ``grants.states.STEPS`` (the approve step answers False
    when it recorded the first of two approvals)."""
    if name not in _STEP_CALLS:
        raise NotFound("There is no step {name}.", name=name[:40])
    return _STEP_CALLS[name](session, actor, project, data)
