"""The access matrix of the pages, run through the API with each user's token: the same
roles, jurisdictions and separation of duties decide, by the same code. The expected
statuses are the pages' (tests/webapp/test_access_matrix.py), except that the API asks
for a token (401) where a page sends to the sign-in page, and the requests carry valid
bodies, so that only who asks decides."""

from __future__ import annotations

import datetime as dt

import pytest

from core.db import transaction
from people.tokens import create_token
from people.users import find_user
from tests.webapp.test_access_matrix import (  # noqa: F401 - scene, per_fund are fixtures
    ANON,
    EVERYONE,
    FUNDS,
    STAFF,
    _visible,
    fund_action,
    gate,
    mark,
    per_fund,
    project_view,
    reader,
    reads,
    scene,
)
from tests.webapp.test_api import BODY
from tests.worlds import USERS, make_token


def api(expect):
    """A page's expectation, for a caller without a token: 401 instead of the sign-in."""
    return lambda u: 401 if u == ANON else expect(u)


# (method, path, body, expected(user) -> status, or None to skip a success that changes data)
ROWS = [
    ("GET", "/funds", None, api(lambda u: gate(u, STAFF, lambda: 200))),
    ("GET", "/funds/YJQ/balances", None,
     api(lambda u: gate(u, STAFF, lambda: 200 if reader(u) else 404))),
    ("GET", "/projects", None, api(lambda u: gate(u, STAFF, lambda: 200))),
    ("POST", "/projects", BODY,
     api(lambda u: None if USERS[u][0] == "civil_affairs" else 403)),
    ("GET", "/projects/{pid}", None, api(lambda u: project_view(u, STAFF, 200))),
    ("PUT", "/projects/{pid}", {**BODY, "version": 99},  # a stale version: 409, no change
     api(lambda u: project_view(u, {"civil_affairs"}, 409, act=True))),
    ("POST", "/projects/{pid}/transitions/submit", {},
     api(lambda u: None if u == "ca" else project_view(u, STAFF, 403, act=True))),
    ("GET", "/projects/{pid}/tranches", None, api(lambda u: project_view(u, STAFF, 200))),
    ("POST", "/funds/YJQ/donors", {"kind": "enterprise", "name": "某公司"},
     api(lambda u: None if USERS[u] == ("charity_office", "YJQ")
         else fund_action(u, {"charity_office"}, 201))),
    ("POST", "/funds/YJQ/donations", {"donor_id": 99999, "date": "2026-06-01",
                                      "amount": "10.00"},  # no such donor: 404
     api(lambda u: fund_action(u, {"charity_office"}, 404))),
    ("GET", "/funds/YJQ/receipts", None,
     api(lambda u: gate(u, STAFF, lambda: 200 if reader(u) else 404))),
    ("GET", "/funds/YJQ/bank-statements", None,
     api(lambda u: gate(u, STAFF, lambda: 200 if reader(u) else 404))),
    ("POST", "/funds/YJQ/bank-statements", "garbage",  # not a statement: 422
     api(lambda u: fund_action(u, {"charity_office"}, 422))),
    ("GET", "/funds/YJQ/entries", None,
     api(lambda u: gate(u, STAFF, lambda: 200 if reader(u) else 404))),
    ("GET", "/audit-log", None, api(lambda u: gate(u, {"auditor"}, lambda: 200))),
    ("GET", "/public/projects?fund=YJQ", None, lambda u: 200),
    ("GET", "/openapi.json", None, lambda u: 200),
]


@pytest.mark.slow
def test_the_pages_matrix_through_the_api(app, world, factory, scene):  # noqa: F811
    with transaction(factory) as session:
        tokens = {name: create_token(session, world[name], find_user(session, name),
                                     name="matrix", expires_on=dt.date(2027, 1, 1))[0]
                  for name in USERS}
    client = app.test_client()
    wrong = []
    for method, template, body, expect in ROWS:
        path = "/api/v1" + template.format(**scene)
        for user in [ANON, *USERS]:
            expected = expect(user)
            if expected is None:
                continue
            headers = {"Authorization": f"Bearer {tokens[user]}"} if user != ANON else {}
            kwargs = ({"data": body, "content_type": "text/csv"} if isinstance(body, str)
                      else {"json": body} if body is not None else {})
            response = client.open(path, method=method, headers=headers, **kwargs)
            if response.status_code != expected:
                wrong.append(f"{method} {path} as {user}: {response.status_code}, "
                             f"expected {expected}: {response.get_data(as_text=True)[:200]}")
    assert not wrong, "\n".join(wrong)
    with world.reading(scene["pid"]) as project:
        assert project.state == "draft" and project.version == 1  # nothing refused changed it


def test_every_api_list_holds_only_the_funds_a_user_may_read(app, world, factory, per_fund):  # noqa: F811
    """The API's lists, opened with each user's token, hold the rows of the funds the user
    may read and none of the others' (the pages' rule: tests/webapp/test_access_matrix.py)."""
    with transaction(factory) as session:
        tokens = {name: make_token(session, name, name="lists",
                                     expires_on=None)[0] for name in EVERYONE}
    client = app.test_client()

    def get(user: str, path: str):
        return client.get("/api/v1" + path, headers={"Authorization": f"Bearer {tokens[user]}"})

    refs = {code: str(made["ref"]) for code, made in per_fund.items()}
    wrong = []
    for user in EVERYONE:
        role_, allowed = EVERYONE[user][0], reads(user)
        if role_ not in STAFF:
            assert get(user, "/projects").status_code == 403
            continue
        funds = {f["code"] for f in get(user, "/funds").get_json()["items"]}
        if funds != allowed:
            wrong.append(f"/funds as {user}: {sorted(funds)}")
        titles = {p["title"] for p in get(user, "/projects?per_page=100").get_json()["items"]}
        wrong += [f"/projects as {user}: {p}"
                  for p in _visible(user, "\n".join(titles),
                                    {f: mark("项目", f) for f in FUNDS}, allowed)]
        for code in FUNDS:
            for path, field, wanted in (
                    (f"/funds/{code}/receipts", "code", {f: f"{f}-2026-" for f in FUNDS}),
                    (f"/funds/{code}/bank-statements", "filename",
                     {f: f"statement-mark-{f}.csv" for f in FUNDS})):
                response = get(user, path)
                if code not in allowed:
                    if response.status_code != 404:
                        wrong.append(f"{path} as {user}: {response.status_code}")
                    continue
                listed = "\n".join(str(row[field]) for row in response.get_json()["items"])
                wrong += [f"{path} as {user}: {p}"
                          for p in _visible(user, listed, wanted, {code})]
        if role_ != "auditor":
            assert get(user, "/audit-log").status_code == 403
            continue
        records, page = [], 1
        while True:
            answer = get(user, f"/audit-log?per_page=200&page={page}").get_json()
            records += answer["items"]
            if not answer["has_next"]:
                break
            page += 1
        subjects = "\n".join(r["subject_id"] for r in records)
        everything = allowed == set(FUNDS)
        wrong += [f"/audit-log as {user}: {p}" for p in _visible(
            user, subjects, {**refs, "*": "无基金标记"},
            allowed | ({"*"} if everything else set()))]
        attributed = {r["fund"] for r in records}
        if not attributed <= allowed | ({None} if everything else set()):
            wrong.append(f"/audit-log as {user}: records of {attributed - allowed}")
        entries = {r["subject_id"].partition("#")[0] for r in records
                   if r["subject_type"] == "journal_entry"}
        if entries != allowed:
            wrong.append(f"/audit-log as {user}: ledger entries of {sorted(entries)}")
    assert not wrong, "\n".join(wrong)
