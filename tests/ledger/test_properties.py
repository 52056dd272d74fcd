"""Property: whatever sequence of events users attempt, the books stay lawful.

Hypothesis draws random sequences of fund events (amounts, dates, purposes,
projects, reversals, period closes); each either posts or is refused with a
domain error. Afterwards every invariant holds in SQL, the export loads in
Beancount's own loader (what ``bean-check`` runs) without error, and Beancount's
balances equal SQL's.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import hypothesis
import pytest
from beancount import loader
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.actors import Actor
from core.db import transaction
from core.errors import DomainError
from ledger import events
from ledger.balances import balances
from ledger.beancount_io import write_ledger
from ledger.funds import add_fund
from ledger.journal import find_fund
from ledger.periods import close_period
from ledger.verify import verify_fund

ACTOR = Actor("prop", "finance")
PURPOSES = ["education", "orphans", "disability", "medical", "hardship", "disaster"]
GRANTS = ["G1", "G2", "G3", "G4"]
START = dt.date(2025, 1, 1)
_codes = (f"P{n}" for n in itertools.count(1))

amounts = st.integers(min_value=1, max_value=500_000).map(lambda c: Decimal(c) / 100)
steps = st.integers(min_value=-5, max_value=20)

event = st.one_of(
    st.tuples(st.just("seed"), amounts.map(lambda a: a * 100)),
    st.tuples(st.just("top-up"), amounts),
    st.tuples(st.just("donation"), amounts, st.sampled_from([None, *PURPOSES]),
              st.sampled_from(["enterprise", "individual"])),
    st.tuples(st.just("allocation"), amounts, st.sampled_from(PURPOSES)),
    st.tuples(st.just("commitment"), amounts, st.sampled_from(PURPOSES),
              st.sampled_from(GRANTS)),
    st.tuples(st.just("disbursement"), amounts, st.sampled_from(GRANTS)),
    st.tuples(st.just("release"), amounts, st.sampled_from(GRANTS)),
    st.tuples(st.just("unspent-return"), amounts, st.sampled_from(GRANTS)),
    st.tuples(st.just("interest"), amounts),
    st.tuples(st.just("bank-fee"), amounts),
    st.tuples(st.just("reversal"), st.integers(min_value=1, max_value=40)),
    st.tuples(st.just("close")),
)


def apply(session, code: str, day: dt.date, step: tuple, receipts: itertools.count) -> int:
    """Take one step; answers the number of entries it posts (a period close posts none)."""
    kind, *args = step
    common = {"date": day}
    if kind in ("seed", "top-up"):
        getattr(events, f"post_{kind.replace('-', '_')}")(
            session, ACTOR, code, amount=args[0], doc_no="文号", **common)
    elif kind == "donation":
        events.post_donation(session, ACTOR, code, amount=args[0], purpose=args[1],
                             donor_type=args[2], donor="捐赠人",
                             receipt_no=f"R{next(receipts)}", **common)
    elif kind == "allocation":
        events.post_allocation(session, ACTOR, code, amount=args[0], purpose=args[1], **common)
    elif kind == "commitment":
        events.post_commitment(session, ACTOR, code, amount=args[0], purpose=args[1],
                               grant=args[2], **common)
    elif kind == "disbursement":
        events.post_disbursement(session, ACTOR, code, amount=args[0], grant=args[1],
                                 bank_ref="B", **common)
    elif kind == "release":
        events.post_release(session, ACTOR, code, amount=args[0], grant=args[1], reason="r",
                            **common)
    elif kind == "unspent-return":
        events.post_unspent_return(session, ACTOR, code, amount=args[0], grant=args[1],
                                   bank_ref="B", **common)
    elif kind in ("interest", "bank-fee"):
        getattr(events, f"post_{kind.replace('-', '_')}")(session, ACTOR, code, amount=args[0],
                                                          **common)
    elif kind == "reversal":
        events.post_reversal(session, ACTOR, code, seq=args[0], reason="更正", **common)
    else:
        close_period(session, ACTOR, code, f"{day.year}-{day.month:02d}",
                     unreconciled_reason="性质测试没有银行对账单")
        return 0
    return 1


@pytest.mark.slow
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(script=st.lists(st.tuples(steps, event), min_size=10, max_size=60))
def test_any_sequence_of_events_keeps_the_books_lawful(factory, tmp_path, script):
    code = next(_codes)
    with transaction(factory) as session:
        add_fund(session, ACTOR, code=code, name_zh="性质测试", name_en="Property",
                 opened_on=START)
        # Money to work with, so most drawn events have something to move.
        events.post_seed(session, ACTOR, code, date=START, amount="500000", doc_no="启动")
    receipts = itertools.count(1)
    day = START
    posted, refused = 1, 0  # the seed
    closed = 0
    for step_days, step in script:
        day = min(max(START, day + dt.timedelta(days=step_days)), dt.date(2026, 6, 30))
        try:
            with transaction(factory) as session:
                entries = apply(session, code, day, step, receipts)
            posted += entries
            closed += 1 - entries
        except DomainError:
            refused += 1  # refused, and the transaction rolled back: nothing half-written

    taken = posted + closed
    hypothesis.event(f"{taken * 100 // (taken + refused) // 25 * 25}%+ of events taken")
    with factory() as session:
        fund = find_fund(session, code)
        assert fund.entry_count == posted  # every step that was not refused, and no other
        book = balances(session, fund)
        for name, value in book.items():
            if name.startswith("Assets:Fund:"):
                assert value >= 0, (name, value)
        for purpose in ("Education", "Orphans", "Disability", "Medical", "Hardship", "Disaster"):
            payable = book[f"Liabilities:GrantsPayable:{purpose}"]
            assert payable <= 0
            assert book[f"Assets:Fund:{purpose}"] + payable >= 0
        assert sum(book.values()) == 0

        report = verify_fund(session, fund)
        assert report.ok, report.problems

        path = tmp_path / f"{code}.beancount"
        with path.open("w", encoding="utf-8") as out:
            write_ledger(session, fund, out)
    _entries, errors, _ = loader.load_file(str(path))  # what bean-check runs
    assert not errors, [e.message for e in errors]
