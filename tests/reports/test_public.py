"""What the public sees (reports.public): figures equal to the ledger, only approved
projects, donors by their public names, the disclosure calendar, open data, charts."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import clock
from core.db import transaction
from core.errors import InvalidInput, NotFound
from grants import operations as ops
from grants.models import Project
from ledger import donations, events
from ledger.balances import available, balances, purpose_summary
from ledger.chart import fund_account, payable_account
from ledger.income_models import Donor
from ledger.journal import find_fund
from reports import public
from reports.charts import bar_chart, hbar_chart
from reports.figures import Period, fund_figures
from reports.models import AnnualReport, Correction, Engagement, Finding
from tests.worlds import project_input

D = Decimal
FIRM = "资阳众诚建设有限公司"
FIRM_CODE = "91350100M000100Y43"
SHY = "李秀兰"  # an individual donor who asked to stay anonymous
TODAY = dt.date(2026, 7, 1)


def at(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 10, 0, tzinfo=clock.CST)


@dataclass(frozen=True)
class Disclosed:
    approved: int  # project id: approved, first tranche paid (under way)
    ref: str
    draft_ref: str
    rejected_ref: str
    firm_receipt: str  # 2025, by name, directed to education
    returned_receipt: str  # 2026, given back: not public
    voided_receipt: str  # 2026, voided and reissued: its replacement is public
    replacement_receipt: str


def disclose(world, factory, post, approved: int) -> Disclosed:
    """The small world of tests.worlds with a year and a half of public facts in 雁江区:
    a project under way, a draft and a rejected one, donations by name and anonymous,
    one given back and one receipt reissued, a top-up, interest and a bank fee, a
    published audit (and one still open), and a correction notice."""
    world.run("ca", ops.request_tranche, approved, seq=1)
    world.run("fin1", ops.approve_tranche, approved, seq=1, no_conflict=True)
    world.run("co", ops.pay_tranche, approved, seq=1, bank_ref="ZF-0001")
    draft = world.run("ca", ops.create_project, data=project_input(title="尚未提交的草稿项目"))
    rejected = world.run("ca", ops.create_project, data=project_input(title="被驳回的项目"))
    world.run("ca", ops.submit, rejected)
    world.run("co", ops.reject, rejected, reason="材料不全")
    post("top-up", "YJQ", date=dt.date(2026, 1, 10), amount="300000", doc_no="资财〔2026〕2号")
    post("interest", "YJQ", date=dt.date(2025, 12, 21), amount="1234.56")
    post("bank-fee", "YJQ", date=dt.date(2026, 6, 30), amount="15.50")
    post("interest", "AYX", date=dt.date(2026, 3, 21), amount="88.00")
    office = world["co"]
    with transaction(factory) as s:
        firm = donations.add_donor(s, office, "YJQ", kind="enterprise", name=FIRM,
                                   credit_code=FIRM_CODE).id
        shy = donations.add_donor(s, office, "YJQ", kind="individual", name=SHY,
                                  publish="anonymous").id

    def give(donor: int, day: dt.date, amount: str, purpose: str | None = None) -> str:
        with transaction(factory) as s:
            return donations.record_donation(s, office, "YJQ", donor_id=donor, date=day,
                                             amount=amount, purpose=purpose).code

    firm_receipt = give(firm, dt.date(2025, 3, 1), "50000", "education")
    give(shy, dt.date(2026, 2, 1), "2000")
    returned = give(firm, dt.date(2026, 3, 1), "10000")
    voided = give(shy, dt.date(2026, 4, 1), "3000", "medical")
    with transaction(factory) as s:
        donations.return_donation(s, office, "YJQ", returned, date=dt.date(2026, 3, 2),
                                  reason="重复捐赠")
        replacement = donations.void_receipt(s, office, "YJQ", voided, reason="抬头有误",
                                             reissue=True)
        assert replacement is not None
        replacement_code = replacement.code
        fund = find_fund(s, "YJQ")
        done = Engagement(fund_id=fund.id, title="2025年度专项审计", period="2025",
                          period_start=dt.date(2025, 1, 1), period_end=dt.date(2025, 12, 31),
                          scope="收支与项目", state="published", sample=[],
                          conclusion="资金使用基本合规。", opened_by="aud",
                          opened_at=at(dt.date(2026, 2, 1)), published_by="aud",
                          published_at=at(dt.date(2026, 4, 30)))
        done.findings = [Finding(severity="medium", title="票据作废说明不完整",
                                 description="一张作废票据的原因过于简略。", links=[],
                                 recorded_by="aud", recorded_at=at(dt.date(2026, 3, 1)),
                                 response="已补充说明。", responded_by="co",
                                 responded_at=at(dt.date(2026, 4, 10)))]
        s.add(done)
        s.add(Engagement(fund_id=fund.id, title="尚未发布的审计", period="2026",
                         period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 12, 31),
                         state="open", sample=[], opened_by="aud", opened_at=at(TODAY)))
        s.add(Correction(fund_id=fund.id, subject="engagement:1", title="审计结果更正",
                         text="更正一处日期。", published_by="aud",
                         published_at=at(dt.date(2026, 5, 5))))
    with world.reading(approved) as project:
        ref = project.ref
    with world.reading(draft, as_user="ca") as project:
        draft_ref = project.ref
    with world.reading(rejected, as_user="ca") as project:
        rejected_ref = project.ref
    return Disclosed(approved, ref, draft_ref, rejected_ref, firm_receipt, returned, voided,
                     replacement_code)


@pytest.fixture
def disclosed(world, factory, post, approved) -> Disclosed:
    return disclose(world, factory, post, approved)


# --- Figures -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["YJQ", "AYX", "ZYS"])
def test_fund_figures_equal_the_ledger(session, disclosed, code):
    fund = find_fund(session, code)
    for year in (2025, 2026):
        page = public.fund_page(session, code, year, TODAY)
        as_of = min(dt.date(year, 12, 31), TODAY)
        book = balances(session, fund, as_of)
        figures = fund_figures(session, fund, Period.year(year))
        assert page.as_of == as_of
        assert [p.key for p in page.purposes] == [p.key for p in figures.purposes]
        for line, flow in zip(page.purposes, figures.purposes, strict=True):
            assert line.in_bank == flow.closing
            assert line.committed == flow.committed
            assert line.available == flow.available
            assert line.paid == flow.paid, (year, line.key)
            assert line.spent == flow.spent, (year, line.key)
            if line.key != "General":
                assert line.in_bank == book[fund_account(line.key)]
                assert line.committed == -book[payable_account(line.key)]
                assert line.available == available(session, fund, line.key, as_of)
        assert page.fees == figures.total.fees
        for row in page.income:
            assert row.amounts == fund_figures(session, fund, Period.year(row.year)).income


def test_this_years_figures_are_todays_balances(session, disclosed):
    fund = find_fund(session, "YJQ")
    page = public.fund_page(session, "YJQ", 2026, TODAY)
    summary = {line.key: line for line in purpose_summary(session, fund)}
    for line in page.purposes:
        assert (line.in_bank, line.committed, line.available) == (
            summary[line.key].cash, summary[line.key].committed, summary[line.key].available)
    education = next(p for p in page.purposes if p.key == "Education")
    assert education.paid == D("72000.00") and education.spent == D("120000.00")
    assert education.committed == D("48000.00")
    assert page.year_income.amounts == {"government": D("300000.00"), "enterprise": D("0.00"),
                                        "individual": D("5000.00"), "interest": D("0.00")}
    assert page.fees == D("15.50")
    assert [row.year for row in page.income] == [2025, 2026]
    assert page.income[0].amounts["enterprise"] == D("50000.00")
    assert page.counties == []


def test_the_city_page_shows_each_fund_of_its_jurisdiction(session, disclosed):
    page = public.fund_page(session, "ZYS", 2026, TODAY)
    assert [c.fund.code for c in page.counties] == ["ZYS", "YJQ", "AYX"]
    for row in page.counties:
        figures = fund_figures(session, find_fund(session, row.fund.code), Period.year(2026))
        assert row.income == sum(figures.income.values(), D(0))
        assert (row.paid, row.spent, row.in_bank) == (
            figures.total.paid, figures.total.spent, figures.total.closing)
    assert page.counties[2].income == D("88.00")


def test_the_city_page_of_a_year_leaves_out_a_county_opened_after_it(session, disclosed,
                                                                     make_fund):
    """A county opened in 2026 has no books, nor a page, for 2025: the city's 2025 page
    does not list it (its link would lead nowhere), its 2026 page does."""
    make_fund("LZX", parent="ZYS", opened_on=dt.date(2026, 3, 1))
    assert [c.fund.code for c in public.fund_page(session, "ZYS", 2025, TODAY).counties] == \
        ["ZYS", "YJQ", "AYX"]
    assert [c.fund.code for c in public.fund_page(session, "ZYS", 2026, TODAY).counties] == \
        ["ZYS", "YJQ", "AYX", "LZX"]
    with pytest.raises(NotFound):
        public.fund_page(session, "LZX", 2025, TODAY)


def test_the_overview_lists_every_fund_with_todays_money(session, disclosed):
    rows = {row.fund.code: row for row in public.funds_overview(session, TODAY)}
    assert list(rows) == ["ZYS", "YJQ", "AYX"]
    for code, row in rows.items():
        lines = purpose_summary(session, find_fund(session, code))
        assert row.in_bank == sum((line.cash for line in lines), D(0))
        assert row.available == sum((line.available for line in lines), D(0))
        assert row.committed == sum((line.committed for line in lines), D(0))
    assert rows["YJQ"].projects == 1 and rows["AYX"].projects == 0
    assert rows["YJQ"].paid == D("72000.00")
    assert rows["YJQ"].fund.parent == "ZYS" and rows["ZYS"].fund.level == "city"


def test_the_figures_follow_every_posting_at_once(session, disclosed, post, factory):
    """Figures kept in memory are keyed by the funds' journal heads: a posting in a
    county shows on the city's page at the next view, and a renamed fund too."""
    def numbers(page):
        return ([(p.key, p.in_bank, p.committed, p.paid, p.spent) for p in page.purposes],
                [(i.year, i.amounts) for i in page.income],
                [(c.fund.code, c.income, c.paid, c.spent, c.in_bank) for c in page.counties])

    before = public.fund_page(session, "ZYS", 2026, TODAY)
    assert numbers(public.fund_page(session, "ZYS", 2026, TODAY)) == numbers(before)
    post("interest", "AYX", date=TODAY, amount="11.11")
    post("donation", "YJQ", date=TODAY, amount="500", donor="某企业", donor_type="enterprise",
         receipt_no="X-1", purpose="education")
    session.rollback()
    after = public.fund_page(session, "ZYS", 2026, TODAY)
    assert after.counties[2].income == before.counties[2].income + D("11.11")
    assert after.counties[1].income == before.counties[1].income + D("500.00")
    assert after.counties[1].in_bank == before.counties[1].in_bank + D("500.00")
    page = public.fund_page(session, "YJQ", 2026, TODAY)
    assert page.year_income.amounts["enterprise"] == D("500.00")
    with transaction(factory) as s:
        find_fund(s, "AYX").name_zh = "安岳县儿童专项基金"
    session.rollback()
    assert public.fund_page(session, "ZYS", 2026, TODAY).counties[2].fund.name.zh == \
        "安岳县儿童专项基金"


def test_a_year_without_books_is_not_found(session, disclosed):
    with pytest.raises(NotFound):
        public.fund_page(session, "YJQ", 2024, TODAY)
    with pytest.raises(NotFound):
        public.fund_page(session, "YJQ", 2027, TODAY)
    with pytest.raises(NotFound):
        public.fund_page(session, "NOPE", 2026, TODAY)


# --- Projects and payments -----------------------------------------------------------------


def test_only_approved_or_later_projects_are_public(session, world, disclosed):
    refs = [p.ref for p in public.public_projects(session, "YJQ").items]
    assert refs == [disclosed.ref]
    assert disclosed.draft_ref not in refs and disclosed.rejected_ref not in refs
    assert public.public_projects(session, "AYX").items == []
    assert public.public_projects(session, "YJQ", 2025).items == []
    world.run("fin1", ops.cancel, disclosed.approved, reason="项目终止")
    session.rollback()  # end the read transaction: see what was committed since
    (project,) = public.public_projects(session, "YJQ").items
    assert (project.state, project.state_label) == ("terminated", "Terminated")


def test_a_public_project_shows_money_counts_and_dates_not_people(session, disclosed):
    (project,) = public.public_projects(session, "YJQ", 2026, page=1).items
    assert project.title == "雁江区留守儿童助学项目"
    assert project.implementing_unit == "雁江区民政局"
    assert (project.purpose, project.purpose_label.zh) == ("Education", "助学")
    assert project.approved_amount == D("120000.00") and project.paid == D("72000.00")
    assert (project.state, project.state_label) == ("under_way", "Under way")
    assert project.approved_on == TODAY
    assert project.counts == {"left_behind": 100, "in_difficulty": 20}
    assert project.children == 120
    assert not hasattr(project, "payee")


def test_payments_come_from_the_ledger_and_add_up_to_paid(session, disclosed):
    payments = public.public_payments(session, "YJQ")
    assert [(p.project, p.date, p.kind, p.amount) for p in payments] == [
        (disclosed.ref, TODAY, "disbursement", D("72000.00"))]
    assert re.fullmatch(r"YJQ#\d+", payments[0].entry)
    assert public.public_payments(session, "YJQ", 2025) == []
    per_project = defaultdict(lambda: D(0))
    for payment in public.public_payments(session):
        per_project[payment.project] += payment.amount
    for project in public.public_projects(session).items:
        assert per_project[project.ref] == project.paid


def test_projects_page_fifty_at_a_time(session, world, disclosed):
    with transaction(world.factory) as s:
        fund = find_fund(s, "YJQ")
        for n in range(60):
            s.add(Project(
                fund_id=fund.id, ref=f"YJQ-2026-9{n:02d}", year=2026, title=f"批量项目{n}",
                purpose="Education", implementing_unit="雁江区民政局", payee="某学校",
                requested_amount=D("1000.00"), approved_amount=D("1000.00"),
                state="approved", created_by=world["ca"].user_id, created_at=at(TODAY),
                updated_at=at(TODAY)))
            # An approved project has its commitment, or the books do not verify.
            events.post_commitment(s, world["fin1"], "YJQ", date=TODAY,
                                   amount="1000.00", grant=f"YJQ-2026-9{n:02d}",
                                   purpose="education")
    first = public.public_projects(session, "YJQ", page=1)
    second = public.public_projects(session, "YJQ", page=2)
    assert len(first.items) == 50 and first.has_next
    assert len(second.items) == 11 and not second.has_next
    assert {p.ref for p in first.items}.isdisjoint(p.ref for p in second.items)
    assert len(public.public_projects(session, "YJQ").items) == 61


# --- Donations -----------------------------------------------------------------------------


def test_donors_are_shown_by_their_public_names(session, disclosed):
    listed = public.public_donations(session, "YJQ").items
    assert [(d.date, d.donor, d.amount, d.purpose) for d in listed] == [
        (dt.date(2026, 4, 1), "匿名", D("3000.00"), "Medical"),
        (dt.date(2026, 2, 1), "匿名", D("2000.00"), None),
        (dt.date(2025, 3, 1), FIRM, D("50000.00"), "Education"),
    ]
    assert SHY not in {d.donor for d in listed}
    receipts = {d.receipt for d in listed}
    assert disclosed.replacement_receipt in receipts
    assert disclosed.voided_receipt not in receipts and disclosed.returned_receipt not in receipts
    for donor in session.execute(select(Donor)).scalars():
        assert public.public_name(donor.name, donor.publish) == donor.public_name


def test_donations_net_out_against_the_ledgers_income(session, disclosed):
    fund = find_fund(session, "YJQ")
    for year in (2025, 2026):
        listed = public.public_donations(session, "YJQ", year).items
        income = fund_figures(session, fund, Period.year(year)).income
        assert sum((d.amount for d in listed), D(0)) == income["enterprise"] + income["individual"]
    page = public.public_donations(session, "YJQ", page=1, per_page=2)
    assert len(page.items) == 2 and page.has_next
    assert not public.public_donations(session, "YJQ", page=2, per_page=2).has_next


# --- Audit results and corrections ---------------------------------------------------------


def test_only_published_audit_results_with_findings_and_responses(session, disclosed):
    (result,) = public.audit_results(session, "YJQ")
    assert result.title == "2025年度专项审计" and result.conclusion == "资金使用基本合规。"
    assert result.published_at.date() == dt.date(2026, 4, 30)
    (finding,) = result.findings
    assert (finding.severity, finding.response, finding.responded_at.date()) == (
        "medium", "已补充说明。", dt.date(2026, 4, 10))
    assert public.audit_results(session, "YJQ", 2026) == []
    assert public.audit_results(session, "AYX") == []
    (notice,) = public.corrections(session, "YJQ")
    assert (notice.title, notice.published_on) == ("审计结果更正", dt.date(2026, 5, 5))
    assert public.corrections(session, "YJQ", 2025) == []


# --- The disclosure calendar ---------------------------------------------------------------


def annual(session, year: int, item_kind: str = "annual-report"):
    items = public.disclosure_calendar(session, "YJQ", clock.today())
    return next(i for i in items if i.kind == item_kind and i.period == str(year))


def test_the_annual_report_is_due_until_31_may_then_overdue(session, disclosed):
    with clock.frozen_at(at(dt.date(2026, 5, 31))):
        item = annual(session, 2025)
        assert (item.due, item.state) == (dt.date(2026, 5, 31), "due")
    with clock.frozen_at(at(dt.date(2026, 6, 1))):
        assert annual(session, 2025).state == "overdue"
    with clock.frozen_at(at(dt.date(2025, 12, 31))):
        items = public.disclosure_calendar(session, "YJQ", clock.today())
        assert not any(i.kind == "annual-report" for i in items)


def test_a_published_annual_report_is_published_and_late_if_after_31_may(session, disclosed,
                                                                        factory):
    with transaction(factory) as s:
        report = AnnualReport(fund_id=find_fund(s, "YJQ").id, year=2025, narrative={},
                              state="draft")
        s.add(report)
    assert annual(session, 2025).state == "overdue"  # a draft does not count
    with transaction(factory) as s:
        report = s.execute(select(AnnualReport)).scalar_one()
        report.state, report.published_by = "published", "fin1"
        report.published_at = at(dt.date(2026, 5, 20))
    session.rollback()
    item = annual(session, 2025)
    assert (item.state, item.published_on, item.late) == ("published", dt.date(2026, 5, 20), False)
    with transaction(factory) as s:
        s.execute(select(AnnualReport)).scalar_one().published_at = at(dt.date(2026, 6, 10))
    session.rollback()
    assert annual(session, 2025).late is True
    other = public.disclosure_calendar(session, "AYX", TODAY)
    assert next(i for i in other if i.kind == "annual-report").state == "overdue"


def test_quarterly_items_are_published_from_the_books(session, disclosed):
    items = [i for i in public.disclosure_calendar(session, "YJQ", TODAY)
             if i.kind == "quarterly"]
    assert [i.period for i in items] == ["2026-Q2", "2026-Q1", "2025-Q4", "2025-Q3"]
    assert all(i.state == "published" and i.live for i in items)
    assert items[0].due == dt.date(2026, 9, 30) and items[0].published_on == dt.date(2026, 6, 30)
    with clock.frozen_at(at(dt.date(2025, 8, 1))):
        early = [i.period for i in public.disclosure_calendar(session, "YJQ", clock.today())
                 if i.kind == "quarterly"]
    assert early == ["2025-Q2", "2025-Q1"]  # nothing before the fund opened


# --- Open data -----------------------------------------------------------------------------

PATTERNS = {
    "amount": re.compile(r"-?\d+\.\d\d"),
    "date": re.compile(r"\d{4}-\d\d-\d\d"),
}


def test_every_dataset_has_exactly_the_columns_of_its_dictionary(session, disclosed):
    assert set(public.OPEN_DATA) == {"funds", "balances", "income", "projects", "payments",
                                     "donations", "audit_results", "corrections"}
    for name, (description, spec) in public.OPEN_DATA.items():
        assert description and all(t in public.TYPES and meaning for _c, t, meaning in spec)
        rows = public.dataset(session, name, TODAY)
        assert rows, name
        for row in rows:
            assert list(row) == public.columns(name), name
            for column, kind, _meaning in spec:
                value = row[column]
                if value is None:
                    continue
                if kind == "integer":
                    assert isinstance(value, int), (name, column)
                else:
                    assert isinstance(value, str), (name, column)
                    if kind in PATTERNS:
                        assert PATTERNS[kind].fullmatch(value), (name, column, value)


def test_open_data_figures_match_the_pages(session, disclosed):
    balances_rows = public.dataset(session, "balances", TODAY, fund_code="YJQ", year=2026)
    page = public.fund_page(session, "YJQ", 2026, TODAY)
    assert [(r["purpose"], r["available"]) for r in balances_rows] == [
        (p.key, f"{p.available:.2f}") for p in page.purposes]
    assert {r["date"] for r in balances_rows} == {"2026-07-01"}
    years = {r["date"] for r in public.dataset(session, "balances", TODAY, fund_code="YJQ")}
    assert years == {"2025-12-31", "2026-07-01"}
    income = public.dataset(session, "income", TODAY, fund_code="YJQ")
    assert {(r["year"], r["source"]): r["amount"] for r in income}[(2025, "enterprise")] == \
        "50000.00"
    (project,) = public.dataset(session, "projects", TODAY, fund_code="yjq")
    assert (project["state"], project["state_name"], project["left_behind"]) == (
        "under_way", "实施中", 100)
    donors = [r["donor"] for r in public.dataset(session, "donations", TODAY, year=2026)]
    assert donors == ["匿名", "匿名"]
    funds = public.dataset(session, "funds", TODAY)
    assert [(f["code"], f["parent"]) for f in funds] == [("ZYS", None), ("YJQ", "ZYS"),
                                                         ("AYX", "ZYS")]
    with pytest.raises(NotFound):
        public.dataset(session, "children", TODAY)


def test_csv_has_a_bom_and_json_keeps_amounts_as_text(session, disclosed):
    rows = public.dataset(session, "donations", TODAY)
    data = public.to_csv("donations", rows)
    assert data.startswith("\ufeff".encode())
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(public.columns("donations"))
    assert len(lines) == len(rows) + 1
    document = public.to_json("donations", rows, fund_code="yjq", year=None)
    assert b'"amount": "50000.00"' in document
    assert b'"fund": "YJQ"' in document


def test_a_year_is_four_digits(session):
    assert public.parse_year("2025") == 2025 and public.parse_year("") is None
    for bad in ("25", "2025a", "-2025", "２０２５"):
        with pytest.raises(InvalidInput):
            public.parse_year(bad)


# --- Charts --------------------------------------------------------------------------------


def test_charts_are_accessible_escaped_svg():
    nasty = '<script>alert("x")</script> & 助学'
    charts = [
        bar_chart("收入<来源>", ["2025", nasty], [("财政资金", [D("100"), D("2.5")]),
                                                 ("个人捐赠", [D("0"), D("-1")])],
                  chart_id="a b"),
        hbar_chart("拨付 & 支出", [nasty, "助孤"], [("已拨付", [D("1234.56"), D("0")])]),
        hbar_chart("空", [], []),
        bar_chart("零", ["2025"], [("x", [D("0")])]),
    ]
    for svg in charts:
        root = ET.fromstring(svg)  # well-formed XML, every text escaped
        ns = "{http://www.w3.org/2000/svg}"
        assert root.tag == f"{ns}svg" and root.get("role") == "img"
        assert root.find(f"{ns}title") is not None and root.find(f"{ns}desc") is not None
        assert "<script" not in svg and "style=" not in svg and "http" not in svg.replace(
            'xmlns="http://www.w3.org/2000/svg"', "")
    assert "¥1,234.56" in charts[1]
    assert 'id="a-b"' in charts[0] and 'aria-labelledby="a-b-title a-b-desc"' in charts[0]
    assert "xmlns" not in bar_chart("t", ["2025"], [("x", [D("1")])], inline=True)
    assert "2025：财政资金 ¥100.00" in charts[0]  # the description lists the figures


# --- Withdrawn from public view and formula injection ------------------------------------------


def test_withdrawn_items_leave_every_public_list(world, factory, disclosed, tmp_path):
    from reports import withdrawals

    finance, office = world["fin1"], world["co"]
    with transaction(factory) as s:
        for kind, ref in (("project", disclosed.ref), ("donation", disclosed.firm_receipt),
                          ("engagement", "1"), ("correction", "1")):
            row = withdrawals.propose(s, finance, "YJQ", kind=kind, ref=ref, reason="依申请撤回")
            withdrawals.confirm(s, office, row.id, folder=tmp_path)
    with factory() as s:
        projects = {p.ref: p for p in public.public_projects(s, "YJQ").items}
        assert projects[disclosed.ref].withdrawn and projects[disclosed.ref].title == ""
        assert projects[disclosed.ref].approved_amount == D("120000.00")  # the money stays
        donations_ = {d.receipt: d for d in public.public_donations(s, "YJQ").items}
        assert donations_[disclosed.firm_receipt].donor == ""
        assert public.audit_results(s, "YJQ") == []
        notices = public.corrections(s, "YJQ")
        assert [n.subject for n in notices] == [
            "correction:1", "engagement:1", f"donation:{disclosed.firm_receipt}",
            f"project:{disclosed.ref}"]  # the withdrawn notice 1 is gone, newest first
        assert all("撤回" in n.text and "依申请撤回" in n.text for n in notices)
        rows = public.dataset(s, "donations", TODAY, fund_code="YJQ")
        assert FIRM not in str(rows) and public.WITHDRAWN in str(rows)


def test_open_data_csv_keeps_hostile_text_as_text():
    rows = [{"fund": "YJQ", "id": 1, "subject": "=1+1", "title": "@SUM(A1)", "text": "-1+2",
             "published_on": "2026-07-01"}]
    line = public.to_csv("corrections", rows).decode("utf-8-sig").splitlines()[1]
    assert line == "YJQ,1,'=1+1,'@SUM(A1),'-1+2,2026-07-01"
