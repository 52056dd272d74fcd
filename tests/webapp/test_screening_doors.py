"""The screen of public text holds through every door: the browser's forms, the API and
the console all get the same refusal, which says why and repeats neither the number
nor the name (grants.screening)."""

from __future__ import annotations

import datetime as dt

import pytest

from core.db import transaction
from grants.access import get_project
from grants.beneficiaries import add_beneficiary
from tests.webapp.conftest import text
from tests.webapp.test_api import BODY
from tests.webapp.test_pages import FORM
from tests.worlds import make_token
from webapp.demo import synthetic_id

CHILD = "金丝雀丁"
NUMBER = synthetic_id("512002", dt.date(2016, 4, 9), 318)


@pytest.fixture
def listed(world, draft, protector):
    with transaction(world.factory) as session:
        project = get_project(session, world["ca"], draft, for_update=True)
        add_beneficiary(session, world["ca"], protector, project, name=CHILD, id_number=NUMBER,
                        category="orphan", guardian="监护人丁", guardian_consent=True)
    return draft


def api(app, world, user: str):
    with transaction(world.factory) as session:
        token, _row = make_token(session, user, name="t",
                                   expires_on=None)
    client = app.test_client()
    return lambda path, **kw: client.post("/api/v1" + path,
                                          headers={"Authorization": f"Bearer {token}"}, **kw)


@pytest.mark.parametrize("leak", [NUMBER, f"{NUMBER[:6]} {NUMBER[6:14]} {NUMBER[14:]}", CHILD])
def test_the_browser_form_refuses_a_childs_number_or_name(world, login, listed, leak):
    client = login("ca")
    response = client.post("/projects/new", data={**FORM, "title": f"资助{leak}"})
    assert response.status_code == 422
    page = text(response)
    assert "一律不得公开" in page
    assert CHILD not in page and NUMBER not in page and NUMBER[6:14] not in page
    assert "网页申报的项目" not in text(client.get("/projects/"))


@pytest.mark.parametrize("field", ["title", "summary", "implementing_unit", "payee"])
def test_the_api_refuses_a_childs_name_in_any_public_field(app, world, listed, field):
    post = api(app, world, "ca")
    response = post("/projects", json={**BODY, field: f"{CHILD}的助学金"})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "invalid-input"
    assert CHILD not in response.get_data(as_text=True)
    assert post("/projects", json=BODY).status_code == 201  # the same, clean, passes


def test_the_api_refuses_an_id_number_as_a_donor_name(app, world):
    post = api(app, world, "co")
    response = post("/funds/YJQ/donors", json={"kind": "individual", "name": f"张三{NUMBER}"})
    assert response.status_code == 422, response.get_json()
    assert "身份证" in response.get_json()["detail"]
    assert NUMBER not in response.get_data(as_text=True)


def test_the_pages_refuse_it_in_annual_reports_corrections_and_audit_results(world, login,
                                                                           listed):
    finance = login("fin1")
    narrative = finance.post("/funds/YJQ/annual/2025", data={"overview": f"帮扶了{CHILD}"})
    assert narrative.status_code == 400 and CHILD not in narrative.get_data(as_text=True)
    correction = finance.post("/funds/YJQ/annual/corrections", data={
        "subject": "annual-report:2025", "title": "更正", "text": f"身份证号{NUMBER}"})
    assert correction.status_code == 400 and NUMBER not in correction.get_data(as_text=True)
    audit = login("aud").post("/audits/", data={"fund": "YJQ", "title": f"{CHILD}专项审计",
                                                 "period": "2026"})
    # The form comes back filled in for its author to mend; the message names neither.
    assert audit.status_code == 422 and CHILD not in text(audit)
    assert "一律不得公开" in text(audit)


def test_the_console_refuses_it(run_as, world, listed):
    status, out, err = run_as("co", "donor", "add", "--fund", "YJQ", "--kind", "individual",
                           "--name", f"李四 {NUMBER}")
    assert status == 1 and "ID number" in err
    assert NUMBER not in out + err
