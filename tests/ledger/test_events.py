"""Every fund event posts the entry DESIGN §2 names, and refuses what breaks a rule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from audit.models import AuditRecord
from core.errors import Conflict, InvalidInput, NotFound, RuleViolation
from ledger.balances import available, balance, balances
from ledger.journal import find_entry, find_fund
from ledger.models import JournalEntry, Posting

D = Decimal


def lines_of(session, code, seq):
    entry = find_entry(session, find_fund(session, code), seq)
    return sorted((p.account.name, p.amount) for p in entry.postings)


@pytest.fixture
def fund(make_fund, post):
    code = make_fund("YJQ")
    post("seed", code, date=dt.date(2025, 1, 10), amount="100000.00", doc_no="资财〔2025〕1号")
    return code


def test_seed_and_top_up_credit_government_income(session, fund, post):
    entry = post("top-up", fund, date=dt.date(2025, 2, 1), amount="30000", doc_no="资财〔2025〕9号")
    assert lines_of(session, fund, entry.seq) == [
        ("Assets:Fund:General", D("30000.00")), ("Income:Government:TopUp", D("-30000.00"))]
    f = find_fund(session, fund)
    assert balance(session, f, "Assets:Fund:General") == D("130000.00")
    assert balance(session, f, "Income:Government:Seed") == D("-100000.00")


def test_directed_and_undirected_donations(session, fund, post):
    post("donation", fund, date=dt.date(2025, 3, 1), amount="5000", donor="资阳某公司",
         donor_type="enterprise", receipt_no="R-1", purpose="助学")
    post("donation", fund, date=dt.date(2025, 3, 2), amount="800.50", donor="王芳",
         donor_type="individual", receipt_no="R-2")
    f = find_fund(session, fund)
    book = balances(session, f)
    assert book["Assets:Fund:Education"] == D("5000.00")
    assert book["Assets:Fund:General"] == D("100800.50")
    assert book["Income:Donations:Enterprise"] == D("-5000.00")
    assert book["Income:Donations:Individual"] == D("-800.50")
    entry = find_entry(session, f, 3)
    assert entry.meta["donor"] == "王芳" and entry.meta["receipt"] == "R-2"


def test_receipt_number_is_unique_within_a_fund(fund, post):
    post("donation", fund, date=dt.date(2025, 3, 1), amount="10", donor="甲",
         donor_type="individual", receipt_no="R-1")
    with pytest.raises(Conflict):
        post("donation", fund, date=dt.date(2025, 3, 1), amount="10", donor="乙",
             donor_type="individual", receipt_no="R-1")


def test_grant_lifecycle_moves_money_between_the_right_accounts(session, fund, post):
    post("allocation", fund, date=dt.date(2025, 2, 1), amount="60000", purpose="education")
    post("commitment", fund, date=dt.date(2025, 3, 1), amount="50000", grant="P-1",
         purpose="education")
    f = find_fund(session, fund)
    assert available(session, f, "Education") == D("10000.00")
    post("disbursement", fund, date=dt.date(2025, 3, 20), amount="30000", grant="P-1",
         bank_ref="B1")
    post("release", fund, date=dt.date(2025, 4, 1), amount="20000", grant="P-1",
         reason="项目提前结束")
    post("unspent-return", fund, date=dt.date(2025, 4, 2), amount="1000", grant="P-1",
         bank_ref="B2")
    session.rollback()  # end the read snapshot taken above
    book = balances(session, f)
    assert book["Assets:Fund:Education"] == D("31000.00")
    assert book["Liabilities:GrantsPayable:Education"] == D("0.00")
    assert book["Expenses:Grants:Education"] == D("29000.00")
    assert available(session, f, "Education") == D("31000.00")
    grant_entries = session.execute(
        select(JournalEntry.links).where(JournalEntry.type.in_(
            ["commitment", "disbursement", "release", "unspent-return"]))).scalars().all()
    assert grant_entries and all(links == ["grant-P-1"] for links in grant_entries)


def test_commitment_beyond_available_names_purpose_and_amounts(session, fund, post):
    post("allocation", fund, date=dt.date(2025, 2, 1), amount="3000", purpose="education")
    with pytest.raises(RuleViolation) as caught:
        post("commitment", fund, date=dt.date(2025, 3, 1), amount="5000", grant="P-2",
             purpose="education")
    assert caught.value.rule == "available-nonnegative"
    assert caught.value.message == "助学 available ¥3,000.00, requested ¥5,000.00." or (
        "助学" in caught.value.message and "¥3,000.00" in caught.value.message
        and "¥5,000.00" in caught.value.message)
    f = find_fund(session, fund)
    assert f.entry_count == 2  # nothing was written


def test_restricted_money_never_pays_another_purpose(session, fund, post):
    post("donation", fund, date=dt.date(2025, 3, 1), amount="9000", donor="甲",
         donor_type="individual", receipt_no="R-9", purpose="medical")
    with pytest.raises(RuleViolation) as caught:
        post("commitment", fund, date=dt.date(2025, 3, 2), amount="1000", grant="P-3",
             purpose="education")
    assert caught.value.rule == "available-nonnegative"
    assert available(session, find_fund(session, fund), "Medical") == D("9000.00")


def test_disbursement_cannot_exceed_the_grant_commitment(fund, post):
    post("allocation", fund, date=dt.date(2025, 2, 1), amount="60000", purpose="hardship")
    post("commitment", fund, date=dt.date(2025, 3, 1), amount="10000", grant="A",
         purpose="hardship")
    post("commitment", fund, date=dt.date(2025, 3, 1), amount="10000", grant="B",
         purpose="hardship")
    with pytest.raises(RuleViolation) as caught:
        post("disbursement", fund, date=dt.date(2025, 3, 5), amount="10000.01", grant="A",
             bank_ref="X")
    assert caught.value.rule == "grant-outstanding"
    with pytest.raises(RuleViolation) as caught:
        post("unspent-return", fund, date=dt.date(2025, 3, 5), amount="1", grant="B",
             bank_ref="X")
    assert caught.value.rule == "grant-returned"


def test_grant_events_need_an_existing_commitment(fund, post):
    with pytest.raises(NotFound) as caught:
        post("disbursement", fund, date=dt.date(2025, 3, 5), amount="1", grant="NONE",
             bank_ref="X")
    assert "NONE" in caught.value.message and "grant-NONE" not in caught.value.message
    with pytest.raises(InvalidInput):
        post("commitment", fund, date=dt.date(2025, 3, 5), amount="1", grant="bad ref!",
             purpose="education")


def test_same_grant_cannot_be_committed_twice(fund, post):
    post("allocation", fund, date=dt.date(2025, 2, 1), amount="600", purpose="orphans")
    post("commitment", fund, date=dt.date(2025, 3, 1), amount="100", grant="G", purpose="助孤")
    with pytest.raises(Conflict):
        post("commitment", fund, date=dt.date(2025, 3, 2), amount="100", grant="G",
             purpose="orphans")


def test_general_pool_cannot_go_negative(fund, post):
    with pytest.raises(RuleViolation) as caught:
        post("bank-fee", fund, date=dt.date(2025, 3, 1), amount="100000.01")
    assert caught.value.rule == "fund-nonnegative"
    with pytest.raises(RuleViolation):
        post("allocation", fund, date=dt.date(2025, 3, 1), amount="100000.01", purpose="medical")


def test_backdated_spending_cannot_overdraw_an_earlier_day(session, fund, post):
    """Money that arrives on the 10th cannot pay something dated the 5th."""
    post("bank-fee", fund, date=dt.date(2025, 3, 1), amount="100000")
    post("donation", fund, date=dt.date(2025, 3, 10), amount="500", donor="甲",
         donor_type="individual", receipt_no="R-10")
    with pytest.raises(RuleViolation) as caught:
        post("bank-fee", fund, date=dt.date(2025, 3, 5), amount="20")
    assert caught.value.rule == "fund-nonnegative"
    post("bank-fee", fund, date=dt.date(2025, 3, 12), amount="20")
    assert balance(session, find_fund(session, fund), "Assets:Fund:General") == D("480.00")


def test_interest_and_bank_fee(session, fund, post):
    post("interest", fund, date=dt.date(2025, 3, 21), amount="123.45", bank_ref="LX1")
    post("bank-fee", fund, date=dt.date(2025, 3, 25), amount="10")
    book = balances(session, find_fund(session, fund))
    assert book["Income:Interest"] == D("-123.45")
    assert book["Expenses:BankFees"] == D("10.00")
    assert book["Assets:Fund:General"] == D("100113.45")


def test_reversal_undoes_and_links_the_original(session, fund, post):
    original = post("donation", fund, date=dt.date(2025, 3, 1), amount="700", donor="李明",
                    donor_type="individual", receipt_no="R-7", purpose="disability")
    reversal = post("reversal", fund, seq=original.seq, date=dt.date(2025, 3, 2),
                    reason="重复录入")
    f = find_fund(session, fund)
    assert balance(session, f, "Assets:Fund:Disability") == D("0.00")
    entry = find_entry(session, f, reversal.seq)
    assert entry.meta["reverses"] == str(original.seq)
    assert entry.meta["receipt"] == "R-7"
    assert entry.reverses_id == original.id
    assert lines_of(session, fund, reversal.seq) == sorted(
        (a, -v) for a, v in lines_of(session, fund, original.seq))
    with pytest.raises(Conflict):
        post("reversal", fund, seq=original.seq, date=dt.date(2025, 3, 3), reason="again")
    with pytest.raises(InvalidInput):
        post("reversal", fund, seq=reversal.seq, date=dt.date(2025, 3, 3), reason="undo undo")


def test_reversal_that_would_overdraw_is_refused(fund, post):
    donation = post("donation", fund, date=dt.date(2025, 3, 1), amount="700", donor="李明",
                    donor_type="individual", receipt_no="R-7", purpose="disability")
    post("commitment", fund, date=dt.date(2025, 3, 2), amount="700", grant="D-1",
         purpose="disability")
    with pytest.raises(RuleViolation) as caught:
        post("reversal", fund, seq=donation.seq, date=dt.date(2025, 3, 3), reason="退回捐赠")
    assert caught.value.rule == "available-nonnegative"


def test_reversal_cannot_predate_original_and_unknown_entries_are_named(fund, post):
    donation = post("donation", fund, date=dt.date(2025, 3, 5), amount="7", donor="甲",
                    donor_type="individual", receipt_no="R-1")
    with pytest.raises(InvalidInput):
        post("reversal", fund, seq=donation.seq, date=dt.date(2025, 3, 4), reason="x")
    with pytest.raises(NotFound):
        post("reversal", fund, seq=999, date=dt.date(2025, 3, 6), reason="x")


@pytest.mark.parametrize("amount", ["-5", "0", "0.00", "NaN", "Infinity", "-Infinity", "abc",
                                    "1.234", "1e3.5", "", "10000000000", "1000000000.01"])
def test_bad_amounts_are_refused_and_change_nothing(session, fund, post, amount):
    before = session.execute(select(func.count()).select_from(JournalEntry)).scalar_one()
    audit_before = session.execute(select(func.count()).select_from(AuditRecord)).scalar_one()
    with pytest.raises(InvalidInput):
        post("interest", fund, date=dt.date(2025, 3, 1), amount=amount)
    session.rollback()
    assert session.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == before
    assert session.execute(select(func.count()).select_from(AuditRecord)).scalar_one() == \
        audit_before


def test_float_amounts_are_refused(fund, post):
    with pytest.raises(InvalidInput):
        post("interest", fund, date=dt.date(2025, 3, 1), amount=0.1)


def test_dates_outside_the_fund_life_are_refused(fund, post):
    with pytest.raises(InvalidInput):
        post("interest", fund, date=dt.date(2026, 7, 2), amount="1")  # tomorrow
    with pytest.raises(InvalidInput):
        post("interest", fund, date=dt.date(2024, 12, 31), amount="1")  # before opening


def test_unknown_fund_and_purpose(fund, post):
    with pytest.raises(NotFound):
        post("interest", "NOPE", date=dt.date(2025, 3, 1), amount="1")
    with pytest.raises(InvalidInput):
        post("allocation", fund, date=dt.date(2025, 3, 1), amount="1", purpose="holidays")


def test_donation_needs_donor_and_receipt(fund, post):
    with pytest.raises(InvalidInput):
        post("donation", fund, date=dt.date(2025, 3, 1), amount="1", donor=" ",
             donor_type="individual", receipt_no="R")
    with pytest.raises(InvalidInput):
        post("donation", fund, date=dt.date(2025, 3, 1), amount="1", donor="甲",
             donor_type="individual", receipt_no="")
    with pytest.raises(InvalidInput):
        post("donation", fund, date=dt.date(2025, 3, 1), amount="1", donor="甲",
             donor_type="government", receipt_no="R")
    with pytest.raises(InvalidInput):
        post("donation", fund, date=dt.date(2025, 3, 1), amount="1", donor="甲\n乙",
             donor_type="individual", receipt_no="R")


def test_every_posting_has_an_audit_record_in_the_same_transaction(session, fund, post):
    entry = post("interest", fund, date=dt.date(2025, 3, 1), amount="1.50")
    record = session.execute(select(AuditRecord).where(
        AuditRecord.subject_id == f"{fund}#{entry.seq}")).scalar_one()
    assert record.action == "ledger.interest"
    assert entry.hash in record.after


def test_postings_sum_to_zero_per_entry(session, fund, post):
    post("allocation", fund, date=dt.date(2025, 2, 1), amount="600", purpose="orphans")
    sums = session.execute(select(Posting.entry_id, func.sum(Posting.amount))
                           .group_by(Posting.entry_id)).all()
    assert sums and all(total == 0 for _entry, total in sums)


def test_a_write_outside_a_write_transaction_is_a_programming_error(session, fund, actor):
    """On SQLite only an IMMEDIATE transaction makes the balance checks race-free."""
    from ledger.events import post_interest

    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL serialises with row locks in any transaction")
    with pytest.raises(RuntimeError, match=r"core\.db\.transaction"):
        post_interest(session, actor, fund, date=dt.date(2025, 3, 1), amount="1")
