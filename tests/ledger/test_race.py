"""Concurrent postings can never together overdraw a purpose.

Two processes on SQLite (separate connections, separate Python interpreters) and
two connections on PostgreSQL race to commit more commitments than the purpose
can pay for; exactly the ones that fit succeed.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from core import clock
from core.actors import Actor
from core.db import make_engine, make_session_factory, transaction
from core.errors import RuleViolation
from ledger.balances import available
from ledger.events import post_commitment
from ledger.journal import find_fund
from ledger.verify import verify_fund
from tests.conftest import TODAY

ATTEMPTS = 12  # per worker, 100.00 each, against 1,000.00 available
WORKERS = 2


def race(url: str, worker: int, start: object) -> tuple[int, int]:
    """Try ATTEMPTS commitments of 100.00; count successes and refusals."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    ok = refused = 0
    start.wait()  # type: ignore[attr-defined]
    with clock.frozen_at(TODAY):
        for attempt in range(ATTEMPTS):
            try:
                with transaction(factory) as session:
                    post_commitment(session, Actor(f"w{worker}", "finance"), "RACE",
                                    date=dt.date(2026, 6, 1), amount="100.00",
                                    grant=f"G-{worker}-{attempt}", purpose="education")
                ok += 1
            except RuleViolation as error:
                assert error.rule == "available-nonnegative"
                refused += 1
    engine.dispose()
    return ok, refused


def _process_worker(url: str, worker: int, start: object, results: object) -> None:
    results.put(race(url, worker, start))  # type: ignore[attr-defined]


@pytest.fixture
def funded(make_fund, post):
    make_fund("RACE")
    post("seed", "RACE", date=dt.date(2025, 1, 2), amount="5000", doc_no="D1")
    post("allocation", "RACE", date=dt.date(2025, 1, 3), amount="1000", purpose="education")
    return "RACE"


def check_outcome(results: list[tuple[int, int]], session: Session) -> None:
    assert sum(ok for ok, _ in results) == 10
    assert sum(refused for _, refused in results) == WORKERS * ATTEMPTS - 10
    fund = find_fund(session, "RACE")
    assert available(session, fund, "Education") == Decimal("0.00")
    assert verify_fund(session, fund).ok


@pytest.mark.slow
def test_two_processes_race_on_one_purpose(database_url, funded, session):
    if not database_url.startswith("sqlite"):
        pytest.skip("the process race is the SQLite case; PostgreSQL races connections below")
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(WORKERS), context.Queue()
    procs = [context.Process(target=_process_worker, args=(database_url, n, start, results))
             for n in range(WORKERS)]
    for proc in procs:
        proc.start()
    outcome = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    check_outcome(outcome, session)


@pytest.mark.slow
def test_two_connections_race_on_one_purpose(database_url, funded, session):
    start = threading.Barrier(WORKERS)
    outcome: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            outcome.append(race(database_url, worker, start))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    check_outcome(outcome, session)
