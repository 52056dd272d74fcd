"""One strict reader for amounts and dates at every door: pages, API, console and the bank
statement upload. ASCII or full-width digits, commas between groups of three, at most two
decimals, an optional ¥; days as YYYY-MM-DD. Anything else is refused naming the field,
and nothing changes."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.db import transaction
from ledger.balances import balance
from ledger.income_models import BankLine
from ledger.journal import find_fund
from ledger.models import JournalEntry
from ledger.periods import close_period
from tests.webapp.conftest import text
from tests.worlds import make_token
from webapp.demo import synthetic_id

# Each was read as a number before: an exponent, an underscore, commas anywhere, digits
# of another script; ² (which str.isdigit() accepts) made a different error.
LOOSE = ["1e3", "1_000", "1,2,3", "١٢٣", "²"]
GENERAL = "Assets:Fund:General"


def entries(factory, code: str = "YJQ") -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.fund_id == find_fund(session, code).id))


def general(factory) -> Decimal:
    with factory() as session:
        return balance(session, find_fund(session, "YJQ"), GENERAL)


def top_up(client, amount: str, date: str = "2026-06-30"):
    return client.post("/funds/YJQ/treasury", data={
        "kind": "top-up", "date": date, "amount": amount, "doc_no": "资财社〔2026〕5号"})


# --- pages ---------------------------------------------------------------------------------


def test_a_page_refuses_a_loose_amount_naming_the_field(world, login, factory):
    fin1 = login("fin1")
    before = entries(factory)
    for bad in LOOSE:
        refused = top_up(fin1, bad)
        assert refused.status_code == 400, bad
        assert "请检查填写的内容：金额（元）：不是有效金额" in text(refused), bad
    assert entries(factory) == before
    start = general(factory)
    for good in ("１２３４.５０", "¥1,234.50", "￥ 1,234.5"):
        assert top_up(fin1, good).status_code == 302, good
    assert general(factory) - start == Decimal("3703.50")


def test_a_page_reads_days_in_ascii_or_full_width_digits_and_nothing_else(world, login,
                                                                          factory):
    fin1 = login("fin1")
    before = entries(factory)
    for bad in ("2026-6-30", "2026-06-30T00:00:00", "20260630", "٢٠٢٦-٠٦-٣٠", "2026-06-31"):
        refused = top_up(fin1, "100", date=bad)
        assert refused.status_code == 400, bad
        assert "日期：不是有效日期" in text(refused), bad
    assert entries(factory) == before
    assert top_up(fin1, "100", date="２０２６-０６-２９").status_code == 302
    with factory() as session:
        newest = session.execute(select(JournalEntry).order_by(JournalEntry.id.desc())
                                 .limit(1)).scalar_one()
        assert (newest.date, newest.type) == (dt.date(2026, 6, 29), "top-up")


def test_the_project_form_and_the_steps_name_the_amount_they_refuse(world, login, checked):
    ca = login("ca")
    form = ca.post("/projects/new", data={
        "title": "助学项目", "purpose": "education", "implementing_unit": "雁江区民政局",
        "payee": "雁江区希望小学", "requested_amount": "1e3",
        "tranches-0-planned_date": "2026-07-10", "tranches-0-amount": "1,2,3",
        "final_report_due": "2026-12-31", "count_left_behind": "١٢"})
    assert form.status_code == 422
    page = text(form)
    assert "申请金额（元）：不是有效金额" in page
    assert "金额（元）：不是有效金额" in page.replace("申请金额（元）：不是有效金额", "")
    assert "留守儿童：请填写0至2147483647之间的整数" in page
    fin1 = login("fin1")
    step = fin1.post(f"/projects/{checked}/steps/approve",
                     data={"amount": "1,2,3", "no_conflict": "y"})
    assert step.status_code == 400
    assert "请检查填写的内容：批准金额（元）：不是有效金额" in text(step)
    assert "已审核" in text(fin1.get(f"/projects/{checked}"))  # still waiting for approval


def test_the_administrator_threshold_is_read_strictly(world, login, factory):
    admin = login("admin")
    refused = admin.post("/admin/funds/YJQ/policy", data={"threshold": "1e3"})
    assert refused.status_code == 400
    assert "请检查填写的内容：财政双人审批限额（元）：不是有效金额" in text(refused)


# --- API -----------------------------------------------------------------------------------


@pytest.fixture
def office_api(app, world, factory):
    """The charity office's API client (in English) and a donor of its fund."""
    with transaction(factory) as session:
        token = make_token(session, "co", name="t",
                             expires_on=None)[0]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}

    def call(method: str, path: str, **kwargs):
        return client.open("/api/v1" + path, method=method, headers=headers, **kwargs)

    donor = call("POST", "/funds/YJQ/donors", json={"kind": "enterprise", "name": "某公司"})
    assert donor.status_code == 201, donor.get_json()
    return call, donor.get_json()["id"]


def test_the_api_reads_amounts_as_the_pages_do(office_api, factory):
    call, donor = office_api
    before = entries(factory)
    for bad in LOOSE:
        refused = call("POST", "/funds/YJQ/donations",
                       json={"donor_id": donor, "date": "2026-06-30", "amount": bad})
        assert refused.status_code == 422, bad
        problem = refused.get_json()
        assert problem["detail"] == (
            "Please check what you entered: amount: not an amount; write yuan in digits with "
            "at most two decimal places, such as 1234.50 or ¥1,234.50 (a comma only between "
            "groups of three digits).")
        assert [(e["loc"], e["type"]) for e in problem["errors"]] == [
            (["amount"], "invalid_amount")]
        assert bad not in refused.get_data(as_text=True)  # the input is never echoed
    assert entries(factory) == before
    for good in ("１２３４.５０", "¥1,234.50"):
        done = call("POST", "/funds/YJQ/donations",
                    json={"donor_id": donor, "date": "2026-06-30", "amount": good})
        assert done.status_code == 201, done.get_json()
        assert done.get_json()["amount"] == "1234.50"


def test_the_api_refuses_datetimes_and_timestamps_where_a_date_is_asked(office_api, factory):
    call, donor = office_api
    before = entries(factory)
    for bad in ("2026-06-30T00:00:00", "2026-06-30T00:00:00Z", "20260630", 1782748800,
                "2026-6-30"):
        refused = call("POST", "/funds/YJQ/donations",
                       json={"donor_id": donor, "date": bad, "amount": "100"})
        assert refused.status_code == 422, bad
        assert [(e["loc"], e["type"]) for e in refused.get_json()["errors"]] == [
            (["date"], "invalid_date")], bad
    assert entries(factory) == before
    query = call("GET", "/funds/YJQ/entries?date_from=2026-01-01T00:00:00")
    assert query.status_code == 422
    assert query.get_json()["errors"][0]["loc"] == ["date_from"]


# --- console -------------------------------------------------------------------------------


def test_the_console_reads_amounts_and_dates_strictly(run, run_as):
    assert run("init")[0] == 0
    assert run("fund", "add", "YJQ", "--name-zh", "雁江区", "--name-en", "Yanjiang",
               "--opened-on", "２０２５-０１-０１")[0] == 0
    assert run("user", "add", "fin", "--role", "finance", "--fund", "YJQ", "--password-stdin",
               stdin="finance-pass-1\n")[0] == 0

    def run(*args: str) -> tuple[int, str, str]:
        return run_as("fin", *args, password="finance-pass-1")

    seed = ("ledger", "post", "seed", "--fund", "YJQ", "--doc-no", "资财〔2025〕1号")
    for bad in LOOSE:
        status, out, err = run(*seed, "--amount", bad, "--date", "2025-01-05")
        assert (status, out) == (1, ""), err
        assert err == ("Error: --amount: not an amount; write yuan in digits with at most two "
                       "decimal places, such as 1234.50 or ¥1,234.50 (a comma only between "
                       "groups of three digits).\n")
    for bad in ("20250105", "2025-01-05T00:00:00", "2025-W02-1", "٢٠٢٥-٠١-٠٥"):
        status, _, err = run(*seed, "--amount", "100", "--date", bad)
        assert status == 1 and err.startswith("Error: --date: not a date"), err
    for good in ("１２３４.５０", "¥1,234.50"):
        status, _, err = run(*seed, "--amount", good, "--date", "2025-01-05")
        assert status == 0, err
    status, out, _ = run("ledger", "balances", "--fund", "YJQ")
    assert status == 0 and "¥2,469.00" in out


@pytest.mark.parametrize("args", [
    ("receipt", "list", "--fund", "YJQ", "--year"),
    ("token", "revoke"),
    ("allocation", "confirm", "--fund", "YJQ"),
])
def test_the_console_reads_whole_numbers_strictly(run, args):
    """Numbers of other scripts, underscores and a number beyond the database's range are
    refused before anything is read, with the option named (a usage error)."""
    assert run("init")[0] == 0
    for bad in ("١٢٣", "1_000", "99999999999999999999", "²"):
        status, out, err = run(*args, bad)
        assert (status, out) == (2, ""), err
        assert "give a whole number from 1 to 2147483647" in err, err


# --- bank statements -----------------------------------------------------------------------


def upload(client, csv: str):
    return client.post("/funds/YJQ/bank/import",
                       data={"file": (io.BytesIO(csv.encode("utf-8")), "june.csv")},
                       content_type="multipart/form-data")


HEADER = "交易日期,摘要,对方户名,收入金额,支出金额,余额,流水号\n"


def test_the_statement_upload_reads_amounts_strictly(world, login, factory):
    office = login("co")
    for bad in LOOSE:
        refused = upload(office, HEADER + f'2026-06-20,结息,,"{bad}",,,LX0620\n')
        assert refused.status_code == 400
        assert "第2行：收入金额：不是有效金额" in text(refused), bad
    early = upload(office, HEADER + "2026-06-20,结息,,1.00,,,A\n2024-12-31,结息,,1.00,,,B\n")
    assert early.status_code == 400
    assert "第3行：2024-12-31早于基金YJQ的设立日期（2025-01-01）" in text(early)
    with factory() as session:
        assert session.execute(select(BankLine)).first() is None
    done = upload(office, HEADER + "２０２６-０６-２０,结息,,１２.３０,,,LX0620\n"
                                   '2026-06-21,结息,,"¥1,234.50",,,LX0621\n')
    assert done.status_code == 302
    with factory() as session:
        assert sorted(session.execute(select(BankLine.amount)).scalars()) == [
            Decimal("12.30"), Decimal("1234.50")]


def test_lines_in_a_closed_month_are_reported_on_the_page_and_in_the_api(world, login,
                                                                         factory, app):
    with transaction(factory) as session:
        close_period(session, world["fin1"], "YJQ", "2025",
                     unreconciled_reason="年初尚未启用银行对账")
    office = login("co")
    done = upload(office, HEADER + "2025-12-31,结息,,1.00,,,A\n2026-06-20,结息,,1.00,,,B\n")
    assert done.status_code == 302
    page = text(office.get("/funds/YJQ/bank"))
    assert "对账单第2行属于已结账期间（已结账至2025-12-31）" in page
    with transaction(factory) as session:
        token = make_token(session, "co", name="t",
                             expires_on=None)[0]
    answer = app.test_client().post(
        "/api/v1/funds/YJQ/bank-statements?filename=july.csv",
        data=(HEADER + "2025-12-30,结息,,2.00,,,C\n2026-06-21,结息,,2.00,,,D\n").encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"})
    assert answer.status_code == 201
    assert answer.get_json()["in_closed_period"] == [2]


# --- periods, ratios and ID numbers: ASCII digits too -----------------------------------


def test_periods_ratios_and_id_numbers_take_no_other_digits(world, login, factory):
    fin1 = login("fin1")
    for period in ("٢٠٢٥-٠١", "0000", "0000-01"):  # "0000" was a server error
        refused = fin1.post("/funds/YJQ/periods/close", data={"period": period, "reason": "x"})
        assert refused.status_code == 400, period
        assert "期间应为年度（如2025）或月份（如2025-03）" in text(refused), period
    with factory() as session:
        assert find_fund(session, "YJQ").locked_through is None
    for ratio in ("5e-1", "٠.٥", "0.5_0"):
        refused = fin1.post("/funds/YJQ/treasury/rule",
                            data={"kind": "ratio", "ratio": ratio, "cap": "100"})
        assert refused.status_code == 400, ratio
    assert fin1.post("/funds/YJQ/treasury/rule", data={"kind": "ratio", "ratio": "０.５",
                                                       "cap": "100"}).status_code == 302
    number = synthetic_id("510902", dt.date(1980, 5, 1), 7)
    arabic = number.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    refused = login("co").post("/funds/YJQ/donors", data={
        "kind": "individual", "name": "王芳", "id_number": arabic, "publish": "name"})
    assert refused.status_code == 400
