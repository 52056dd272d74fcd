"""Finding projects: the list with its filters, shared by the pages and the API so both
show a user exactly the same projects."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.actors import Actor
from grants.access import visible_fund_ids
from grants.models import Project
from grants.states import State
from ledger.chart import load_chart
from ledger.models import Fund


@dataclass(frozen=True)
class Filters:
    fund: str | None = None  # fund code
    purpose: str | None = None  # key or Chinese name
    state: str | None = None
    year: int | None = None
    text: str | None = None  # in the title, number or implementing unit


@dataclass(frozen=True)
class ProjectPage:
    projects: list[Project]
    page: int
    pages: int
    total: int


def find_projects(session: Session, actor: Actor, filters: Filters, *, page: int,
                  per_page: int) -> ProjectPage:
    """The projects the actor may read that match, most recently changed first. A page
    past the last is the last."""
    stmt = select(Project).where(Project.fund_id.in_(visible_fund_ids(session, actor)))
    if filters.fund:
        stmt = stmt.join(Fund, Fund.id == Project.fund_id).where(
            Fund.code == filters.fund.upper())
    if filters.purpose:
        stmt = stmt.where(Project.purpose == load_chart().purpose(filters.purpose).key)
    if filters.state in {s.value for s in State}:
        stmt = stmt.where(Project.state == filters.state)
    if filters.year is not None:
        stmt = stmt.where(Project.year == filters.year)
    if text := (filters.text or "").strip()[:100]:
        pattern = f"%{text}%"
        stmt = stmt.where(or_(Project.title.ilike(pattern), Project.ref.ilike(pattern),
                              Project.implementing_unit.ilike(pattern)))
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    projects = session.execute(
        stmt.order_by(Project.updated_at.desc(), Project.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).unique().scalars().all()
    return ProjectPage(list(projects), page, pages, total)
