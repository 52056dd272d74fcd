"""What waits for whom: the "waiting for me" list of each role."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.actors import Actor
from core.errors import Conflict, PermissionDenied
from grants.access import approvers, require_step
from grants.models import Project
from grants.operations import unspent, unspent_returned
from grants.states import State
from ledger.models import Fund

# Which project states may hold work for each role.
_STATES = {
    "civil_affairs": {State.DRAFT, State.RETURNED, State.APPROVED, State.PARTIALLY_PAID,
                      State.PAID},
    "charity_office": {State.SUBMITTED, State.APPROVED, State.PARTIALLY_PAID, State.COMPLETED},
    "finance": {State.CHECKED, State.APPROVED, State.PARTIALLY_PAID, State.PAID,
                State.COMPLETED},
}


@dataclass(frozen=True)
class Waiting:
    project: Project
    step: str
    detail: str = ""  # e.g. tranche number or report kind
    overdue: bool = False


def waiting_for(session: Session, actor: Actor) -> list[Waiting]:
    states = _STATES.get(actor.role)
    if not states:
        return []
    projects = session.execute(
        select(Project).join(Fund, Fund.id == Project.fund_id)
        .where(Fund.code == actor.fund, Project.state.in_([s.value for s in states]))
        .order_by(Project.updated_at)
    ).unique().scalars()
    found: list[Waiting] = []
    today = clock.today()
    for project in projects:
        for item in _items(project, actor, today):
            try:
                require_step(session, actor, project, item.step)
            except (PermissionDenied, Conflict):
                continue
            found.append(item)
    return found


def _items(project: Project, actor: Actor, today: dt.date) -> list[Waiting]:
    state = State(project.state)
    items: list[Waiting] = []
    if state in (State.DRAFT, State.RETURNED):
        items.append(Waiting(project, "submit"))
    elif state == State.SUBMITTED:
        items.append(Waiting(project, "check"))
    elif state == State.CHECKED and actor.user_id not in approvers(project, "approve"):
        items.append(Waiting(project, "approve"))
    elif state == State.COMPLETED:
        if unspent(project) > 0 and not unspent_returned(project):
            items.append(Waiting(project, "return_unspent"))
        else:
            items.append(Waiting(project, "close"))
    return items + _tranche_and_report_items(project, state, today)


def _tranche_and_report_items(project: Project, state: State, today: dt.date) -> list[Waiting]:
    items: list[Waiting] = []
    accepted_progress = any(r.kind == "progress" and r.state == "accepted"
                            for r in project.reports)
    for tranche in project.tranches:
        if tranche.state == "planned" and (tranche.condition == "none" or accepted_progress):
            items.append(Waiting(project, "request_tranche", str(tranche.seq)))
        elif tranche.state == "requested":
            items.append(Waiting(project, "approve_tranche", str(tranche.seq)))
        elif tranche.state == "approved":
            items.append(Waiting(project, "pay_tranche", str(tranche.seq)))
    for report in project.reports:
        if report.state == "due" and state in (State.APPROVED, State.PARTIALLY_PAID, State.PAID):
            items.append(Waiting(project, "file_report", report.kind, report.overdue(today)))
        elif report.state == "filed":
            items.append(Waiting(project, "accept_report", report.kind))
    return items
