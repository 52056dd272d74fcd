"""The money pages, as the charity office and finance use them."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from sqlalchemy import select

from ledger.balances import balance
from ledger.income_models import BankStatement, Receipt
from ledger.journal import find_fund
from tests.webapp.conftest import text


def test_office_registers_a_donor_books_a_donation_and_prints_the_receipt(world, login,
                                                                       factory):
    office = login("co")
    response = office.post("/funds/YJQ/donors", data={
        "kind": "enterprise", "name": "资阳众诚建设有限公司", "credit_code": "91350100M000100Y43",
        "publish": "name"})
    assert response.status_code == 302
    page = office.get("/funds/YJQ/donations").get_data(as_text=True)
    donor_id = page.split('<option value="')[1].split('"')[0]
    response = office.post("/funds/YJQ/donations", data={
        "donor_id": donor_id, "date": "2026-06-30", "amount": "12,345.67", "purpose": "Education"})
    assert response.status_code == 302
    page = text(office.get("/funds/YJQ/donations"))
    assert "YJQ-2026-000001" in page and "¥12,345.67" in page
    pdf = login("aud").get("/funds/YJQ/receipts/YJQ-2026-000001.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    with factory() as session:
        education = balance(session, find_fund(session, "YJQ"), "Assets:Fund:Education")
        assert education == Decimal("512345.67")
        receipt = session.execute(select(Receipt)).scalar_one()
        assert (receipt.code, receipt.amount) == ("YJQ-2026-000001", Decimal("12345.67"))


def test_office_voids_and_reissues_a_receipt(world, login):
    office = login("co")
    office.post("/funds/YJQ/donors", data={"kind": "individual", "name": "王芳",
                                           "publish": "anonymous"})
    page = office.get("/funds/YJQ/donations").get_data(as_text=True)
    donor_id = page.split('<option value="')[1].split('"')[0]
    office.post("/funds/YJQ/donations", data={"donor_id": donor_id, "date": "2026-06-30",
                                              "amount": "500", "purpose": ""})
    response = office.post("/funds/YJQ/receipts/YJQ-2026-000001/void",
                           data={"reason": "金额写错", "reissue": "y"})
    assert response.status_code == 302
    page = text(office.get("/funds/YJQ/donations"))
    assert "YJQ-2026-000002" in page and "金额写错" in page and "以匿名公示" in page


def test_finance_posts_a_top_up_and_two_users_allocate(world, login, factory):
    fin1 = login("fin1")
    assert fin1.post("/funds/YJQ/treasury/rule", data={"kind": "fixed",
                                                       "amount": "300000"}).status_code == 302
    assert "¥300,000.00" in text(fin1.get("/funds/YJQ/treasury"))
    assert fin1.post("/funds/YJQ/treasury", data={
        "kind": "top-up", "date": "2026-06-30", "amount": "300000",
        "doc_no": "资财社〔2026〕5号"}).status_code == 302
    assert fin1.post("/funds/YJQ/allocations", data={"Medical": "80000",
                                                     "doc_no": "X"}).status_code == 302
    page = fin1.get("/funds/YJQ/allocations").get_data(as_text=True)
    assert 'data-confirm="' not in page  # not for its author
    fin2 = login("fin2")
    proposal = fin2.get("/funds/YJQ/allocations").get_data(as_text=True).split(
        'data-confirm="')[1].split('"')[0]
    assert fin2.post(f"/funds/YJQ/allocations/{proposal}/confirm").status_code == 302
    with factory() as session:
        fund = find_fund(session, "YJQ")
        assert balance(session, fund, "Assets:Fund:Medical") == 80000
        assert balance(session, fund, "Assets:Fund:General") == 1000000 - 500000 + 300000 - 80000


def test_office_imports_a_statement_and_books_the_line_left_over(world, login, post):
    post("interest", "YJQ", date=dt.date(2026, 6, 20), amount="12.30", bank_ref="LX0620")
    csv = ("交易日期,摘要,对方户名,收入金额,支出金额,余额,流水号\n"
           "2026-06-20,结息,,12.30,,500012.30,LX0620\n"
           "2026-06-21,结息补记,,1.11,,500013.41,LX0621\n").encode("gbk")
    office = login("co")
    response = office.post("/funds/YJQ/bank/import", data={"file": (io.BytesIO(csv), "june.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    page = office.get("/funds/YJQ/bank").get_data(as_text=True)
    assert "LX0621" in page and "LX0620" not in page.split('id="unmatched"')[1].split("</table>")[0]
    line = page.split('data-line="')[1].split('"')[0]
    assert office.post(f"/funds/YJQ/bank/lines/{line}", data={"kind": "interest"}).status_code \
        == 302
    again = office.post("/funds/YJQ/bank/import", data={"file": (io.BytesIO(csv), "june.csv")},
                        content_type="multipart/form-data")
    assert again.status_code == 409  # the same file: nothing changes


def test_finance_closes_a_month_only_when_reconciled_or_with_a_reason(world, login):
    fin = login("fin1")
    refused = fin.post("/funds/YJQ/periods/close", data={"period": "2025-01"})
    assert refused.status_code == 400 and "2025-01" in text(refused)
    done = fin.post("/funds/YJQ/periods/close", data={"period": "2025-01",
                                                      "reason": "年初尚未启用银行对账"})
    assert done.status_code == 302
    assert "2025年1月31日" in text(fin.get("/funds/YJQ/bank"))


def test_an_upload_that_is_not_a_statement_changes_nothing(world, login, factory):
    office = login("co")
    bad = office.post("/funds/YJQ/bank/import",
                      data={"file": (io.BytesIO(b"date,amount\n2026-13-45,x\n"), "bad.csv")},
                      content_type="multipart/form-data")
    assert bad.status_code == 400
    with factory() as session:
        assert session.execute(select(BankStatement)).first() is None


@pytest.mark.slow
def test_a_year_of_income_from_the_pages(world, login, make_fund):
    """Twelve months booked, receipted, imported, reconciled and closed in the browser's forms."""
    office, finance = login("co"), login("fin1")
    office.post("/funds/YJQ/donors", data={"kind": "enterprise", "name": "资阳众诚建设有限公司",
                                           "publish": "name"})
    donor_id = office.get("/funds/YJQ/donations").get_data(as_text=True).split(
        '<option value="')[1].split('"')[0]
    # The world's fund was seeded (¥1,000,000 on 2025-01-05) and allocated on 2025-01-06.
    running = Decimal("1000000.00")
    for month in range(1, 13):
        rows = []
        if month == 1:
            rows.append(f"2025-01-05,财政启动资金,资阳市财政局,1000000.00,,{running:.2f},CZ0105")
        day = dt.date(2025, month, 15)
        amount = Decimal(2000 + month)
        assert office.post("/funds/YJQ/donations", data={
            "donor_id": donor_id, "date": day.isoformat(), "amount": f"{amount}",
            "purpose": "Education"}).status_code == 302
        running += amount
        rows.append(f"{day},捐赠,资阳众诚建设有限公司,{amount:.2f},,{running:.2f},JZ{month:02d}")
        csv = ("交易日期,摘要,对方户名,收入金额,支出金额,余额,流水号\n" + "\n".join(rows) + "\n")
        encoded = csv.encode("gbk" if month % 2 else "utf-8")
        assert office.post("/funds/YJQ/bank/import",
                           data={"file": (io.BytesIO(encoded), f"2025-{month:02d}.csv")},
                           content_type="multipart/form-data").status_code == 302
        period = f"2025-{month:02d}"
        assert office.post("/funds/YJQ/bank/reconcile", data={"period": period}).status_code \
            == 302
        closed = finance.post("/funds/YJQ/periods/close", data={"period": period})
        assert closed.status_code == 302, text(closed)
    page = text(office.get("/funds/YJQ/donations"))
    assert "YJQ-2025-000012" in page
    pdf = office.get("/funds/YJQ/receipts/YJQ-2025-000012.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert "2025年12月31日" in text(finance.get("/funds/YJQ/bank"))
