"""What each person sees: waiting lists, project lists, project and fund pages, forms."""

from __future__ import annotations

import datetime as dt

from grants import operations as ops
from tests.webapp.conftest import text
from tests.worlds import project_input

FORM = {
    "title": "网页申报的项目", "purpose": "Education", "implementing_unit": "雁江区民政局",
    "payee": "雁江区希望小学", "requested_amount": "60,000", "summary": "",
    "budget-0-item": "助学金", "budget-0-amount": "50000",
    "budget-1-item": "学习用品", "budget-1-amount": "10000",
    "tranches-0-planned_date": "2026-07-20", "tranches-0-amount": "60000",
    "tranches-0-condition": "none",
    "count_left_behind": "30", "count_in_difficulty": "0", "count_orphan": "0",
    "count_disabled": "0", "count_other": "0", "final_report_due": "2026-12-31",
}


def test_civil_affairs_drafts_a_project_in_the_browser_form(world, login):
    client = login("ca")
    response = client.post("/projects/new", data=FORM)
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "网页申报的项目" in page and "¥60,000.00" in page and "草稿" in page


def test_a_bad_form_explains_itself_and_saves_nothing(world, login):
    client = login("ca")
    response = client.post("/projects/new", data={**FORM, "budget-1-amount": "9000"})
    assert response.status_code == 422
    assert "预算明细合计为¥59,000.00，与申请金额¥60,000.00不一致。" in text(response)
    response = client.post("/projects/new", data={**FORM, "requested_amount": "-1"})
    assert response.status_code == 422
    assert "金额必须大于零" in text(response)
    assert "网页申报的项目" not in text(client.get("/projects/"))


def test_the_waiting_list_follows_the_work(world, login, checked):
    assert "批准" in text(login("fin1").get("/dashboard"))
    assert "没有待办事项" in text(login("ca").get("/dashboard"))
    world.run("fin1", ops.approve, checked, amount="120000", no_conflict=True)
    fin1 = text(login("fin1").get("/dashboard"))
    assert "没有待办事项" in fin1  # fin1 gave the first approval; the second is someone else's
    assert "雁江区留守儿童助学项目" in text(login("fin2").get("/dashboard"))


def test_overdue_reports_are_flagged(world, login, approved, pinned_clock):
    from core import clock

    with clock.frozen_at(dt.datetime(2026, 9, 2, 9, 0, tzinfo=clock.CST)):
        page = text(login("ca").get("/dashboard"))
        assert "逾期" in page
        assert "逾期" in text(login("ca").get(f"/projects/{approved}"))


def test_project_list_filters_and_pages(world, login, app):
    for n in range(25):
        world.run("ca", ops.create_project, data=project_input(title=f"项目{n:02d}"))
    client = login("co")
    first = text(client.get("/projects/"))
    assert "共25个项目" in first
    assert "项目24" in first and "项目00" not in first  # newest first, 20 a page
    assert "项目00" in text(client.get("/projects/?page=2"))
    assert "项目07" in text(client.get("/projects/?q=项目07"))
    assert "项目08" not in text(client.get("/projects/?q=项目07"))
    assert "没有符合条件的项目" in text(client.get("/projects/?state=approved"))
    assert "共25个项目" in text(client.get("/projects/?state=draft&purpose=education&year=2026"))
    assert "没有符合条件的项目" in text(client.get("/projects/?year=2019"))


def test_project_page_shows_timeline_and_ledger_entries(world, login, approved):
    page = text(login("aud").get(f"/projects/{approved}"))
    for expected in ("办理记录", "第一审批", "YJQ#", "Expenses:Grants:Education",
                     "¥120,000.00"):
        assert expected in page, expected


def test_fund_page_shows_money_per_purpose(world, login, approved):
    page = text(login("fin1").get("/funds/YJQ"))
    # education: 500,000 allocated, 120,000 committed
    assert "¥500,000.00" in page and "¥120,000.00" in page and "¥380,000.00" in page
    assert "¥500,000.00" in text(login("city_aud").get("/funds/YJQ"))


def test_every_step_form_is_offered_only_to_who_may_take_it(world, login, checked):
    page = login("fin1").get(f"/projects/{checked}").get_data(as_text=True)
    assert 'data-step="approve"' in page and 'data-step="reject"' in page
    assert 'data-step="check"' not in page
    page = login("city_fin").get(f"/projects/{checked}").get_data(as_text=True)
    assert "data-step=" not in page


def test_a_refused_step_shows_why_and_changes_nothing(world, login, checked):
    client = login("fin1")
    response = client.post(f"/projects/{checked}/steps/approve", data={"amount": "120000"})
    assert response.status_code == 400
    assert "利益冲突" in text(response)
    with world.reading(checked) as project:
        assert project.state == "checked" and not [a for a in project.approvals
                                                   if a.stage == "approve"]


def test_english_pages(world, login, approved):
    client = login("aud")
    client.post("/language/en", data={"next": "/"})
    page = text(client.get(f"/projects/{approved}"))
    assert "Timeline" in page and "Approved" in page and "¥120,000.00" in page


def test_editing_a_returned_project_keeps_its_figures(world, login, draft):
    world.run("ca", ops.submit, draft)
    world.run("co", ops.return_for_revision, draft, reason="请补充预算")
    client = login("ca")
    page = client.get(f"/projects/{draft}/edit").get_data(as_text=True)
    assert 'value="100000.00"' in page and 'value="2026-09-10"' in page
    version = page.split('name="version" type="hidden" value="')[1].split('"')[0]
    form = {**FORM, "version": version}
    response = client.post(f"/projects/{draft}/edit", data=form)
    assert response.status_code == 302
    stale = client.post(f"/projects/{draft}/edit", data=form)  # the same, old version
    assert stale.status_code == 422
    with world.reading(draft) as project:
        assert project.title == "网页申报的项目" and project.requested_amount == 60000
