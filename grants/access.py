"""Who may see and do what, in one place (the web pages and the API both ask here).

A user sees and acts only inside their jurisdiction; city-level finance and
auditors may also read (never act on) the counties below them. Outside what a
user may see, things do not exist for them (NotFound), so a county cannot probe
another county's projects.
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import ROLE_LABELS, Actor
from core.errors import Conflict, NotFound, PermissionDenied
from core.i18n import gettext
from grants.models import Project
from grants.states import STATE_LABELS, STEPS, State
from ledger.models import Fund
from people.models import RelatedParty

READ_DOWN_ROLES = frozenset({"finance", "auditor"})
# Roles that may see beneficiaries' names and ID numbers (DESIGN §3).
CHILD_DATA_ROLES = frozenset({"civil_affairs", "auditor"})


def visible_fund_ids(session: Session, actor: Actor) -> list[int]:
    own = session.execute(select(Fund.id).where(Fund.code == actor.fund)).scalar_one_or_none()
    if own is None:
        return []
    ids = [own]
    if actor.city_level and actor.role in READ_DOWN_ROLES:
        ids += session.execute(select(Fund.id).where(Fund.parent_id == own)).scalars().all()
    return ids


def can_read_fund(actor: Actor, fund: Fund) -> bool:
    if actor.role == "admin":
        return False  # admins manage users and funds, never money
    if fund.code == actor.fund:
        return True
    return (actor.city_level and actor.role in READ_DOWN_ROLES
            and fund.parent is not None and fund.parent.code == actor.fund)


def require_fund(actor: Actor, fund: Fund) -> Fund:
    if not can_read_fund(actor, fund):
        raise NotFound("There is no fund with code {code}.", code=fund.code)
    return fund


def require_acting(actor: Actor, fund: Fund, *roles: str) -> Fund:
    """The fund, if the actor acts in it with one of these roles: the one rule for a fund's
    money steps through every door (pages, API, console). A fund the actor may not even
    read does not exist for them."""
    require_fund(actor, fund)
    if actor.fund != fund.code or actor.role not in roles:
        raise PermissionDenied("Only users of {fund} with the right role may do this.",
                               fund=fund.name)
    return fund


def get_project(session: Session, actor: Actor, project_id: int, *,
                for_update: bool = False) -> Project:
    stmt = select(Project).where(Project.id == project_id)
    if for_update:
        stmt = stmt.with_for_update(of=Project)
    project = session.execute(stmt).unique().scalar_one_or_none()
    if project is None or not can_read_fund(actor, project.fund):
        raise NotFound("There is no project {id}.", id=project_id)
    return project


def _normalize(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().casefold().replace(" ", "")


def conflicts(session: Session, actor: Actor, project: Project) -> list[str]:
    """The parties of this project the actor declared a relationship with."""
    if actor.user_id is None:
        return []
    declared = {_normalize(p) for p in session.execute(
        select(RelatedParty.party).where(RelatedParty.user_id == actor.user_id)).scalars()}
    return [p for p in (project.implementing_unit, project.payee) if _normalize(p) in declared]


def approvers(project: Project, stage: str) -> set[int]:
    return {a.user_id for a in project.approvals if a.stage == stage and not a.void}


def require_step(session: Session, actor: Actor, project: Project, step_name: str) -> None:
    """Refuse unless this actor may take this step on this project now: PermissionDenied
    for the person, Conflict for the project's state."""
    step = STEPS[step_name]
    state = State(project.state)
    if project.fund.code != actor.fund:
        raise PermissionDenied("Only users of {fund} can act on its projects; "
                               "you may read them.", fund=project.fund.name)
    # The role comes before the state: someone who may never take a step learns that,
    # not that the project is in the wrong state for it.
    roles = [step.roles[state]] if state in step.roles else sorted(set(step.roles.values()))
    if actor.role not in roles:
        raise PermissionDenied("“{step}” is for {role} users.", step=gettext(step.label),
                               role=" / ".join(gettext(ROLE_LABELS[r]) for r in roles))
    if state not in step.roles:
        # The right person at the wrong moment (often: it is already done) is a
        # conflict with the project's state, not a refusal of the person.
        raise Conflict("“{step}” is not possible while the project is “{state}”.",
                       step=gettext(step.label), state=gettext(STATE_LABELS[state]))
    if project.created_by == actor.user_id and step_name not in OWN_STEPS:
        raise PermissionDenied("Nobody may review, approve or pay a project they drafted.")
    if step_name in ("approve", "approve_tranche") and actor.user_id == project.submitted_by:
        raise PermissionDenied("Nobody may approve what they submitted.")
    if step_name == "approve" and actor.user_id in approvers(project, "approve"):
        raise PermissionDenied("You have already approved this project; a second, different "
                               "finance approver is needed.")
    if step_name == "pay_tranche" and actor.user_id in approvers(project, "approve"):
        raise PermissionDenied("The payer cannot be a person who approved the project.")
    if step.declare or step_name == "pay_tranche":
        related = conflicts(session, actor, project)
        if related:
            raise PermissionDenied(
                "You declared a relationship with {party}; you must recuse yourself from "
                "this project.", party="、".join(related))


# Steps a project's own drafters take; every other step is someone else's review.
OWN_STEPS = frozenset({"submit", "request_tranche", "file_report"})


def can_see_children(actor: Actor, project: Project) -> bool:
    """Names and ID numbers: civil affairs and auditors of the project's own jurisdiction."""
    return actor.role in CHILD_DATA_ROLES and project.fund.code == actor.fund

