"""When a public page may have changed: the counts of changes (``audit.models.PublicVersion``)
of the funds it shows. A fund's page shows the fund, the city above it (its name) and the
counties below it (their figures); the list of funds and the open data of every fund show
them all; actions of no fund count for every page."""

from __future__ import annotations

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from audit.models import PublicVersion
from people.models import Jurisdiction

# Every public request asks, before anything else: built once, with the fund's code bound
# at each call (building the aliased join took most of a cached page's time).
_EVERY_FUND = select(func.coalesce(func.sum(PublicVersion.version), 0),
                     func.max(PublicVersion.changed_at))
_FUND, _NEAR = aliased(Jurisdiction), aliased(Jurisdiction)
_ONE_FUND = _EVERY_FUND.where(or_(
    PublicVersion.fund == "",
    PublicVersion.fund.in_(select(_NEAR.code).join(_FUND, or_(
        _NEAR.id == _FUND.id, _NEAR.id == _FUND.parent_id, _NEAR.parent_id == _FUND.id))
        .where(_FUND.code == bindparam("code")))))


def public_version(session: Session, fund_code: str | None) -> tuple[int, str | None]:
    """How many times what the pages of ``fund_code`` (None: of every fund) show has
    changed, and when it last did. Counts only grow, so the sum changes with any of them."""
    if fund_code is None:
        total, last = session.execute(_EVERY_FUND).one()
    else:
        total, last = session.execute(_ONE_FUND, {"code": fund_code.upper()}).one()
    return int(total), last
