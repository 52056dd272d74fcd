"""The state table is the truth: every step of ``grants.states.STEPS``, taken through
``grants.operations.take_step`` as the pages and the API take it, leaves the project in
the step's target state and posts exactly the ledger event the table names."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from grants import operations as ops
from grants.states import STEPS, State
from ledger.journal import find_fund
from ledger.models import JournalEntry
from tests.worlds import World, project_input

Setup = Callable[[World], tuple[int, str, ops.StepInput]]


def drafted(world: World) -> int:
    return world.run("ca", ops.create_project, data=project_input())


def submitted(world: World) -> int:
    pid = drafted(world)
    world.run("ca", ops.submit, pid)
    return pid


def checked(world: World) -> int:
    pid = submitted(world)
    world.run("co", ops.check, pid, no_conflict=True)
    return pid


def approved(world: World) -> int:
    pid = checked(world)
    world.run("fin1", ops.approve, pid, amount="120000", no_conflict=True)
    world.run("fin2", ops.approve, pid, amount="120000", no_conflict=True)
    return pid


def tranche_requested(world: World) -> int:
    pid = approved(world)
    world.run("ca", ops.request_tranche, pid, seq=1)
    return pid


def tranche_approved(world: World) -> int:
    pid = tranche_requested(world)
    world.run("fin1", ops.approve_tranche, pid, seq=1, no_conflict=True)
    return pid


def report_id(world: World, pid: int, kind: str) -> int:
    with world.reading(pid) as project:
        return next(r.id for r in project.reports if r.kind == kind)


def progress_filed(world: World) -> int:
    pid = approved(world)
    world.run("ca", ops.file_report, pid, report_id=report_id(world, pid, "progress"),
              body="进展顺利")
    return pid


def completed(spent: str) -> Callable[[World], int]:
    """Tranche 1 (72,000) paid, the final report filed with ``spent`` and accepted."""
    def build(world: World) -> int:
        pid = tranche_approved(world)
        world.run("co", ops.pay_tranche, pid, seq=1, bank_ref="ZF-001")
        final = report_id(world, pid, "final")
        world.run("ca", ops.file_report, pid, report_id=final, body="完成", spent_amount=spent)
        world.run("fin2", ops.accept_report, pid, report_id=final)
        return pid
    return build


def at(build: Callable[[World], int], user: str, **data: object) -> Setup:
    def setup(world: World) -> tuple[int, str, ops.StepInput]:
        pid = build(world)
        values = {key: (value(world, pid) if callable(value) else value)
                  for key, value in data.items()}
        return pid, user, ops.StepInput(**values)
    return setup


def progress(world: World, pid: int) -> int:
    return report_id(world, pid, "progress")


SETUPS: dict[str, Setup] = {
    "submit": at(drafted, "ca"),
    "return": at(checked, "fin1", reason="预算需细化"),
    "reject": at(submitted, "co", reason="不符合资助范围"),
    "check": at(submitted, "co", no_conflict=True),
    # The second of two approvals is the one that approves.
    "approve": at(lambda w: (pid := checked(w), w.run("fin1", ops.approve, pid, amount="120000",
                                                      no_conflict=True))[0],
                  "fin2", amount="120000", no_conflict=True),
    "request_tranche": at(approved, "ca", seq=1),
    "approve_tranche": at(tranche_requested, "fin1", seq=1, no_conflict=True),
    "pay_tranche": at(tranche_approved, "co", seq=1, bank_ref="ZF-001"),
    "file_report": at(approved, "ca", report_id=progress, body="进展顺利"),
    "accept_report": at(progress_filed, "fin2", report_id=progress),
    "return_report": at(progress_filed, "fin1", report_id=progress, reason="缺少照片"),
    "return_unspent": at(completed("70000"), "co", bank_ref="TH-1"),
    "close": at(completed("72000"), "fin1"),  # tranche 2 never paid: its 48,000 is released
    "cancel": at(approved, "fin1", reason="项目终止"),
}

# Steps whose table target is None: the state stays, or the operation decides.
DECIDED = {"pay_tranche": State.PARTIALLY_PAID}


def test_every_step_has_a_scenario():
    assert set(SETUPS) == set(STEPS)


def entry_types(world: World) -> list[str]:
    with world.factory() as session:
        fund = find_fund(session, "YJQ")
        return list(session.execute(select(JournalEntry.type).where(
            JournalEntry.fund_id == fund.id).order_by(JournalEntry.seq)).scalars())


@pytest.mark.parametrize("name", list(STEPS))
def test_each_step_lands_where_the_table_says_and_posts_what_it_says(world, name):
    step = STEPS[name]
    pid, user, data = SETUPS[name](world)
    with world.reading(pid) as project:
        before = State(project.state)
    assert before in step.sources
    assert step.roles[before] == world[user].role
    entries = entry_types(world)

    def take(session, actor, project):
        return ops.take_step(session, actor, project, name, data)

    world.run(user, take, pid)

    with world.reading(pid) as project:
        after = State(project.state)
        assert project.transitions[-1].action == name
    assert after == (step.target or DECIDED.get(name, before))
    posted = entry_types(world)[len(entries):]
    assert posted == ([step.posts] if step.posts else [])
