"""Fixtures: a small world for workflow and web tests: the city fund over two counties, money in
雁江区's education purpose, and a user of every role."""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import pytest

from core.actors import Actor
from core.db import transaction
from core.protection import Protector
from grants import operations as ops
from grants.access import get_project
from grants.beneficiaries import add_beneficiary
from grants.models import FundPolicy, Project
from ledger.journal import find_fund
from people.tokens import create_token
from people.users import add_user, find_user

CONSOLE = Actor("setup", "console")
CHILD = "王小明"
GUARDIAN = "王大山"
PASSWORD = "correct-horse-9"

USERS = {
    # name: (role, fund)
    "ca": ("civil_affairs", "YJQ"),
    "co": ("charity_office", "YJQ"),
    "co2": ("charity_office", "YJQ"),
    "fin1": ("finance", "YJQ"),
    "fin2": ("finance", "YJQ"),
    "aud": ("auditor", "YJQ"),
    "admin": ("admin", "YJQ"),
    "city_fin": ("finance", "ZYS"),
    "city_aud": ("auditor", "ZYS"),
    "city_ca": ("civil_affairs", "ZYS"),
    "ay_ca": ("civil_affairs", "AYX"),
    "ay_fin": ("finance", "AYX"),
    "ay_admin": ("admin", "AYX"),
    "city_admin": ("admin", "ZYS"),
}


@dataclass
class World:
    factory: object
    actors: dict[str, Actor]

    def __getitem__(self, name: str) -> Actor:
        return self.actors[name]

    def run(self, name: str, operation, project_id: int | None = None, **kwargs):
        """Run one operation as a user, in its own committed transaction."""
        actor = self.actors[name]
        with transaction(self.factory) as session:
            if project_id is None:
                result = operation(session, actor, **kwargs)
            else:
                project = get_project(session, actor, project_id, for_update=True)
                result = operation(session, actor, project, **kwargs)
            # A new project is handed back as its id: the object dies with the session.
            return result.id if isinstance(result, Project) else result

    @contextmanager
    def reading(self, project_id: int, as_user: str = "aud"):
        """The project as a user sees it, inside an open read-only session."""
        with self.factory() as session:
            yield get_project(session, self.actors[as_user], project_id)


def make_token(session, username: str, *, name: str = "t", expires_on: dt.date | None = None):
    """An API token made as tokens are made: by its own user. Returns (token, row)."""
    user = find_user(session, username)
    return create_token(session, user.actor(), user, name=name, expires_on=expires_on)


def project_input(**overrides) -> ops.ProjectInput:
    values = {
        "title": "雁江区留守儿童助学项目",
        "purpose": "education",
        "implementing_unit": "雁江区民政局",
        "payee": "雁江区希望小学",
        "requested_amount": "120000.00",
        "summary": "为120名留守儿童提供学习用品和助学金。",
        "budget": [("助学金", "100000.00"), ("学习用品", "20000.00")],
        "counts": {"left_behind": 100, "in_difficulty": 20},
        "tranches": [(dt.date(2026, 7, 10), "72000.00", "none"),
                     (dt.date(2026, 9, 10), "48000.00", "progress_report")],
        "progress_report_due": dt.date(2026, 8, 31),
        "final_report_due": dt.date(2026, 12, 31),
    }
    values.update(overrides)
    return ops.ProjectInput(**values)


@pytest.fixture
def world(factory, make_fund, post) -> World:
    make_fund("ZYS", opened_on=dt.date(2025, 1, 1))
    make_fund("YJQ", parent="ZYS")
    make_fund("AYX", parent="ZYS")
    for code in ("YJQ", "AYX"):
        post("seed", code, date=dt.date(2025, 1, 5), amount="1000000", doc_no="资财〔2025〕1号")
        post("allocation", code, date=dt.date(2025, 1, 6), amount="500000", purpose="education")
    actors = {}
    with transaction(factory) as session:
        session.add(FundPolicy(fund_id=find_fund(session, "YJQ").id,
                               dual_approval_threshold=Decimal("100000.00")))
        for name, (role, fund) in USERS.items():
            user = add_user(session, CONSOLE, username=name, display_name=name, role=role,
                            fund_code=fund, password=PASSWORD)
            actors[name] = user.actor()
    return World(factory, actors)


@pytest.fixture
def protector(instance_folder) -> Protector:
    """The test's keys: those the app and the ``factory`` sessions carry."""
    return Protector(os.environ["SPECIALFUND_DATA_KEY"].encode(),
                     os.environ["SPECIALFUND_HASH_KEY"].encode())


@pytest.fixture
def draft(world) -> int:
    return world.run("ca", ops.create_project, data=project_input())


@pytest.fixture
def checked(world, draft) -> int:
    world.run("ca", ops.submit, draft)
    world.run("co", ops.check, draft, no_conflict=True)
    return draft


@pytest.fixture
def approved(world, checked) -> int:
    assert world.run("fin1", ops.approve, checked, amount="120000", no_conflict=True) is False
    assert world.run("fin2", ops.approve, checked, amount="120000", no_conflict=True) is True
    return checked




def id_number(region: str = "512002", born: dt.date = dt.date(2015, 3, 8),
              serial: int = 917) -> str:
    """A resident ID number with a valid check digit."""
    body = f"{region}{born:%Y%m%d}{serial:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


NUMBER = id_number()


@pytest.fixture
def listed(world, draft, protector) -> int:
    """王小明 on the beneficiary list of the world's draft project in 雁江区."""
    with transaction(world.factory) as session:
        project = get_project(session, world["ca"], draft, for_update=True)
        add_beneficiary(session, world["ca"], protector, project, name=CHILD,
                        id_number=NUMBER, category="left_behind", guardian=GUARDIAN,
                        guardian_consent=True)
    return draft
