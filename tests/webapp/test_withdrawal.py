"""Withdrawing published items from public view, end to end through the pages: finance
and the charity office, one proposing and the other confirming; the item leaves the
public pages (cached ones included), open data and the published annual report at
once; a correction notice says that something was withdrawn and why, never what; the
replaced annual report edition stays, for auditors only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import transaction
from grants import operations as ops
from grants.access import get_project
from grants.beneficiaries import add_beneficiary
from reports import public
from reports.models import AnnualEdition, Withdrawal
from tests.reports.test_public import FIRM, disclose
from tests.reports.test_statements import pdf_text
from tests.worlds import project_input
from webapp.demo import synthetic_id

CHILD = "金丝雀丙"  # a name no other text on the site contains
LEAKED_TITLE = f"为{CHILD}同学购置轮椅"
LEAKED_NARRATIVE = f"本年度重点帮扶了{CHILD}同学。"
FINDING = "票据作废说明不完整"  # the published audit result's finding (tests.reports.test_public)
REASON = "含有受助儿童的个人信息"
SECTIONS = {"overview": LEAKED_NARRATIVE, "work": "开展助学。", "finance": "收支平衡。",
            "plans": "继续助学。"}


@pytest.fixture
def leaked(app, world, factory, post, approved, login, protector):
    """Public facts of 雁江区, and then a child listed whose name a published project title
    and the published 2025 annual report already carry (both were screened when written:
    the child was not on the list yet)."""
    disclosed = disclose(world, factory, post, approved)
    pid = world.run("ca", ops.create_project, data=project_input(
        title=LEAKED_TITLE, requested_amount="60000", budget=[("轮椅", "60000")],
        tranches=[(dt.date(2026, 7, 10), "60000", "none")]))
    world.run("ca", ops.submit, pid)
    world.run("co", ops.check, pid, no_conflict=True)
    world.run("fin1", ops.approve, pid, amount="60000", no_conflict=True)
    finance = login("fin1")
    assert finance.post("/funds/YJQ/annual/2025", data=SECTIONS).status_code == 302
    assert finance.post("/funds/YJQ/annual/2025/publish").status_code == 302
    with transaction(factory) as session:
        project = get_project(session, world["ca"], pid, for_update=True)
        add_beneficiary(session, world["ca"], protector, project, name=CHILD,
                        id_number=synthetic_id("512002", dt.date(2015, 3, 8), 917),
                        category="disabled", guardian="监护人丙", guardian_consent=True)
    with world.reading(pid) as project:
        return disclosed, project.ref


def everything_public(site) -> str:
    """Every public page and dataset of 雁江区 (and the city's), as one text."""
    texts = []
    for url in ("/public/", "/public/funds/YJQ", "/public/funds/YJQ?year=2025",
                "/public/funds/ZYS"):
        texts.append(site.get(url).get_data(as_text=True))
    for name in public.OPEN_DATA:
        for fmt in ("csv", "json"):
            texts.append(site.get(f"/public/data/{name}.{fmt}").data.decode("utf-8-sig"))
    return "\n".join(texts)


def withdraw(login, proposer: str, confirmer: str, kind: str, ref: str) -> int:
    response = login(proposer).post("/funds/YJQ/withdrawals/",
                                    data={"kind": kind, "ref": ref, "reason": REASON})
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    page = login(confirmer).get("/funds/YJQ/withdrawals/").get_data(as_text=True)
    wid = int(page.split('data-withdrawal="')[1].split('"')[0])
    response = login(confirmer).post(f"/funds/YJQ/withdrawals/{wid}/confirm")
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    return wid


def annual_text(site, tmp_path: Path) -> str:
    response = site.get("/public/funds/YJQ/annual/2025.pdf")
    assert response.status_code == 200
    text = pdf_text(response.data, tmp_path)
    response.close()
    return text


def test_a_leaked_project_title_is_withdrawn_by_two_roles_everywhere_at_once(
        app, world, login, leaked, factory):
    _disclosed, ref = leaked
    site = app.test_client()
    assert CHILD in everything_public(site)  # the leak, and the page cache now holds it
    assert app.extensions["public_page_cache"]  # pages were kept

    proposed = login("fin1").post("/funds/YJQ/withdrawals/",
                                  data={"kind": "project", "ref": ref, "reason": REASON})
    assert proposed.status_code == 302
    assert CHILD in everything_public(site)  # a proposal alone withdraws nothing
    with factory() as session:
        wid = session.execute(select(Withdrawal.id)).scalar_one()
    # Separation of duties: not the proposer, not the proposer's role, not another fund's.
    for user, status in (("fin1", 403), ("fin2", 403), ("ca", 403), ("aud", 403),
                         ("ay_fin", 404)):
        response = login(user).post(f"/funds/YJQ/withdrawals/{wid}/confirm")
        assert response.status_code == status, user
    assert CHILD in everything_public(site)
    assert login("co").post(f"/funds/YJQ/withdrawals/{wid}/confirm").status_code == 302

    shown = everything_public(site)
    assert CHILD not in shown and LEAKED_TITLE not in shown
    page = site.get("/public/funds/YJQ").get_data(as_text=True)
    assert f'data-ref="{ref}" data-state="approved" data-withdrawn="1"' in page  # money stays
    assert "（已撤回）" in site.get("/public/data/projects.csv").data.decode("utf-8-sig")
    with factory() as session:
        notice = public.corrections(session, "YJQ")[0]
    assert notice.subject == f"project:{ref}" and "撤回" in notice.title + notice.text
    assert REASON in notice.text and CHILD not in notice.text
    assert f'data-correction="{notice.id}"' in page and REASON in page
    with factory() as session:
        row = session.get(Withdrawal, wid)
        assert (row.state, row.proposed_role, row.decided_role) == (
            "confirmed", "finance", "charity_office")
    # Withdrawn once is enough.
    again = login("fin1").post("/funds/YJQ/withdrawals/",
                               data={"kind": "project", "ref": ref, "reason": REASON})
    assert again.status_code == 409


def test_the_annual_report_is_replaced_by_a_corrected_edition_and_kept_for_auditors(
        app, world, login, leaked, factory, tmp_path, instance_folder):
    site = app.test_client()
    first = annual_text(site, tmp_path)
    assert CHILD in first and FINDING in first
    response = site.get("/public/funds/YJQ/annual/2025.pdf")
    original = response.data
    response.close()

    withdraw(login, "co", "fin1", "annual-report", "2025")
    corrected = annual_text(site, tmp_path)
    assert CHILD not in corrected and "撤回" in corrected and "更正版" in corrected
    assert REASON in corrected
    assert FINDING in corrected  # the audit result is still published
    assert (instance_folder / "published" / "annual-YJQ-2025.pdf").read_bytes() == original
    kept = login("aud").get("/funds/YJQ/annual/2025/editions/1.pdf")
    assert kept.status_code == 200 and kept.data == original
    kept.close()
    for user in ("fin1", "co", "ca"):
        assert login(user).get("/funds/YJQ/annual/2025/editions/1.pdf").status_code == 403
    staff = login("fin1").get("/funds/YJQ/annual/2025.pdf")
    assert staff.data != original and CHILD not in pdf_text(staff.data, tmp_path)
    staff.close()

    # Withdrawing the audit result it prints makes a third edition without it.
    withdraw(login, "fin1", "co", "engagement", "1")
    third = annual_text(site, tmp_path)
    assert FINDING not in third and CHILD not in third
    with factory() as session:
        editions = session.execute(select(AnnualEdition.edition)
                                   .order_by(AnnualEdition.edition)).scalars().all()
    assert editions == [1, 2]
    shown = everything_public(site)
    assert FINDING not in shown and "2025年度专项审计" not in shown
    assert site.get("/public/data/audit_results.json").get_json()["rows"] == []


def test_a_donor_line_is_withdrawn_and_the_amount_stays(app, world, login, leaked):
    disclosed, _ref = leaked
    site = app.test_client()
    assert FIRM in everything_public(site)
    withdraw(login, "co", "fin2", "donation", disclosed.firm_receipt)
    shown = everything_public(site)
    assert FIRM not in shown
    rows = site.get("/public/data/donations.json?fund=YJQ&year=2025").get_json()["rows"]
    assert [(r["receipt"], r["donor"], r["amount"]) for r in rows] == [
        (disclosed.firm_receipt, "（已撤回）", "50000.00")]


def test_a_proposal_can_be_cancelled_and_a_reason_that_leaks_is_refused(app, world, login,
                                                                         leaked):
    _disclosed, ref = leaked
    leaking = login("fin1").post("/funds/YJQ/withdrawals/", data={
        "kind": "project", "ref": ref, "reason": f"标题含有{CHILD}的姓名"})
    assert leaking.status_code == 400
    assert CHILD not in leaking.get_data(as_text=True)
    assert login("fin1").post("/funds/YJQ/withdrawals/", data={
        "kind": "project", "ref": ref, "reason": REASON}).status_code == 302
    assert login("co").post("/funds/YJQ/withdrawals/1/cancel").status_code == 302
    assert login("co").post("/funds/YJQ/withdrawals/1/confirm").status_code == 409
    assert CHILD in everything_public(app.test_client())
    refused = login("fin1").post("/funds/YJQ/withdrawals/", data={
        "kind": "project", "ref": "YJQ-2026-999", "reason": REASON})
    assert refused.status_code == 404
