"""Which fund each audit record belongs to, and which records a user may read."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

import audit
from audit.models import AuditRecord
from core.db import transaction
from grants import attachments, beneficiaries
from grants import operations as ops
from grants.access import get_project
from ledger import allocations, donations
from ledger.funds import add_fund
from people.tokens import create_token, revoke_token
from people.users import add_user, declare_related_party, find_user, set_active
from reports import annual
from reports import engagements as eng
from reports.auditlog import readable_scope, subject_fund
from tests.worlds import CONSOLE, PASSWORD, project_input
from webapp.demo import synthetic_id

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_every_record_names_the_fund_it_belongs_to(world, protector, tmp_path):
    """Whoever acts -- a user of the fund, the city above it, the console, an actor of no
    fund posting -- the record names the fund of what was done: the fund its subject
    belongs to."""
    pid = world.run("ca", ops.create_project, data=project_input(
        requested_amount="12000.00", budget=[("助学金", "12000.00")],
        tranches=[(dt.date(2026, 7, 10), "12000.00", "none")]))
    with transaction(world.factory) as s:
        project = get_project(s, world["ca"], pid)
        beneficiaries.add_beneficiary(
            s, world["ca"], protector, project, name="测试儿童",
            id_number=synthetic_id("512002", dt.date(2014, 5, 12), 1), category="left_behind",
            guardian="监护人", guardian_consent=True)
        attachments.store(s, world["ca"], project, filename="申报书.pdf", data=PDF,
                          folder=tmp_path)
    world.run("ca", ops.submit, pid)
    world.run("co", ops.check, pid, no_conflict=True)
    world.run("fin1", ops.approve, pid, amount="12000", no_conflict=True)
    with transaction(world.factory) as s:
        donor = donations.add_donor(s, world["co"], "YJQ", kind="enterprise", name="某公司")
        receipt = donations.record_donation(s, world["co"], "YJQ", donor_id=donor.id,
                                            date=dt.date(2026, 6, 1), amount="800")
        donations.void_receipt(s, world["co"], "YJQ", receipt.code, reason="抬头有误",
                               reissue=True)
        allocations.propose(s, world["ay_fin"], "AYX", amounts={"education": "100"})
        annual.publish_correction(s, world["fin1"], "YJQ", subject="annual-report:2025",
                                  title="更正", text="更正说明")
        # The city acts on a county's people and audits a county's fund.
        newcomer = add_user(s, world["city_admin"], username="ay_new", display_name="新用户",
                            role="civil_affairs", fund_code="AYX", password=PASSWORD)
        declare_related_party(s, world["city_admin"], newcomer, "某公司")
        set_active(s, world["city_admin"], newcomer, False)
        _token, row = create_token(s, world["ay_fin"], find_user(s, "ay_fin"), name="脚本",
                                  expires_on=None)
        revoke_token(s, world["city_admin"], row.id)
        engagement = eng.open_engagement(s, world["city_aud"], "AYX", title="城市审计",
                                         period="2026")
        engagement_id = engagement.id
        eng.record_finding(s, world["city_aud"], engagement_id, severity="low", title="发现",
                           description="说明", links=[])
        # The console opens a fund; a system job does something of no fund.
        add_fund(s, CONSOLE, code="LZX", name_zh="乐至县", name_en="Lezhi",
                 opened_on=dt.date(2026, 1, 1), parent_code="ZYS")
        audit.record(s, CONSOLE, "system.note", "system", "nightly")

    with world.factory() as s:
        rows = s.execute(select(AuditRecord, subject_fund()).order_by(AuditRecord.id)).all()
    kinds = {r.subject_type for r, _ in rows}
    assert kinds >= {"fund", "journal_entry", "project", "beneficiary", "receipt", "donor",
                     "allocation", "user", "api-token", "engagement", "finding"}
    wrong = [f"#{r.id} {r.action} {r.subject_type} {r.subject_id} by {r.actor}: "
             f"{r.fund}, its subject's fund is {expected}"
             for r, expected in rows if r.fund != expected]
    assert not wrong, "\n".join(wrong)
    named = {(r.action, r.subject_id): r.fund for r, _ in rows}
    assert named[("user.add", "ay_new")] == "AYX"  # by the city's administrator
    assert named[("user.deactivate", "ay_new")] == "AYX"
    assert named[("fund.add", "LZX")] == "LZX"  # by the console
    assert named[("engagement.open", str(engagement_id))] == "AYX"  # by the city's auditor
    assert named[("ledger.seed", "YJQ#1")] == "YJQ"  # posted by an actor of no fund
    assert named[("system.note", "nightly")] is None
    with world.factory() as s:
        assert audit.verify_chain(s).ok


@pytest.mark.tampers  # records as older code wrote them, naming entries that never were
def test_records_without_a_fund_are_read_by_their_subject_or_by_those_who_read_all(world):
    """Records written before funds were recorded name none: their subject decides who
    reads them; a record whose subject names no fund is read only by those who read
    every fund (here the city's auditor and finance)."""
    pid = world.run("ca", ops.create_project, data=project_input())
    with transaction(world.factory) as s:
        ref = get_project(s, world["ca"], pid).ref
        for subject_type, subject_id in (("project", ref), ("journal_entry", "AYX#1"),
                                         ("user", "ay_fin"), ("system", "old")):
            audit.record(s, CONSOLE, "old.action", subject_type, subject_id, fund=None)
    with world.factory() as s:
        def read_by(user: str) -> set[str]:
            scope = readable_scope(s, world[user])
            return set(s.execute(select(AuditRecord.subject_id).where(
                AuditRecord.action == "old.action", scope.clause())).scalars())

        assert read_by("aud") == {ref}
        assert read_by("ay_fin") == {"AYX#1", "ay_fin"}
        assert read_by("city_ca") == set()  # city civil affairs reads the city's only
        assert read_by("city_aud") == read_by("city_fin") == {ref, "AYX#1", "ay_fin", "old"}
        assert read_by("admin") == read_by("city_admin") == set()


def test_an_extract_names_the_funds_it_covers_and_the_head_it_was_cut_at(world):
    from ledger.models import Fund
    from reports.figures import Period
    from reports.statements import audit_extract

    world.run("ca", ops.create_project, data=project_input())
    world.run("ay_ca", ops.create_project, data=project_input(title="安岳县项目"))
    with transaction(world.factory) as s:
        audit.record(s, CONSOLE, "system.note", "system", "nightly")
    with world.factory() as s:
        yjq, nobody = audit.head(s, "YJQ"), audit.head(s)
        funds = {f.code: f for f in s.execute(select(Fund)).scalars()}
        county = audit_extract(s, [funds["YJQ"]], Period.parse("2026"))
        city = audit_extract(s, list(funds.values()), Period.parse("2026"))
    cut = f"本摘录截至审计链 YJQ 第 {yjq.seq} 条（哈希 {yjq.hash}）"
    assert yjq.seq > 0 and nobody.seq > 0
    assert any(note.startswith(cut + "，只列基金 YJQ 测试基金YJQ 的记录。")
               for note in county.notes), county.notes
    assert {r["fund"] for r in county.rows} == {"YJQ"}
    assert any("及不属于任何基金的记录" in note for note in city.notes)
    assert any(f"、（无基金） 第 {nobody.seq} 条（哈希 {nobody.hash}），只列基金" in note
               for note in city.notes), city.notes
    assert {r["fund"] for r in city.rows} == {"ZYS", "YJQ", "AYX", "—"}
    assert {r["id"] for r in county.rows} < {r["id"] for r in city.rows}
