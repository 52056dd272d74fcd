"""Audit engagements (sample, findings, responses, publication) and the auditor's flags."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from audit import verify_chain
from audit.models import AuditRecord
from core import clock
from core.db import transaction
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.i18n import locale_as
from grants import beneficiaries
from grants import operations as ops
from grants.access import get_project
from grants.models import Tranche
from ledger import donations
from ledger.journal import find_fund
from reports import engagements as eng
from reports.flags import KIND_LABELS, active_projects, flags, parse_period
from reports.models import Engagement, Finding
from tests.worlds import project_input
from webapp.demo import synthetic_id

JULY = dt.date(2026, 7, 1)


def run(world, user, operation, *args, **kwargs):
    """One operation as a user, committed; engagements and findings come back as ids."""
    with transaction(world.factory) as session:
        result = operation(session, world[user], *args, **kwargs)
        return result.id if isinstance(result, Engagement | Finding) else result


def small(title: str, *, payee: str = "雁江区希望小学", amount: str = "20000.00",
          purpose: str = "education", condition: str = "none",
          progress_due: dt.date | None = None, **overrides) -> ops.ProjectInput:
    """A project below the dual-approval threshold, paid in one tranche."""
    return project_input(
        title=title, payee=payee, purpose=purpose, requested_amount=amount,
        budget=[("助学金", amount)], counts={"left_behind": 10},
        tranches=[(dt.date(2026, 7, 10), amount, condition)],
        progress_report_due=progress_due, final_report_due=dt.date(2026, 12, 31), **overrides)


def approved_project(world, data: ops.ProjectInput, *, amount: str | None = None) -> int:
    pid = world.run("ca", ops.create_project, data=data)
    world.run("ca", ops.submit, pid)
    world.run("co", ops.check, pid, no_conflict=True)
    assert world.run("fin1", ops.approve, pid, amount=amount or data.requested_amount,
                     no_conflict=True) is True
    return pid


def pay(world, pid: int, seq: int = 1, paid_on: dt.date | None = None) -> None:
    world.run("ca", ops.request_tranche, pid, seq=seq)
    world.run("fin2", ops.approve_tranche, pid, seq=seq, no_conflict=True)
    world.run("co", ops.pay_tranche, pid, seq=seq, bank_ref=f"ZF-{pid}-{seq}", paid_on=paid_on)


def ref_of(world, pid: int) -> str:
    with world.reading(pid, as_user="city_aud") as project:
        return project.ref


def open_yjq(world, user: str = "aud", period: str = "2026") -> int:
    return run(world, user, eng.open_engagement, "YJQ", title="2026年度专项审计",
               period=period, scope="项目审批与拨付")


def actions(world) -> list[str]:
    with world.factory() as session:
        return list(session.execute(select(AuditRecord.action).order_by(AuditRecord.id))
                    .scalars())


# --- sampling --------------------------------------------------------------------------

def test_a_sample_is_reproducible_from_its_seed_and_other_seeds_draw_others(world):
    pids = [approved_project(world, small(f"助学项目{n}", payee=f"学校{n}")) for n in range(8)]
    world.run("ca", ops.create_project, data=small("还是草稿"))  # not in the population
    eid = open_yjq(world)
    refs = sorted(ref_of(world, pid) for pid in pids)

    first = run(world, "aud", eng.draw_sample, eid, size=3, seed=20260701)
    again = run(world, "aud", eng.draw_sample, eid, size=3, seed=20260701)
    assert first == again == eng.draw(refs, size=3, seed=20260701)
    assert len(first) == 3 and set(first) <= set(refs) and first == sorted(first)

    other_seed = next(s for s in range(1, 50) if eng.draw(refs, size=3, seed=s) != first)
    other = run(world, "aud", eng.draw_sample, eid, size=3, seed=other_seed)
    assert other != first
    assert len({tuple(eng.draw(refs, size=3, seed=s)) for s in range(10)}) > 1

    with world.factory() as session:
        engagement = session.get(Engagement, eid)
        assert (engagement.sample_seed, engagement.sample_size) == (other_seed, 3)
        assert engagement.sample == other
    # Anyone holding the seed checks the sample; a bigger size than the population takes all.
    assert run(world, "aud", eng.draw_sample, eid, size=50, seed=1) == refs
    assert actions(world).count("engagement.sample") == 4


def test_the_population_is_the_periods_approved_projects(world):
    approved = approved_project(world, small("已批准"))
    submitted = world.run("ca", ops.create_project, data=small("已申报"))
    world.run("ca", ops.submit, submitted)
    eid = open_yjq(world)
    with world.factory() as session:
        assert eng.population(session, session.get(Engagement, eid)) == [ref_of(world, approved)]
        assert [p.ref for p in active_projects(session, find_fund(session, "YJQ"), "2026-07")] \
            == [ref_of(world, approved)]
        assert active_projects(session, find_fund(session, "YJQ"), "2026-06") == []
        assert active_projects(session, find_fund(session, "AYX"), "2026") == []
    earlier = open_yjq(world, period="2025")
    with pytest.raises(InvalidInput):  # nothing was approved in 2025
        run(world, "aud", eng.draw_sample, earlier, size=3, seed=1)
    for size, seed in ((0, 1), (3, -1), (3, 2**31), (True, 1), ("3", 1)):
        with pytest.raises(InvalidInput):
            run(world, "aud", eng.draw_sample, eid, size=size, seed=seed)


def test_periods_are_years_or_months():
    assert parse_period("2025").start == dt.date(2025, 1, 1)
    assert parse_period("2025").end == dt.date(2025, 12, 31)
    assert (parse_period("2024-02").start, parse_period("2024-02").end) == (
        dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    for bad in ("2025-13", "2025-00", "25", "2025-3", "2025/03", "", "1999"):
        with pytest.raises(InvalidInput):
            parse_period(bad)


# --- who may do what ---------------------------------------------------------------------

def test_only_auditors_open_engagements_and_only_where_they_may_read(world):
    for user in ("fin1", "ca", "co", "admin", "city_fin"):
        with pytest.raises(PermissionDenied):
            run(world, user, eng.open_engagement, "YJQ", title="审计", period="2026")
    for code in ("AYX", "ZYS", "NOPE"):  # another county, the city above, no such fund
        with pytest.raises(NotFound):
            run(world, "aud", eng.open_engagement, code, title="审计", period="2026")
    with pytest.raises(InvalidInput):
        run(world, "aud", eng.open_engagement, "YJQ", title="审计", period="2027")  # not begun
    with pytest.raises(InvalidInput):
        run(world, "aud", eng.open_engagement, "YJQ", title=" ", period="2026")
    # The city's audit bureau audits the counties below it, and its own fund.
    county = run(world, "city_aud", eng.open_engagement, "AYX", title="安岳县审计",
                 period="2026-06")
    city = run(world, "city_aud", eng.open_engagement, "ZYS", title="市本级审计", period="2025")
    own = open_yjq(world)
    with world.factory() as session:
        engagement = session.get(Engagement, county)
        assert (engagement.fund.code, engagement.period_start, engagement.period_end) == (
            "AYX", dt.date(2026, 6, 1), dt.date(2026, 6, 30))
        assert engagement.opened_by == "city_aud" and engagement.state == "open"
        scope = {
            user: {e.id for e in eng.engagements_in_scope(session, world[user])}
            for user in ("aud", "city_aud", "ca", "fin1", "ay_ca", "ay_fin", "city_fin")}
        for user in ("admin", "city_admin"):
            with pytest.raises(PermissionDenied):
                eng.engagements_in_scope(session, world[user])
    assert scope == {"aud": {own}, "city_aud": {own, county, city}, "ca": {own},
                     "fin1": {own}, "ay_ca": {county}, "ay_fin": {county}, "city_fin": {city}}
    assert actions(world).count("engagement.open") == 3


def test_engagements_do_not_exist_outside_their_readers(world):
    eid = open_yjq(world)
    county = run(world, "city_aud", eng.open_engagement, "AYX", title="安岳县审计",
                 period="2026")
    with world.factory() as session:
        for user in ("aud", "city_aud", "ca", "co", "fin1"):
            assert eng.get_engagement(session, world[user], eid).id == eid
        for user in ("ay_ca", "ay_fin", "city_fin", "city_ca", "admin", "city_admin"):
            with pytest.raises(NotFound):
                eng.get_engagement(session, world[user], eid)
        with pytest.raises(NotFound):
            eng.get_engagement(session, world["aud"], county)
        with pytest.raises(NotFound):
            eng.get_engagement(session, world["aud"], 9999)
    # Wrong role: refused; out of sight: does not exist.
    for user in ("ca", "fin1", "admin"):
        with pytest.raises(PermissionDenied):
            run(world, user, eng.record_finding, eid, severity="low", title="t",
                description="d", links=[])
        with pytest.raises(PermissionDenied):
            run(world, user, eng.draw_sample, eid, size=1, seed=1)
        with pytest.raises(PermissionDenied):
            run(world, user, eng.publish, eid, conclusion="结论")
        with pytest.raises(PermissionDenied):
            run(world, user, eng.engagement_flags, eid)
    with pytest.raises(NotFound):
        run(world, "aud", eng.record_finding, county, severity="low", title="t",
            description="d", links=[])
    with pytest.raises(NotFound):
        run(world, "aud", eng.publish, county, conclusion="结论")
    # The city's auditors work on a county engagement too.
    assert run(world, "city_aud", eng.record_finding, eid, severity="low", title="市审计发现",
               description="说明", links=[])


# --- findings and responses --------------------------------------------------------------

def test_finding_links_must_name_records_the_auditor_may_read(world):
    pid = approved_project(world, small("助学项目"))
    ref = ref_of(world, pid)
    with transaction(world.factory) as session:
        donor = donations.add_donor(session, world["co"], "YJQ", kind="enterprise",
                                    name="资阳某公司")
        receipt = donations.record_donation(session, world["co"], "YJQ", donor_id=donor.id,
                                            date=dt.date(2026, 6, 30), amount="800").code
    other = world.run("ay_ca", ops.create_project,
                      data=small("安岳县项目", implementing_unit="安岳县民政局"))
    other_ref = ref_of(world, other)
    eid = open_yjq(world)

    fid = run(world, "aud", eng.record_finding, eid, severity="high", title="拨付依据不足",
              description="第1笔拨付缺少进度报告。\n请说明。",
              links=f"project:{ref}\nentry:yjq#1, receipt:{receipt}；project:{ref}")
    with world.factory() as session:
        finding = session.get(Finding, fid)
        assert finding.links == [f"project:{ref}", "entry:YJQ#1", f"receipt:{receipt}"]
        assert finding.description == "第1笔拨付缺少进度报告。\n请说明。"
        assert (finding.severity, finding.recorded_by, finding.response) == ("high", "aud", None)

    bad_links = [["project:YJQ-2026-999"], ["entry:YJQ#99999"], ["entry:YJQ#x"],
                 ["receipt:YJQ-2026-999999"], ["ledger:YJQ#1"], ["YJQ-2026-001"],
                 [f"project:{other_ref}"],  # another county's: out of sight for YJQ's auditor
                 ["entry:AYX#1"]]
    for links in bad_links:
        with pytest.raises(InvalidInput):
            run(world, "aud", eng.record_finding, eid, severity="low", title="t",
                description="d", links=links)
    # The city's auditor reads both counties, so may link both.
    assert run(world, "city_aud", eng.record_finding, eid, severity="medium", title="跨县",
               description="d", links=[f"project:{other_ref}", "entry:AYX#1"])
    for severity, title, description in (("critical", "t", "d"), ("low", "", "d"),
                                         ("low", "t", "  "), ("low", "t\x00", "d"),
                                         ("low", "t", "d\x07")):
        with pytest.raises(InvalidInput):
            run(world, "aud", eng.record_finding, eid, severity=severity, title=title,
                description=description, links=[])
    with world.factory() as session:
        assert len(session.get(Engagement, eid).findings) == 2
    assert actions(world).count("finding.record") == 2


def test_the_audited_unit_responds_and_nobody_else(world):
    eid = open_yjq(world)
    fid = run(world, "aud", eng.record_finding, eid, severity="medium", title="报告逾期",
              description="进度报告逾期未报。", links=[])
    for user in ("aud", "city_aud", "admin"):
        with pytest.raises(PermissionDenied):
            run(world, user, eng.respond, fid, "我们已整改。")
    for user in ("ay_ca", "ay_fin", "city_fin", "city_ca"):
        with pytest.raises(NotFound):
            run(world, user, eng.respond, fid, "我们已整改。")
    with pytest.raises(NotFound):
        run(world, "ca", eng.respond, 9999, "我们已整改。")
    with pytest.raises(InvalidInput):
        run(world, "ca", eng.respond, fid, "  ")
    for user in ("ca", "co", "fin1"):
        run(world, user, eng.respond, fid, f"{user}：已补报进度报告。")
    with world.factory() as session:
        finding = session.get(Finding, fid)
        assert (finding.response, finding.responded_by) == ("fin1：已补报进度报告。", "fin1")
        assert finding.responded_at is not None
        responses = session.execute(select(AuditRecord).where(
            AuditRecord.action == "finding.respond").order_by(AuditRecord.id)).scalars().all()
    assert [r.actor for r in responses] == ["ca", "co", "fin1"]
    assert "ca：已补报进度报告" in (responses[1].before or "")  # the replaced answer is kept


def test_published_results_are_read_only(world):
    pid = approved_project(world, small("助学项目"))
    eid = open_yjq(world)
    run(world, "aud", eng.draw_sample, eid, size=1, seed=7)
    fid = run(world, "aud", eng.record_finding, eid, severity="low", title="凭证不全",
              description="缺少签收单。", links=[f"project:{ref_of(world, pid)}"])
    run(world, "co", eng.respond, fid, "已补齐签收单。")
    other = run(world, "city_aud", eng.open_engagement, "AYX", title="安岳县审计", period="2026")
    with world.factory() as session:
        assert eng.published_results(session) == []
    with pytest.raises(InvalidInput):
        run(world, "aud", eng.publish, eid, conclusion=" ")

    run(world, "aud", eng.publish, eid, conclusion="资金管理总体规范。")
    with pytest.raises(Conflict):
        run(world, "aud", eng.publish, eid, conclusion="再次发布")
    with pytest.raises(Conflict):
        run(world, "aud", eng.record_finding, eid, severity="low", title="t", description="d",
            links=[])
    with pytest.raises(Conflict):
        run(world, "aud", eng.draw_sample, eid, size=1, seed=8)
    with pytest.raises(Conflict):
        run(world, "co", eng.respond, fid, "改一下答复")
    # Still out of sight for the wrong readers, even when published.
    with pytest.raises(NotFound):
        run(world, "ay_fin", eng.respond, fid, "改一下答复")

    with world.factory() as session:
        engagement = session.get(Engagement, eid)
        assert (engagement.state, engagement.published_by) == ("published", "aud")
        assert engagement.findings[0].response == "已补齐签收单。"
        results = eng.published_results(session)
        yjq = find_fund(session, "YJQ").id
        assert [r.id for r in eng.published_results(session, [yjq])] == [eid]
        assert eng.published_results(session, [find_fund(session, "AYX").id]) == []
        assert eng.published_results(session, []) == []
        assert verify_chain(session).ok
    [result] = results
    assert (result.id, result.fund_code, result.period, result.conclusion) == (
        eid, "YJQ", "2026", "资金管理总体规范。")
    assert (result.sample_seed, result.sample, len(result.findings)) == (
        7, (ref_of(world, pid),), 1)
    assert result.findings[0].response == "已补齐签收单。"
    assert other not in {r.id for r in results}
    assert actions(world)[-1] == "engagement.publish"


# --- flags ---------------------------------------------------------------------------------

def kinds(world, period: str = "2026", code: str = "YJQ"):
    with world.factory() as session:
        found = flags(session, find_fund(session, code), period)
    return found


def child(serial: int) -> str:
    return synthetic_id("512002", dt.date(2014, 5, 12), serial)


def add_child(world, protector, user: str, pid: int, serial: int) -> None:
    with transaction(world.factory) as session:
        project = get_project(session, world[user], pid, for_update=True)
        beneficiaries.add_beneficiary(session, world[user], protector, project,
                                      name=f"儿童{serial}", id_number=child(serial),
                                      category="left_behind", guardian="监护人",
                                      guardian_consent=True)


def test_a_clean_fund_raises_no_flag(world, protector):
    """Everything done by the book: paid after the progress report was accepted, reports
    on time, different payees, donations receipted at once, each child aided once."""
    first = approved_project(world, small("第一个项目", payee="学校甲", amount="50000.00"))
    pay(world, first)
    second = world.run("ca", ops.create_project, data=project_input(
        title="第二个项目", payee="学校乙", requested_amount="60000.00",
        budget=[("助学金", "60000.00")],
        tranches=[(dt.date(2026, 7, 10), "30000.00", "none"),
                  (dt.date(2026, 9, 10), "30000.00", "progress_report")]))
    add_child(world, protector, "ca", first, 1)
    add_child(world, protector, "ca", second, 2)
    world.run("ca", ops.submit, second)
    world.run("co", ops.check, second, no_conflict=True)
    world.run("fin1", ops.approve, second, amount="60000", no_conflict=True)
    pay(world, second, 1)
    with world.reading(second) as project:
        progress = next(r.id for r in project.reports if r.kind == "progress")
    world.run("ca", ops.file_report, second, report_id=progress, body="进展顺利")
    world.run("fin2", ops.accept_report, second, report_id=progress)
    pay(world, second, 2)
    with transaction(world.factory) as session:
        donor = donations.add_donor(session, world["co"], "YJQ", kind="enterprise",
                                    name="资阳某公司")
        donations.record_donation(session, world["co"], "YJQ", donor_id=donor.id,
                                  date=dt.date(2026, 6, 20), amount="5000")
    assert kinds(world) == []
    assert kinds(world, "2026-07") == []
    eid = open_yjq(world)
    assert run(world, "aud", eng.engagement_flags, eid) == []


def test_every_flag_kind_is_found(world, protector):
    # A tranche paid whose condition was unmet: its condition changed behind the workflow.
    unmet = approved_project(world, small("条件未满足", payee="学校甲"))
    pay(world, unmet)
    with transaction(world.factory) as session:
        session.execute(update(Tranche).where(Tranche.project_id == unmet)
                        .values(condition="progress_report"))
    # A tranche paid on a day before the progress report it waits on was accepted.
    with clock.frozen_at(dt.datetime(2026, 6, 20, 10, 0, tzinfo=clock.CST)):
        early = world.run("ca", ops.create_project, data=project_input(
            title="提前拨付", payee="学校乙", requested_amount="40000.00",
            budget=[("助学金", "40000.00")],
            tranches=[(dt.date(2026, 6, 20), "20000.00", "none"),
                      (dt.date(2026, 6, 25), "20000.00", "progress_report")],
            progress_report_due=dt.date(2026, 6, 30)))
        world.run("ca", ops.submit, early)
        world.run("co", ops.check, early, no_conflict=True)
        world.run("fin1", ops.approve, early, amount="40000", no_conflict=True)
    with world.reading(early) as project:
        progress = next(r.id for r in project.reports if r.kind == "progress")
    world.run("ca", ops.file_report, early, report_id=progress, body="进展")
    world.run("fin2", ops.accept_report, early, report_id=progress)
    pay(world, early, 2, paid_on=dt.date(2026, 6, 28))  # backdated before the acceptance
    # A tranche paid while the progress report was overdue.
    overdue = approved_project(world, small("报告逾期", payee="学校丙", amount="30000.00",
                                            progress_due=dt.date(2026, 6, 1)))
    pay(world, overdue)
    # Approvals just under the threshold (¥100,000): ¥95,000 and exactly ¥100,000; not ¥89,000.
    near = approved_project(world, small("临界审批", payee="学校丁", amount="95000.00"))
    at = approved_project(world, small("恰好阈值", payee="学校戊", amount="100000.00"))
    below = approved_project(world, small("远低于阈值", payee="学校己", amount="89000.00"))
    # One payee in three projects (names compared loosely); another in two only.
    same = [approved_project(world, small(f"同一收款人{n}", payee=payee, amount="1000.00"))
            for n, payee in enumerate(("资阳某公司", " 资阳某公司", "资阳某公司 "))]
    for n in range(2):
        approved_project(world, small(f"两个项目{n}", payee="学校庚", amount="1000.00"))
    # A donation receipted 61 days after it was given; one 16 days after is on time.
    with transaction(world.factory) as session:
        donor = donations.add_donor(session, world["co"], "YJQ", kind="enterprise",
                                    name="资阳某公司")
        late = donations.record_donation(session, world["co"], "YJQ", donor_id=donor.id,
                                          date=dt.date(2026, 5, 1), amount="5000").code
        donations.record_donation(session, world["co"], "YJQ", donor_id=donor.id,
                                  date=dt.date(2026, 6, 15), amount="5000")
        # Its replacement is issued late by nature: the original already counts.
        donations.void_receipt(session, world["co"], "YJQ", late, reason="抬头有误",
                               reissue=True)
    # The same child in a YJQ and an AYX education project; and in a YJQ medical one.
    twice = world.run("ca", ops.create_project, data=small("雁江助学", payee="学校辛"))
    add_child(world, protector, "ca", twice, 7)
    add_child(world, protector, "ca", twice, 8)
    world.run("ca", ops.submit, twice)
    elsewhere = world.run("ay_ca", ops.create_project,
                          data=small("安岳助学", implementing_unit="安岳县民政局"))
    add_child(world, protector, "ay_ca", elsewhere, 7)
    add_child(world, protector, "ay_ca", elsewhere, 8)
    world.run("ay_ca", ops.submit, elsewhere)
    medical = world.run("ca", ops.create_project, data=small("医疗救助", purpose="medical",
                                                             payee="医院"))
    add_child(world, protector, "ca", medical, 7)
    world.run("ca", ops.submit, medical)
    draft = world.run("ay_ca", ops.create_project, data=small("安岳草稿"))
    add_child(world, protector, "ay_ca", draft, 8)  # a draft aids nobody yet

    found = kinds(world)
    by_kind: dict[str, list] = {}
    for flag in found:
        by_kind.setdefault(flag.kind, []).append(flag)
    assert set(by_kind) == set(KIND_LABELS)

    refs = {pid: ref_of(world, pid) for pid in (unmet, early, overdue, near, at, below,
                                                *same, twice, elsewhere, medical)}
    assert sorted(f.links for f in by_kind["payment_condition_unmet"]) == sorted(
        [(f"project:{refs[unmet]}",), (f"project:{refs[early]}",)])
    assert {f.params.get("accepted") for f in by_kind["payment_condition_unmet"]} == {
        None, "2026-07-01"}
    [report] = by_kind["payment_report_overdue"]
    assert report.links == (f"project:{refs[overdue]}",)
    assert report.params["due"] == "2026-06-01"
    assert {f.params["ref"] for f in by_kind["near_dual_threshold"]} == {refs[near], refs[at]}
    [payee] = by_kind["payee_concentration"]
    assert payee.links == tuple(f"project:{refs[pid]}" for pid in same)
    assert payee.params["count"] == 3
    [receipt] = by_kind["late_receipt"]
    assert (receipt.links, receipt.params["days"]) == ((f"receipt:{late}",), 61)
    [duplicate] = by_kind["duplicate_beneficiary"]
    assert set(duplicate.links) == {f"project:{refs[twice]}", f"project:{refs[elsewhere]}"}
    assert duplicate.params["count"] == 2
    # Most serious first; messages translate; no child's name or ID number anywhere.
    assert [f.severity for f in found] == sorted(
        (f.severity for f in found), key={"high": 0, "medium": 1, "low": 2}.get)
    with locale_as("en"):
        assert duplicate.text == (f"{duplicate.params['ref']} and {duplicate.params['other']} "
                                  "aid 2 of the same children for the same purpose.")
        assert receipt.text.startswith(f"Receipt {late} was issued 61 days after")
        texts = " ".join(f.text + f.label + repr(f) for f in found)
    for serial in (7, 8):
        assert child(serial) not in texts and child(serial)[-6:] not in texts
        assert f"儿童{serial}" not in texts
    # The other county sees its side of the duplicate; other periods see no payments.
    assert [f.kind for f in kinds(world, code="AYX")] == ["duplicate_beneficiary"]
    assert {f.kind for f in kinds(world, "2026-05")} == {"late_receipt"}  # given in May
    assert {f.kind for f in kinds(world, "2025")} == set()
    assert Decimal("95000.00") in {Decimal(f.params["amount"].strip("¥").replace(",", ""))
                                   for f in by_kind["near_dual_threshold"]}
