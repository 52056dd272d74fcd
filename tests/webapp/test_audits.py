"""The audit pages: auditors open, sample, record and publish; the audited unit responds;
everyone else is refused (403) or sees nothing (404)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.db import transaction
from grants import operations as ops
from reports import engagements as eng
from reports.models import Engagement, Finding
from tests.webapp.conftest import text
from tests.worlds import PASSWORD, project_input
from webapp import create_app
from webapp.audits.routes import bp
from webapp.extensions import db


def register(app) -> None:
    """The app factory may not register the audit pages yet; the tests work both ways."""
    if "audits" not in app.blueprints:
        app.register_blueprint(bp)


@pytest.fixture(autouse=True)
def audits_registered(app):
    register(app)
    return app


def approved(world, title: str, payee: str) -> int:
    data = project_input(title=title, payee=payee, requested_amount="20000.00",
                         budget=[("助学金", "20000.00")], counts={"left_behind": 5},
                         tranches=[(project_input().tranches[0][0], "20000.00", "none")],
                         progress_report_due=None)
    pid = world.run("ca", ops.create_project, data=data)
    world.run("ca", ops.submit, pid)
    world.run("co", ops.check, pid, no_conflict=True)
    world.run("fin1", ops.approve, pid, amount="20000", no_conflict=True)
    return pid


def refs(world) -> list[str]:
    with world.factory() as session:
        return sorted(session.execute(select(Engagement.sample)).scalar_one())


def open_engagement(world, user: str = "aud", code: str = "YJQ") -> int:
    with transaction(world.factory) as session:
        return eng.open_engagement(session, world[user], code, title="2026年度审计",
                                   period="2026").id


def finding_on(world, eid: int, user: str = "aud") -> int:
    with transaction(world.factory) as session:
        return eng.record_finding(session, world[user], eid, severity="medium",
                                  title="报告逾期", description="进度报告逾期。", links=[]).id


def test_an_engagement_from_opening_to_publication(world, login):
    pids = [approved(world, f"助学项目{n}", "同一学校") for n in range(4)]
    aud = login("aud")
    page = aud.get("/audits/")
    assert page.status_code == 200 and 'id="open-form"' in page.get_data(as_text=True)

    response = aud.post("/audits/", data={"fund": "YJQ", "title": "雁江区2026年度专项审计",
                                          "period": "2026", "scope": "审批与拨付"})
    assert response.status_code == 302
    eid = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    body = aud.get(f"/audits/{eid}").get_data(as_text=True)
    assert "雁江区2026年度专项审计" in body and "审批与拨付" in body
    assert 'data-flag="payee_concentration"' in body  # four projects, one payee
    for form in ("sample-form", "finding-form", "publish-form"):
        assert f'id="{form}"' in body

    assert aud.post(f"/audits/{eid}/sample", data={"size": "2", "seed": "42"}).status_code == 302
    with world.factory() as session:
        population = eng.population(session, session.get(Engagement, eid))
    assert len(population) == len(pids)
    assert refs(world) == eng.draw(population, size=2, seed=42)
    body = aud.get(f"/audits/{eid}").get_data(as_text=True)
    for ref in refs(world):
        assert f'data-ref="{ref}"' in body

    response = aud.post(f"/audits/{eid}/findings", data={
        "severity": "high", "title": "同一收款人集中",
        "description": "四个项目拨付同一学校。\r\n请说明。",
        "links": f"project:{population[0]}\nproject:{population[1]}"})
    assert response.status_code == 302
    with world.factory() as session:
        finding = session.execute(select(Finding)).scalar_one()
        assert finding.links == [f"project:{population[0]}", f"project:{population[1]}"]
    body = aud.get(f"/audits/{eid}").get_data(as_text=True)
    assert f'data-finding="{finding.id}"' in body and "/projects/" in body  # links open
    assert "四个项目拨付同一学校。<br>请说明。" in body

    ca = login("ca")
    body = ca.get(f"/audits/{eid}").get_data(as_text=True)
    assert 'id="flags"' not in body and 'id="sample-form"' not in body  # the auditor's tools
    assert 'class="stack response-form"' in body
    response = ca.post(f"/audits/{eid}/findings/{finding.id}/response",
                       data={"response": "已逐项核实，均符合规定。"})
    assert response.status_code == 302
    assert "已逐项核实，均符合规定。" in text(aud.get(f"/audits/{eid}"))

    response = aud.post(f"/audits/{eid}/publish", data={"conclusion": "资金使用总体规范。"})
    assert response.status_code == 302
    page = aud.get(f"/audits/{eid}")
    body = page.get_data(as_text=True)
    assert "资金使用总体规范。" in text(page) and 'id="conclusion"' in body
    for form in ("sample-form", "finding-form", "publish-form", "response-form"):
        assert form not in body
    assert 'response-form' not in ca.get(f"/audits/{eid}").get_data(as_text=True)
    # Read-only now: every change is a conflict.
    assert aud.post(f"/audits/{eid}/findings", data={
        "severity": "low", "title": "t", "description": "d"}).status_code == 409
    assert aud.post(f"/audits/{eid}/sample", data={"size": "1", "seed": "1"}).status_code == 409
    assert aud.post(f"/audits/{eid}/publish", data={"conclusion": "c"}).status_code == 409
    assert ca.post(f"/audits/{eid}/findings/{finding.id}/response",
                   data={"response": "改"}).status_code == 409
    with world.factory() as session:
        assert [r.id for r in eng.published_results(session)] == [eid]
    assert f'data-engagement="{eid}"' in login("co").get("/audits/").get_data(as_text=True)


def test_wrong_users_are_refused_or_see_nothing(world, app):
    eid = open_engagement(world)
    fid = finding_on(world, eid)
    county = open_engagement(world, "city_aud", "AYX")
    clients = {}

    def client(user):
        if user not in clients:
            clients[user] = app.test_client()
            if user != "anonymous":
                assert clients[user].post("/login", data={
                    "username": user, "password": PASSWORD}).status_code == 302
        return clients[user]

    def status(user, method, url, **data):
        return client(user).open(url, method=method, data=data).status_code

    page, finding = f"/audits/{eid}", f"/audits/{eid}/findings/{fid}/response"
    cases = [
        # anyone signed out goes to the sign-in page
        ("anonymous", "GET", "/audits/", {}, 302),
        ("anonymous", "GET", page, {}, 302),
        # administrators: nothing
        ("admin", "GET", "/audits/", {}, 403),
        ("admin", "GET", page, {}, 403),
        ("city_admin", "POST", "/audits/", {"fund": "YJQ", "title": "t", "period": "2026"},
         403),
        # readers
        ("aud", "GET", page, {}, 200),
        ("city_aud", "GET", page, {}, 200),
        ("ca", "GET", page, {}, 200),
        ("co", "GET", page, {}, 200),
        ("fin1", "GET", page, {}, 200),
        ("fin1", "GET", "/audits/", {}, 200),
        # out of sight: another county, the city's finance, a county's own auditor upwards
        ("ay_ca", "GET", page, {}, 404),
        ("ay_fin", "GET", page, {}, 404),
        ("city_fin", "GET", page, {}, 404),
        ("aud", "GET", f"/audits/{county}", {}, 404),
        ("aud", "GET", "/audits/9999", {}, 404),
        # only auditors open, sample, record and publish
        ("fin1", "POST", "/audits/", {"fund": "YJQ", "title": "t", "period": "2026"}, 403),
        ("ca", "POST", f"{page}/sample", {"size": "1", "seed": "1"}, 403),
        ("co", "POST", f"{page}/findings", {"severity": "low", "title": "t",
                                            "description": "d"}, 403),
        ("fin1", "POST", f"{page}/publish", {"conclusion": "c"}, 403),
        # ... in what they may read
        ("aud", "POST", "/audits/", {"fund": "AYX", "title": "t", "period": "2026"}, 404),
        ("aud", "POST", "/audits/", {"fund": "ZYS", "title": "t", "period": "2026"}, 404),
        ("aud", "POST", f"/audits/{county}/sample", {"size": "1", "seed": "1"}, 404),
        ("aud", "POST", f"/audits/{county}/findings", {"severity": "low", "title": "t",
                                                       "description": "d"}, 404),
        ("aud", "POST", f"/audits/{county}/publish", {"conclusion": "c"}, 404),
        # only the audited unit responds
        ("aud", "POST", finding, {"response": "r"}, 403),
        ("city_aud", "POST", finding, {"response": "r"}, 403),
        ("ay_fin", "POST", finding, {"response": "r"}, 404),
        ("city_fin", "POST", finding, {"response": "r"}, 404),
        ("ca", "POST", f"/audits/{county}/findings/{fid}/response", {"response": "r"}, 404),
    ]
    wrong = [f"{user} {method} {url}: {got}, expected {expected}"
             for user, method, url, data, expected in cases
             if (got := status(user, method, url, **data)) != expected]
    assert not wrong, "\n".join(wrong)
    with world.factory() as session:
        engagement = session.get(Engagement, eid)
        assert engagement.state == "open" and engagement.sample_seed is None
        assert [f.response for f in engagement.findings] == [None]
        assert session.execute(select(Engagement.id).order_by(Engagement.id)).scalars().all() \
            == [eid, county]


def test_the_city_auditor_opens_on_a_county(world, login):
    city = login("city_aud")
    body = city.get("/audits/").get_data(as_text=True)
    for code in ("ZYS", "YJQ", "AYX"):
        assert f'<option value="{code}"' in body
    response = city.post("/audits/", data={"fund": "AYX", "title": "安岳县审计",
                                           "period": "2026-06"})
    assert response.status_code == 302
    with world.factory() as session:
        engagement = session.execute(select(Engagement)).scalar_one()
        assert (engagement.fund.code, engagement.period) == ("AYX", "2026-06")
    assert f'data-engagement="{engagement.id}"' in login("ay_fin").get("/audits/").get_data(
        as_text=True)
    assert f'data-engagement="{engagement.id}"' not in login("aud").get("/audits/").get_data(
        as_text=True)


def test_bad_input_explains_itself_and_saves_nothing(world, login):
    eid = open_engagement(world)
    aud = login("aud")
    for data in ({"fund": "YJQ", "title": "t", "period": "2026-13"},
                 {"fund": "YJQ", "title": "", "period": "2026"},
                 {"fund": "YJQ", "title": "t", "period": "2099"}):
        assert aud.post("/audits/", data=data).status_code == 422
    response = aud.post(f"/audits/{eid}/findings", data={
        "severity": "high", "title": "t", "description": "d", "links": "project:YJQ-2026-999"})
    assert response.status_code == 422
    assert "project:YJQ-2026-999" in text(response)
    assert aud.post(f"/audits/{eid}/findings", data={
        "severity": "severe", "title": "t", "description": "d"}).status_code == 422
    assert aud.post(f"/audits/{eid}/findings", data={
        "severity": "low", "title": "t", "description": ""}).status_code == 422
    response = aud.post(f"/audits/{eid}/sample", data={"size": "3", "seed": "1"})
    assert response.status_code == 422  # no project was active in 2026
    assert aud.post(f"/audits/{eid}/sample", data={"size": "0", "seed": "1"}).status_code == 422
    assert aud.post(f"/audits/{eid}/publish", data={"conclusion": ""}).status_code == 422
    fid = finding_on(world, eid)
    assert login("ca").post(f"/audits/{eid}/findings/{fid}/response",
                            data={"response": ""}).status_code == 422
    with world.factory() as session:
        assert session.execute(select(Engagement.id)).scalars().all() == [eid]
        engagement = session.get(Engagement, eid)
        assert engagement.state == "open" and engagement.sample_seed is None
        assert [(f.id, f.response) for f in engagement.findings] == [(fid, None)]


def test_every_form_carries_a_csrf_token_and_needs_it(world, database_url, instance_folder):
    eid = open_engagement(world)
    finding_on(world, eid)
    app = create_app({"DATABASE_URL": database_url, "TESTING": True,
                      "SESSION_COOKIE_SECURE": False,
                      "ATTACHMENTS_DIR": str(instance_folder / "attachments")})
    register(app)
    try:
        def token(body: str) -> str:
            return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body).group(1)

        def forms_without_token(body: str) -> list[str]:
            forms = re.findall(r'<form method="post".*?</form>', body, flags=re.S)
            assert forms
            return [f[:80] for f in forms if 'name="csrf_token"' not in f]

        def sign_in(user):
            client = app.test_client()
            login_page = client.get("/login").get_data(as_text=True)
            assert client.post("/login", data={"username": user, "password": PASSWORD,
                                               "csrf_token": token(login_page)}).status_code == 302
            return client

        aud, ca = sign_in("aud"), sign_in("ca")
        for client, url in ((aud, "/audits/"), (aud, f"/audits/{eid}"), (ca, f"/audits/{eid}")):
            assert forms_without_token(client.get(url).get_data(as_text=True)) == []
        data = {"fund": "YJQ", "title": "带令牌", "period": "2026"}
        assert aud.post("/audits/", data=data).status_code == 400
        page = aud.get("/audits/").get_data(as_text=True)
        assert aud.post("/audits/", data={**data, "csrf_token": token(page)}).status_code == 302
        assert aud.post(f"/audits/{eid}/publish", data={"conclusion": "c"}).status_code == 400
    finally:
        db.dispose_all()
    with world.factory() as session:
        assert session.get(Engagement, eid).state == "open"
        assert len(session.execute(select(Engagement.id)).scalars().all()) == 2
