"""Funds: one per jurisdiction, city level over its counties and districts."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

import audit
from core.actors import Actor
from core.errors import Conflict, InvalidInput
from core.i18n import N_
from core.reading import clean_text
from core.screening import screen_id_numbers
from ledger.chart import DEFAULT_CHART, load_chart
from ledger.journal import find_fund
from ledger.models import Account, Fund
from people.jurisdictions import managed_jurisdictions

_CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,15}$")


def add_fund(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name_zh: str,
    name_en: str,
    opened_on: dt.date,
    parent_code: str | None = None,
    chart: str = DEFAULT_CHART,
) -> Fund:
    """Open a fund and every account of its chart; a fund without a parent is city level."""
    code = code.strip().upper()
    if not _CODE.match(code):
        raise InvalidInput("A fund code is 2–16 capital letters, digits or hyphens, "
                           "starting with a letter: {code}.", code=code[:20])
    name_zh = clean_text(name_zh, "Chinese name", required=True, limit=80) or ""
    name_en = clean_text(name_en, "English name", required=True, limit=120) or ""
    screen_id_numbers([(N_("Chinese name"), name_zh), (N_("English name"), name_en)])
    template = load_chart(chart)
    if session.execute(select(Fund.id).where(Fund.code == code)).first():
        raise Conflict("Fund {code} already exists.", code=code)
    parent = None
    if parent_code:
        parent = find_fund(session, parent_code)
        if parent.level != "city":
            raise InvalidInput("A county fund's parent must be a city-level fund; "
                               "{parent} is not.", parent=parent.code)
    fund = Fund(code=code, name_zh=name_zh, name_en=name_en,
                level="county" if parent else "city", parent=parent,
                chart=template.name, opened_on=opened_on, entry_count=0)
    session.add(fund)
    session.flush()
    session.add_all(
        Account(fund_id=fund.id, name=spec.name, code=spec.code, name_zh=spec.zh,
                name_en=spec.en, opened_on=opened_on)
        for spec in template.accounts
    )
    audit.record(session, actor, "fund.add", "fund", code, after={
        "code": code, "name_zh": name_zh, "name_en": name_en, "level": fund.level,
        "parent": parent.code if parent else None, "chart": template.name,
        "opened_on": opened_on.isoformat(),
    }, fund=code)  # the new fund's own record, whoever opened it
    session.flush()
    return fund


def list_funds(session: Session) -> list[Fund]:
    """City funds first, each followed by its counties."""
    funds = list(session.execute(select(Fund).order_by(Fund.id)).scalars())
    ordered: list[Fund] = []
    for city in (f for f in funds if f.parent_id is None):
        ordered.append(city)
        ordered.extend(f for f in funds if f.parent_id == city.id)
    return ordered


def managed_funds(session: Session, actor: Actor) -> list[Fund]:
    """The funds of the jurisdictions an administrator manages (their own and, for a city
    administrator, the counties below it), in that order."""
    ids = [place.id for place in managed_jurisdictions(session, actor)]
    funds = {f.id: f for f in session.execute(select(Fund).where(Fund.id.in_(ids))).scalars()}
    return [funds[i] for i in ids]


def accounts_of(session: Session, fund: Fund) -> list[Account]:
    return list(session.execute(
        select(Account).where(Account.fund_id == fund.id).order_by(Account.code)
    ).scalars())
