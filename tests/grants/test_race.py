"""Numbers are handed out once, however many people ask at the same moment.

Each worker has its own connection and commits for real; a barrier starts every round
together. On PostgreSQL, numbers counted without a lock collided (one of two people
drafting at once got a server error); SQLite's writers begin IMMEDIATE and take turns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.db import make_engine, make_session_factory, transaction
from grants import operations as ops
from grants.models import Project
from tests.conftest import TODAY
from tests.worlds import project_input

ROUNDS = 6
WORKERS = 2


def race(url: str, work: Callable[[Session, int, int], None]) -> list[BaseException]:
    """Run ``work(session, worker, round)`` in WORKERS threads, ROUNDS times each, every
    round started together; each call is its own committed transaction."""
    start = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        engine = make_engine(url)
        factory = make_session_factory(engine)
        try:
            for attempt in range(ROUNDS):
                start.wait(timeout=60)
                with transaction(factory) as session:
                    work(session, n, attempt)
        except BaseException as error:  # reported to the test, which fails on it
            errors.append(error)
            start.abort()
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    with clock.frozen_at(TODAY):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    return errors


@pytest.mark.slow
def test_people_drafting_at_once_all_get_a_project_and_its_own_number(database_url, world,
                                                                      factory):
    def draft(session: Session, worker: int, attempt: int) -> None:
        ops.create_project(session, world["ca"],
                           project_input(title=f"同时起草的项目{worker}-{attempt}"))

    errors = race(database_url, draft)
    assert not errors, [type(e).__name__ for e in errors]
    with factory() as session:
        refs = session.execute(select(Project.ref).order_by(Project.ref)).scalars().all()
    assert refs == [f"YJQ-2026-{n:03d}" for n in range(1, WORKERS * ROUNDS + 1)]
