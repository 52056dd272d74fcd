"""A bank statement above SPECIALFUND_IMPORT_QUEUE_BYTES is imported by the worker: the
page checks it, queues it and shows the job, whose page says what the import did; a
smaller one is imported in the request as before.

Most tests run each job in the request that asks for it (``JOBS_IMMEDIATE``); those
that change something between the asking and the running hold the job on a queue
nobody works (``held``) and run it as the worker does (``run_job``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from werkzeug.test import EnvironBuilder

from audit.models import AuditRecord
from core.db import transaction
from core.i18n import gettext
from jobs import runner, statement_import
from jobs.models import Job
from ledger import bank
from ledger.income_models import BankLine, BankStatement
from ledger.journal import find_fund
from ledger.models import JournalEntry
from ledger.periods import close_period
from people.models import User
from people.users import add_user, find_user, set_active
from tests.jobs.test_statement_import import HEADER, big_statement
from tests.webapp.conftest import assert_no_such_job, fetch, text
from tests.worlds import CONSOLE, PASSWORD
from webapp import create_app
from webapp.extensions import db

SEED_LINE = "2025-01-05,财政启动资金,资阳市财政局,1000000.00,,1000000.00,CZ0105\n"


def upload(client, data: bytes, name: str = "big.csv", fund: str = "YJQ"):
    """Post a statement to the import page. A large body is spooled to a temporary file:
    the request is built here to close it."""
    builder = EnvironBuilder(path=f"/funds/{fund}/bank/import", method="POST",
                             data={"file": (io.BytesIO(data), name)})
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


def queued(client, data: bytes) -> str:
    """Upload a statement that is queued; the address of its job's page."""
    response = upload(client, data)
    assert response.status_code == 303, text(response)[:300]
    location = response.headers["Location"]
    assert location.startswith("/jobs/"), location
    return location


def job_of(factory, url: str) -> Job:
    with factory() as session:
        job = session.get(Job, url.rsplit("/", 1)[1])
        session.expunge(job)
        return job


def imported_lines(session, code: str) -> list[tuple[object, ...]]:
    """A fund's statement lines as the import left them, the entry each matched by number."""
    fund = find_fund(session, code)
    return [tuple(row) for row in session.execute(
        select(BankLine.line_no, BankLine.date, BankLine.amount, BankLine.balance,
               BankLine.reference, BankLine.counterparty, BankLine.description,
               BankLine.state, BankLine.matched_by, JournalEntry.seq)
        .outerjoin(JournalEntry, JournalEntry.id == BankLine.entry_id)
        .where(BankLine.fund_id == fund.id).order_by(BankLine.line_no))]


def nothing_changed(app, factory) -> None:
    with factory() as session:
        assert session.execute(select(func.count()).select_from(Job)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(BankStatement)).scalar_one() == 0
    folder = Path(app.config["JOBS_DIR"])
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_large_statement_is_imported_by_a_job_as_a_request_imports_it(world, app, login,
                                                                        factory):
    data = big_statement()
    assert app.config["IMPORT_QUEUE_BYTES"] == 256 * 1024 < len(data)
    office = login("co")
    url = queued(office, data)
    page = office.get(url)
    body = page.get_data(as_text=True)
    assert 'data-state="done"' in body
    assert "银行对账单已导入：共6500笔流水，自动勾对1笔，待勾对6499笔。" in text(page)
    assert 'href="/funds/YJQ/bank"' in body
    assert f'href="{url}/file"' not in body and "retry" not in body
    assert fetch(office, url + "/file").status_code == 404  # nothing to download
    # The same file imported in a request, into AYX, whose books the world made the same.
    with transaction(factory) as session:
        ay_co = add_user(session, CONSOLE, username="ay_co", display_name="ay_co",
                         role="charity_office", fund_code="AYX", password=PASSWORD)
        expected = bank.import_statement(session, ay_co.actor(), "AYX", data, "big.csv")
    job = job_of(factory, url)
    assert (job.state, job.kind, job.attempts, job.fund_id is not None) == \
        ("done", statement_import.KIND, 1, True)
    assert statement_import.result_of(job.outcome) == dataclasses.replace(
        expected, statement_id=job.outcome["statement"])
    with factory() as session:
        assert imported_lines(session, "YJQ") == imported_lines(session, "AYX")
        assert len(imported_lines(session, "YJQ")) == 6500
        day = dt.date(2026, 6, 30)
        assert bank.bank_balance(session, find_fund(session, "YJQ"), day) == \
            bank.bank_balance(session, find_fund(session, "AYX"), day) is not None
        records = session.execute(select(AuditRecord.actor, AuditRecord.fund)
                                  .where(AuditRecord.action == "bank.import")
                                  .order_by(AuditRecord.id)).all()
        assert [tuple(r) for r in records] == [("co", "YJQ"), ("ay_co", "AYX")]
    assert list(Path(app.config["JOBS_DIR"]).iterdir()) == []  # the upload is deleted
    assert "big.csv" in text(office.get("/funds/YJQ/bank"))


def test_the_job_tells_of_lines_in_a_closed_period(world, login):
    world.run("fin1", close_period, fund_code="YJQ", period="2025-01",
              unreconciled_reason="年初尚未启用银行对账")
    office = login("co")
    page = text(office.get(queued(office, big_statement())))
    closed = [2] + [n + 2 for n in range(1, 6500) if n % 540 <= 25]  # up to 2025-01-31
    notice = bank.ImportResult(0, 6500, 0, 1, 6499, tuple(closed),
                               dt.date(2025, 1, 31)).closed_notice
    assert notice is not None and notice in page


def test_a_statement_up_to_the_setting_is_imported_in_the_request(world, app, login, factory):
    small = (HEADER + SEED_LINE).encode()
    office = login("co")
    app.config["IMPORT_QUEUE_BYTES"] = len(small) - 1
    assert upload(office, small).status_code == 303  # one byte above: queued
    with transaction(factory) as session:  # forget it, to import the same file again
        session.execute(update(Job).values(state="failed", error="x", result_sha256=None))
        session.execute(BankLine.__table__.delete())
        session.execute(BankStatement.__table__.delete())
    app.config["IMPORT_QUEUE_BYTES"] = len(small)
    response = upload(office, small)
    assert response.status_code == 302 and response.headers["Location"] == "/funds/YJQ/bank"
    assert "银行对账单已导入：共1笔流水，自动勾对1笔，待勾对0笔。" in text(
        office.get("/funds/YJQ/bank"))
    with factory() as session:
        assert session.execute(select(func.count()).select_from(Job)).scalar_one() == 1
        assert session.execute(select(func.count()).select_from(BankStatement)).scalar_one() == 1


@pytest.mark.parametrize(("value", "expected"), [("", 256 * 1024), ("0", 0),
                                                ("1048576", 1048576), ("1 MB", None)])
def test_the_setting_is_a_whole_number_of_bytes(instance_folder, monkeypatch, value, expected):
    from webapp.config import ConfigurationError, from_environment

    monkeypatch.setenv("SPECIALFUND_IMPORT_QUEUE_BYTES", value)
    if expected is None:
        with pytest.raises(ConfigurationError, match="SPECIALFUND_IMPORT_QUEUE_BYTES"):
            from_environment(str(instance_folder))
    else:
        assert from_environment(str(instance_folder))["IMPORT_QUEUE_BYTES"] == expected


BROKEN = big_statement() + "2026-02-30,结息,,0.01,,1.00,LX999999\n".encode()
FORGED = b"PK\x03\x04" + b"\x00" * 300_000  # a workbook named .csv


@pytest.mark.parametrize("case", ["broken", "forged", "oversized", "other fund"])
def test_an_upload_that_would_be_refused_is_refused_at_once(world, app, login, factory, case):
    data, fund, status, message = {
        "broken": (BROKEN, "YJQ", 400, gettext(
            "Line {line}: “{value}” is not a date (YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD).",
            line=6502, value="2026-02-30")),
        "forged": (FORGED, "YJQ", 400, gettext(
            "Line {line}: {file} contains NUL bytes, so it is not a CSV text file (a "
            "spreadsheet or UTF-16 text?). Export the statement from the bank as CSV.",
            line=1, file="big.csv")),
        "oversized": (big_statement() * 50, "YJQ", 413, gettext(
            "The upload is too large: at most {size} MB can be sent at once.", size=12)),
        "other fund": (big_statement(), "AYX", 404, gettext(
            "There is no fund with code {code}.", code="AYX")),
    }[case]
    assert len(data) > app.config["IMPORT_QUEUE_BYTES"]
    response = upload(login("co"), data, fund=fund)
    assert response.status_code == status
    assert message in text(response)
    nothing_changed(app, factory)


def test_a_file_already_imported_is_refused_at_once(world, app, login, factory):
    data = big_statement()
    with transaction(factory) as session:
        bank.import_statement(session, world["co2"], "YJQ", data, "earlier.csv")
    response = upload(login("co"), data)
    assert response.status_code == 409
    assert gettext("This file was already imported into fund {fund} as {file} on {date} "
                   "(statement {id}); nothing changed.", fund="YJQ", file="earlier.csv",
                   date="2026-07-01", id=1) in text(response)
    with factory() as session:
        assert session.execute(select(func.count()).select_from(Job)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(BankStatement)).scalar_one() == 1
    assert not Path(app.config["JOBS_DIR"]).exists()


def test_an_upload_is_not_kept_when_the_request_fails_after_saving_it(world, app, login,
                                                                     factory, monkeypatch):
    from webapp.money import routes

    def unreachable(job_id: str) -> None:
        raise RuntimeError("the queue is unreachable")

    monkeypatch.setattr(routes, "enqueue", unreachable)
    response = upload(login("co"), big_statement())
    assert response.status_code == 500
    nothing_changed(app, factory)


@pytest.mark.parametrize("other", ["co2", "fin1", "aud", "city_aud", "ay_fin", "ca", "admin"])
def test_an_import_job_is_its_uploaders_alone(world, login, other):
    """Another charity office user of the fund, its finance and auditors, the city's
    auditor who reads it, another county: the job does not exist for them."""
    url = queued(login("co"), big_statement())
    client = login(other)
    assert_no_such_job(client, url)


def test_a_running_import_shows_how_far_it_got(world, login, factory):
    office = login("co")
    url = queued(office, big_statement())
    with transaction(factory) as session:  # as the worker records it on PostgreSQL
        job = session.get(Job, url.rsplit("/", 1)[1])
        job.state, job.result_sha256, job.outcome = "running", None, None
        job.progress, job.progress_params = statement_import.STORED, {"done": 325,
                                                                      "lines": 6500}
    page = office.get(url)
    assert '<meta http-equiv="refresh"' in page.get_data(as_text=True)
    assert "正在导入: 已保存325/6500笔流水" in text(page)


# --- a job held between its asking and its running --------------------------------------


@pytest.fixture
def held(database_url, instance_folder):
    """The app with a queue nobody works: a job waits until the test runs it."""
    app = create_app({"DATABASE_URL": database_url, "TESTING": True,
                      "SESSION_COOKIE_SECURE": False, "WTF_CSRF_ENABLED": False,
                      "JOBS_IMMEDIATE": False})
    yield app
    db.dispose_all()


def signed_in(app, username: str):
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}) \
        .status_code == 302
    return client


def set_user_active(factory, username: str, active: bool) -> None:
    with transaction(factory) as session:
        set_active(session, CONSOLE, find_user(session, username), active)


def test_a_job_whose_user_was_deactivated_writes_nothing_and_is_retried(world, held,
                                                                       factory):
    folder = Path(held.config["JOBS_DIR"])
    url = queued(signed_in(held, "co"), big_statement())
    job_id = url.rsplit("/", 1)[1]
    set_user_active(factory, "co", False)
    assert runner.run_job(factory, job_id, folder) == "failed"
    with factory() as session:
        assert session.execute(select(func.count()).select_from(BankStatement)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(BankLine)).scalar_one() == 0
    assert runner.input_path(folder, job_id).exists()
    set_user_active(factory, "co", True)
    office = signed_in(held, "co")
    page = office.get(url)
    assert 'data-state="failed"' in page.get_data(as_text=True)
    assert "对账单未导入。 未导入任何内容：提交导入的用户已停用，或已不再是本基金的慈善办用户。" \
        in text(page)
    retried = office.post(url + "/retry")
    assert retried.status_code == 303 and retried.headers["Location"] == url
    assert runner.run_job(factory, job_id, folder) == "done"
    page = office.get(url)
    assert 'data-state="done"' in page.get_data(as_text=True)
    assert "银行对账单已导入：共6500笔流水，自动勾对1笔，待勾对6499笔。" in text(page)
    assert job_of(factory, url).attempts == 2
    assert not runner.input_path(folder, job_id).exists()


def test_a_retry_after_the_file_was_imported_meanwhile_says_so(world, held, factory, run_as,
                                                               tmp_path):
    """The job failed; meanwhile another charity office user imported the same file at
    the console, which imports in its own time, however large the file."""
    folder = Path(held.config["JOBS_DIR"])
    data = big_statement()
    url = queued(signed_in(held, "co"), data)
    job_id = url.rsplit("/", 1)[1]
    set_user_active(factory, "co", False)
    assert runner.run_job(factory, job_id, folder) == "failed"
    set_user_active(factory, "co", True)
    (tmp_path / "june.csv").write_bytes(data)
    status, out, err = run_as("co2", "bank", "import", "--fund", "YJQ",
                              str(tmp_path / "june.csv"))
    assert status == 0, err
    assert "Imported june.csv into fund YJQ: 6500 lines" in out
    office = signed_in(held, "co")
    assert office.post(url + "/retry").status_code == 303
    assert runner.run_job(factory, job_id, folder) == "failed"
    page = text(office.get(url))
    assert "对账单未导入。 该文件已于2026-07-01导入基金YJQ（对账单1），本次未作任何更改。" in page
    with factory() as session:
        statement = session.execute(select(BankStatement)).scalar_one()
        assert (statement.filename, statement.imported_by) == ("june.csv", "co2")
        assert session.execute(select(func.count()).select_from(BankLine)).scalar_one() == 6500
        assert session.execute(select(User.active).where(User.username == "co")).scalar_one()


def test_a_worker_imports_the_statement(world, worker_app, factory):
    """A consumer thread on the queue's own storage (SQLite in the instance folder, or
    Redis) takes the write lock of the books from its own sessions."""
    office = signed_in(worker_app, "co")
    url = queued(office, big_statement())
    deadline = time.monotonic() + 60
    while 'data-state="done"' not in (page := office.get(url)).get_data(as_text=True):
        assert 'data-state="failed"' not in page.get_data(as_text=True), text(page)
        assert time.monotonic() < deadline, "the worker never imported the statement"
        time.sleep(0.2)
    assert "银行对账单已导入：共6500笔流水，自动勾对1笔，待勾对6499笔。" in text(page)
    with factory() as session:
        assert session.execute(select(func.count()).select_from(BankLine)).scalar_one() == 6500
    assert list(Path(worker_app.config["JOBS_DIR"]).glob("*.input")) == []
