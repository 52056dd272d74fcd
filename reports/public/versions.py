"""When a public page may have changed: the counts of changes (``audit.models.PublicVersion``)
of the funds it shows. A fund's page shows the fund, the city above it (its name) and the
counties below it (their figures); the list of funds and the open data of every fund show
them all; actions of no fund count for every page."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from audit.models import PublicVersion
from people.models import Jurisdiction


def public_version(session: Session, fund_code: str | None) -> tuple[int, str | None]:
    """How many times what the pages of ``fund_code`` (None: of every fund) show has
    changed, and when it last did. Counts only grow, so the sum changes with any of them."""
    stmt = select(func.coalesce(func.sum(PublicVersion.version), 0),
                  func.max(PublicVersion.changed_at))
    if fund_code is not None:
        fund, near = aliased(Jurisdiction), aliased(Jurisdiction)
        related = select(near.code).join(fund, or_(
            near.id == fund.id, near.id == fund.parent_id, near.parent_id == fund.id)).where(
            fund.code == fund_code.upper())
        stmt = stmt.where(or_(PublicVersion.fund == "", PublicVersion.fund.in_(related)))
    total, last = session.execute(stmt).one()
    return int(total), last
