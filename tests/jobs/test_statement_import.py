"""A large bank statement imported by the worker (``jobs.statement_import``) through the
runner's writing kinds: as its charity-office user, in one write transaction with its
audit record and the job's "done", from the upload saved beside the jobs' files.

The jobs here are asked for as the import page asks (checked, requested, input saved,
committed) and run with ``run_job``, as the worker runs them."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

import audit
from core.db import transaction
from jobs import runner, statement_import
from jobs.models import Job
from jobs.runner import input_path, request_job, retry_job, run_job, save_input
from ledger import bank
from ledger.income_models import BankLine, BankStatement
from ledger.journal import find_fund
from people.users import find_user, set_active
from tests.worlds import CONSOLE

HEADER = "交易日期,摘要,对方户名,收入金额,支出金额,余额,流水号\n"


def big_statement(lines: int = 6500) -> bytes:
    """A statement larger than the default SPECIALFUND_IMPORT_QUEUE_BYTES (256 KiB): the
    seed money the world's funds received on 2025-01-05 (a line that matches the seed's
    entry), then a cent of interest a line that no entry explains."""
    rows = [HEADER, "2025-01-05,财政启动资金,资阳市财政局,1000000.00,,1000000.00,CZ0105\n"]
    balance = Decimal("1000000.00")
    for n in range(1, lines):
        balance += Decimal("0.01")
        day = dt.date(2025, 1, 6) + dt.timedelta(days=n % 540)  # to 2026-06-29
        rows.append(f"{day.isoformat()},结息,,0.01,,{balance},LX{n:06d}\n")
    return "".join(rows).encode()


@pytest.fixture
def folder(instance_folder) -> Path:
    return instance_folder / "jobs"


def ask_import(world, folder: Path, data: bytes, user: str = "co", fund: str = "YJQ") -> str:
    """A statement-import job, asked for as the import page asks for one; committed."""
    with transaction(world.factory) as session:
        row = find_fund(session, fund)
        checked = bank.check_statement(session, row, data, "big.csv")
        job = request_job(session, world[user], statement_import.KIND,
                          statement_import.parameters(fund, checked), [row.id])
        save_input(folder, job.id, data)
        return job.id


def statements(factory) -> int:
    with factory() as session:
        return session.execute(select(func.count()).select_from(BankStatement)).scalar_one()


def lines(factory) -> int:
    with factory() as session:
        return session.execute(select(func.count()).select_from(BankLine)).scalar_one()


def test_the_worker_imports_the_statement_and_deletes_the_upload(world, factory, folder):
    data = big_statement()
    job_id = ask_import(world, folder, data)
    assert input_path(folder, job_id).read_bytes() == data
    assert run_job(factory, job_id, folder) == "done"
    with factory() as session:
        job = session.get(Job, job_id)
        statement = session.execute(select(BankStatement)).scalar_one()
        assert (job.state, job.progress, job.progress_params, job.error) == \
            ("done", None, None, None)
        assert (job.result_sha256, job.result_path) == (hashlib.sha256(data).hexdigest(), None)
        assert job.outcome == {"statement": statement.id, "lines": 6500, "skipped": 0,
                               "matched": 1, "unmatched": 6499, "closed": [],
                               "locked_through": None}
        assert (statement.filename, statement.imported_by, statement.line_count) == \
            ("big.csv", "co", 6500)
    assert lines(factory) == 6500
    assert not input_path(folder, job_id).exists()
    assert list(folder.iterdir()) == []


def test_progress_counts_the_lines_stored(world, factory):
    """Every twentieth of the file, as ``import_statement`` stores its lines."""
    data = big_statement()
    reported: list[tuple[str, dict[str, object]]] = []
    with transaction(factory) as books:
        checked = bank.check_statement(books, find_fund(books, "YJQ"), data, "big.csv")
        statement_import.make(books, world["co"], statement_import.parameters("YJQ", checked),
                              data, lambda message, **params: reported.append((message,
                                                                                 params)))
    assert reported == [(statement_import.STORED, {"done": 325 * n, "lines": 6500})
                        for n in range(1, 21)]


def test_the_import_and_its_audit_record_commit_together_or_not_at_all(world, factory, folder,
                                                                       monkeypatch):
    """The audit record fails after the statement and its lines were written: none of it
    is kept, the job says it was not done, and its upload waits for a retry."""
    real = audit.record

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the audit log is full")

    monkeypatch.setattr(audit, "record", refuse)
    job_id = ask_import(world, folder, big_statement())
    assert run_job(factory, job_id, folder) == "failed"
    assert (statements(factory), lines(factory)) == (0, 0)
    with factory() as session:
        job = session.get(Job, job_id)
        assert (job.state, job.error, job.error_params, job.outcome, job.result_sha256) == \
            ("failed", runner.NOT_DONE, {}, None, None)
    assert input_path(folder, job_id).exists()
    monkeypatch.setattr(audit, "record", real)
    with transaction(factory) as session:
        retry_job(session, session.get(Job, job_id))
    assert run_job(factory, job_id, folder) == "done"
    assert (statements(factory), lines(factory)) == (1, 6500)


@pytest.mark.parametrize("change", ["deactivated", "moved to finance", "moved to AYX"])
def test_a_job_whose_user_may_no_longer_import_writes_nothing(world, factory, folder, change):
    job_id = ask_import(world, folder, big_statement())
    with transaction(factory) as session:
        user = find_user(session, "co")
        if change == "deactivated":
            set_active(session, CONSOLE, user, False)
        elif change == "moved to finance":
            user.role = "finance"
        else:
            user.jurisdiction_id = find_fund(session, "AYX").id
    assert run_job(factory, job_id, folder) == "failed"
    with factory() as session:
        job = session.get(Job, job_id)
        assert (job.state, job.error, job.error_params) == ("failed", statement_import.GONE, {})
    assert (statements(factory), lines(factory)) == (0, 0)
    assert input_path(folder, job_id).exists()  # kept: the job may be tried again


def test_a_statement_imported_meanwhile_is_not_imported_twice(world, factory, folder):
    """Two uploads of the same file both passed the page's check before either ran: the
    second job says the file is already imported, with plain words the row can keep."""
    data = big_statement()
    first, second = ask_import(world, folder, data), ask_import(world, folder, data, "co2")
    assert run_job(factory, first, folder) == "done"
    assert run_job(factory, second, folder) == "failed"
    with factory() as session:
        job = session.get(Job, second)
        statement = session.execute(select(BankStatement)).scalar_one()
        assert (job.error, job.error_params) == (
            statement_import.ALREADY, {"fund": "YJQ", "date": "2026-07-01", "id": statement.id})
    assert (statements(factory), lines(factory)) == (1, 6500)


def test_an_upload_gone_or_changed_is_not_imported(world, factory, folder):
    gone, changed = (ask_import(world, folder, big_statement()),
                     ask_import(world, folder, big_statement(6600)))
    input_path(folder, gone).unlink()
    input_path(folder, changed).write_bytes(big_statement(6601))
    assert run_job(factory, gone, folder) == run_job(factory, changed, folder) == "failed"
    with factory() as session:
        assert session.get(Job, gone).error == runner.INPUT_GONE
        assert session.get(Job, changed).error == statement_import.CHANGED
    assert statements(factory) == 0


def test_purging_a_job_deletes_its_waiting_upload(world, factory, folder):
    job_id = ask_import(world, folder, big_statement())
    with transaction(factory) as session:
        later = runner.clock.now() + dt.timedelta(seconds=1)
        assert runner.purge_jobs(session, folder, later) == 1
    assert not input_path(folder, job_id).exists()
