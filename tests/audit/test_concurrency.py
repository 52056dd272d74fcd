"""Funds never wait on each other: a transaction holding one fund's audit chain head
delays postings to that fund only (issue 11, item 7).

On PostgreSQL, where writers run side by side; SQLite has one writer at a time.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import text

from core import clock
from core.actors import Actor
from core.db import transaction
from ledger.events import post_interest
from tests.conftest import TODAY

CLERK = Actor("clerk", "finance")


@pytest.fixture
def two_funds(make_fund, post):
    for code in ("YJQ", "ZYS"):
        make_fund(code)
        post("seed", code, date=dt.date(2025, 1, 2), amount="1000", doc_no=f"{code}-D1")
    return "YJQ", "ZYS"


class Posting(threading.Thread):
    """Bank interest to one fund through the real code, in its own transaction."""

    def __init__(self, factory, fund: str) -> None:
        super().__init__(daemon=True)
        self.factory, self.fund = factory, fund
        self.elapsed: float | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        began = time.monotonic()
        try:
            with clock.frozen_at(TODAY), transaction(self.factory) as s:
                s.execute(text("SET LOCAL lock_timeout = '20s'"))  # never hang the suite
                post_interest(s, CLERK, self.fund, date=dt.date(2025, 2, 3), amount="1.25")
            self.elapsed = time.monotonic() - began
        except BaseException as error:
            self.error = error


def test_a_held_chain_head_delays_its_own_fund_only(database_url, two_funds, engine, factory,
                                                    session):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: there is nothing to show")
    holder = engine.connect()
    held = holder.begin()
    # Another session holds YJQ's chain head, as a slow transaction in YJQ would.
    holder.execute(text("SELECT last_seq FROM audit_chain_heads WHERE chain = 'YJQ' "
                        "FOR UPDATE")).one()
    try:
        other = Posting(factory, "ZYS")
        other.start()
        other.join(timeout=10)
        assert not other.is_alive() and other.error is None, other.error
        assert other.elapsed is not None and other.elapsed < 2.0

        same = Posting(factory, "YJQ")
        same.start()
        same.join(timeout=2.0)
        assert same.is_alive(), "a posting to YJQ did not wait for YJQ's chain head"
    finally:
        held.rollback()
        holder.close()
    same.join(timeout=20)
    assert not same.is_alive() and same.error is None, same.error
    assert same.elapsed is not None and same.elapsed >= 2.0
    seqs = session.execute(text("SELECT chain, max(seq) FROM audit_log "
                                "WHERE chain IN ('YJQ', 'ZYS') GROUP BY chain")).all()
    assert dict(seqs) == {"YJQ": 3, "ZYS": 3}  # fund.add, seed, interest in each
