"""Children's personal data: who sees it, how it is shown, where it never goes."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy import text as sql

from audit.models import AuditRecord
from grants import operations as ops
from tests.webapp.conftest import text
from tests.worlds import project_input
from webapp.demo import synthetic_id

NAME = "王小明测试"
NUMBER = synthetic_id("512002", dt.date(2015, 3, 8), 7)
MASKED = NUMBER[:3] + "*" * 11 + NUMBER[-4:]


def add_child(client, pid, **extra):
    data = {"name": NAME, "id_number": NUMBER, "category": "left_behind", "guardian": "王某",
            "guardian_consent": "y", **extra}
    return client.post(f"/projects/{pid}/beneficiaries", data=data)


def test_civil_affairs_lists_children_masked(world, login, draft):
    client = login("ca")
    assert add_child(client, draft).status_code == 302
    page = client.get(f"/projects/{draft}").get_data(as_text=True)
    assert NAME in page and MASKED in page and NUMBER not in page


def test_only_civil_affairs_and_auditors_of_the_county_see_the_list(world, login, draft):
    add_child(login("ca"), draft)
    assert NAME in login("aud").get(f"/projects/{draft}").get_data(as_text=True)
    for user in ("co", "fin1", "city_fin", "city_aud"):
        page = login(user).get(f"/projects/{draft}").get_data(as_text=True)
        assert NAME not in page and MASKED not in page, user


def test_revealing_a_full_id_is_audited(world, login, draft, factory):
    client = login("ca")
    add_child(client, draft)
    page = client.get(f"/projects/{draft}").get_data(as_text=True)
    child_id = page.split(f"/projects/{draft}/beneficiaries/")[1].split("/id")[0]
    response = client.post(f"/projects/{draft}/beneficiaries/{child_id}/id")
    assert NUMBER in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    with factory() as session:
        record = session.execute(select(AuditRecord).where(
            AuditRecord.action == "beneficiary.view-id")).scalar_one()
        assert record.actor == "ca" and NUMBER not in (record.after or "")


def test_under_14_needs_the_guardians_consent(world, login, draft):
    response = add_child(login("ca"), draft, guardian_consent="")
    assert response.status_code == 400
    assert "监护人" in text(response)
    assert NAME not in login("ca").get(f"/projects/{draft}").get_data(as_text=True)


def test_a_bad_id_number_is_refused_without_echoing_it(world, login, draft):
    response = add_child(login("ca"), draft, id_number="512002201503080999")
    assert response.status_code == 400
    assert "512002201503080999" not in response.get_data(as_text=True)


def test_the_same_child_in_two_projects_of_the_same_need_is_flagged(world, login):
    first = world.run("ca", ops.create_project, data=project_input())
    second = world.run("ca", ops.create_project, data=project_input(title="第二个助学项目"))
    other_need = world.run("ca", ops.create_project, data=project_input(
        title="医疗项目", purpose="medical"))
    client = login("ca")
    for pid in (first, second, other_need):
        add_child(client, pid)
    page = text(client.get(f"/projects/{first}"))
    with world.reading(second) as project:
        assert project.ref in page
    with world.reading(other_need) as project:
        assert project.ref not in page


def test_children_never_reach_logs_audit_or_the_database_in_clear(world, login, draft,
                                                                  factory, caplog):
    caplog.set_level(logging.DEBUG)
    client = login("ca")
    add_child(client, draft)
    add_child(client, draft)  # a duplicate: refused, with an error page
    client.post(f"/projects/{draft}/beneficiaries", data={"name": NAME, "id_number": "x" * 18})
    assert NAME not in caplog.text and NUMBER not in caplog.text
    with factory() as session:
        for (after,) in session.execute(select(AuditRecord.after)):
            assert NAME not in (after or "") and NUMBER not in (after or "")
        raw = session.execute(sql("SELECT * FROM beneficiaries")).all()
        assert raw and all(NAME not in repr(row) and NUMBER not in repr(row) for row in raw)
