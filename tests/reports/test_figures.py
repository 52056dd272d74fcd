"""The public site and the auditor's statements show the same money.

The public pages read the per-day changes the ledger keeps; the statements read every
posting. Both arrange the figures of ``reports.figures``, so for every fund and year the
money on a fund's page, in the list of funds and in the open data equals what the fund
statement (收支情况表) and the activity statement (业务活动表) say. A figure computed a
second way on either side would part from the other here.

The books: those of the public-site tests (a project under way, donations by name and
anonymous, one given back and one receipt reissued, a top-up, interest and a bank fee)
and then the project finished under budget (unspent money returned, the rest of its
commitment released), a second project approved and not yet paid, an interest entry
reversed, and an allocation to another purpose in 安岳县.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.money import format_plain
from grants import operations as ops
from ledger.chart import load_chart
from ledger.journal import find_fund
from reports import public
from reports.figures import Period
from reports.statements import activity_statement, fund_statement
from reports.tables import EMPHASIS
from tests.reports.test_public import TODAY, disclose
from tests.worlds import project_input

CODES = ("ZYS", "YJQ", "AYX")
YEARS = (2025, 2026)
INCOME_CODES = {"government": "4401", "enterprise": "410101", "individual": "410102",
                "interest": "4901"}


@pytest.fixture
def finished(world, factory, post, approved):
    """The public-site world, then a project finished and a second one approved."""
    disclose(world, factory, post, approved)
    with world.reading(approved) as project:
        progress = next(r.id for r in project.reports if r.kind == "progress")
        final = next(r.id for r in project.reports if r.kind == "final")
    world.run("ca", ops.file_report, approved, report_id=progress, body="进展顺利")
    world.run("fin2", ops.accept_report, approved, report_id=progress)
    world.run("ca", ops.file_report, approved, report_id=final, body="项目完成",
              spent_amount="70000")
    world.run("fin1", ops.accept_report, approved, report_id=final)
    world.run("co", ops.return_unspent, approved, bank_ref="TH-1")  # 2,000 of 72,000 paid
    world.run("fin1", ops.close, approved)  # releases the unpaid 48,000
    second = world.run("ca", ops.create_project, data=project_input(
        title="雁江区困境儿童助学项目", requested_amount="30000.00",
        budget=[("助学金", "30000.00")], tranches=[(dt.date(2026, 8, 1), "30000.00", "none")]))
    world.run("ca", ops.submit, second)
    world.run("co", ops.check, second, no_conflict=True)
    world.run("fin1", ops.approve, second, amount="30000", no_conflict=True)
    interest = post("interest", "YJQ", date=dt.date(2026, 6, 21), amount="10.00")
    post("reversal", "YJQ", seq=interest.seq, date=dt.date(2026, 6, 22), reason="重复入账")
    post("allocation", "AYX", date=dt.date(2026, 2, 1), amount="1000", purpose="medical")


def statement_of(session, code: str, year: int) -> tuple[list[dict], dict[str, Decimal]]:
    """The fund statement's rows of one fund, and its activity statement by code."""
    fund = find_fund(session, code)
    period = Period.year(year)
    rows = [r for r in fund_statement(session, [fund], period).rows if not r.get(EMPHASIS)]
    key = "fund_" + code.lower()
    activity = {r["code"] or r["name"]: r[key]
                for r in activity_statement(session, [fund], period).rows}
    return rows, activity


def test_the_public_site_shows_the_statements_money(session, finished):
    accounts = {a.name: a.code for a in load_chart().accounts}
    overview = {row.fund.code: row for row in public.funds_overview(session, TODAY)}
    for code in CODES:
        balances = {(r["date"][:4], r["purpose"]): r for r in
                    public.dataset(session, "balances", TODAY, fund_code=code)}
        income = {(r["year"], r["source"]): r["amount"] for r in
                  public.dataset(session, "income", TODAY, fund_code=code)}
        for year in YEARS:
            page = public.fund_page(session, code, year, TODAY)
            rows, activity = statement_of(session, code, year)
            assert [line.label.zh for line in page.purposes] == [r["purpose"] for r in rows]
            for line, row in zip(page.purposes, rows, strict=True):
                shown = (line.in_bank, line.committed, line.available, line.paid, line.fees)
                assert shown == (row["closing"], row["committed"], row["available"],
                                 row["paid"], row["fees"]), (code, year, line.key)
                if line.key != "General":
                    expense = accounts[f"Expenses:Grants:{line.key}"]
                    assert line.spent == activity.get(expense, Decimal(0)), (code, year)
                data = balances[(str(year), line.key)]
                assert (data["in_bank"], data["committed"], data["available"]) == (
                    format_plain(row["closing"]), format_plain(row["committed"]),
                    format_plain(row["available"])), (code, year, line.key)
            assert page.fees == activity["530101"]
            for source, amount in page.year_income.amounts.items():
                assert amount == activity[INCOME_CODES[source]], (code, year, source)
                assert income[(year, source)] == format_plain(amount)
            assert page.year_income.total == activity["收入合计"]
            if year == TODAY.year:
                row = overview[code]
                assert (row.in_bank, row.committed, row.available, row.paid, row.income) == (
                    sum(r["closing"] for r in rows), sum(r["committed"] for r in rows),
                    sum(r["available"] for r in rows), sum(r["paid"] for r in rows),
                    activity["收入合计"]), code
    for year in YEARS:
        for county in public.fund_page(session, "ZYS", year, TODAY).counties:
            rows, activity = statement_of(session, county.fund.code, year)
            assert (county.in_bank, county.paid, county.income) == (
                sum(r["closing"] for r in rows), sum(r["paid"] for r in rows),
                activity["收入合计"]), (county.fund.code, year)
            assert county.spent == sum(v for c, v in activity.items()
                                       if c.startswith("5101") and len(c) > 4)


def test_the_books_moved_every_figure_compared(session, finished):
    """The comparison above is not of zeros: each figure moved in 2026 in 雁江区."""
    page = public.fund_page(session, "YJQ", 2026, TODAY)
    education = next(line for line in page.purposes if line.key == "Education")
    # 72,000 paid less 2,000 returned; 120,000 + 30,000 approved less 48,000 released
    # and 2,000 returned; the second project's 30,000 is committed.
    assert (education.paid, education.spent, education.committed) == (
        Decimal("70000.00"), Decimal("100000.00"), Decimal("30000.00"))
    assert page.fees == Decimal("15.50")
    assert all(page.year_income.amounts[s] for s in ("government", "individual"))
    medical = next(line for line in public.fund_page(session, "AYX", 2026, TODAY).purposes
                   if line.key == "Medical")
    assert medical.in_bank == Decimal("1000.00")
