"""Long downloads are jobs: asked for on a page, made by the worker, fetched from the
job's page by the user who asked, under the download's own access rule.

Most tests run each job in the request that asks for it (``JOBS_IMMEDIATE``); the last
ones run a real consumer thread on the queue's SQLite storage (and on Redis, when one
answers), and show that pages keep answering while a job is being made.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select, update

from core.db import begin_snapshot, transaction
from core.errors import InvalidInput
from core.i18n import gettext
from jobs import downloads, runner
from jobs.models import Job
from ledger.journal import find_fund
from people.models import User
from reports.figures import Period
from tests.reports.test_statements import pdf_text
from tests.webapp.conftest import assert_no_such_job, fetch, text
from tests.worlds import CHILD, NUMBER, PASSWORD
from webapp import create_app
from webapp.extensions import db

AUDIT_LOG_PDF = {"fund": "YJQ", "report": "audit-log", "period": "2026", "format": "pdf"}


def ask(client, form=None) -> str:
    """Post the downloads form; the address of the job's page it sends us to."""
    response = client.post("/downloads/prepare", data=form or AUDIT_LOG_PDF)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    location = response.headers["Location"]
    assert location.startswith("/jobs/"), location
    return location


def built(factory, username: str, fund: str, report: str, fmt: str) -> downloads.Made:
    """What the download's builder makes for this user, called directly."""
    with factory() as books:
        begin_snapshot(books)
        actor = books.execute(select(User).where(User.username == username)).scalar_one().actor()
        funds = downloads.chosen_funds(books, actor, [fund])
        return downloads.statement(books, funds, report, Period.parse("2026"), fmt)


def test_the_years_audit_log_pdf_is_made_by_a_job(world, login, approved, factory, tmp_path):
    client = login("aud")
    page_url = ask(client)
    page = client.get(page_url)
    assert page.status_code == 200
    assert 'data-state="done"' in page.get_data(as_text=True)
    assert "审计日志摘录" in text(page)
    made = fetch(client, page_url + "/file")
    assert made.status_code == 200
    assert made.mimetype == "application/pdf"
    assert made.headers["Cache-Control"] == "no-store"
    expected = built(factory, "aud", "YJQ", "audit-log", "pdf")
    assert f'filename={expected.name}' in made.headers["Content-Disposition"]
    assert pdf_text(made.data, tmp_path) == pdf_text(expected.data, tmp_path)
    with factory() as session:
        job = session.get(Job, page_url.rsplit("/", 1)[1])
        assert (job.state, job.kind, job.attempts) == ("done", "download", 1)
        assert job.result_sha256 == hashlib.sha256(made.data).hexdigest()
        assert job.started_at is not None and job.finished_at is not None
        assert job.fund_id == find_fund(session, "YJQ").id


def test_a_workbook_and_the_ledgers_are_what_their_builders_make(world, login, factory):
    client = login("aud")
    url = ask(client, {"fund": "YJQ", "report": "beancount"})
    ledgers = fetch(client, url + "/file")
    with factory() as books:
        expected = downloads.ledgers(books, [find_fund(books, "YJQ")])
    assert ledgers.data == expected.data  # the same moment (the clock is frozen): same bytes
    assert zipfile.ZipFile(io.BytesIO(ledgers.data)).namelist() == ["YJQ.beancount",
                                                                     "README.txt"]
    url = ask(client, {**AUDIT_LOG_PDF, "report": "donation-register", "format": "xlsx"})
    workbook = fetch(client, url + "/file")
    assert workbook.status_code == 200
    assert workbook.data.startswith(b"PK")


def test_a_csv_is_made_in_the_request(world, login, factory):
    response = login("aud").post("/downloads/prepare", data={**AUDIT_LOG_PDF, "format": "csv"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/downloads/file?")
    with factory() as session:
        assert session.execute(select(Job)).first() is None


@pytest.mark.parametrize("other", ["fin1", "city_aud", "ay_fin", "ca", "admin"])
def test_a_job_is_its_askers_alone(world, login, other):
    """Another user of the fund, the city auditor who reads the fund too, another county:
    the job does not exist for them, nor its file, nor its retry."""
    url = ask(login("aud"))
    client = login(other)
    assert_no_such_job(client, url)


def test_a_job_is_gone_when_its_asker_may_no_longer_read_the_fund(world, login, factory):
    client = login("aud")
    url = ask(client)
    assert client.get(url).status_code == 200
    with transaction(factory) as session:
        ayx = find_fund(session, "AYX")
        session.execute(update(User).where(User.username == "aud")
                        .values(jurisdiction_id=ayx.id))
    assert client.get(url).status_code == 404
    assert fetch(client, url + "/file").status_code == 404


def test_an_unguessable_id(world, login):
    client = login("aud")
    first, second = ask(client), ask(client)
    assert first != second
    assert len(first.rsplit("/", 1)[1]) >= 32
    assert client.get("/jobs/1").status_code == 404


def test_a_failed_job_says_why_and_is_tried_again(world, login, factory, monkeypatch):
    real = downloads.statement

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise InvalidInput("There is no fund with code {code}.", code="YJQ")

    monkeypatch.setattr(downloads, "statement", refuse)
    client = login("aud")
    url = ask(client)
    page = client.get(url)
    assert 'data-state="failed"' in page.get_data(as_text=True)
    assert "没有代码为YJQ的基金。" in text(page)  # the catalog's words, in Chinese
    assert fetch(client, url + "/file").status_code == 404
    monkeypatch.setattr(downloads, "statement", real)
    retried = client.post(url + "/retry")
    assert retried.status_code == 303 and retried.headers["Location"] == url
    page = client.get(url)
    assert 'data-state="done"' in page.get_data(as_text=True)
    assert "没有代码" not in text(page)
    assert fetch(client, url + "/file").data.startswith(b"%PDF")
    with factory() as session:
        job = session.get(Job, url.rsplit("/", 1)[1])
        assert (job.state, job.attempts, job.error) == ("done", 2, None)
    assert client.post(url + "/retry").status_code == 409  # done: nothing to retry


def test_an_unexpected_failure_shows_no_trace(world, login, factory, monkeypatch):
    def crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("SELECT secret FROM beneficiaries WHERE name = '王小明'")

    monkeypatch.setattr(downloads, "statement", crash)
    client = login("aud")
    url = ask(client)
    page = text(client.get(url))
    assert gettext(runner.FAILED) in page
    for leak in ("SELECT", "Traceback", "RuntimeError", CHILD):
        assert leak not in page
    with factory() as session:
        job = session.get(Job, url.rsplit("/", 1)[1])
        assert (job.state, job.error, job.error_params) == ("failed", runner.FAILED, {})


def test_a_job_row_holds_no_childs_data(world, login, listed, factory, monkeypatch):
    """A job over the registers of a fund with a child on a list, and one whose refusal
    names the child: the row keeps neither the name nor the ID number."""
    client = login("aud")
    done = ask(client, {**AUDIT_LOG_PDF, "report": "grant-register"})

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise InvalidInput("{name} ({number}) is not on the list.", name=CHILD, number=NUMBER)

    monkeypatch.setattr(downloads, "statement", refuse)
    failed = ask(client, {**AUDIT_LOG_PDF, "report": "grant-register"})
    with factory() as session:
        jobs = {job.id: job for job in session.execute(select(Job)).scalars()}
        assert {jobs[done.rsplit("/", 1)[1]].state, jobs[failed.rsplit("/", 1)[1]].state} \
            == {"done", "failed"}
        for job in jobs.values():
            row = json.dumps({column.name: str(getattr(job, column.key))
                              for column in Job.__table__.columns}, ensure_ascii=False)
            assert CHILD not in row and NUMBER not in row, row
        assert jobs[failed.rsplit("/", 1)[1]].error == runner.FAILED


def test_a_file_changed_on_disk_is_not_handed_over(world, login, app):
    client = login("aud")
    url = ask(client)
    job_id = url.rsplit("/", 1)[1]
    path = next(Path(app.config["JOBS_DIR"]).glob(f"{job_id}.*"))
    path.write_bytes(b"%PDF-1.4 not the one made")
    assert fetch(client, url + "/file").status_code == 404


def test_the_page_refreshes_itself_until_the_job_is_done(world, login, factory):
    """Without JavaScript: a meta refresh and a reload link while waiting, none after."""
    with transaction(factory) as session:
        user = session.execute(select(User).where(User.username == "aud")).scalar_one()
        job_id = runner.request_job(session, user.actor(), "download",
                                    {k: v for k, v in AUDIT_LOG_PDF.items() if k != "fund"}
                                    | {"funds": ["YJQ"]}, []).id
    client = login("aud")
    waiting = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh"' in waiting
    assert f'href="/jobs/{job_id}"' in waiting
    assert "<script" not in waiting
    runner.run_job(factory, job_id, Path(client.application.config["JOBS_DIR"]))
    done = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh"' not in done
    assert f'href="/jobs/{job_id}/file"' in done


# --- a real worker ------------------------------------------------------------------------


def test_a_worker_makes_the_pdf_while_pages_keep_answering(world, worker_app, approved,
                                                          monkeypatch, tmp_path):
    """The job is held inside the builder (as a 90-second PDF would be) while other pages
    are asked for; then it finishes, and the page offers the file."""
    release, inside = threading.Event(), threading.Event()
    real = downloads.statement

    def slow(books, funds, report, period, fmt, progress=lambda _: None):  # type: ignore[no-untyped-def]
        progress("Reading the books")
        inside.set()
        assert release.wait(30)
        return real(books, funds, report, period, fmt, progress)

    monkeypatch.setattr(downloads, "statement", slow)
    client = worker_app.test_client()
    assert client.post("/login", data={"username": "aud", "password": PASSWORD}) \
        .status_code == 302
    url = ask(client)
    assert inside.wait(30), "the worker never started the job"
    started = time.monotonic()
    for page in ("/dashboard", "/downloads/", "/projects/", url):
        response = client.get(page)
        assert response.status_code == 200, page
    assert time.monotonic() - started < 10  # nothing waited on the job
    running = client.get(url).get_data(as_text=True)
    assert 'data-state="running"' in running
    assert gettext("Reading the books") in running
    release.set()
    deadline = time.monotonic() + 60
    while 'data-state="done"' not in client.get(url).get_data(as_text=True):
        assert time.monotonic() < deadline, "the job never finished"
        time.sleep(0.2)
    made = fetch(client, url + "/file")
    assert made.data.startswith(b"%PDF")
    assert "审计日志摘录" in pdf_text(made.data, tmp_path)


@pytest.mark.slow  # a process of its own, loading the app and WeasyPrint
def test_the_worker_command_makes_the_queued_jobs(world, database_url, instance_folder,
                                                  tmp_path):
    """``specialfund worker``, a process of its own, makes what the app queued on the
    SQLite queue in the instance folder; SIGINT stops it."""
    import os
    import signal
    import subprocess
    import sys

    app = create_app({"DATABASE_URL": database_url, "SESSION_COOKIE_SECURE": False,
                      "WTF_CSRF_ENABLED": False, "JOBS_IMMEDIATE": False})
    client = app.test_client()
    assert client.post("/login", data={"username": "aud", "password": PASSWORD}) \
        .status_code == 302
    url = ask(client, {"fund": "YJQ", "report": "beancount"})
    assert 'data-state="queued"' in client.get(url).get_data(as_text=True)
    worker = subprocess.Popen(
        [sys.executable, "-c", "from webapp.cli import main; main()", "worker", "-w", "1"],
        env={**os.environ, "DATABASE_URL": database_url}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while 'data-state="done"' not in client.get(url).get_data(as_text=True):
            assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
            assert time.monotonic() < deadline, "the worker never made the job"
            time.sleep(0.3)
    finally:
        worker.send_signal(signal.SIGINT)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert "Traceback" not in output
    assert fetch(client, url + "/file").data.startswith(b"PK")
    db.dispose_all()


def test_a_job_whose_worker_stopped_can_be_retried(world, login, factory):
    client = login("aud")
    url = ask(client)
    job_id = url.rsplit("/", 1)[1]
    with transaction(factory) as session:  # as if the worker was killed an hour ago
        job = session.get(Job, job_id)
        job.state, job.result_sha256, job.result_path = "running", None, None
        job.started_at = job.started_at - runner.STALLED_AFTER - runner.dt.timedelta(minutes=1)
    page = client.get(url).get_data(as_text=True)
    assert 'data-state="running"' in page and f'action="{url}/retry"' in page
    assert client.post(url + "/retry").status_code == 303
    assert 'data-state="done"' in client.get(url).get_data(as_text=True)


def test_old_jobs_and_their_files_are_deleted(world, login, factory, app):
    client = login("aud")
    url = ask(client)
    folder = Path(app.config["JOBS_DIR"])
    (path,) = folder.glob(f"{url.rsplit('/', 1)[1]}.*")
    with transaction(factory) as session:
        later = runner.clock.now() + runner.dt.timedelta(seconds=1)
        assert runner.purge_jobs(session, folder, later) == 1
    assert not path.exists()
    assert client.get(url).status_code == 404


def test_a_draft_annual_reports_pdf_is_made_by_a_job(world, login, factory, tmp_path):
    from reports import annual

    finance = login("fin1")
    assert finance.post("/funds/YJQ/annual/2025", data={
        "overview": "全年资助留守儿童。", "work": "开展助学项目。", "finance": "收支详见报表。",
        "plans": "继续做好资助工作。"}).status_code == 302
    draft = finance.get("/funds/YJQ/annual/2025.pdf")  # a draft is not drawn in the request
    assert draft.status_code == 303 and draft.headers["Location"] == "/funds/YJQ/annual/2025"
    assert "/funds/YJQ/annual/2025/prepare" in finance.get(draft.headers["Location"]).get_data(
        as_text=True)
    asked = finance.post("/funds/YJQ/annual/2025/prepare")
    assert asked.status_code == 303 and asked.headers["Location"].startswith("/jobs/")
    page = finance.get(asked.headers["Location"])
    assert 'data-state="done"' in page.get_data(as_text=True)
    assert "2025" in text(page) and "YJQ" in text(page)
    # It leads back to the report, which every staff role may open (the downloads not).
    assert 'href="/funds/YJQ/annual/2025"' in page.get_data(as_text=True)
    made = fetch(finance, asked.headers["Location"] + "/file")
    assert made.status_code == 200 and made.mimetype == "application/pdf"
    with factory() as session:
        expected = annual.annual_pdf(session, annual.report_for(session, world["fin1"], "YJQ",
                                                                2025))
    assert pdf_text(made.data, tmp_path) == pdf_text(expected, tmp_path)
    # Another county's finance neither sees the job nor may ask for the draft.
    other = login("ay_fin")
    assert fetch(other, asked.headers["Location"]).status_code == 404
    assert other.post("/funds/YJQ/annual/2025/prepare").status_code == 404
