"""Input that once gave a server error answers 404, 400 or 422 with a clear message: ids,
pages and years past the database's integers (PostgreSQL overflows; SQLite cannot bind
them), digits ``isdigit()`` accepts but ``int()`` does not, digits of other scripts, NUL
characters, a huge query string, JSON nested thousands deep. The property test over
every route is tests/webapp/test_no_server_errors.py; these are its named cases."""

from __future__ import annotations

import pytest

from core.db import transaction
from tests.webapp.conftest import text
from tests.worlds import make_token

HUGE = "99999999999999999999999"
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.fixture
def api(app, world, factory):
    with transaction(factory) as session:
        token = make_token(session, "ca", name="t",
                             expires_on=None)[0]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    return lambda method, path, **kw: client.open("/api/v1" + path, method=method,
                                                  headers=headers, **kw)


def test_ids_past_the_database_integers_are_not_found(login, draft, api):
    ca = login("ca")
    for path in (f"/projects/{HUGE}", f"/projects/{HUGE}/edit", "/projects/2147483648",
                 f"/projects/{draft}/attachments/{HUGE}"):
        assert ca.get(path).status_code == 404, path
    assert ca.post(f"/projects/{HUGE}/steps/submit").status_code == 404
    answer = api("GET", f"/projects/{HUGE}")
    assert answer.status_code == 404 and answer.mimetype == "application/problem+json"
    assert login("admin").post(f"/admin/users/{HUGE}/active/0").status_code == 404


def test_an_id_in_other_digits_is_not_an_id(login, draft):
    ca = login("ca")
    assert ca.get(f"/projects/{draft}").status_code == 200
    assert ca.get(f"/projects/{str(draft).translate(ARABIC)}").status_code == 404


@pytest.mark.parametrize(("url", "named"), [
    ("/projects/?year=99999999999999999999", "year"),
    ("/projects/?year=²", "year"),
    ("/projects/?year=٢٠٢٦", "year"),
    (f"/projects/?page={HUGE}", "page"),
    ("/projects/?page=²", "page"),
    ("/public/funds/YJQ?projects_page=²", "projects_page"),
    (f"/public/funds/YJQ?donations_page={HUGE}", "donations_page"),
])
def test_query_numbers_are_read_strictly_and_named(login, world, url, named):
    answer = login("fin1").get(url)
    assert answer.status_code == 400, url
    assert f"{named}：请填写" in text(answer)


def test_form_numbers_past_the_database_integers_are_refused(login, world, approved):
    office = login("co")
    answer = office.post("/funds/YJQ/bank/lines/1", data={"entry": HUGE})
    assert answer.status_code == 400
    assert "分录号：请填写0至2147483647之间的整数" in text(answer)
    ca = login("ca")
    answer = ca.post(f"/projects/{approved}/steps/request_tranche", data={"seq": HUGE})
    assert answer.status_code == 400


def test_nul_characters_and_huge_query_strings_are_refused(login, world, api):
    fin1 = login("fin1")
    answer = fin1.get("/projects/?q=%00")
    assert answer.status_code == 400 and "网址中含有空字符" in text(answer)
    assert fin1.get("/funds/YJ%00Q").status_code == 400
    answer = fin1.get("/projects/?q=" + "x" * 5000)
    assert answer.status_code == 400 and "网址长度超过4096个字符" in text(answer)
    answer = login("co").post("/funds/YJQ/donors", data={"kind": "individual",
                                                          "name": "王\x00芳"})
    assert answer.status_code == 400 and "有字段含有空字符" in text(answer)
    assert api("GET", "/projects?q=%00").status_code == 422


def test_json_nested_thousands_deep_is_an_invalid_body(api):
    for depth in (100_000, 40):
        body = "[" * depth + "]" * depth
        answer = api("POST", "/projects", data=body, content_type="application/json")
        assert answer.status_code == 422, depth
        assert answer.get_json()["detail"] == "The request body must be a JSON object."
    nul = api("POST", "/projects", data='{"title": "a\\u0000b"}',
              content_type="application/json")
    assert nul.status_code == 422
    surrogate = api("POST", "/projects", data='{"title": "\\ud800"}',
                    content_type="application/json")
    assert surrogate.status_code == 422
