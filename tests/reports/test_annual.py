"""The annual report: figures from the ledger, Chinese that renders, frozen when published."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import Actor
from core.db import transaction
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.money import ZERO, format_cny
from ledger.balances import balances
from ledger.journal import find_fund
from reports import annual
from reports.models import AnnualReport
from tests.grants.test_race import ROUNDS, race

FINANCE = Actor("fin", "finance", fund="YJQ")
NARRATIVE = {"overview": "本基金运行平稳。", "work": "开展助学项目。", "finance": "收支见报表。",
             "plans": "继续加强管理。"}


def text_of(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


@pytest.fixture
def books(make_fund, post):
    make_fund("ZYS")
    make_fund("YJQ", parent="ZYS")
    post("seed", "YJQ", date=dt.date(2025, 1, 5), amount="200000", doc_no="资财〔2025〕1号")
    post("allocation", "YJQ", date=dt.date(2025, 2, 1), amount="80000", purpose="education")
    post("commitment", "YJQ", date=dt.date(2025, 3, 1), amount="30000", grant="P1",
         purpose="education")
    post("disbursement", "YJQ", date=dt.date(2025, 3, 20), amount="12345.67", grant="P1",
         bank_ref="ZF1")
    post("seed", "ZYS", date=dt.date(2025, 1, 6), amount="500000", doc_no="资财〔2025〕2号")
    return "YJQ"


def draft(factory, code="YJQ", actor=FINANCE):
    with transaction(factory) as s:
        report = annual.report_for(s, actor, code, 2025, create=True)
        annual.save_narrative(s, actor, report, NARRATIVE)


def test_the_report_carries_the_ledgers_figures_in_chinese(session, factory, books, tmp_path):
    draft(factory)
    report = annual.report_for(session, FINANCE, "YJQ", 2025)
    pdf = annual.annual_pdf(session, report)
    text = text_of(pdf, tmp_path)
    for heading in ("测试基金YJQ", "2025年度工作和财务报告", "目录", "财务报表", "收支情况表",
                    "审计情况", "本基金运行平稳。"):
        assert heading in text, heading
    book = balances(session, find_fund(session, "YJQ"), dt.date(2025, 12, 31))
    cash = sum((v for a, v in book.items() if a.startswith("Assets:Fund:")), ZERO)
    assert format_cny(cash) in text  # the closing total
    assert format_cny(book["Assets:Fund:Education"]) in text
    assert "¥12,345.67" in text  # paid to the project
    assert "第3页/共8页" in text.replace(" ", "")  # page numbers on every page
    fonts = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=False)
    listing = fonts.stdout.decode()
    if not listing.strip():  # older pdffonts cannot read standard input
        path = tmp_path / "f.pdf"
        path.write_bytes(pdf)
        listing = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                                 check=True).stdout
    assert "CJK" in listing and " yes " in listing


def test_the_city_report_consolidates_its_counties(session, factory, books, tmp_path):
    draft(factory, "ZYS", Actor("cityfin", "finance", fund="ZYS"))
    report = annual.report_for(session, FINANCE, "ZYS", 2025)
    assert report.consolidated
    text = text_of(annual.annual_pdf(session, report), tmp_path)
    assert "测试基金ZYS（ZYS）收支情况表" in text and "测试基金YJQ（YJQ）收支情况表" in text
    assert "¥500,000.00" in text and "¥200,000.00" in text


def test_publishing_freezes_the_report(session, factory, books):
    draft(factory)
    with transaction(factory) as s:
        report = annual.report_for(s, FINANCE, "YJQ", 2025)
        pdf = annual.publish(s, FINANCE, report)
        digest = report.pdf_sha256
    assert digest == hashlib.sha256(pdf).hexdigest()
    with pytest.raises(Conflict), transaction(factory) as s:
        annual.save_narrative(s, FINANCE, annual.report_for(s, FINANCE, "YJQ", 2025),
                              {"overview": "悄悄改掉"})
    with transaction(factory) as s:
        notice = annual.publish_correction(
            s, FINANCE, "YJQ", subject="annual-report:2025", title="更正：第四部分数字",
            text="项目拨付应为¥12,345.67。")
        assert notice.id


def test_only_the_funds_finance_prepares_it_and_only_when_complete(factory, books):
    with pytest.raises(PermissionDenied), transaction(factory) as s:
        annual.report_for(s, Actor("aud", "auditor", fund="YJQ"), "YJQ", 2025, create=True)
    with pytest.raises(PermissionDenied), transaction(factory) as s:
        annual.report_for(s, Actor("other", "finance", fund="ZYS"), "YJQ", 2025, create=True)
    with transaction(factory) as s:
        report = annual.report_for(s, FINANCE, "YJQ", 2025, create=True)
        annual.save_narrative(s, FINANCE, report, {"overview": "只写了一节"})
    with pytest.raises(InvalidInput), transaction(factory) as s:
        annual.publish(s, FINANCE, annual.report_for(s, FINANCE, "YJQ", 2025))
    with pytest.raises(InvalidInput), transaction(factory) as s:
        annual.report_for(s, FINANCE, "YJQ", 2026, create=True)  # the year is not over


@pytest.mark.slow
def test_finance_users_starting_a_years_report_at_once_make_one_report(database_url, world,
                                                                      factory):
    def start(session: Session, worker: int, attempt: int) -> None:
        actor = world["fin1" if worker == 0 else "fin2"]
        report = annual.report_for(session, actor, "YJQ", 2015 + attempt, create=True)
        annual.save_narrative(session, actor, report, {"overview": f"第{worker}位的概述"})

    errors = race(database_url, start)
    assert not errors, [type(e).__name__ for e in errors]
    with factory() as session:
        years = session.execute(select(AnnualReport.year).order_by(AnnualReport.year)
                                ).scalars().all()
    assert years == [2015 + n for n in range(ROUNDS)]
