"""Jurisdictions as people see them: where a user works, and which ones an
administrator manages. Opening one (with its fund) is ``ledger.funds.add_fund``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import Actor
from core.errors import NotFound
from people.models import Jurisdiction


def find_jurisdiction(session: Session, code: str) -> Jurisdiction:
    found = session.execute(select(Jurisdiction).where(
        Jurisdiction.code == code.strip().upper())).scalar_one_or_none()
    if found is None:
        raise NotFound("There is no fund with code {code}.", code=code[:20])
    return found


def managed_jurisdictions(session: Session, actor: Actor) -> list[Jurisdiction]:
    """The jurisdictions whose users an administrator manages: their own and, for a city
    administrator, the counties below it."""
    own = find_jurisdiction(session, actor.fund or "")
    if own.level == "city":
        return [own, *session.execute(select(Jurisdiction).where(
            Jurisdiction.parent_id == own.id).order_by(Jurisdiction.id)).scalars()]
    return [own]
