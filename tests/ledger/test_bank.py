"""Statements of the dedicated bank account: imported once, matched to entries,
and what no entry explains booked or matched by hand. A bad file changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from audit.models import AuditRecord
from core.db import transaction
from core.errors import Conflict, InvalidInput, NotFound, PeriodLocked
from core.i18n import locale_as
from ledger.bank import (
    bank_balance,
    book_line,
    import_statement,
    match_line,
    parse_statement,
    unmatched_lines,
)
from ledger.events import post_interest
from ledger.income_models import BankLine, BankStatement
from ledger.journal import find_entry, find_fund
from ledger.models import JournalEntry
from ledger.periods import close_period

D = Decimal
DATA = Path(__file__).parent / "data"
MARCH = "statement-2025-03-utf8.csv"
MARCH_GBK = "statement-2025-03-gbk.csv"
APRIL = "statement-2025-04-overlap.csv"
HEADER = "交易日期,流水号,摘要,对方户名,收入金额,支出金额,余额\n"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def populate(code: str, post) -> None:
    """The entries the March and April statements should find (seq in comments)."""
    post("seed", code, date=dt.date(2025, 1, 5), amount="100000", doc_no="资财〔2025〕1号")  # 1
    post("donation", code, date=dt.date(2025, 3, 3), amount="5000", donor="资阳某公司",  # 2
         donor_type="enterprise", receipt_no="R-1", purpose="助学")
    post("donation", code, date=dt.date(2025, 3, 5), amount="800.50", donor="王芳",  # 3
         donor_type="individual", receipt_no="R-2")
    post("allocation", code, date=dt.date(2025, 3, 6), amount="20000", purpose="medical")  # 4
    post("commitment", code, date=dt.date(2025, 3, 7), amount="8000", grant="P-1",  # 5
         purpose="medical")
    # Two payments of the same amount: the dates point the other way, the references decide.
    post("disbursement", code, date=dt.date(2025, 3, 10), amount="3000", grant="P-1",  # 6
         bank_ref="ZF001")
    post("disbursement", code, date=dt.date(2025, 3, 11), amount="3000", grant="P-1",  # 7
         bank_ref="ZF002")
    post("interest", code, date=dt.date(2025, 3, 21), amount="12.34", bank_ref="LX0321")  # 8
    # Booked twelve days before the bank shows it: outside the matching window.
    post("donation", code, date=dt.date(2025, 3, 13), amount="1000", donor="李四",  # 9
         donor_type="individual", receipt_no="R-3")
    post("donation", code, date=dt.date(2025, 4, 1), amount="2000", donor="某慈善基金会",  # 10
         donor_type="enterprise", receipt_no="R-4")
    post("disbursement", code, date=dt.date(2025, 4, 7), amount="2000", grant="P-1",  # 11
         bank_ref="ZF003")
    post("bank-fee", code, date=dt.date(2025, 4, 19), amount="5")  # 12


@pytest.fixture(autouse=True)
def in_english():
    """Refusals are read by their English wording here; tests/core checks the catalog."""
    with locale_as("en"):
        yield


@pytest.fixture
def fund(make_fund, post) -> str:
    code = make_fund("YJQ")
    populate(code, post)
    return code


@pytest.fixture
def load(factory, actor):
    """load(fund, data or file name) -> ImportResult, in its own committed transaction."""

    def run(code: str, data: bytes | str, filename: str | None = None, **kwargs):
        if isinstance(data, str):
            filename, data = filename or data, read(data)
        with transaction(factory) as s:
            return import_statement(s, actor, code, data, filename or "statement.csv", **kwargs)

    return run


@pytest.fixture
def act(factory, actor):
    """act(function, *args) in its own committed transaction, as the charity office."""

    def run(function, *args):
        with transaction(factory) as s:
            return function(s, actor, *args)

    return run


def counts(session) -> tuple[int, int]:
    session.rollback()  # a fresh snapshot
    return (session.scalar(select(func.count()).select_from(BankStatement)),
            session.scalar(select(func.count()).select_from(BankLine)))


def matches(session, code: str) -> dict[str, int | None]:
    """reference -> matched entry number (None while unmatched)."""
    session.rollback()
    fund = find_fund(session, code)
    seqs = dict(session.execute(select(JournalEntry.id, JournalEntry.seq)
                                .where(JournalEntry.fund_id == fund.id)).all())
    return {line.reference: seqs.get(line.entry_id) for line in session.execute(
        select(BankLine).where(BankLine.fund_id == fund.id)).scalars()}


def line_id(session, reference: str) -> int:
    session.rollback()
    return session.execute(select(BankLine.id).where(BankLine.reference == reference)).scalar_one()


# --- reading files ---------------------------------------------------------------------


def test_utf8_and_gbk_statements_read_the_same():
    utf8 = parse_statement(read(MARCH), MARCH)
    assert read(MARCH).startswith(b"\xef\xbb\xbf")
    assert parse_statement(read(MARCH_GBK), MARCH_GBK) == utf8
    assert [(line.line_no, line.date, line.amount, line.reference) for line in utf8[:4]] == [
        (2, dt.date(2025, 3, 4), D("5000.00"), "B0304001"),
        (3, dt.date(2025, 3, 5), D("800.50"), "B0305001"),
        (4, dt.date(2025, 3, 11), D("-3000.00"), "ZF001"),
        (5, dt.date(2025, 3, 12), D("-3000.00"), "ZF002"),
    ]
    first = utf8[0]
    assert (first.counterparty, first.description, first.balance) == (
        "资阳某公司", "捐赠", D("105000.00"))
    assert utf8[4].counterparty is None  # interest has no counterparty
    assert all(isinstance(line.amount, Decimal) for line in utf8)


def test_english_headers_in_any_order_and_bank_quirks():
    data = (
        "Account: 6222 0000 1234 5678,,,,\n"  # a preamble before the header is ignored
        "Balance (元),Reference,Debit,Credit,Date,Counterparty,Description\n"
        '="100.00",="000123",0.00,100.00,2025-03-01 09:30:00,某公司,捐赠\n'
        "95.00,000124,5.00,--,2025/3/2,,手续费\n"
        ",,,,,,\n"
    ).encode()
    lines = parse_statement(data, "bank.csv")
    assert [(n.line_no, n.date, n.amount, n.balance, n.reference) for n in lines] == [
        (3, dt.date(2025, 3, 1), D("100.00"), D("100.00"), "000123"),
        (4, dt.date(2025, 3, 2), D("-5.00"), D("95.00"), "000124"),
    ]


def test_tab_separated_statement_without_balance():
    data = "交易日期\t摘要\t对方户名\t收入金额\t支出金额\t流水号\n2025-03-01\t捐赠\t甲\t10\t\tA1\n"
    (line,) = parse_statement(data.encode("gb18030"), "x.txt")
    assert (line.amount, line.balance, line.reference) == (D("10.00"), None, "A1")


# --- importing ---------------------------------------------------------------------------


def test_import_matches_donations_disbursements_and_interest(session, fund, load):
    result = load(fund, MARCH)
    assert (result.lines, result.skipped, result.matched, result.unmatched) == (8, 0, 5, 3)
    assert matches(session, fund) == {
        "B0304001": 2,  # a day after the donation was booked
        "B0305001": 3,
        "ZF001": 6,  # the reference wins over entry #7, which is a day closer
        "ZF002": 7,
        "LX0321": 8,
        "SXF0321": None,  # no fee booked yet
        "B0325001": None,  # entry #9 is twelve days earlier
        "LX0331": None,
    }
    statement = session.get(BankStatement, result.statement_id)
    assert (statement.first_date, statement.last_date, statement.line_count) == (
        dt.date(2025, 3, 4), dt.date(2025, 3, 31), 8)
    assert statement.filename == MARCH and statement.imported_by == "tester"
    auto = session.execute(select(BankLine).where(BankLine.reference == "ZF001")).scalar_one()
    assert (auto.state, auto.matched_by, auto.amount) == ("matched", "auto", D("-3000.00"))
    audit_row = session.execute(select(AuditRecord).where(
        AuditRecord.action == "bank.import")).scalar_one()
    assert '"matched":5' in audit_row.after and "B0304001" not in audit_row.after


def test_the_reference_decides_between_equal_amounts(session, make_fund, post, load):
    """Without references the closer date would win; the reference overrides it."""
    code = make_fund("XR")
    post("seed", code, date=dt.date(2025, 1, 5), amount="100000", doc_no="D1")
    post("bank-fee", code, date=dt.date(2025, 3, 10), amount="8", bank_ref="FEE-B")  # 2
    post("bank-fee", code, date=dt.date(2025, 3, 12), amount="8", bank_ref="FEE-A")  # 3
    post("bank-fee", code, date=dt.date(2025, 3, 12), amount="8")  # 4, no reference
    data = (HEADER + "2025-03-12,FEE-B,手续费,,,8.00,\n"
                     "2025-03-12,FEE-X,手续费,,,8.00,\n").encode()
    assert load(code, data).matched == 2
    assert matches(session, code) == {"FEE-B": 2, "FEE-X": 3}  # then closest, then lowest #


def test_gbk_statement_imports_identically(session, fund, make_fund, post, load):
    utf8 = load(fund, MARCH)
    other = make_fund("ZYS")
    populate(other, post)
    gbk = load(other, MARCH_GBK)
    assert (gbk.lines, gbk.skipped, gbk.matched, gbk.unmatched) == (
        utf8.lines, utf8.skipped, utf8.matched, utf8.unmatched)
    assert matches(session, other) == matches(session, fund)
    # The same lines in the other encoding are a different file but known lines.
    again = load(fund, MARCH_GBK)
    assert (again.lines, again.skipped, again.matched, again.unmatched) == (8, 8, 0, 0)


def test_importing_the_same_file_twice_changes_nothing(session, fund, load):
    load(fund, MARCH)
    before = counts(session), matches(session, fund)
    with pytest.raises(Conflict) as refused:
        load(fund, MARCH, filename="renamed.csv")
    assert "nothing changed" in refused.value.message
    assert MARCH in refused.value.message  # names the file it was imported as
    assert (counts(session), matches(session, fund)) == before
    assert counts(session) == (1, 8)


def test_an_overlapping_file_skips_the_known_lines(session, fund, load):
    load(fund, MARCH)
    result = load(fund, APRIL)
    assert (result.lines, result.skipped, result.matched, result.unmatched) == (5, 2, 3, 0)
    assert counts(session) == (2, 11)
    found = matches(session, fund)
    assert (found["B0402001"], found["ZF003"], found["SXF0420"]) == (10, 11, 12)


def test_progress_is_called_once_per_line(fund, load):
    calls = []
    load(fund, MARCH, progress=lambda: calls.append(1))
    assert len(calls) == 8


def test_allocations_and_commitments_never_match(session, make_fund, post, load):
    code = make_fund("AL")
    post("seed", code, date=dt.date(2025, 1, 5), amount="100000", doc_no="D1")
    post("allocation", code, date=dt.date(2025, 3, 1), amount="500", purpose="medical")
    post("commitment", code, date=dt.date(2025, 3, 1), amount="500", grant="G-1",
         purpose="medical")
    data = (HEADER + "2025-03-01,T1,转账,,500.00,,\n2025-03-01,T2,转账,,,500.00,\n").encode()
    assert load(code, data).matched == 0


def test_an_entry_already_matched_is_not_matched_again(session, fund, load):
    load(fund, MARCH)
    # The same payment listed under a new bank reference (a different transaction).
    data = (HEADER + "2025-03-12,ZF002-DUP,项目拨付,,,3000.00,\n").encode()
    assert load(fund, data).matched == 0


# --- the charity office's part --------------------------------------------------------------


def test_waiting_lines_are_booked_or_matched_by_hand(session, fund, load, act):
    load(fund, MARCH)
    f = find_fund(session, fund)
    assert [line.reference for line in unmatched_lines(session, f)] == [
        "SXF0321", "B0325001", "LX0331"]

    fee = act(book_line, fund, line_id(session, "SXF0321"), "fee")
    interest = act(book_line, fund, line_id(session, "LX0331"), "interest")
    act(match_line, fund, line_id(session, "B0325001"), 9)  # outside the window: by hand

    session.rollback()
    assert unmatched_lines(session, f) == []
    booked = find_entry(session, f, fee.seq)
    assert (booked.type, booked.date, booked.meta["bank-ref"]) == (
        "bank-fee", dt.date(2025, 3, 21), "SXF0321")
    assert sorted((p.account.name, p.amount) for p in booked.postings) == [
        ("Assets:Fund:General", D("-5.00")), ("Expenses:BankFees", D("5.00"))]
    booked = find_entry(session, f, interest.seq)
    assert (booked.type, booked.meta["bank-ref"]) == ("interest", "LX0331")
    found = matches(session, fund)
    assert (found["SXF0321"], found["LX0331"], found["B0325001"]) == (
        fee.seq, interest.seq, 9)
    actions = session.execute(select(AuditRecord.action).where(
        AuditRecord.action.like("bank.%")).order_by(AuditRecord.id)).scalars().all()
    assert actions == ["bank.import", "bank.book", "bank.book", "bank.match"]
    by_hand = session.execute(select(BankLine).where(BankLine.reference == "B0325001")).scalar_one()
    assert by_hand.matched_by == "tester"


def test_matching_refuses_what_does_not_fit(session, fund, load, act):
    load(fund, MARCH)
    waiting = line_id(session, "B0325001")  # +1000.00
    with pytest.raises(InvalidInput, match="cannot match"):
        act(match_line, fund, waiting, 10)  # +2000.00
    with pytest.raises(InvalidInput, match="moves no money"):
        act(match_line, fund, waiting, 4)  # an allocation
    with pytest.raises(Conflict, match="already matched to bank line"):
        act(match_line, fund, waiting, 3)  # matched to B0305001 on import
    with pytest.raises(Conflict, match="already matched to entry"):
        act(match_line, fund, line_id(session, "ZF001"), 9)
    with pytest.raises(NotFound):
        act(match_line, fund, waiting, 999)
    with pytest.raises(NotFound):
        act(match_line, fund, 10_000, 9)
    act(match_line, fund, waiting, 9)
    with pytest.raises(Conflict):
        act(match_line, fund, waiting, 9)


def test_booking_refuses_the_wrong_direction_and_matched_lines(session, fund, load, act):
    load(fund, MARCH)
    with pytest.raises(InvalidInput, match="interest is money in"):
        act(book_line, fund, line_id(session, "SXF0321"), "interest")
    with pytest.raises(InvalidInput, match="money out"):
        act(book_line, fund, line_id(session, "LX0331"), "fee")
    with pytest.raises(InvalidInput):
        act(book_line, fund, line_id(session, "LX0331"), "donation")
    with pytest.raises(Conflict):
        act(book_line, fund, line_id(session, "LX0321"), "interest")
    session.rollback()
    assert find_fund(session, fund).entry_count == 12  # nothing posted


def test_lines_belong_to_their_fund(session, fund, make_fund, post, load, act):
    load(fund, MARCH)
    other = make_fund("ZYS")
    post("seed", other, date=dt.date(2025, 1, 5), amount="100", doc_no="D1")
    with pytest.raises(NotFound):
        act(match_line, other, line_id(session, "B0325001"), 1)


# --- the bank's balance ---------------------------------------------------------------------


def test_bank_balance_at_the_end_of_a_day(session, fund, load):
    load(fund, MARCH)
    f = find_fund(session, fund)
    assert bank_balance(session, f, dt.date(2025, 3, 3)) is None  # before the first line
    assert bank_balance(session, f, dt.date(2025, 3, 4)) == D("105000.00")
    assert bank_balance(session, f, dt.date(2025, 3, 21)) == D("99807.84")  # two lines that day
    assert bank_balance(session, f, dt.date(2025, 3, 24)) == D("99807.84")
    assert bank_balance(session, f, dt.date(2025, 12, 31)) == D("100808.50")


def test_bank_balance_from_a_newest_first_statement(session, make_fund, post, load):
    code = make_fund("NF")
    data = (HEADER + "2025-03-02,C,利息,,1.00,,101.00\n"
                     "2025-03-01,B,手续费,,,5.00,100.00\n"
                     "2025-03-01,A,捐赠,甲,10.00,,105.00\n").encode()
    load(code, data)
    f = find_fund(session, code)
    assert bank_balance(session, f, dt.date(2025, 3, 1)) == D("100.00")
    assert bank_balance(session, f, dt.date(2025, 3, 2)) == D("101.00")


def test_no_balance_without_a_balance_column(session, make_fund, load):
    code = make_fund("NB")
    data = "交易日期,流水号,摘要,对方户名,收入金额,支出金额\n2025-03-01,A,捐赠,甲,10.00,\n"
    load(code, data.encode())
    assert bank_balance(session, find_fund(session, code), dt.date(2025, 3, 1)) is None


# --- refusals: nothing is imported -------------------------------------------------------------

BAD_FILES = {
    "bad date": (HEADER + "2025-03-01,A,捐赠,甲,1.00,,\n2025-02-30,B,捐赠,乙,1.00,,\n",
                 "Line 3", "2025-02-30"),
    "date in another format": (HEADER + "03/04/2025,A,捐赠,甲,1.00,,\n", "Line 2", "03/04/2025"),
    "date as words": (HEADER + "昨天,A,捐赠,甲,1.00,,\n", "Line 2", "昨天"),
    "date in the future": (HEADER + "2026-07-02,A,捐赠,甲,1.00,,\n", "Line 2", "2026-07-02"),
    "negative amount": (HEADER + "2025-03-01,A,手续费,,,-5.00,\n", "Line 2", "-5.00"),
    "three decimals": (HEADER + "2025-03-01,A,捐赠,甲,1.005,,\n", "Line 2", "1.005"),
    "text amount": (HEADER + "2025-03-01,A,捐赠,甲,一百元,,\n", "Line 2", "一百元"),
    "absurd amount": (HEADER + "2025-03-01,A,捐赠,甲,99999999999,,\n", "Line 2", "99999999999"),
    "both in and out": (HEADER + "2025-03-01,A,捐赠,甲,1.00,1.00,\n", "Line 2", "both"),
    "neither in nor out": (HEADER + "2025-03-01,A,捐赠,甲,,,\n", "Line 2", "neither"),
    "bad balance": (HEADER + "2025-03-01,A,捐赠,甲,1.00,,1.2.3\n", "Line 2", "1.2.3"),
    "no reference": (HEADER + "2025-03-01,,捐赠,甲,1.00,,\n", "Line 2", "流水号"),
    "extra fields": (HEADER + "2025-03-01,A,捐赠,甲,1.00,,,surprise\n", "Line 2", "8 fields"),
    "missing column": ("交易日期,摘要,对方户名,收入金额,支出金额,余额\n2025-03-01,捐赠,甲,1.00,,\n",
                       "Line 1", "流水号"),
    "missing columns": ("交易日期,流水号,摘要,对方户名,金额\n2025-03-01,A,捐赠,甲,1.00\n",
                        "Line 1", "收入金额 (credit), 支出金额 (debit)"),
    "not a statement": ("hello,world\n1,2\n", "Line 1", "交易日期 (date)"),
    "duplicated line": (HEADER + "2025-03-01,A,捐赠,甲,1.00,,\n2025-03-02,B,捐赠,乙,2.00,,\n"
                        "2025-03-01,A,捐赠,甲,1.00,,\n", "Lines 2 and 4", "A"),
    "empty file": ("", "Line 1", "empty"),
    "only blank lines": ("\ufeff\r\n\r\n", "Line 1", "empty"),
    "header only": (HEADER, "Line 2", "no transactions"),
    "unclosed quote": (HEADER + '2025-03-01,A,"捐赠,甲,1.00,,\n', "Line", "CSV"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_refused_whole(session, fund, load, case):
    text, where, what = BAD_FILES[case]
    # A good line first: nothing partial is kept when a later line is bad.
    with pytest.raises(InvalidInput) as refused:
        load(fund, text.encode("utf-8"), f"{case}.csv")
    message = refused.value.message
    assert message.startswith(where) and what in message, message
    assert counts(session) == (0, 0)


GARBAGE = {
    # GBK lead bytes without a valid second byte, after a good header and line.
    "gbk garbage": (HEADER.encode("gbk") + "2025-03-01,A,捐赠,甲,1.00,,\n".encode("gbk")
                    + b"2025-03-02,B,\x81\x20\xff\xfe,,1.00,,\n", "Line 3", "0x"),
    "random bytes": (b"\xff\xfe\xfd\xfc" * 20, "Line 1", "neither UTF-8 nor GBK"),
    "utf-16": ("交易日期,流水号\n".encode("utf-16"), "Line 1", "NUL"),
    "spreadsheet": (b"PK\x03\x04\x14\x00\x06\x00", "Line 1", "CSV"),
}


@pytest.mark.parametrize("case", GARBAGE)
def test_undecodable_bytes_are_refused(session, fund, load, case):
    data, where, what = GARBAGE[case]
    with pytest.raises(InvalidInput) as refused:
        load(fund, data, f"{case}.csv")
    assert refused.value.message.startswith(where) and what in refused.value.message
    assert counts(session) == (0, 0)


def test_messages_are_translatable_sentences():
    with pytest.raises(InvalidInput) as refused:
        parse_statement((HEADER + "2025-03-01,A,捐赠,甲,-5,,\n").encode(), "x.csv")
    error = refused.value
    assert error.message_id.startswith("Line {line}:")
    assert error.params["line"] == 2 and error.params["value"] == "-5"


def test_refused_for_an_unknown_fund(session, load):
    with pytest.raises(NotFound):
        load("NOPE", MARCH)


# --- twelve months, quickly ------------------------------------------------------------------


def month_file(month: int, lines: int = 300) -> bytes:
    rows = [HEADER.rstrip("\n")]
    balance = D("100000.00")
    for n in range(lines):
        day = dt.date(2025, month, 1 + n % 28)
        amount = D(n % 97 + 1) + D("0.25")
        money_in = n % 3 != 0
        balance += amount if money_in else -amount
        rows.append(f"{day.isoformat()},M{month:02d}-{n:04d},摘要,对方,"
                    f"{amount if money_in else ''},{'' if money_in else amount},{balance}")
    return ("\n".join(rows) + "\n").encode("utf-8")


def test_twelve_monthly_files_import_with_a_fixed_number_of_queries(engine, make_fund, post,
                                                                    load):
    code = make_fund("BIG")
    post("seed", code, date=dt.date(2025, 1, 1), amount="100000", doc_no="D1")
    for day in range(2, 28, 5):  # a few entries to match in each month
        post("donation", code, date=dt.date(2025, 1, day), amount="1.25", donor="甲",
             donor_type="individual", receipt_no=f"R-{day}")
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        per_file = []
        for month in range(1, 13):
            statements.clear()
            result = load(code, month_file(month), f"2025-{month:02d}.csv")
            assert result.lines == 300 and result.skipped == 0
            per_file.append(len(statements))
            if month == 1:
                assert result.matched == 2  # the donations of 14 and 27 January
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert max(per_file) <= 15, per_file  # not one query per line


# --- a Beancount user's own import flow ---------------------------------------------------------


def test_beangulp_importer_extracts_one_transaction_per_line(tmp_path):
    from beancount.core import data

    from ledger.importers import BankStatementImporter

    importer = BankStatementImporter()
    path = str(DATA / MARCH)
    assert importer.identify(path)
    assert importer.identify(str(DATA / MARCH_GBK))
    other = tmp_path / "notes.csv"
    other.write_text("name,phone\n张三,123\n", encoding="utf-8")
    assert not importer.identify(str(other))
    assert importer.account(path) == "Assets:Fund:General"
    assert importer.date(path) == dt.date(2025, 3, 31)
    assert importer.filename(path) == "bank-statement.csv"

    entries = importer.extract(path, [])
    assert len(entries) == 8
    assert importer.extract(str(DATA / MARCH_GBK), []) == [
        e._replace(meta={**e.meta, "filename": str(DATA / MARCH_GBK)}) for e in entries]
    payment = entries[2]
    assert isinstance(payment, data.Transaction)
    assert (payment.date, payment.flag, payment.payee, payment.narration) == (
        dt.date(2025, 3, 11), "!", "雁江区某小学", "项目拨付")
    assert payment.meta["bank-ref"] == "ZF001" and payment.meta["lineno"] == 4
    (posting,) = payment.postings
    assert (posting.account, posting.units.number, posting.units.currency) == (
        "Assets:Fund:General", D("-3000.00"), "CNY")
    assert entries[4].payee is None  # interest: no counterparty


def test_beangulp_importer_marks_known_references_as_duplicates():
    from beancount.core import data
    from beangulp.extract import DUPLICATE

    from ledger.importers import BankStatementImporter

    importer = BankStatementImporter("Assets:Bank:Dedicated")
    path = str(DATA / APRIL)
    entries = importer.extract(path, [])
    assert entries[0].postings[0].account == "Assets:Bank:Dedicated"
    known = data.Transaction(data.new_metadata("main.beancount", 1, {"bank-ref": "ZF003"}),
                             dt.date(2025, 4, 7), "*", None, "拨付", data.EMPTY_SET,
                             data.EMPTY_SET, [])
    importer.deduplicate(entries, [known])
    assert [e.meta.get(DUPLICATE) is known for e in entries] == [
        False, False, False, True, False]


def test_beangulp_importer_reports_a_bad_file(tmp_path):
    from ledger.importers import BankStatementImporter

    bad = tmp_path / "bad.csv"
    bad.write_bytes((HEADER + "2025-13-01,A,捐赠,甲,1.00,,\n").encode())
    importer = BankStatementImporter()
    assert importer.identify(str(bad))
    with pytest.raises(InvalidInput, match="Line 2"):
        importer.extract(str(bad), [])


# --- the console ------------------------------------------------------------------------------


@pytest.fixture
def office(run, make_fund):
    """雁江区's fund and its charity office, added from the console while nobody
    administers it."""
    from tests.worlds import PASSWORD

    make_fund("YJQ")
    assert run("user", "add", "co", "--role", "charity_office", "--fund", "YJQ",
               "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    return "co"


def test_console_bank_commands(run, run_as, tmp_path, post, office):
    post("seed", "YJQ", date=dt.date(2025, 1, 5), amount="100000", doc_no="D1")  # 1
    post("donation", "YJQ", date=dt.date(2025, 3, 3), amount="5000", donor="资阳某公司",  # 2
         donor_type="enterprise", receipt_no="R-1")
    post("donation", "YJQ", date=dt.date(2025, 3, 13), amount="1000", donor="李四",  # 3
         donor_type="individual", receipt_no="R-3")
    file = tmp_path / MARCH
    file.write_bytes(read(MARCH))

    status, out, err = run_as(office, "bank", "import", "--fund", "yjq", str(file))
    assert status == 0, err
    assert "8 lines, 0 already known, 1 matched, 7 waiting" in out

    status, out, err = run_as(office, "bank", "import", "--fund", "YJQ", str(file))
    assert status == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("Error: ") and "nothing changed" in err

    status, out, _err = run("bank", "unmatched", "--fund", "YJQ")
    assert status == 0 and "SXF0321" in out and "-¥5.00" in out and "B0304001" not in out
    ids = {line.split()[3]: line.split()[0] for line in out.splitlines()[2:]}

    status, out, err = run_as(office, "bank", "book", "--fund", "YJQ", "--line",
                              ids["SXF0321"], "--as", "fee")
    assert status == 0, err
    assert "YJQ #4" in out and "bank-fee" in out
    status, out, err = run_as(office, "bank", "match", "--fund", "YJQ", "--line",
                              ids["B0325001"], "--entry", "3")
    assert status == 0, err
    assert "matched to YJQ #3" in out

    status, out, err = run_as(office, "bank", "match", "--fund", "YJQ", "--line",
                              ids["LX0331"], "--entry", "2")
    assert status == 1 and out == "" and err.count("\n") == 1 and err.startswith("Error: ")
    status, _out, err = run_as(office, "bank", "book", "--fund", "YJQ", "--line",
                               ids["LX0331"], "--as", "donation")
    assert status == 2

    status, out, _err = run("bank", "unmatched", "--fund", "YJQ")
    assert "SXF0321" not in out and "B0325001" not in out and "LX0331" in out


def test_console_refuses_a_bad_file_in_one_line(run_as, tmp_path, office):
    bad = tmp_path / "bad.csv"
    bad.write_bytes((HEADER + "2025-03-01,A,捐赠,甲,1.00,2.00,\n").encode("gbk"))
    status, out, err = run_as(office, "bank", "import", "--fund", "YJQ", str(bad))
    assert status == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("Error: Line 2")


# --- one strict reader for amounts and dates (issue 9) -----------------------------------------

# Each of these was read as a number or a day before: Decimal reads exponents, underscores
# and any script's digits, and commas were dropped wherever they stood; \d matched
# Arabic-Indic digits in a date.
LOOSE = {
    "exponent": ("1e3", "收入金额: not an amount"),
    "underscore": ("1_000", "收入金额: not an amount"),
    "stray commas": ('"1,2,3"', "收入金额: not an amount"),
    "Arabic-Indic digits": ("١٢٣", "收入金额: not an amount"),
}


@pytest.mark.parametrize("case", LOOSE)
def test_an_amount_is_read_strictly_and_the_refusal_names_line_and_column(session, fund, load,
                                                                         case):
    cell, what = LOOSE[case]
    text = HEADER + f"2025-03-01,A,捐赠,甲,{cell},,\n"
    with pytest.raises(InvalidInput) as refused:
        load(fund, text.encode("utf-8"), "loose.csv")
    assert refused.value.message.startswith(f"Line 2: {what}"), refused.value.message
    assert counts(session) == (0, 0)


def test_digits_of_other_scripts_are_refused_and_full_width_ones_read(session, make_fund,
                                                                    load):
    code = make_fund("LZX")
    with pytest.raises(InvalidInput) as refused:
        load(code, (HEADER + "٢٠٢٥-٠٣-٠١,A,捐赠,甲,1.00,,\n").encode("utf-8"), "arabic.csv")
    assert refused.value.message.startswith("Line 2: “٢٠٢٥-٠٣-٠١” is not a date")
    assert counts(session) == (0, 0)
    load(code, (HEADER + "２０２５-０３-０１,A,捐赠,甲,１２３４.５０,,\n"
                "2025-03-02,B,捐赠,乙,\"¥1,234.50\",,\n").encode("utf-8"), "wide.csv")
    session.rollback()
    assert sorted((line.reference, line.date, line.amount) for line in session.execute(
        select(BankLine)).scalars()) == [("A", dt.date(2025, 3, 1), D("1234.50")),
                                         ("B", dt.date(2025, 3, 2), D("1234.50"))]


def test_a_line_dated_before_the_fund_opened_is_refused(session, make_fund, load):
    code = make_fund("LZX", opened_on=dt.date(2025, 3, 1))
    text = HEADER + "2025-03-01,A,捐赠,甲,1.00,,\n2025-02-28,B,捐赠,乙,2.00,,\n"
    with pytest.raises(InvalidInput) as refused:
        load(code, text.encode("utf-8"), "early.csv")
    assert refused.value.message == ("Line 3: 2025-02-28 is before fund LZX opened "
                                     "(2025-03-01); a statement of the fund's account starts "
                                     "on or after that day.")
    assert counts(session) == (0, 0)


def test_lines_in_a_closed_month_are_reported_and_cannot_be_booked(session, fund, load, act):
    for month in ("2025-01", "2025-02"):
        act(lambda s, a, m=month: close_period(s, a, fund, m, unreconciled_reason="对账单未到"))
    # Statement lines 2 and 3 are February's: kept, and reported by their line numbers.
    text = HEADER + ("2025-02-27,LX0227,结息,,1.23,,\n2025-02-28,SXF0228,手续费,,,2.00,\n"
                     "2025-03-21,LX0321,结息,,12.34,,\n")
    result = load(fund, text.encode("utf-8"), "late.csv")
    assert (result.lines, result.closed, result.locked_through) == (
        3, (2, 3), dt.date(2025, 2, 28))
    assert result.closed_notice == (
        "Lines 2, 3 of the statement fall in a closed period (closed through 2025-02-28). "
        "They are kept, but nothing can be booked on their dates: post any interest, fee or "
        "correction in the open period and match the line to it.")
    with pytest.raises(PeriodLocked) as refused:
        act(book_line, fund, line_id(session, "LX0227"), "interest")
    assert refused.value.message.startswith(
        f"Bank line {line_id(session, 'LX0227')} is dated 2025-02-27, in a closed period")
    # The way out the message gives: interest booked in the open period, matched by hand.
    entry = act(lambda s, a: post_interest(s, a, fund, date=dt.date(2025, 3, 31),
                                           amount=D("1.23")))
    act(match_line, fund, line_id(session, "LX0227"), entry.seq)
    assert matches(session, fund)["LX0227"] == entry.seq
    # A statement that adds nothing in the closed month says nothing about it.
    again = load(fund, (HEADER + "2025-02-27,LX0227,结息,,1.23,,\n"
                        "2025-03-22,LX0322,结息,,1.00,,\n").encode("utf-8"), "again.csv")
    assert (again.skipped, again.closed, again.closed_notice) == (1, (), None)
