"""The auditor's statements and registers: their figures are the ledger's, and each
comes out as CSV, XLSX and PDF saying the same.

The books: 雁江区 (YJQ) with two donations kept and one given back, a receipt voided
and reissued, bank interest and a fee, a bank statement for June with one line the
ledger has not booked, and a project approved and paid its first tranche (with one
aided child on its list, whose name and ID must never reach a report); 安岳县 (AYX)
with one donation. Both were seeded and given an education allocation in 2025.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select, text

from audit.chain import verify_chain
from audit.models import AuditHead, AuditRecord
from core.db import transaction
from core.money import format_cny
from grants import operations as ops
from grants.access import get_project
from grants.beneficiaries import add_beneficiary
from ledger.balances import available, balances
from ledger.bank import import_statement
from ledger.beancount_io import load, realize
from ledger.chart import expense_account, fund_account, load_chart
from ledger.donations import add_donor, record_donation, return_donation, void_receipt
from ledger.journal import find_fund
from reports.figures import Period
from reports.render import is_wide, to_csv, to_pdf, to_xlsx
from reports.statements import (
    activity_statement,
    audit_extract,
    beancount_zip,
    donation_register,
    flow_difference,
    fund_statement,
    grant_register,
    receipt_register,
    reconciliation_report,
)
from reports.tables import EMPHASIS, Table, provenance
from tests.worlds import project_input
from webapp.demo import synthetic_id

D = Decimal
YEAR = Period.parse("2026")
CHILD_NAME = "王小明"
GUARDIAN = "王建国"
CHILD_ID = synthetic_id("512002", dt.date(2016, 5, 1), 7)
STATEMENT = (
    "交易日期,流水号,摘要,对方户名,收入金额,支出金额,余额\n"
    "2026-06-28,YH0628,捐赠,四川蜀光电子科技有限公司,12345.67,,1012345.67\n"
    "2026-06-29,YH0629,捐赠,李明,300.00,,1012645.67\n"
    "2026-06-30,YH0630A,捐赠,刘芳,500.00,,1013145.67\n"
    "2026-06-30,LX0630,结息,,12.34,,1013158.01\n"
    "2026-06-30,SXF0630,手续费,,,5.00,1013153.01\n"
    "2026-06-30,LX0630B,结息补记,,1.00,,1013154.01\n"
)


@dataclass
class Books:
    project: int
    receipts: dict[str, str]  # what -> receipt code


@pytest.fixture
def books(world, approved, factory, post, protector) -> Books:
    fin = world["fin1"]
    with transaction(factory) as s:
        company = add_donor(s, fin, "YJQ", kind="enterprise", name="四川蜀光电子科技有限公司",
                            credit_code="91350100M000100Y43")
        person = add_donor(s, fin, "YJQ", kind="individual", name="刘芳", publish="anonymous")
        giver = add_donor(s, fin, "YJQ", kind="individual", name="李明")
        county = add_donor(s, fin, "AYX", kind="enterprise", name="安岳柠檬有限公司")
        directed = record_donation(s, fin, "YJQ", donor_id=company.id,
                                   date=dt.date(2026, 6, 28), amount="12345.67",
                                   purpose="education")
        returned = record_donation(s, fin, "YJQ", donor_id=giver.id, date=dt.date(2026, 6, 29),
                                   amount="300")
        anonymous = record_donation(s, fin, "YJQ", donor_id=person.id,
                                    date=dt.date(2026, 6, 30), amount="500")
        record_donation(s, fin, "AYX", donor_id=county.id, date=dt.date(2026, 3, 1),
                        amount="1000")
        codes = {"directed": directed.code, "returned": returned.code,
                 "anonymous": anonymous.code}
    with transaction(factory) as s:
        replacement = void_receipt(s, fin, "YJQ", codes["directed"], reason="捐赠人名称填写有误",
                                   reissue=True)
        assert replacement is not None
        codes["replacement"] = replacement.code
        return_donation(s, fin, "YJQ", codes["returned"], date=dt.date(2026, 7, 1),
                        reason="捐赠人要求退回")
    post("interest", "YJQ", date=dt.date(2026, 6, 30), amount="12.34", bank_ref="LX0630")
    post("bank-fee", "YJQ", date=dt.date(2026, 6, 30), amount="5", bank_ref="SXF0630")
    with transaction(factory) as s:
        import_statement(s, world["co"], "YJQ", STATEMENT.encode(), "2026-06.csv")
    world.run("ca", ops.request_tranche, approved, seq=1)
    world.run("fin1", ops.approve_tranche, approved, seq=1, no_conflict=True)
    world.run("co", ops.pay_tranche, approved, seq=1, bank_ref="ZF0701")
    with transaction(factory) as s:
        project = get_project(s, world["ca"], approved, for_update=True)
        add_beneficiary(s, world["ca"], protector, project, name=CHILD_NAME, id_number=CHILD_ID,
                        category="left_behind", guardian=GUARDIAN, guardian_consent=True)
    return Books(approved, codes)


@pytest.fixture
def session_of(factory):
    with factory() as session:
        yield session


def funds_of(session, *codes):
    return [find_fund(session, code) for code in codes]


# --- reading the outputs back ------------------------------------------------------------


def csv_rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def xlsx_rows(data: bytes, table: Table) -> list[dict[str, object]]:
    """The data rows (and totals) of the first sheet, by column key."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    try:
        sheet = book.worksheets[0]
        header = [c.value for c in sheet[4]]
        assert header == [c.label for c in table.columns]
        assert all(c.font.bold for c in sheet[4])
        assert sheet.cell(row=1, column=1).value == table.title
        rows = []
        for line in sheet.iter_rows(min_row=5, max_row=4 + len(table.rows)
                                    + (table.totals is not None)):
            rows.append({col.key: cell for col, cell in zip(table.columns, line, strict=False)})
        return [{k: (c.value, c.number_format, c.data_type) for k, c in r.items()} for r in rows]
    finally:
        book.close()


def xlsx_provenance(data: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(data))
    try:
        sheet = book["数据来源"]
        return "\n".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)
    finally:
        book.close()


def poppler(tool: str, pdf: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / f"{tool}.pdf"
    path.write_bytes(pdf)
    out = subprocess.run([tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
                         check=True, capture_output=True, text=True, timeout=120)
    return out.stdout


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The text line by line as laid out, each line without its white space."""
    lines = poppler("pdftotext", pdf, tmp_path, "-layout").splitlines()
    return "\n".join("".join(line.split()) for line in lines)


def check_csv(table: Table, expected: list[dict]) -> list[dict[str, str]]:
    """The CSV has the same rows, money as plain decimals."""
    rows = csv_rows(to_csv(table))
    assert len(rows) == len(expected)
    for parsed, row in zip(rows, expected, strict=True):
        for column in table.columns:
            value, text = row.get(column.key), parsed[column.label]
            if value is None:
                assert text == ""
            elif column.kind == "money":
                assert D(text) == value and text == f"{value:.2f}"
            elif column.kind == "date":
                assert text == value.isoformat()
            else:
                assert text == str(value)
    return rows


def check_xlsx(table: Table, expected: list[dict], xlsx: bytes) -> None:
    """Money cells are numbers equal to the Decimal, formatted #,##0.00."""
    for cells, row in zip(xlsx_rows(xlsx, table), expected, strict=True):
        for column in table.columns:
            value, number_format, data_type = cells[column.key]
            want = row.get(column.key)
            if want is None or want == "":
                assert value is None
            elif column.kind == "money":
                assert data_type == "n" and isinstance(value, int | float)
                assert D(str(value)) == want and number_format == "#,##0.00"
            elif column.kind == "date":
                assert value.date() == want
            elif column.kind == "int":
                assert value == want
            else:
                assert value == str(want) and data_type == "s"


def check_pdf(pdf: bytes, table: Table, prov, tmp_path: Path, figures: list[Decimal]) -> str:
    """Title, period, generation time, the heads and the figures as ¥ amounts, in CJK."""
    text = pdf_text(pdf, tmp_path)
    assert table.title in text
    assert "2026年度" in text and "2026-01-01至2026-12-31" in text
    assert "生成时间2026-07-0110:00:00" in text
    for head in prov.funds:
        assert head.last_entry_hash in text, head.code
        assert f"共{head.entry_count}笔分录" in text
    for head in prov.funds:
        assert head.audit_hash in text and f"第{head.audit_seq}条记录" in text, head.code
    assert "第1页/共" in text
    for figure in figures:
        assert format_cny(figure) in text, figure
    fonts = poppler("pdffonts", pdf, tmp_path).splitlines()[2:]
    assert any("CJK" in row for row in fonts), fonts
    assert all(row.split()[-5] == "yes" for row in fonts), fonts
    return text


def check_outputs(session, table: Table, funds, tmp_path: Path,
                  figures: list[Decimal]) -> tuple[list[dict[str, str]], str]:
    """CSV, XLSX and PDF of a table all carry its figures, and nothing of the aided child;
    returns the CSV rows and the PDF's text for the report's own checks."""
    prov = provenance(session, funds, YEAR)
    expected = table.rows + ([table.totals] if table.totals is not None else [])
    rows = check_csv(table, expected)
    xlsx = to_xlsx(table, prov)
    check_xlsx(table, expected, xlsx)
    sheet = xlsx_provenance(xlsx)
    for head in prov.funds:
        assert head.last_entry_hash in sheet
        assert head.audit_hash in sheet
    text = check_pdf(to_pdf(table, prov), table, prov, tmp_path, figures)
    for output in (to_csv(table).decode("utf-8-sig"), text, sheet, str(xlsx_rows(xlsx, table))):
        for secret in (CHILD_NAME, GUARDIAN, CHILD_ID, CHILD_ID[:3] + "*" * 11 + CHILD_ID[-4:],
                       CHILD_ID[-6:]):
            assert secret not in output
    return rows, text


# --- 收支情况表 --------------------------------------------------------------------------


def test_fund_statement_is_the_ledger(books, session_of, tmp_path):
    s = session_of
    funds = funds_of(s, "YJQ", "AYX")
    table = fund_statement(s, funds, YEAR)

    assert table.title == "收支情况表"
    chart = load_chart(funds[0].chart)
    keys = ["General", *(p.key for p in chart.purposes)]
    body = [r for r in table.rows if not r.get(EMPHASIS)]
    assert len(body) == 2 * len(keys)
    for fund, block in zip(funds, (body[:7], body[7:]), strict=True):
        opening = balances(s, fund, dt.date(2025, 12, 31))
        closing = balances(s, fund, YEAR.end)
        for key, row in zip(keys, block, strict=True):
            assert row["opening"] == opening[fund_account(key)]
            assert row["closing"] == closing[fund_account(key)]
            if key != "General":
                assert row["available"] == available(s, fund, key, YEAR.end)
            assert row["check"] == "相符"
    education = body[1]
    assert education["purpose"] == "助学"
    assert (education["opening"], education["donations"], education["paid"],
            education["closing"], education["committed"], education["available"]) == (
        D("500000.00"), D("12345.67"), D("72000.00"), D("440345.67"), D("48000.00"),
        D("392345.67"))
    general = body[0]
    # 300 given and given back in the year: net donations 500.
    assert (general["donations"], general["interest"], general["fees"], general["closing"]) == (
        D("500.00"), D("12.34"), D("5.00"), D("500507.34"))
    subtotals = [r for r in table.rows if r.get(EMPHASIS)]
    assert [r["purpose"] for r in subtotals] == ["小计", "小计"]
    assert subtotals[0]["closing"] == sum(
        (v for a, v in balances(s, funds[0], YEAR.end).items() if a.startswith("Assets:Fund:")),
        D(0))
    assert table.totals["closing"] == sum((r["closing"] for r in body), D(0))
    assert table.totals["check"] == "相符"

    rows, text = check_outputs(s, table, funds, tmp_path,
                               [D("440345.67"), D("392345.67"), D("500507.34"), D("12345.67")])
    assert rows[1]["期末余额"] == "440345.67" and rows[1]["用途"] == "助学"
    assert "勾稽" in text and "相符" in text


def test_a_row_that_does_not_add_up_is_flagged():
    from reports.figures import PurposeFlow

    flow = PurposeFlow("X", None, opening=D("10.00"), donations=D("5.00"), closing=D("14.00"))
    assert flow_difference(flow) == D("-1.00")


# --- 业务活动表 --------------------------------------------------------------------------


def test_activity_statement_by_account_code(books, session_of, tmp_path):
    s = session_of
    funds = funds_of(s, "YJQ", "AYX")
    table = activity_statement(s, funds, YEAR)
    by_name = {r["name"]: r for r in table.rows}
    yjq = funds[0]
    start, end = dt.date(2025, 12, 31), YEAR.end
    before, after = balances(s, yjq, start), balances(s, yjq, end)

    def moved(account: str) -> Decimal:
        return after[account] - before[account]

    assert by_name["捐赠收入"]["code"] == "4101"
    assert by_name["捐赠收入"]["fund_yjq"] == D("12845.67")
    assert by_name["其中：限定性（定向捐赠）"]["fund_yjq"] == D("12345.67")
    assert by_name["其中：非限定性（未定向捐赠）"]["fund_yjq"] == D("500.00")
    assert by_name["捐赠收入—企业捐赠"]["fund_yjq"] == -moved("Income:Donations:Enterprise")
    assert by_name["捐赠收入—个人捐赠"]["fund_yjq"] == -moved("Income:Donations:Individual")
    assert by_name["捐赠收入"]["fund_ayx"] == D("1000.00")
    assert by_name["捐赠收入"]["total"] == D("13845.67")
    assert by_name["其他收入"]["fund_yjq"] == D("12.34") == -moved("Income:Interest")
    assert by_name["政府补助收入"]["fund_yjq"] == D("0.00")
    assert by_name["业务活动成本—助学"]["code"] == "510101"
    assert by_name["业务活动成本—助学"]["fund_yjq"] == moved(expense_account("Education"))
    assert by_name["业务活动成本"]["fund_yjq"] == D("120000.00")
    assert by_name["筹资费用"]["fund_yjq"] == D("5.00")
    assert by_name["收入合计"]["fund_yjq"] == D("12858.01")
    assert by_name["费用合计"]["fund_yjq"] == D("120005.00")
    change = by_name["净资产变动额"]["fund_yjq"]
    assert change == D("-107146.99")
    net = sum((after[a] - before[a] for a in after
               if a.startswith(("Assets:Fund:", "Liabilities:GrantsPayable:"))), D(0))
    assert change == net
    assert any("YJQ：净资产变动额" in n and "相符" in n for n in table.notes)
    assert not any("不符" in n for n in table.notes)

    check_outputs(s, table, funds, tmp_path, [D("12845.67"), D("120005.00"), D("-107146.99")])


# --- 项目登记簿 --------------------------------------------------------------------------


def test_grant_register(books, session_of, world, tmp_path):
    # A draft that is not yet approved: listed only when every state is asked for.
    world.run("ca", ops.create_project, data=project_input(title="雁江区助医项目",
                                                             purpose="medical"))
    s = session_of
    funds = funds_of(s, "YJQ", "AYX")
    table = grant_register(s, funds, YEAR)

    assert len(table.rows) == 1
    row = table.rows[0]
    assert row["title"] == "雁江区留守儿童助学项目" and row["purpose"] == "助学"
    assert row["unit"] == "雁江区民政局"
    assert (row["requested"], row["approved"], row["paid_in_period"], row["paid_to_date"]) == (
        D("120000.00"), D("120000.00"), D("72000.00"), D("72000.00"))
    assert row["state"] == "部分拨付"
    assert row["approved_on"] == dt.date(2026, 7, 1)
    assert row["beneficiaries"] == 120
    # The ledger's commitment and payment of the project agree.
    yjq = funds[0]
    assert balances(s, yjq)["Liabilities:GrantsPayable:Education"] == -(
        row["approved"] - row["paid_to_date"])
    assert any("YJQ：本期项目拨付¥72,000.00" in n.replace(" ", "") and "相符" in n
               for n in table.notes)

    everything = grant_register(s, funds, YEAR, all_states=True)
    assert [r["state"] for r in everything.rows] == ["部分拨付", "草稿"]
    assert everything.totals["requested"] == D("240000.00")

    _rows, text = check_outputs(s, table, funds, tmp_path, [D("120000.00"), D("72000.00")])
    assert "部分拨付" in text and "雁江区留守儿童助学项目" in text


# --- 捐赠登记簿 and 捐赠票据登记簿 ---------------------------------------------------------


def test_donation_register(books, session_of, tmp_path):
    s = session_of
    funds = funds_of(s, "YJQ", "AYX")
    table = donation_register(s, funds, YEAR)

    by_donor = {r["donor"]: r for r in table.rows}
    assert set(by_donor) == {"四川蜀光电子科技有限公司", "李明", "刘芳", "安岳柠檬有限公司"}
    company = by_donor["四川蜀光电子科技有限公司"]
    assert company["receipt"] == books.receipts["replacement"]  # the receipt that stands
    assert (company["kind"], company["purpose"], company["amount"], company["status"]) == (
        "企业", "助学", D("12345.67"), "有效")
    assert by_donor["刘芳"]["publish"] == "匿名公示" and by_donor["刘芳"]["purpose"] == "未定向"
    assert by_donor["李明"]["status"] == "已退回（2026-07-01）"
    assert table.totals["amount"] == D("14145.67")
    # Register less what was given back is the ledger's donation income.
    ledger = D(0)
    for fund in funds:
        before, after = balances(s, fund, dt.date(2025, 12, 31)), balances(s, fund, YEAR.end)
        ledger -= sum((after[a] - before[a] for a in after if a.startswith("Income:Donations:")),
                      D(0))
    assert table.totals["amount"] - D("300.00") == ledger
    assert all("相符" in n for n in table.notes if n.startswith(("YJQ", "AYX")))

    _rows, text = check_outputs(s, table, funds, tmp_path, [D("12345.67"), D("14145.67")])
    assert books.receipts["replacement"] in text and "匿名公示" in text


def test_receipt_register(books, session_of, tmp_path):
    s = session_of
    funds = funds_of(s, "YJQ")
    table = receipt_register(s, funds, YEAR)

    by_code = {r["code"]: r for r in table.rows}
    assert list(by_code) == ["YJQ-2026-000001", "YJQ-2026-000002", "YJQ-2026-000003",
                             "YJQ-2026-000004"]
    voided = by_code[books.receipts["directed"]]
    assert (voided["state"], voided["void_reason"], voided["replaced_by"]) == (
        "已作废", "捐赠人名称填写有误", books.receipts["replacement"])
    assert voided["voided_on"] == dt.date(2026, 7, 1)
    assert by_code[books.receipts["replacement"]]["replaces"] == books.receipts["directed"]
    assert by_code[books.receipts["returned"]]["void_reason"] == "捐赠退回：捐赠人要求退回"
    assert by_code[books.receipts["anonymous"]]["entry"].startswith("YJQ#")
    assert table.totals["amount"] == D("12845.67")  # valid receipts only
    assert any("1 至 4 连续" in n for n in table.notes)

    _rows, text = check_outputs(s, table, funds, tmp_path, [D("12345.67"), D("12845.67")])
    assert "捐赠人名称" in text  # the void reason (it may wrap)


# --- 银行存款余额调节表 ------------------------------------------------------------------


def test_reconciliation_report(books, session_of, tmp_path):
    s = session_of
    funds = funds_of(s, "YJQ")
    table = reconciliation_report(s, funds, YEAR)

    summaries = {r["month"]: r for r in table.rows if r["item"] == "月末余额"}
    assert list(summaries) == [f"2026-{m:02d}" for m in range(1, 8)]  # up to today
    assert summaries["2026-03"]["result"] == "无银行对账单"
    june = summaries["2026-06"]
    cash = sum((v for a, v in balances(s, funds[0], dt.date(2026, 6, 30)).items()
                if a.startswith("Assets:Fund:")), D(0))
    assert (june["bank"], june["ledger"], june["difference"]) == (
        D("1013154.01"), cash, D("1.00"))
    assert june["result"] == "未调节相符"
    items = [r for r in table.rows if r["month"] == "2026-06" and r["item"] != "月末余额"]
    assert [(r["item"], r.get("ref"), r.get("amount")) for r in items] == [
        ("银行已收、账簿未收", "LX0630B", D("1.00")),
        ("调节后余额", None, None)]
    assert items[-1]["bank"] == items[-1]["ledger"] == D("1013154.01")
    july = [r for r in table.rows if r["month"] == "2026-07"]
    outstanding = sorted((r["item"], r["amount"]) for r in july if r.get("amount"))
    assert outstanding == [("账簿已付、银行未付", D("-72000.00")),
                           ("账簿已付、银行未付", D("-300.00"))]

    check_outputs(s, table, funds, tmp_path, [D("1013154.01"), D("72000.00").copy_negate()])


def test_an_overridden_month_names_the_reason(books, factory, world, tmp_path):
    from ledger.reconciliation import override

    with transaction(factory) as s:
        override(s, world["fin1"], find_fund(s, "YJQ"), "2026-06", "结息补记次月入账")
    with factory() as s:
        table = reconciliation_report(s, funds_of(s, "YJQ"), Period.parse("2026-06"))
    assert table.rows[0]["result"] == "未调节相符；经财务说明准予结账：结息补记次月入账（fin1）"


# --- 审计日志摘录 ------------------------------------------------------------------------


def test_audit_extract(books, session_of, tmp_path):
    s = session_of
    funds = funds_of(s, "YJQ")
    table = audit_extract(s, funds, YEAR)
    head = s.get(AuditHead, "YJQ")
    chain = verify_chain(s)

    assert chain.ok
    assert table.notes[0].startswith("审计日志链校验完整")
    assert f"YJQ 链至第 {head.last_seq} 条，链头哈希 {head.last_hash}" in table.notes[0]
    actions = [r["action"] for r in table.rows]
    assert "开具捐赠票据" in actions and "作废捐赠票据" in actions and "项目批准" in actions
    assert "登记受益儿童" in actions
    assert all(r["fund"] == "YJQ" for r in table.rows)
    # AYX's donation is not in YJQ's extract; it is in the extract of every fund.
    assert not any("AYX" in r["subject"] for r in table.rows)
    every = audit_extract(s, funds_of(s, "ZYS", "YJQ", "AYX"), YEAR)
    assert any("AYX" in r["subject"] for r in every.rows)
    assert len(every.rows) > len(table.rows)
    approve = next(r for r in table.rows if r["action"] == "项目批准")
    assert "approved" in approve["summary"] and approve["role"] == "财政局"
    entry = next(r for r in table.rows if r["action"] == "记账：项目拨付")
    assert "金额 72000.00" in entry["summary"]
    records = s.execute(select(AuditRecord)).scalars().all()
    assert any(CHILD_ID[-4:] in (r.after or "") for r in records)  # it is in the log ...

    _rows, text = check_outputs(s, table, funds, tmp_path, [])
    assert "审计日志链校验完整" in text  # ... but never in the extract


@pytest.mark.tampers
def test_audit_extract_names_the_first_broken_link(books, factory):
    with transaction(factory) as s:  # behind the application's back
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            s.execute(text("DROP TRIGGER audit_log_no_update"))
        s.execute(text("UPDATE audit_log SET reason = 'nothing to see' "
                       "WHERE chain = 'YJQ' AND seq = 3"))
    with factory() as s:
        table = audit_extract(s, funds_of(s, "YJQ"), YEAR)
    assert table.notes[0].startswith("审计日志链校验不通过：YJQ 链第 3 条断链")


# --- the PDF layout ------------------------------------------------------------------------


def test_a_long_register_repeats_its_header_and_numbers_every_page(session_of, tmp_path,
                                                                   world):
    from reports.tables import Column

    s = session_of
    funds = funds_of(s, "YJQ")
    table = Table("测试登记簿", [Column("n", "序号", "int"), Column("name", "名称"),
                                Column("amount", "金额", "money")],
                  [{"n": i, "name": f"第{i}行", "amount": D(i) / 100} for i in range(1, 121)],
                  totals={"name": "合计", "amount": sum((D(i) / 100 for i in range(1, 121)),
                                                      D(0))})
    assert not is_wide(table)
    text = poppler("pdftotext", to_pdf(table, provenance(s, funds, YEAR)), tmp_path)
    pages = text.split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert f"第{number}页/共{len(pages)}页" in "".join(page.split())
        assert "测试登记簿" in page  # the running footer
        assert "序号" in page and "金额" in page  # the header row, on every page
    assert "¥72.60" in text


def test_wide_tables_are_landscape(books, session_of, tmp_path):
    s = session_of
    funds = funds_of(s, "YJQ")
    table = fund_statement(s, funds, YEAR)
    assert is_wide(table)
    info = poppler("pdfinfo", to_pdf(table, provenance(s, funds, YEAR)), tmp_path)
    size = next(line for line in info.splitlines() if line.startswith("Page size"))
    width, height = (float(x) for x in size.split(":")[1].split("pts")[0].split(" x "))
    assert width > height


def test_formula_like_text_stays_text():
    from reports.tables import Column

    table = Table("测试", [Column("name", "名称"), Column("amount", "金额", "money")],
                  [{"name": "=HYPERLINK(\"http://x\")", "amount": D("-1.50")}])
    rows = csv_rows(to_csv(table))
    assert rows[0]["名称"].startswith("'=") and rows[0]["金额"] == "-1.50"
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(table)))
    try:
        cell = book.worksheets[0].cell(row=5, column=1)
        assert cell.data_type == "s" and cell.value.startswith("=")
    finally:
        book.close()


# --- Beancount export ----------------------------------------------------------------------


def test_beancount_zip(books, session_of, tmp_path):
    s = session_of
    funds = funds_of(s, "YJQ", "AYX")
    with zipfile.ZipFile(io.BytesIO(beancount_zip(s, funds))) as archive:
        assert sorted(archive.namelist()) == ["AYX.beancount", "README.txt", "YJQ.beancount"]
        readme = archive.read("README.txt").decode()
        ledger = archive.read("YJQ.beancount").decode()
        archive.extractall(tmp_path)
    for fund in funds:  # what bean-check does, with the fund-rules plugin
        loaded = load(tmp_path / f"{fund.code}.beancount")
        assert loaded.errors == []
        book = realize(loaded.entries)[0]
        assert {a: v for a, v in book.items() if v} == {
            a: v for a, v in balances(s, fund).items() if v}
    assert "bean-check" in readme and "pip install special-fund" in readme
    assert funds[0].last_entry_hash in readme and funds[0].last_entry_hash in ledger
    assert 'plugin "ledger.plugins.fund_rules"' in ledger
    assert CHILD_NAME not in ledger and CHILD_ID not in ledger
