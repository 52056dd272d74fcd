"""Issue 5's "done when", as a new user does it with the demo data: an auditor downloads
every report and publishes an audit result; anyone then sees it on the public site,
whose balances equal what `specialfund ledger balances` prints for every fund."""

from __future__ import annotations

import re
import zipfile
from decimal import Decimal
from io import BytesIO

import pytest

from tests.reports.test_statements import pdf_text
from tests.webapp.conftest import prepared
from webapp import create_app
from webapp.demo import DEMO_PASSWORD
from webapp.downloads.routes import FORMATS, REPORTS
from webapp.extensions import db

FUNDS = ("ZYS", "YJQ", "AYX", "LZX", "GXQ", "LKQ")
AMOUNT = r"-?¥[0-9,]+\.[0-9]{2}"


def cli_purposes(out: str) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """The purpose table of `ledger balances`: label -> (in the bank, committed, available)."""
    found = {}
    for line in out.splitlines():
        match = re.match(rf"^(\S.*?)\s+({AMOUNT})\s+({AMOUNT})\s+({AMOUNT})\s+{AMOUNT}\s+{AMOUNT}$",
                         line)
        if match:
            found[match.group(1)] = tuple(
                Decimal(match.group(i).replace("¥", "").replace(",", "")) for i in (2, 3, 4))
    return found


def page_purposes(body: str) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """The public page's balances by purpose: label -> (in the bank, committed, available)."""
    table = body.split('id="balances"', 1)[1].split("<tfoot>", 1)[0]
    found = {}
    for row in re.findall(r'<tr data-purpose="[^"]+">(.*?)</tr>', table, flags=re.S):
        label = re.search(r"<td>(.*?)</td>", row).group(1).strip()
        amounts = dict(re.findall(r'data-field="(\w+)" data-amount="(-?[0-9.]+)"', row))
        found[label] = tuple(Decimal(amounts[f]) for f in ("in_bank", "committed", "available"))
    return found


@pytest.mark.slow
def test_an_auditor_publishes_and_the_public_sees_the_ledgers_figures(
        run, database_url, instance_folder, tmp_path):
    assert run("init")[0] == 0
    status, _out, err = run("demo", "--years", "1")
    assert status == 0, err
    # Each console command disposes of every engine, the app's too: read them first.
    printed = {}
    for code in FUNDS:
        status, out, err = run("ledger", "balances", "--fund", code)
        assert status == 0, err
        printed[code] = cli_purposes(out)
        assert len(printed[code]) == 7, out
    app = create_app({"DATABASE_URL": database_url, "SESSION_COOKIE_SECURE": False,
                      "WTF_CSRF_ENABLED": False, "JOBS_IMMEDIATE": True})
    try:
        auditor = app.test_client()
        assert auditor.post("/login", data={"username": "zys_aud",
                                            "password": DEMO_PASSWORD}).status_code == 302
        page = auditor.get("/downloads/").get_data(as_text=True)
        year = re.search(r'name="period"[^>]*value="(\d{4})"', page).group(1)  # last year
        for kind, (_make, heading) in REPORTS.items():
            for fmt in FORMATS:
                response = prepared(auditor, f"fund=YJQ&report={kind}"
                                             f"&period={year}&format={fmt}")
                assert response.status_code == 200, (kind, fmt)
                if fmt == "pdf":
                    assert heading in pdf_text(response.get_data(), tmp_path), kind
        ledgers = prepared(auditor, "report=beancount")  # the city's whole scope
        assert ledgers.status_code == 200
        names = zipfile.ZipFile(BytesIO(ledgers.get_data())).namelist()
        assert all(any(code in name for name in names) for code in FUNDS)

        response = auditor.post("/audits/", data={
            "fund": "YJQ", "title": "雁江区儿童专项基金年度审计", "period": year,
            "scope": "收支、项目与票据"})
        assert response.status_code == 302
        engagement = response.headers["Location"].rsplit("/", 1)[1]
        assert auditor.post(f"/audits/{engagement}/findings", data={
            "severity": "medium", "title": "两笔拨付回单归档延迟",
            "description": "银行回单晚于月末归档。"}).status_code == 302
        assert auditor.post(f"/audits/{engagement}/publish", data={
            "conclusion": "资金收支真实，项目资助合规。"}).status_code == 302

        visitor = app.test_client()
        county = visitor.get("/public/funds/YJQ").get_data(as_text=True)
        audits = county.split('id="audits"', 1)[1].split("</section>", 1)[0]
        for words in ("雁江区儿童专项基金年度审计", "两笔拨付回单归档延迟",
                      "资金收支真实，项目资助合规。"):
            assert words in audits
        for code in FUNDS:  # in English: labels as the CLI prints them
            shown = page_purposes(visitor.get(f"/public/funds/{code}?lang=en")
                                  .get_data(as_text=True))
            assert shown == printed[code], code
    finally:
        db.dispose_all()
