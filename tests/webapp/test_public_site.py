"""The public disclosure site: no sign-in, Chinese by default, open data that parses and
matches the ledger, nothing loaded from elsewhere."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal
from pathlib import Path

from core.db import transaction
from grants.models import BeneficiaryCount, Project
from ledger import donations, events
from ledger.balances import available
from ledger.journal import find_fund
from reports import annual, public
from reports.models import AnnualReport
from tests.reports.test_public import at
from tests.reports.test_statements import pdf_text
from tests.webapp.conftest import text
from tests.worlds import make_token

TODAY = dt.date(2026, 7, 1)


def pages(client) -> list[str]:
    """Every public page of the small world, as anyone can reach it by following links."""
    found = ["/public/", "/public/data/"]
    for code in ("ZYS", "YJQ", "AYX"):
        found += [f"/public/funds/{code}", f"/public/funds/{code}?year=2025"]
    return found


def test_every_page_opens_without_signing_in_in_chinese(site, disclosed):
    for url in pages(site):
        response = site.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert '<html lang="zh-CN">' in body, url
        assert "儿童专项基金" in body and "全部基金" in body, url
        assert response.headers["Cache-Control"] == "public, max-age=60", url
    page = text(site.get("/public/funds/YJQ"))
    for chinese in ("测试基金YJQ", "用途", "银行存款", "已批未付", "可用余额", "助学", "项目编号",
                    "实施中", "留守儿童", "匿名", "逾期"):
        assert chinese in page, chinese
    assert FIRM_NAME in text(site.get("/public/funds/YJQ?year=2025"))


FIRM_NAME = "资阳众诚建设有限公司"


def test_the_language_switch_turns_the_pages_english(site, disclosed):
    page = site.get("/public/funds/YJQ").get_data(as_text=True)
    assert 'id="switch-language" href="/public/funds/YJQ?lang=en"' in page  # a link, no cookie
    body = site.get("/public/funds/YJQ?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in body
    assert "Test fund YJQ" in body and "Education aid" in body and "Under way" in body
    # An anonymous donor's public name is the record's 匿名, in either language.
    assert "匿名" in body and "Anonymous" not in body
    assert '<html lang="zh-CN">' in site.get("/public/").get_data(as_text=True)


def cell(body: str, row: str, field: str) -> Decimal:
    """The data-amount of a field in the table row marked with ``row``."""
    chunk = body.split(row, 1)[1].split("</tr>", 1)[0]
    found = re.search(rf'data-field="{field}" data-amount="(-?[0-9.]+)"', chunk)
    assert found, (row, field)
    return Decimal(found.group(1))


def test_the_fund_page_shows_the_ledgers_figures(site, disclosed, session):
    body = site.get("/public/funds/YJQ").get_data(as_text=True)
    fund = find_fund(session, "YJQ")
    balances = body.split('id="balances"')[1]
    assert cell(balances, 'data-purpose="Education"', "available") == \
        available(session, fund, "Education")
    assert cell(balances, 'data-purpose="Education"', "committed") == Decimal("48000.00")
    assert cell(balances, 'data-purpose="Education"', "paid") == Decimal("72000.00")
    income = body.split('id="income"')[1]
    assert cell(income, 'data-year="2026"', "government") == Decimal("300000.00")
    assert cell(income, 'data-year="2025"', "enterprise") == Decimal("50000.00")
    assert 'id="chart-income"' in body and 'id="chart-spending"' in body
    assert 'id="counties"' not in body
    city = site.get("/public/funds/ZYS").get_data(as_text=True)
    assert 'id="chart-counties"' in city and 'data-fund="AYX"' in city
    calendar = body.split('id="calendar"')[1]
    assert re.search(r'data-kind="annual-report" data-period="2025" data-state="overdue"',
                     calendar)


def test_only_approved_projects_and_issued_receipts_are_listed(site, disclosed):
    body = site.get("/public/funds/YJQ").get_data(as_text=True)
    assert f'data-ref="{disclosed.ref}"' in body
    assert disclosed.draft_ref not in body and disclosed.rejected_ref not in body
    assert "尚未提交的草稿项目" not in body and "被驳回的项目" not in body
    assert disclosed.replacement_receipt in body
    assert disclosed.voided_receipt not in body and disclosed.returned_receipt not in body
    assert "李秀兰" not in body  # asked to stay anonymous
    assert "雁江区希望小学" not in body  # the payee is never published


def test_the_calendar_shows_a_published_annual_report(site, disclosed, factory):
    with transaction(factory) as s:
        s.add(AnnualReport(fund_id=find_fund(s, "YJQ").id, year=2025, narrative={},
                           state="published", published_by="fin1",
                           published_at=at(dt.date(2026, 5, 28))))
    calendar = site.get("/public/funds/YJQ").get_data(as_text=True).split('id="calendar"')[1]
    assert 'data-kind="annual-report" data-period="2025" data-state="published"' in calendar


def test_finance_publishes_the_annual_report_and_anyone_reads_it(site, disclosed, login, app,
                                                                 tmp_path):
    fin = login("fin1")
    assert site.get("/public/funds/YJQ/annual/2025.pdf").status_code == 404  # not yet
    fin.post("/funds/YJQ/annual/2025", data={
        "overview": "全年资助留守儿童。", "work": "开展助学项目。",
        "finance": "收支详见报表。", "plans": "继续做好资助工作。"})
    assert fin.post("/funds/YJQ/annual/2025/publish").status_code == 302
    calendar = site.get("/public/funds/YJQ").get_data(as_text=True).split('id="calendar"')[1]
    assert 'data-period="2025" data-state="published"' in calendar
    link = re.search(r'href="(/public/funds/YJQ/annual/2025\.pdf)"', calendar)
    assert link, "the calendar links the published report"
    response = site.get(link.group(1))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    published = response.get_data()
    response.close()  # a file response holds its file open until closed
    staff_copy = fin.get("/funds/YJQ/annual/2025.pdf")
    assert published == staff_copy.get_data()
    staff_copy.close()
    assert "全年资助留守儿童" in pdf_text(published, tmp_path)
    # A file changed on disk after publication is not served as the published report.
    path = Path(app.instance_path) / "published" / "annual-YJQ-2025.pdf"
    path.write_bytes(published + b"%tampered")
    assert site.get(link.group(1)).status_code == 404
    assert site.get("/public/funds/YJQ/annual/2024.pdf").status_code == 404


def test_a_correction_notice_published_by_finance_appears_publicly(site, disclosed, login):
    fin = login("fin1")
    response = fin.post("/funds/YJQ/annual/corrections", data={
        "subject": "annual-report:2025", "title": "年度报告更正",
        "text": "第3页金额更正为¥1,000.00。"})
    assert response.status_code == 302
    page = site.get("/public/funds/YJQ").get_data(as_text=True)
    corrections = page.split('id="corrections"', 1)[1].split("</section>", 1)[0]
    assert "年度报告更正" in corrections and "第3页金额更正为¥1,000.00。" in corrections
    rows = json.loads(site.get("/public/data/corrections.json?fund=YJQ").get_data())["rows"]
    assert [r["title"] for r in rows][:1] == ["年度报告更正"]


def test_lists_are_paged(site, disclosed, world):
    with transaction(world.factory) as s:
        fund = find_fund(s, "YJQ")
        for n in range(55):
            s.add(Project(fund_id=fund.id, ref=f"YJQ-2026-8{n:02d}", year=2026,
                          title=f"批量项目{n}", purpose="Education",
                          implementing_unit="雁江区民政局", payee="某学校",
                          requested_amount=Decimal("1000.00"),
                          approved_amount=Decimal("1000.00"), state="completed",
                          created_by=world["ca"].user_id, created_at=at(TODAY),
                          updated_at=at(TODAY)))
            # An approved project has its commitment, or the books do not verify.
            events.post_commitment(s, world["fin1"], "YJQ", date=TODAY, amount="1000.00",
                                   grant=f"YJQ-2026-8{n:02d}", purpose="education")
    first = site.get("/public/funds/YJQ").get_data(as_text=True)
    assert first.count("data-ref=") == 50
    assert 'href="/public/funds/YJQ?year=2026&amp;projects_page=2#projects"' in first
    second = site.get("/public/funds/YJQ?year=2026&projects_page=2").get_data(as_text=True)
    assert second.count("data-ref=") == 6
    assert 'rel="prev"' in second
    assert site.get("/public/funds/YJQ?projects_page=0").status_code == 400
    assert site.get("/public/funds/YJQ?projects_page=x").status_code == 400


def statements(app, client, url: str, *, seen_before: bool = False) -> int:
    """How many SQL statements one view of the page runs (after a first view, unless
    ``seen_before``), not counting the start of a transaction."""
    from sqlalchemy import event

    from webapp.extensions import db

    if not seen_before:
        client.get(url)
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if not statement.startswith("BEGIN"):  # SQLite's own transaction start
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_fund_page_reads_the_same_few_statements_however_many_rows(site, disclosed,
                                                                       world, app):
    app.config["PUBLIC_PAGE_CACHE"] = 0  # each view renders: count what a render reads
    url = "/public/funds/YJQ"
    before = statements(app, site, url)
    with transaction(world.factory) as s:
        fund = find_fund(s, "YJQ")
        events.post_allocation(s, world["fin1"], "YJQ", date=TODAY, amount="70000",
                               purpose="medical")
        for n in range(70):
            project = Project(fund_id=fund.id, ref=f"YJQ-2026-7{n:02d}", year=2026,
                              title=f"批量项目{n}", purpose="Medical",
                              implementing_unit="雁江区民政局", payee="某医院",
                              requested_amount=Decimal("1000.00"),
                              approved_amount=Decimal("1000.00"), state="approved",
                              created_by=world["ca"].user_id, created_at=at(TODAY),
                              updated_at=at(TODAY))
            project.counts = [BeneficiaryCount(category="orphan", count=n + 1)]
            s.add(project)
            events.post_commitment(s, world["fin1"], "YJQ", date=TODAY, amount="1000.00",
                                   grant=f"YJQ-2026-7{n:02d}", purpose="medical")
    assert statements(app, site, url) == before <= 16


def test_a_kept_page_is_served_until_anything_changes(site, disclosed, world, factory, app):
    url = "/public/funds/YJQ"
    site.get(url)
    assert statements(app, site, url) == 1  # the page's public version, nothing else
    office = world["co"]
    with transaction(factory) as s:  # a posting
        donor = donations.add_donor(s, office, "YJQ", kind="enterprise", name="资阳新捐企业")
        code = donations.record_donation(s, office, "YJQ", donor_id=donor.id,
                                         date=TODAY, amount="6600").code
    page = site.get(url).get_data(as_text=True)
    assert f'data-receipt="{code}"' in page and "资阳新捐企业" in page
    with transaction(factory) as s:  # no posting: a receipt voided
        donations.void_receipt(s, office, "YJQ", code, reason="抬头有误")
    assert f'data-receipt="{code}"' not in site.get(url).get_data(as_text=True)
    with transaction(factory) as s:  # a notice
        annual.publish_correction(s, world["fin1"], "YJQ", subject="annual-report:2025",
                                  title="缓存后的更正", text="更正一处金额。")
    assert "缓存后的更正" in site.get(url).get_data(as_text=True)
    # The language is part of the key.
    assert '<html lang="en">' in site.get(url + "?lang=en").get_data(as_text=True)


def test_a_kept_page_outlives_what_it_does_not_show(site, disclosed, world, factory, app,
                                                    login, post):
    """Sign-ins, tokens and another county's books leave a county's page kept (and its
    ETag valid); the city's page, which shows its counties, is renewed by them."""
    county, city = site.get("/public/funds/YJQ"), site.get("/public/funds/ZYS")
    login("fin1")
    with transaction(factory) as s:
        make_token(s, "aud")
    post("interest", "AYX", date=dt.date(2026, 6, 30), amount="1.23")
    assert statements(app, site, "/public/funds/YJQ", seen_before=True) == 1  # still kept
    assert site.get("/public/funds/YJQ",
                    headers={"If-None-Match": county.headers["ETag"]}).status_code == 304
    assert site.get("/public/funds/ZYS",
                    headers={"If-None-Match": city.headers["ETag"]}).status_code == 200
    post("interest", "YJQ", date=dt.date(2026, 6, 30), amount="1.23")  # its own books
    assert site.get("/public/funds/YJQ",
                    headers={"If-None-Match": county.headers["ETag"]}).status_code == 200
    assert statements(app, site, "/public/funds/YJQ", seen_before=True) == 1


def test_unknown_funds_datasets_and_years(site, disclosed):
    assert site.get("/public/funds/NOPE").status_code == 404
    assert site.get("/public/funds/YJQ?year=2019").status_code == 404
    assert site.get("/public/funds/YJQ?year=20x5").status_code == 400
    assert site.get("/public/data/children.csv").status_code == 404
    assert site.get("/public/data/children.json").status_code == 404
    assert site.get("/public/data/projects.csv?fund=NOPE").status_code == 404
    assert site.get("/public/data/projects.json?year=abcd").status_code == 400
    assert site.get("/public/funds/yjq").status_code == 200


def read_csv(response) -> list[dict[str, str]]:
    data = response.get_data()
    assert data.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_open_data_parses_and_matches_in_csv_and_json(site, disclosed, session):
    index = site.get("/public/data/").get_data(as_text=True)
    for name, (_description, spec) in public.OPEN_DATA.items():
        assert f'data-dataset="{name}"' in index
        for column, _type, _meaning in spec:
            assert f'data-column="{column}"' in index
        for query in ("", "?fund=YJQ", "?fund=YJQ&year=2026", "?year=2025"):
            as_csv = site.get(f"/public/data/{name}.csv{query}")
            as_json = site.get(f"/public/data/{name}.json{query}")
            assert as_csv.status_code == as_json.status_code == 200, (name, query)
            assert as_csv.content_type == "text/csv; charset=utf-8"
            assert as_json.mimetype == "application/json"
            document = json.loads(as_json.get_data(as_text=True))
            assert document["dataset"] == name
            assert [c["name"] for c in document["columns"]] == public.columns(name)
            rows = read_csv(as_csv)
            assert len(rows) == len(document["rows"]), (name, query)
            for from_csv, from_json in zip(rows, document["rows"], strict=True):
                assert list(from_csv) == public.columns(name)
                assert from_csv == {k: "" if v is None else str(v)
                                    for k, v in from_json.items()}
            if "fund=YJQ" in query and "fund" in public.columns(name):
                assert {r["fund"] for r in rows} <= {"YJQ"}
    projects = json.loads(site.get("/public/data/projects.json?fund=YJQ").get_data())
    (project,) = projects["rows"]
    assert project["approved_amount"] == "120000.00" and project["paid"] == "72000.00"
    assert projects["filters"] == {"fund": "YJQ", "year": None}
    balances = read_csv(site.get("/public/data/balances.csv?fund=YJQ&year=2026"))
    education = next(r for r in balances if r["purpose"] == "Education")
    assert Decimal(education["available"]) == available(session, find_fund(session, "YJQ"),
                                                        "Education")
    donations = read_csv(site.get("/public/data/donations.csv?fund=YJQ&year=2026"))
    assert [r["donor"] for r in donations] == ["匿名", "匿名"]


EXTERNAL = re.compile(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}|\bsrc=|@import|url\(", re.I)


def test_no_page_loads_anything_from_elsewhere_or_runs_inline_code(site, disclosed, app):
    for url in pages(site):
        body = site.get(url).get_data(as_text=True)
        assert not EXTERNAL.search(body), (url, EXTERNAL.search(body))
        assert "<script" not in body and " style=" not in body and "<style" not in body, url
        for link in re.findall(r'href="([^"]+)"', body):
            assert link.startswith(("/", "#")), (url, link)
    with site.get("/static/css/public.css") as css:
        assert css.status_code == 200 and not EXTERNAL.search(css.get_data(as_text=True))
    assert "default-src 'self'" in site.get("/public/").headers["Content-Security-Policy"]
