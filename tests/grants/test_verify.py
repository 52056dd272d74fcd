"""A project's approved and paid amounts are checked against its entries linked ^grant-<ref>:
the commitment, the disbursements, releases and unspent returns, net of reversals."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from core.i18n import locale_as
from grants import operations as ops
from grants.verify import check_projects
from ledger.journal import find_fund
from ledger.verify import verify_fund
from tests.worlds import project_input

REF = "YJQ-2026-001"


@pytest.fixture(autouse=True)
def in_english():
    with locale_as("en"):
        yield


def project_problems(world) -> list[str]:
    with world.factory() as session:
        return check_projects(session, find_fund(session, "YJQ"))


def pay(world, pid, seq, bank_ref):
    world.run("ca", ops.request_tranche, pid, seq=seq)
    world.run("fin1", ops.approve_tranche, pid, seq=seq, no_conflict=True)
    world.run("co", ops.pay_tranche, pid, seq=seq, bank_ref=bank_ref)


@pytest.fixture
def partly_paid(world, approved) -> int:
    pay(world, approved, 1, "ZF-001")
    return approved


def test_every_step_of_a_project_matches_its_entries(world, partly_paid):
    pid = partly_paid
    with world.reading(pid) as p:
        progress = next(r.id for r in p.reports if r.kind == "progress")
        final = next(r.id for r in p.reports if r.kind == "final")
    world.run("ca", ops.file_report, pid, report_id=progress, body="进展顺利")
    world.run("fin2", ops.accept_report, pid, report_id=progress)
    assert project_problems(world) == []
    world.run("ca", ops.file_report, pid, report_id=final, body="项目完成", spent_amount="70000")
    world.run("fin1", ops.accept_report, pid, report_id=final)
    world.run("co", ops.return_unspent, pid, bank_ref="TH-1")  # ¥2,000 of ¥72,000 paid
    world.run("fin1", ops.close, pid)  # releases the unpaid ¥48,000
    assert project_problems(world) == []
    with world.factory() as session:
        assert verify_fund(session, find_fund(session, "YJQ"), checks=[check_projects]).ok


def test_a_cancelled_project_releases_what_it_was_not_paid(world, partly_paid):
    world.run("fin1", ops.cancel, partly_paid, reason="学校撤并")
    assert project_problems(world) == []


@pytest.mark.tampers
def test_an_approved_amount_edited_behind_the_workflow_is_named(world, partly_paid):
    with world.factory() as session:
        session.execute(text("UPDATE projects SET approved_amount = 10000000"))  # fen
        session.commit()
    assert project_problems(world) == [
        f"project {REF}: approved ¥100,000.00 by the project, ¥120,000.00 by its ledger "
        "entries"]


@pytest.mark.tampers
def test_a_paid_tranche_edited_behind_the_workflow_is_named(world, partly_paid):
    with world.factory() as session:
        session.execute(text("UPDATE tranches SET amount = 7000000 WHERE seq = 1"))  # fen
        session.commit()
    with world.reading(partly_paid) as p:
        entry = p.tranches[0].ledger_ref
    assert project_problems(world) == [
        f"project {REF}: paid ¥70,000.00 by the project, ¥72,000.00 by its ledger entries",
        f"project {REF}, tranche 1: paid ¥70,000.00 on 2026-07-01, but entry {entry} pays "
        "¥72,000.00 on 2026-07-01",
    ]


@pytest.mark.tampers
def test_a_tranche_marked_paid_without_a_payment_is_named(world, partly_paid):
    with world.factory() as session:
        session.execute(text("UPDATE tranches SET state = 'paid', paid_on = '2026-07-01' "
                             "WHERE seq = 2"))
        session.commit()
    assert project_problems(world) == [
        f"project {REF}: paid ¥120,000.00 by the project, ¥72,000.00 by its ledger entries",
        f"project {REF}, tranche 2: its payment — is not a disbursement of the project in "
        "the journal",
    ]


@pytest.mark.tampers
def test_a_commitment_reversed_behind_the_project_is_named(world, approved, post):
    """The console may reverse any entry; the project still says it is approved."""
    with world.reading(approved) as p:
        seq = int(next(t.ledger_ref for t in p.transitions if t.action == "approve")
                  .split("#")[1])
    post("reversal", "YJQ", seq=seq, date=dt.date(2026, 7, 1), reason="误批")
    assert project_problems(world) == [
        f"project {REF}: approved ¥120,000.00 by the project, ¥0.00 by its ledger entries"]


def test_projects_not_yet_approved_have_no_entries(world, checked):
    world.run("ca", ops.create_project, data=project_input(title="另一个项目"))
    assert project_problems(world) == []
