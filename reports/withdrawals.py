"""Withdrawing a published item from public view (DESIGN §9).

Screening (``grants.screening``) keeps children's data out of what is published; if
something gets through all the same -- a name typed before the child was listed, a
donor who should not have been named -- it is withdrawn:

1. a finance or charity office user of the fund proposes it, with the reason;
2. a user of the *other* of those two roles in the fund confirms it (separation of
   duties, DESIGN §1: never the proposer, never the proposer's role), or either
   cancels the proposal;
3. on confirmation a correction notice is published that says that something was
   withdrawn and why -- never what it said -- and from that moment the public pages,
   the public page cache (it is keyed by the audit chain, which this moves), open data
   and the published PDFs stop showing it.

What can be withdrawn, and what the public sees afterwards:

- ``project`` (its number): its title, implementing unit and summary; the project
  stays listed with its money, so the figures still add up, marked as withdrawn;
- ``donation`` (the number of a receipt that stands for it): the donor line of the
  donation, whatever receipt replaces that one later; the amount stays listed;
- ``engagement`` (its number): the whole published audit result;
- ``annual-report`` (its year): its narrative; the published PDF is replaced by a
  corrected edition whose sections say they were withdrawn;
- ``correction`` (its number): a correction notice.

A published annual report that printed a withdrawn audit result or correction is
replaced by a corrected edition too. Each replaced edition keeps its file and digest
(``AnnualEdition``) for auditors only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

import audit
from core import clock
from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.i18n import N_
from core.reading import clean_text
from grants.models import Project
from grants.screening import screen_public_text
from grants.states import PUBLIC_LABELS
from ledger.income_models import Receipt
from ledger.journal import find_fund
from ledger.models import Fund
from reports import annual
from reports.models import AnnualReport, Correction, Engagement, Withdrawal

ROLES = ("finance", "charity_office")
KINDS = {
    "project": N_("A project's public description"),
    "donation": N_("A donation's donor line"),
    "engagement": N_("A published audit result"),
    "annual-report": N_("An annual report's narrative"),
    "correction": N_("A correction notice"),
}
# How the notice names the item withdrawn: its kind and number, never its content.
_NOTICE_NAMES = {
    "project": "项目 {ref} 的公示信息（项目名称、实施单位、概述）",
    "donation": "捐赠票据 {ref} 所载捐赠的捐赠人公示信息",
    "engagement": "第 {ref} 号审计结果",
    "annual-report": "{ref} 年度工作和财务报告的文字部分（已换发更正版）",
    "correction": "第 {ref} 号更正公告",
}
NOTICE_TITLE = "撤回公示内容"
PUBLIC_STATES = tuple(state.value for state in PUBLIC_LABELS)


@dataclass(frozen=True)
class Target:
    fund: Fund
    target_id: int
    ref: str


def _project(session: Session, fund: Fund, ref: str) -> Target:
    project = session.execute(select(Project).where(
        Project.fund_id == fund.id, Project.ref == ref.upper())).scalar_one_or_none()
    if project is None or project.state not in PUBLIC_STATES:
        raise NotFound("{fund} has no published project {ref}.", fund=fund.code, ref=ref[:40])
    return Target(fund, project.id, project.ref)


def _donation(session: Session, fund: Fund, ref: str) -> Target:
    receipt = session.execute(select(Receipt).where(
        Receipt.fund_id == fund.id, Receipt.code == ref.upper())).unique().scalar_one_or_none()
    if receipt is None:
        raise NotFound("{fund} has no donation receipt {ref}.", fund=fund.code, ref=ref[:40])
    if receipt.donor.publish != "name":
        raise InvalidInput("This donation is published as anonymous: it names nobody.")
    return Target(fund, receipt.entry_id, receipt.code)


def _number(ref: str) -> int:
    if not ref.strip().isascii() or not ref.strip().isdigit() or len(ref.strip()) > 9:
        raise InvalidInput("Name it by its number.")
    return int(ref)


def _engagement(session: Session, fund: Fund, ref: str) -> Target:
    engagement = session.get(Engagement, _number(ref))
    if engagement is None or engagement.fund_id != fund.id or engagement.state != "published":
        raise NotFound("{fund} has no published audit result {ref}.", fund=fund.code,
                       ref=ref[:40])
    return Target(fund, engagement.id, str(engagement.id))


def _annual_report(session: Session, fund: Fund, ref: str) -> Target:
    report = session.execute(select(AnnualReport).where(
        AnnualReport.fund_id == fund.id, AnnualReport.year == _number(ref),
        AnnualReport.state == "published")).scalar_one_or_none()
    if report is None:
        raise NotFound("The annual report {year} of {fund} is not published.",
                       year=ref[:10], fund=fund.code)
    return Target(fund, report.id, str(report.year))


def _correction(session: Session, fund: Fund, ref: str) -> Target:
    notice = session.get(Correction, _number(ref))
    if notice is None or notice.fund_id != fund.id:
        raise NotFound("{fund} has no correction notice {ref}.", fund=fund.code, ref=ref[:40])
    return Target(fund, notice.id, str(notice.id))


_FIND: dict[str, Callable[[Session, Fund, str], Target]] = {
    "project": _project, "donation": _donation, "engagement": _engagement,
    "annual-report": _annual_report, "correction": _correction,
}


def _of_fund(actor: Actor, fund: Fund) -> None:
    if actor.role not in ROLES or actor.fund != fund.code:
        raise PermissionDenied("Only finance and charity office users of {fund} withdraw its "
                               "published items.", fund=fund.name)


def propose(session: Session, actor: Actor, fund_code: str, *, kind: str, ref: str,
            reason: str) -> Withdrawal:
    """A finance or charity office user proposes to withdraw a published item."""
    fund = find_fund(session, fund_code)
    _of_fund(actor, fund)
    if kind not in _FIND:
        raise InvalidInput("Unknown kind of published item “{value}”.", value=str(kind)[:30])
    target = _FIND[kind](session, fund, clean_text(ref, "Number", required=True, limit=40) or "")
    why = clean_text(reason, "Reason", required=True, limit=500) or ""
    # The reason is published: it says why, and must not itself repeat what leaked.
    screen_public_text(session, [fund], [(N_("Reason"), why)])
    if session.execute(select(Withdrawal.id).where(
            Withdrawal.kind == kind, Withdrawal.target_id == target.target_id,
            Withdrawal.live.is_(True))).first():
        raise Conflict("{ref} is already withdrawn, or proposed for withdrawal.", ref=target.ref)
    row = Withdrawal(fund_id=fund.id, fund=fund, kind=kind, target_id=target.target_id,
                     ref=target.ref, reason=why, state="proposed", live=True,
                     proposed_by=actor.name, proposed_by_id=actor.user_id,
                     proposed_role=actor.role, proposed_at=clock.now())
    session.add(row)
    session.flush()
    audit.record(session, actor, "withdrawal.propose", "withdrawal", row.id,
                 after={"fund": fund.code, "kind": kind, "ref": target.ref, "reason": why},
                 fund=fund.code)
    return row


def get_withdrawal(session: Session, actor: Actor, withdrawal_id: int, *,
                   for_update: bool = False) -> Withdrawal:
    stmt = select(Withdrawal).where(Withdrawal.id == withdrawal_id)
    if for_update:
        stmt = stmt.with_for_update(of=Withdrawal)
    row = session.execute(stmt).unique().scalar_one_or_none()
    if row is None or actor.fund != row.fund.code or actor.role not in (*ROLES, "auditor"):
        raise NotFound("There is no withdrawal {id}.", id=withdrawal_id)
    return row


def _pending(row: Withdrawal) -> None:
    if row.state != "proposed":
        raise Conflict("This withdrawal has already been decided.")


def confirm(session: Session, actor: Actor, withdrawal_id: int, *, folder: Path) -> Withdrawal:
    """A user of the other role confirms: the item leaves public view, the notice is
    published, and every published annual report that printed it gets a corrected
    edition, written into ``folder`` (the published reports' folder)."""
    row = get_withdrawal(session, actor, withdrawal_id, for_update=True)
    _of_fund(actor, row.fund)
    if actor.role == row.proposed_role or (actor.user_id is not None
                                           and actor.user_id == row.proposed_by_id) \
            or actor.name == row.proposed_by:
        raise PermissionDenied("A withdrawal is confirmed by a user of the other role: "
                               "finance confirms the charity office's, and the reverse.")
    _pending(row)
    now = clock.now()
    notice = Correction(
        fund_id=row.fund_id, fund=row.fund, subject=f"{row.kind}:{row.ref}"[:80],
        title=NOTICE_TITLE, published_by=actor.name, published_at=now,
        text=f"{_NOTICE_NAMES[row.kind].format(ref=row.ref)}已撤回，不再公开。"
             f"撤回原因：{row.reason}")
    session.add(notice)
    session.flush()
    row.state, row.correction_id = "confirmed", notice.id
    row.decided_by, row.decided_by_id, row.decided_role, row.decided_at = (
        actor.name, actor.user_id, actor.role, now)
    session.flush()
    audit.record(session, actor, "withdrawal.confirm", "withdrawal", row.id,
                 before={"state": "proposed"},
                 after={"state": "confirmed", "kind": row.kind, "ref": row.ref,
                        "correction": notice.id}, fund=row.fund.code)
    for report in _reports_printing(session, row):
        annual.reissue(session, actor, report, withdrawal_id=row.id, folder=folder)
    return row


def cancel(session: Session, actor: Actor, withdrawal_id: int) -> Withdrawal:
    """Either role of the fund drops a proposal that was not confirmed."""
    row = get_withdrawal(session, actor, withdrawal_id, for_update=True)
    _of_fund(actor, row.fund)
    _pending(row)
    row.state, row.live = "cancelled", None
    row.decided_by, row.decided_by_id, row.decided_role, row.decided_at = (
        actor.name, actor.user_id, actor.role, clock.now())
    session.flush()
    audit.record(session, actor, "withdrawal.cancel", "withdrawal", row.id,
                 before={"state": "proposed"}, after={"state": "cancelled"}, fund=row.fund.code)
    return row


def _reports_printing(session: Session, row: Withdrawal) -> list[AnnualReport]:
    """The published annual reports whose PDF prints the withdrawn item."""
    if row.kind == "annual-report":
        return [session.get_one(AnnualReport, row.target_id)]
    if row.kind == "engagement":
        engagement = session.get_one(Engagement, row.target_id)
        years = range(engagement.period_start.year, engagement.period_end.year + 1)
    elif row.kind == "correction":
        notice = session.get_one(Correction, row.target_id)
        kind, _, year = notice.subject.partition(":")
        if kind != "annual-report" or not year.isdigit():
            return []
        years = range(int(year), int(year) + 1)
    else:
        return []  # the annual report prints no project's or donor's text
    fund = row.fund
    funds = [fund.id] + ([fund.parent_id] if fund.parent_id is not None else [])
    reports = session.execute(select(AnnualReport).where(
        AnnualReport.fund_id.in_(funds), AnnualReport.state == "published",
        AnnualReport.year.in_(list(years)))).scalars()
    return [r for r in reports if r.fund_id == fund.id or r.consolidated]


def list_withdrawals(session: Session, actor: Actor, fund_code: str) -> list[Withdrawal]:
    """The fund's withdrawals, newest first, for its finance, charity office and auditors."""
    fund = find_fund(session, fund_code)
    if actor.role not in (*ROLES, "auditor") or actor.fund != fund.code:
        raise PermissionDenied("Only finance and charity office users of {fund} withdraw its "
                               "published items.", fund=fund.name)
    return list(session.execute(select(Withdrawal).where(Withdrawal.fund_id == fund.id)
                                .order_by(Withdrawal.id.desc())).unique().scalars())
