"""One commit point at each door. A request's work is rolled back once, at the boundary,
whatever failed; a console command says what it did only after its work is committed,
so a commit the database refuses prints its error alone."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from core.db import transaction
from tests.worlds import PASSWORD, make_token
from webapp import create_app
from webapp.extensions import Database

GONE = "postgresql+psycopg://nobody@127.0.0.1:9/gone"  # nothing listens on port 9


def refuse_at_commit(engine, table: str, column: str) -> None:
    """A key checked only at commit (a deferred foreign key) that every new row of
    ``table`` breaks: the statements succeed, the commit fails."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE guard_keys (k VARCHAR(200) PRIMARY KEY)"))
        conn.execute(text("CREATE TABLE commit_guard (k VARCHAR(200) REFERENCES guard_keys (k) "
                          "DEFERRABLE INITIALLY DEFERRED)"))
        if engine.dialect.name == "sqlite":
            conn.execute(text(f"CREATE TRIGGER guard AFTER INSERT ON {table} "
                              f"BEGIN INSERT INTO commit_guard VALUES (NEW.{column}); END"))
        else:
            conn.execute(text("CREATE FUNCTION guard() RETURNS trigger LANGUAGE plpgsql AS "
                              f"$$ BEGIN INSERT INTO commit_guard VALUES (NEW.{column}); "
                              "RETURN NEW; END $$"))
            conn.execute(text(f"CREATE TRIGGER guard AFTER INSERT ON {table} "
                              "FOR EACH ROW EXECUTE FUNCTION guard()"))


def count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


# --- the console -------------------------------------------------------------------------


@pytest.fixture
def yjq(run):
    """雁江区 under the city, with a finance user and a charity office user."""
    assert run("init")[0] == 0
    for args in (["zys", "--name-zh", "资阳市本级", "--name-en", "Ziyang City"],
                 ["YJQ", "--name-zh", "雁江区", "--name-en", "Yanjiang", "--parent", "ZYS"]):
        status, _, err = run("fund", "add", *args, "--opened-on", "2025-01-01")
        assert status == 0, err
    for name, role in (("fin1", "finance"), ("co", "charity_office")):
        status, _, err = run("user", "add", name, "--role", role, "--fund", "YJQ",
                             "--password-stdin", stdin=PASSWORD + "\n")
        assert status == 0, err
    return "YJQ"


@pytest.mark.parametrize("user,step", [
    ("fin1", ["seed", "--amount", "100", "--date", "2025-01-05", "--doc-no", "D1"]),
    ("co", ["interest", "--amount", "1", "--date", "2025-01-06"]),
    ("co", ["donation", "--amount", "50", "--date", "2025-01-06", "--donor", "甲",
            "--donor-type", "individual"]),
])
def test_a_commit_the_database_refuses_prints_no_success(run_as, yjq, engine, user, step):
    refuse_at_commit(engine, "journal_entries", "narration")
    status, out, err = run_as(user, "ledger", "post", step[0], "--fund", yjq, *step[1:])
    assert status == 1
    assert out == ""  # no "Posted …", no "Donation booked …"
    assert err.startswith("Error: the database failed (IntegrityError)")
    assert len(err.strip().splitlines()) == 1
    assert count(engine, "journal_entries") == 0


def test_a_token_whose_commit_fails_is_never_shown(run, yjq, engine):
    refuse_at_commit(engine, "api_tokens", "name")
    status, out, err = run("token", "create", "fin1", "--name", "nightly",
                           stdin=PASSWORD + "\n")
    assert status == 1 and out == "", out  # a token that does not exist is not printed
    assert "created" not in err and err.startswith("Error: the database failed")
    assert count(engine, "api_tokens") == 0


def test_what_a_command_did_is_printed_once_it_is_kept(run_as, yjq, engine):
    status, out, err = run_as("fin1", "ledger", "post", "seed", "--fund", yjq, "--amount",
                              "100", "--date", "2025-01-05", "--doc-no", "D1")
    assert status == 0, err
    assert out.startswith("Posted YJQ #1 on 2025-01-05 (seed)")
    assert count(engine, "journal_entries") == 1


# --- the pages and the API -----------------------------------------------------------------


@pytest.fixture
def rollbacks(monkeypatch):
    calls: list[int] = []
    original = Database.rollback_request

    def counted(self: Database) -> None:
        calls.append(1)
        original(self)

    monkeypatch.setattr(Database, "rollback_request", counted)
    return calls


def test_a_request_whose_commit_fails_is_rolled_back_once(app, world, factory, engine,
                                                          rollbacks):
    with transaction(factory) as session:
        secret, _row = make_token(session, "ca", name="tests", expires_on=None)
    refuse_at_commit(engine, "projects", "title")
    answer = app.test_client().post(
        "/api/v1/projects", headers={"Authorization": f"Bearer {secret}"},
        json={"title": "助学项目", "purpose": "education", "implementing_unit": "雁江区民政局",
              "payee": "雁江区希望小学", "requested_amount": "50000.00",
              "budget": [{"item": "助学金", "amount": "50000.00"}],
              "counts": {"left_behind": 10},
              "tranches": [{"planned_date": "2026-07-15", "amount": "50000.00"}],
              "final_report_due": "2026-12-31"})
    assert answer.status_code == 409, answer.get_data(as_text=True)[:300]
    assert rollbacks == [1]
    assert count(engine, "projects") == 0


def test_a_view_that_fails_unexpectedly_is_rolled_back_once(app, world, login, rollbacks,
                                                            monkeypatch):
    client = login("ca")

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("webapp.main.routes.render_template", broken)
    assert client.get("/dashboard").status_code == 500
    assert rollbacks == [1]


def test_a_database_gone_before_the_view_is_rolled_back_once(world, instance_folder,
                                                             rollbacks):
    """The public page reads the audit head before its view runs (its ETag): a failure
    there reaches the same boundary."""
    broken = create_app({"DATABASE_URL": GONE, "TESTING": True,
                         "ATTACHMENTS_DIR": str(instance_folder / "attachments")})
    page = broken.test_client().get("/public/")
    assert page.status_code == 500 and "数据库" in page.get_data(as_text=True)
    assert rollbacks == [1]
