"""Every transition, its ledger entry, and every refusal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from audit.models import AuditRecord
from core.db import transaction
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from core.i18n import locale_as
from grants import operations as ops
from grants.models import Project
from grants.states import State
from ledger.balances import available, balances
from ledger.journal import find_fund
from ledger.verify import verify_fund
from people.users import declare_related_party, find_user
from tests.worlds import CHILD, GUARDIAN, NUMBER, project_input

D = Decimal
NOT_AN_AMOUNT = ("{field}: not an amount; write yuan in digits with at most two decimal places, "
                 "such as 1234.50 or ¥1,234.50 (a comma only between groups of three digits).")


def state_of(world, pid):
    with world.reading(pid) as project:
        return project.state


def book(world, code="YJQ"):
    with world.factory() as session:
        return balances(session, find_fund(session, code))


def test_a_project_from_draft_to_closed(world, approved):
    pid = approved
    assert state_of(world, pid) == "approved"
    assert book(world)["Liabilities:GrantsPayable:Education"] == D("-120000.00")

    world.run("ca", ops.request_tranche, pid, seq=1)
    world.run("fin1", ops.approve_tranche, pid, seq=1, no_conflict=True)
    world.run("co", ops.pay_tranche, pid, seq=1, bank_ref="ZF-001")
    assert state_of(world, pid) == "partially_paid"

    with world.reading(pid) as p:
        progress = next(r.id for r in p.reports if r.kind == "progress")
        final = next(r.id for r in p.reports if r.kind == "final")
    with pytest.raises(InvalidInput):  # tranche 2 waits on the progress report
        world.run("ca", ops.request_tranche, pid, seq=2)
    world.run("ca", ops.file_report, pid, report_id=progress, body="进展顺利")
    world.run("fin2", ops.accept_report, pid, report_id=progress)
    world.run("ca", ops.request_tranche, pid, seq=2)
    world.run("fin2", ops.approve_tranche, pid, seq=2, no_conflict=True)
    world.run("co", ops.pay_tranche, pid, seq=2, bank_ref="ZF-002")
    assert state_of(world, pid) == "paid"

    world.run("ca", ops.file_report, pid, report_id=final, body="项目完成", spent_amount="118500")
    world.run("fin1", ops.accept_report, pid, report_id=final)
    assert state_of(world, pid) == "completed"
    with pytest.raises(InvalidInput):  # ¥1,500 unspent must come back first
        world.run("fin1", ops.close, pid)
    world.run("co", ops.return_unspent, pid, bank_ref="TH-1")
    world.run("fin1", ops.close, pid)
    assert state_of(world, pid) == "closed"

    b = book(world)
    assert b["Expenses:Grants:Education"] == D("118500.00")
    assert b["Liabilities:GrantsPayable:Education"] == D("0.00")
    assert b["Assets:Fund:Education"] == D("381500.00")
    with world.reading(pid) as p:
        actions = [t.action for t in p.transitions]
        assert actions[:4] == ["create", "submit", "check", "approve_first"]
        assert actions[-1] == "close"
        approval = next(t for t in p.transitions if t.action == "approve")
        assert approval.ledger_ref.startswith("YJQ#")
    with world.factory() as session:
        assert verify_fund(session, find_fund(session, "YJQ")).ok


def test_below_the_threshold_one_approver_suffices(world, factory):
    pid = world.run("ca", ops.create_project, data=project_input(
        requested_amount="50000", budget=[("助学金", "50000")],
        tranches=[(dt.date(2026, 7, 10), "50000", "none")], progress_report_due=None))
    world.run("ca", ops.submit, pid)
    world.run("co", ops.check, pid, no_conflict=True)
    assert world.run("fin1", ops.approve, pid, amount="50000", no_conflict=True) is True
    assert state_of(world, pid) == "approved"


def test_dual_approval_needs_two_different_people_and_one_amount(world, checked):
    world.run("fin1", ops.approve, checked, amount="110000", no_conflict=True)
    with pytest.raises(PermissionDenied):
        world.run("fin1", ops.approve, checked, amount="110000", no_conflict=True)
    with pytest.raises(Conflict):
        world.run("fin2", ops.approve, checked, amount="120000", no_conflict=True)
    assert state_of(world, checked) == "checked"
    assert world.run("fin2", ops.approve, checked, amount="110000", no_conflict=True)
    with world.reading(checked) as p:
        assert p.approved_amount == D("110000.00")
        # A lower approval scales the tranches; the last takes the rounding.
        assert [t.amount for t in p.tranches] == [D("66000.00"), D("44000.00")]


def test_approval_beyond_available_money_shows_both_amounts(world, factory, post):
    pid = world.run("ca", ops.create_project, data=project_input(
        requested_amount="90000", budget=[("助学金", "90000")],
        tranches=[(dt.date(2026, 7, 10), "90000", "none")], progress_report_due=None))
    world.run("ca", ops.submit, pid)
    world.run("co", ops.check, pid, no_conflict=True)
    # Meanwhile another project took most of the education money.
    post("commitment", "YJQ", date=dt.date(2026, 6, 1), amount="450000", grant="OTHER",
         purpose="education")
    with pytest.raises(RuleViolation) as caught:
        world.run("fin1", ops.approve, pid, amount="90000", no_conflict=True)
    assert caught.value.rule == "available-nonnegative"
    assert "¥50,000.00" in caught.value.message and "¥90,000.00" in caught.value.message
    # The transition, the entry and the audit record all rolled back together.
    assert state_of(world, pid) == "checked"
    with factory() as session:
        assert not session.execute(select(AuditRecord).where(
            AuditRecord.action == "project.approve")).first()
        assert available(session, find_fund(session, "YJQ"), "Education") == D("50000.00")


def test_check_refuses_when_the_purpose_cannot_pay(world):
    pid = world.run("ca", ops.create_project, data=project_input(
        purpose="medical", requested_amount="1000", budget=[("药费", "1000")],
        tranches=[(dt.date(2026, 7, 10), "1000", "none")], progress_report_due=None))
    world.run("ca", ops.submit, pid)
    with pytest.raises(InvalidInput) as caught:
        world.run("co", ops.check, pid, no_conflict=True)
    assert "¥0.00" in caught.value.message


def test_return_and_resubmit_keeps_history(world, draft):
    world.run("ca", ops.submit, draft)
    with pytest.raises(InvalidInput):
        world.run("co", ops.return_for_revision, draft, reason=" ")
    world.run("co", ops.return_for_revision, draft, reason="预算明细不清")
    assert state_of(world, draft) == "returned"
    with world.reading(draft) as p:
        version = p.version
    world.run("ca", ops.update_draft, draft, version=version,
              data=project_input(title="修改后的项目"))
    with pytest.raises(Conflict):  # a form built on the old version
        world.run("ca", ops.update_draft, draft, version=version, data=project_input())
    world.run("ca", ops.submit, draft)
    with world.reading(draft) as p:
        assert p.title == "修改后的项目"
        assert [t.action for t in p.transitions] == ["create", "submit", "return", "edit",
                                                     "submit"]
        assert p.transitions[2].reason == "预算明细不清"


def test_rejection(world, checked):
    world.run("fin1", ops.reject, checked, reason="不符合资助条件")
    assert state_of(world, checked) == "rejected"
    with pytest.raises(Conflict):  # finance approves, but not a rejected project
        world.run("fin1", ops.approve, checked, amount="1", no_conflict=True)


def test_cancellation_releases_what_is_unpaid(world, approved):
    world.run("ca", ops.request_tranche, approved, seq=1)
    world.run("fin1", ops.approve_tranche, approved, seq=1, no_conflict=True)
    world.run("co", ops.pay_tranche, approved, seq=1, bank_ref="ZF-9")
    world.run("fin2", ops.cancel, approved, reason="学校撤并")
    b = book(world)
    assert b["Liabilities:GrantsPayable:Education"] == D("0.00")
    assert b["Expenses:Grants:Education"] == D("72000.00")
    assert state_of(world, approved) == "cancelled"


@pytest.mark.parametrize(("user", "step", "kwargs", "refusal"), [
    ("co", ops.submit, {}, PermissionDenied),                       # wrong role
    ("fin1", ops.check, {"no_conflict": True}, PermissionDenied),   # finance does not check
    ("aud", ops.reject, {"reason": "x"}, PermissionDenied),         # auditors only read
    ("city_fin", ops.reject, {"reason": "x"}, PermissionDenied),    # city reads, never acts
    ("admin", ops.check, {"no_conflict": True}, NotFound),          # admins never see money
])
def test_wrong_people_are_refused(world, draft, user, step, kwargs, refusal):
    world.run("ca", ops.submit, draft)
    with pytest.raises(refusal):
        world.run(user, step, draft, **kwargs)
    assert state_of(world, draft) == "submitted"


@pytest.mark.parametrize(("user", "step", "kwargs", "role"), [
    ("ca", ops.approve, {"amount": "1", "no_conflict": True}, "Finance bureau"),
    ("co", ops.close, {}, "Finance bureau"),
    ("aud", ops.reject, {"reason": "x"}, "Charity federation office / Finance bureau"),
])
def test_a_step_wrong_for_both_role_and_state_is_refused_for_the_role(world, draft, user, step,
                                                                      kwargs, role):
    with locale_as("en"):
        with pytest.raises(PermissionDenied) as refused:
            world.run(user, step, draft, **kwargs)
        assert refused.value.message.endswith(f"is for {role} users.")
    assert state_of(world, draft) == "draft"


def test_the_right_role_in_the_wrong_state_hears_about_the_state(world, draft):
    with locale_as("en"):
        with pytest.raises(Conflict) as refused:
            world.run("fin1", ops.approve, draft, amount="1", no_conflict=True)
        assert refused.value.message == ("“Approve” is not possible while the project is "
                                         "“Draft”.")


def test_other_jurisdictions_cannot_even_see_a_project(world, draft):
    with pytest.raises(NotFound):
        world.run("ay_ca", ops.submit, draft)
    with pytest.raises(NotFound):
        world.run("ay_fin", ops.reject, draft, reason="x")
    with world.reading(draft, as_user="city_aud") as project:  # the city reads down
        assert project.ref.startswith("YJQ-")
    with pytest.raises(NotFound), world.reading(draft, as_user="admin"):
        pass


def test_checks_and_approvals_need_a_conflict_declaration(world, draft):
    world.run("ca", ops.submit, draft)
    with pytest.raises(InvalidInput):
        world.run("co", ops.check, draft, no_conflict=False)
    assert state_of(world, draft) == "submitted"


def test_a_related_party_must_recuse(world, draft, factory):
    with transaction(factory) as session:
        declare_related_party(session, world["co"], find_user(session, "co"), "雁江区希望小学")
    world.run("ca", ops.submit, draft)
    with pytest.raises(PermissionDenied) as caught:
        world.run("co", ops.check, draft, no_conflict=True)
    assert "雁江区希望小学" in caught.value.message
    world.run("co2", ops.check, draft, no_conflict=True)  # a colleague without the tie


def test_tranche_steps_in_order_and_by_the_right_people(world, approved):
    with pytest.raises(Conflict):
        world.run("fin1", ops.approve_tranche, approved, seq=1, no_conflict=True)
    world.run("ca", ops.request_tranche, approved, seq=1)
    with pytest.raises(Conflict):
        world.run("co", ops.pay_tranche, approved, seq=1, bank_ref="X")
    with pytest.raises(PermissionDenied):
        world.run("co", ops.approve_tranche, approved, seq=1, no_conflict=True)
    world.run("fin1", ops.approve_tranche, approved, seq=1, no_conflict=True)
    with pytest.raises(PermissionDenied):  # finance approved it; only the office pays
        world.run("fin2", ops.pay_tranche, approved, seq=1, bank_ref="X")
    with pytest.raises(InvalidInput):
        world.run("co", ops.pay_tranche, approved, seq=1, bank_ref="")
    world.run("co", ops.pay_tranche, approved, seq=1, bank_ref="ZF-1")
    with pytest.raises(InvalidInput):
        world.run("ca", ops.request_tranche, approved, seq=7)


def test_doing_again_what_is_already_done_is_a_conflict_that_says_so(world, factory):
    pid = world.run("ca", ops.create_project, data=project_input(
        requested_amount="50000", budget=[("助学金", "50000")],
        tranches=[(dt.date(2026, 7, 10), "50000", "none")], progress_report_due=None))
    world.run("ca", ops.submit, pid)
    with pytest.raises(Conflict):  # submitted already
        world.run("ca", ops.submit, pid)
    world.run("co", ops.check, pid, no_conflict=True)
    world.run("fin1", ops.approve, pid, amount="50000", no_conflict=True)
    world.run("ca", ops.request_tranche, pid, seq=1)
    world.run("fin1", ops.approve_tranche, pid, seq=1, no_conflict=True)
    world.run("co", ops.pay_tranche, pid, seq=1, bank_ref="ZF-1")
    assert state_of(world, pid) == "paid"
    for payer in ("co", "co2"):  # the payer again, or a colleague who did not know
        with pytest.raises(Conflict) as caught:
            world.run(payer, ops.pay_tranche, pid, seq=1, bank_ref="ZF-1-again")
        assert caught.value.message_id == "Tranche {seq} has already been paid."
    with pytest.raises(PermissionDenied):  # still nobody else's step to take
        world.run("aud", ops.pay_tranche, pid, seq=1, bank_ref="ZF-1-again")
    with world.reading(pid) as p:
        final = next(r.id for r in p.reports if r.kind == "final")
    world.run("ca", ops.file_report, pid, report_id=final, body="完成", spent_amount="50000")
    world.run("fin2", ops.accept_report, pid, report_id=final)
    world.run("fin1", ops.close, pid)
    with pytest.raises(Conflict):
        world.run("fin2", ops.close, pid)
    with factory() as session:
        assert session.execute(select(AuditRecord.action).where(
            AuditRecord.action.in_(["project.pay_tranche", "project.close"]))
            .order_by(AuditRecord.id)).scalars().all() == ["project.pay_tranche", "project.close"]
        assert verify_fund(session, find_fund(session, "YJQ")).ok


def test_reports_are_flagged_overdue_and_can_be_returned(world, approved):
    with world.reading(approved) as p:
        progress = next(r for r in p.reports if r.kind == "progress")
        assert not progress.overdue(dt.date(2026, 8, 31))
        assert progress.overdue(dt.date(2026, 9, 1))
        report_id = progress.id
    world.run("ca", ops.file_report, approved, report_id=report_id, body="进度报告")
    world.run("fin1", ops.return_report, approved, report_id=report_id, reason="缺少照片")
    with world.reading(approved) as p:
        report = next(r for r in p.reports if r.id == report_id)
        assert (report.state, report.return_reason) == ("due", "缺少照片")


def test_final_report_cannot_claim_more_than_was_paid(world, approved):
    with world.reading(approved) as p:
        final = next(r.id for r in p.reports if r.kind == "final")
    with pytest.raises(InvalidInput):
        world.run("ca", ops.file_report, approved, report_id=final, body="完成",
                  spent_amount="1")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("requested_amount", "-5", "{field}: an amount must be greater than zero."),
    ("requested_amount", "abc", NOT_AN_AMOUNT),
    ("title", "", "{field} is required."),
    ("purpose", "holidays", "Unknown purpose “{value}”; choose one of: {choices}."),
    ("counts", {"left_behind": 0}, "Give the number of children the project will aid."),
    ("counts", {"aliens": 3}, "Unknown beneficiary category “{value}”."),
    ("counts", {"orphan": -1}, "A beneficiary count is a whole number from 0 to 1,000,000."),
    ("budget", [], "A project needs at least one budget line."),
    ("budget", [("助学金", "1")],
     "The budget lines add up to {total}, not the requested {requested}."),
    ("tranches", [], "A project needs at least one tranche."),
    ("tranches", [(dt.date(2026, 7, 1), "1", "none")],
     "The tranches add up to {total}, not the requested {requested}."),
    ("tranches", [(dt.date(2026, 7, 1), "120000", "when-it-rains")],
     "Unknown tranche condition “{value}”."),
    ("progress_report_due", None,
     "A tranche waits on a progress report, so give the report's due date."),
    ("final_report_due", None, "Give the due date of the final report."),
])
def test_bad_drafts_are_refused_and_nothing_is_saved(world, factory, field, value, message):
    with pytest.raises(InvalidInput) as refused:
        world.run("ca", ops.create_project, data=project_input(**{field: value}))
    assert refused.value.message_id == message
    with factory() as session:
        assert session.execute(select(Project)).first() is None


def test_only_civil_affairs_drafts(world):
    with pytest.raises(PermissionDenied):
        world.run("fin1", ops.create_project, data=project_input())


def test_available_steps_follow_the_state_and_role(world, checked):
    with world.factory() as session:
        from grants.access import get_project

        project = get_project(session, world["fin1"], checked)
        assert set(ops.available_steps(session, world["fin1"], project)) == {
            "return", "reject", "approve"}
        assert ops.available_steps(session, world["ca"], project) == []
        assert ops.available_steps(session, world["city_fin"], project) == []


def test_every_transition_is_audited_without_personal_data(world, listed, factory):
    """A project with a listed child goes from draft to its first payment; every step is
    in the audit trail, and no record names the child, the guardian or the ID number."""
    pid = listed
    world.run("ca", ops.submit, pid)
    world.run("co", ops.check, pid, no_conflict=True)
    world.run("fin1", ops.approve, pid, amount="120000", no_conflict=True)
    world.run("fin2", ops.approve, pid, amount="120000", no_conflict=True)
    world.run("ca", ops.request_tranche, pid, seq=1)
    world.run("fin1", ops.approve_tranche, pid, seq=1, no_conflict=True)
    world.run("co", ops.pay_tranche, pid, seq=1, bank_ref="ZF-001")
    with factory() as session:
        records = session.execute(select(AuditRecord).order_by(AuditRecord.id)).scalars().all()
    assert [r.action for r in records if r.subject_type == "project"] == [
        "project.create", "project.submit", "project.check", "project.approve_first",
        "project.approve", "project.request_tranche", "project.approve_tranche",
        "project.pay_tranche"]
    assert "beneficiary.add" in [r.action for r in records]
    assert state_of(world, pid) == State.PARTIALLY_PAID.value
    secrets = (CHILD, GUARDIAN, NUMBER, NUMBER[6:14])
    for record in records:
        text = " ".join(filter(None, (record.subject_id, record.before, record.after,
                                      record.reason)))
        assert not [secret for secret in secrets if secret in text], record.action
