"""The request boundary: one commit per request, inside the app's error mapping.

A failure at the commit itself -- a constraint checked only at commit, a lost race --
is answered by the app's own page or problem document with nothing kept, and no log
line quotes SQL or the values it carried. The error page needs no database. Doing
again what is already done is a conflict (409), not a refusal of the person (403).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError

from audit.models import AuditRecord
from core.db import transaction
from core.errors import Conflict
from grants import operations as ops
from grants.models import Project
from tests.webapp.conftest import text as visible
from tests.worlds import make_token, project_input
from webapp import create_app

SECRET_TITLE = "张小明的助学项目"  # what a user typed; it may name a child
BODY = {
    "title": SECRET_TITLE,
    "purpose": "education",
    "implementing_unit": "雁江区民政局",
    "payee": "雁江区希望小学",
    "requested_amount": "50000.00",
    "budget": [{"item": "助学金", "amount": "50000.00"}],
    "counts": {"left_behind": 10},
    "tranches": [{"planned_date": "2026-07-15", "amount": "50000.00"}],
    "final_report_due": "2026-12-31",
}
GONE = "postgresql+psycopg://nobody@127.0.0.1:9/gone"  # nothing listens on port 9


@pytest.fixture
def token(world, factory):
    def make(name: str) -> dict[str, str]:
        with transaction(factory) as session:
            secret, _row = make_token(session, name, name="tests", expires_on=None)
        return {"Authorization": f"Bearer {secret}"}
    return make


@pytest.fixture
def logs(caplog):
    """Everything the app and its libraries log, down to DEBUG -- but for SQLAlchemy's
    statement echo, an operator's debugging switch that prints statements and rows by
    design and stays off (docs/operations.md); its warnings and errors are kept."""
    for logger in ("", "werkzeug", "specialfund", "flask"):
        caplog.set_level(logging.DEBUG, logger=logger or None)
    caplog.set_level(logging.WARNING, logger="sqlalchemy")
    return caplog


def logged(caplog) -> str:
    return caplog.text + "\n".join(str(r.args) for r in caplog.records)


def counts(factory) -> tuple[int, int, list[str]]:
    with factory() as session:
        return (session.execute(select(func.count()).select_from(Project)).scalar_one(),
                session.execute(select(func.count()).select_from(AuditRecord)).scalar_one(),
                session.execute(select(Project.state).order_by(Project.id)).scalars().all())


GUARD = {
    # A key checked only at commit (a deferred foreign key) that every written project
    # breaks, with the project's title as the offending value.
    "sqlite": [
        "CREATE TABLE guard_keys (k TEXT PRIMARY KEY)",
        "CREATE TABLE commit_guard (k TEXT REFERENCES guard_keys (k) "
        "DEFERRABLE INITIALLY DEFERRED)",
        "CREATE TRIGGER guard_new AFTER INSERT ON projects "
        "BEGIN INSERT INTO commit_guard VALUES (NEW.title); END",
        "CREATE TRIGGER guard_change AFTER UPDATE ON projects "
        "BEGIN INSERT INTO commit_guard VALUES (NEW.title); END",
    ],
    "postgresql": [
        "CREATE TABLE guard_keys (k text PRIMARY KEY)",
        "CREATE TABLE commit_guard (k text REFERENCES guard_keys (k) "
        "DEFERRABLE INITIALLY DEFERRED)",
        "CREATE FUNCTION guard() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN INSERT INTO commit_guard VALUES (NEW.title); RETURN NEW; END $$",
        "CREATE TRIGGER guard AFTER INSERT OR UPDATE ON projects "
        "FOR EACH ROW EXECUTE FUNCTION guard()",
    ],
}
REFUSE_AT_FLUSH = {
    # The same value refused at once, by the statement that writes it.
    "sqlite": ["CREATE TRIGGER refuse BEFORE INSERT ON projects "
               "BEGIN SELECT RAISE(ABORT, 'refused'); END"],
    "postgresql": [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'refused: %', NEW.title USING ERRCODE = 'check_violation'; END $$",
        "CREATE TRIGGER refuse BEFORE INSERT ON projects "
        "FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
}


def install(engine, statements: dict[str, list[str]]) -> None:
    with engine.begin() as conn:
        for statement in statements[engine.dialect.name]:
            conn.execute(text(statement))


@pytest.mark.parametrize("guard", [GUARD, REFUSE_AT_FLUSH], ids=["at-commit", "at-flush"])
def test_a_write_the_database_refuses_is_the_apps_conflict_and_keeps_nothing(
        app, world, engine, factory, login, token, logs, guard):
    pid = world.run("ca", ops.create_project, data=project_input(title=SECRET_TITLE))
    install(engine, guard)
    headers, office = token("ca"), login("ca")
    before = counts(factory)

    created = app.test_client().post("/api/v1/projects", json=BODY, headers=headers)
    assert created.status_code == 409, created.get_data(as_text=True)[:300]
    assert created.mimetype == "application/problem+json"
    assert created.get_json()["code"] == "conflict"
    assert SECRET_TITLE not in created.get_data(as_text=True)

    if guard is GUARD:  # a change of a project, from a page
        page = office.post(f"/projects/{pid}/steps/submit", data={})
        assert page.status_code == 409
        assert page.mimetype == "text/html"
        assert "同时" in visible(page)  # someone else changed the same records at the same moment
        assert "Traceback" not in page.get_data(as_text=True)

    assert counts(factory) == before  # no project, no audit record, still a draft
    assert before[2] == ["draft"]
    lines = logged(logs)
    assert "IntegrityError" in lines  # the kind of failure is recorded ...
    for quoted in (SECRET_TITLE, "INSERT INTO", "UPDATE projects", "commit_guard", "[SQL"):
        assert quoted not in lines, quoted  # ... never the statement or its values


@pytest.mark.parametrize("failure", ["serialization", "domain"])
def test_a_commit_that_fails_late_is_answered_by_the_apps_error_mapping(
        app, world, factory, token, logs, failure):
    """Injected at the commit itself: what PostgreSQL answers a transaction that lost a
    serializable race, and a domain refusal raised while committing."""
    class Serialization(Exception):
        sqlstate = "40001"

    def refuse(_session):
        if failure == "serialization":
            raise OperationalError("COMMIT", {"title": SECRET_TITLE}, Serialization())
        raise Conflict("Someone changed this project after you opened it; reload it and "
                       "make your changes again.")

    headers = token("ca")
    before = counts(factory)
    event.listen(app.extensions["specialfund.db"][1], "before_commit", refuse)
    answer = app.test_client().post("/api/v1/projects", json=BODY, headers=headers)
    assert answer.status_code == 409 and answer.get_json()["code"] == "conflict"
    assert counts(factory) == before
    assert SECRET_TITLE not in logged(logs)


def test_a_read_commits_nothing_and_a_write_commits_once(app, world, token, login):
    commits = []
    event.listen(app.extensions["specialfund.db"][0], "commit",
                 lambda _conn: commits.append(1))
    client = login("ca")
    commits.clear()
    for url in ("/projects/", "/dashboard", "/public/"):
        assert client.get(url).status_code == 200
    assert commits == []
    api = app.test_client()
    headers = token("ca")
    commits.clear()
    assert api.post("/api/v1/projects", json=BODY, headers=headers).status_code == 201
    assert len(commits) == 1
    commits.clear()
    refused = api.post("/api/v1/projects", json={**BODY, "counts": {}}, headers=headers)
    assert refused.status_code == 422 and commits == []


def test_the_error_page_needs_no_database(app, world, login, token, instance_folder, logs):
    signed_in = login("fin1").get_cookie("session").value
    headers = token("fin1")
    broken = create_app({"DATABASE_URL": GONE, "TESTING": True,
                         "SESSION_COOKIE_SECURE": False, "WTF_CSRF_ENABLED": False,
                         "ATTACHMENTS_DIR": str(instance_folder / "attachments")})
    client = broken.test_client()
    client.set_cookie("session", signed_in)
    for method, url in (("get", "/dashboard"), ("get", "/public/"),
                        ("post", "/projects/1/steps/approve")):
        page = getattr(client, method)(url)
        assert page.status_code == 500, url
        assert page.mimetype == "text/html", url
        words = visible(page)
        assert "系统出错" in words and "数据库" in words, url  # the app's page, in Chinese
        assert "Internal Server Error" not in words
    api = broken.test_client().get("/api/v1/funds", headers=headers)
    assert api.status_code == 500 and api.mimetype == "application/problem+json"
    assert api.get_json()["code"] == "server-error"
    assert "database error OperationalError" in logged(logs)
    assert "[SQL" not in logged(logs)


@pytest.fixture
def paid(world) -> int:
    """A one-tranche project, paid in full."""
    pid = world.run("ca", ops.create_project, data=project_input(
        requested_amount="50000", budget=[("助学金", "50000")],
        tranches=[(dt.date(2026, 7, 10), "50000", "none")], progress_report_due=None))
    world.run("ca", ops.submit, pid)
    world.run("co", ops.check, pid, no_conflict=True)
    world.run("fin1", ops.approve, pid, amount="50000", no_conflict=True)
    world.run("ca", ops.request_tranche, pid, seq=1)
    world.run("fin1", ops.approve_tranche, pid, seq=1, no_conflict=True)
    world.run("co", ops.pay_tranche, pid, seq=1, bank_ref="ZF-PAID-1")
    return pid


def test_paying_a_paid_tranche_again_is_a_conflict_on_pages_and_the_api(app, paid, login,
                                                                       token, factory):
    headers, office = token("co"), login("co2")
    before = counts(factory)
    page = office.post(f"/projects/{paid}/steps/pay_tranche",
                             data={"seq": "1", "bank_ref": "ZF-PAID-2"})
    assert page.status_code == 409
    assert "第1笔拨付已经支付" in visible(page)
    api = app.test_client()
    for key in ({}, {"Idempotency-Key": "another-payment"}):
        again = api.post(f"/api/v1/projects/{paid}/transitions/pay_tranche",
                         json={"seq": 1, "bank_ref": "ZF-PAID-2"},
                         headers={**headers, **key})
        assert again.status_code == 409
        assert again.get_json()["code"] == "conflict"
        assert again.get_json()["detail"] == "第1笔拨付已经支付。"
    assert counts(factory) == before


@pytest.mark.slow
def test_two_people_drafting_at_once_both_get_their_project(app, world, token, factory):
    headers = token("ca")
    start = threading.Barrier(2)
    answers: list[tuple[int, str]] = []

    def draft(n: int) -> None:
        client = app.test_client()
        start.wait(timeout=30)
        answer = client.post("/api/v1/projects", json={**BODY, "title": f"同时起草{n}"},
                             headers=headers)
        answers.append((answer.status_code, (answer.get_json() or {}).get("ref", "")))

    threads = [threading.Thread(target=draft, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers) == [(201, "YJQ-2026-001"), (201, "YJQ-2026-002")]
