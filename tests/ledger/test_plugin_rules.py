"""The fund-rules Beancount plugin, one small ledger per case.

Written in the style of Beancount's own plugin tests: each test's docstring is the
ledger, loaded (plugins and validation included) by ``loader.load_doc``. For every
rule the plugin enforces there is a ledger that passes with no error at all and a
ledger that breaks it, where exactly the expected rules are reported. Messages may
be translated, so the tests read only the rule name in brackets that starts every
plugin message, and the ``entry-no`` of the entry the error is attached to.
"""

from __future__ import annotations

import re
import unittest
from typing import Any

from beancount import loader

from ledger.plugins.fund_rules import FundRuleError

_RULE = re.compile(r"^\[([a-z-]+)\] ")


def reported(errors: list[Any]) -> list[tuple[str, str]]:
    """(rule, entry-no of the offending entry) for each fund-rule error, sorted."""
    found = []
    for error in errors:
        if isinstance(error, FundRuleError):
            match = _RULE.match(error.message)
            assert match, f"plugin message without a [rule]: {error.message!r}"
            found.append((match.group(1), str(error.entry.meta.get("entry-no"))))
    return sorted(found)


def rules_reported(errors: list[Any]) -> set[str]:
    return {rule for rule, _ in reported(errors)}


def beancount_errors(errors: list[Any]) -> list[str]:
    """Errors reported by Beancount itself (parser, booking, validation), not the plugin."""
    return [error.message for error in errors if not isinstance(error, FundRuleError)]


def messages(errors: list[Any], rule: str) -> list[str]:
    return [e.message for e in errors
            if isinstance(e, FundRuleError) and e.message.startswith(f"[{rule}]")]


class TestHappyPath(unittest.TestCase):
    @loader.load_doc(expect_errors=False)
    def test_a_year_of_a_fund(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"
        option "operating_currency" "CNY"

        2026-01-01 open Assets:Fund:General CNY
          zh: "银行存款—儿童专项基金—未定向"
        2026-01-01 open Assets:Fund:Education CNY
          zh: "银行存款—儿童专项基金—助学"
        2026-01-01 open Liabilities:GrantsPayable:Education CNY
          zh: "其他应付款—应付资助款—助学"
        2026-01-01 open Expenses:Grants:Education CNY
          zh: "业务活动成本—助学"
        2026-01-01 open Income:Government:Seed CNY
        2026-01-01 open Income:Government:TopUp CNY
        2026-01-01 open Income:Donations:Enterprise CNY
        2026-01-01 open Income:Donations:Individual CNY
        2026-01-01 open Income:Interest CNY
        2026-01-01 open Expenses:BankFees CNY

        2026-01-10 * "财政局" "财政启动资金"
          entry-no: "1"
          type: "seed"
          doc-no: "资财社〔2026〕1号"
          Assets:Fund:General  500000.00 CNY
          Income:Government:Seed  -500000.00 CNY

        2026-02-01 * "财政局" "财政年度补充资金"
          entry-no: "2"
          type: "top-up"
          doc-no: "资财社〔2026〕9号"
          Assets:Fund:General  100000.00 CNY
          Income:Government:TopUp  -100000.00 CNY

        2026-02-15 * "马秀英" "捐赠收入"
          entry-no: "3"
          type: "donation"
          donor: "马秀英"
          donor-type: "individual"
          receipt: "T-2026-0001"
          Assets:Fund:General  20000.00 CNY
          Income:Donations:Individual  -20000.00 CNY

        2026-02-20 * "资阳市雁江农商银行" "捐赠收入（定向助学）"
          entry-no: "4"
          type: "donation"
          donor: "资阳市雁江农商银行"
          donor-type: "enterprise"
          receipt: "T-2026-0002"
          Assets:Fund:Education  50000.00 CNY
          Income:Donations:Enterprise  -50000.00 CNY

        2026-03-01 * "专项资金分配"
          entry-no: "5"
          type: "allocation"
          Assets:Fund:Education  100000.00 CNY
          Assets:Fund:General  -100000.00 CNY

        2026-03-10 * "项目实施单位" "助学项目批准" ^grant-T-2026-001
          entry-no: "6"
          type: "commitment"
          Expenses:Grants:Education  120000.00 CNY
          Liabilities:GrantsPayable:Education  -120000.00 CNY

        2026-03-20 * "项目拨付" ^grant-T-2026-001
          entry-no: "7"
          type: "disbursement"
          bank-ref: "ZF20260320"
          Liabilities:GrantsPayable:Education  60000.00 CNY
          Assets:Fund:Education  -60000.00 CNY

        2026-04-20 * "项目拨付" ^grant-T-2026-001
          entry-no: "8"
          type: "disbursement"
          bank-ref: "ZF20260420"
          Liabilities:GrantsPayable:Education  50000.00 CNY
          Assets:Fund:Education  -50000.00 CNY

        2026-05-31 * "释放未拨付承诺" ^grant-T-2026-001
          entry-no: "9"
          type: "release"
          reason: "项目结项"
          Liabilities:GrantsPayable:Education  10000.00 CNY
          Expenses:Grants:Education  -10000.00 CNY

        2026-06-15 * "结余资金退回" ^grant-T-2026-001
          entry-no: "10"
          type: "unspent-return"
          bank-ref: "TH20260615"
          Assets:Fund:Education  3000.00 CNY
          Expenses:Grants:Education  -3000.00 CNY

        2026-06-21 * "银行" "银行存款利息"
          entry-no: "11"
          type: "interest"
          Assets:Fund:General  1234.56 CNY
          Income:Interest  -1234.56 CNY

        2026-06-21 * "银行" "银行手续费"
          entry-no: "12"
          type: "bank-fee"
          Expenses:BankFees  10.00 CNY
          Assets:Fund:General  -10.00 CNY

        2026-06-25 * "朱洪" "捐赠收入"
          entry-no: "13"
          type: "donation"
          donor: "朱洪"
          donor-type: "individual"
          receipt: "T-2026-0003"
          Assets:Fund:General  500.00 CNY
          Income:Donations:Individual  -500.00 CNY

        2026-06-26 * "朱洪" "冲销 #13：捐赠收入" ^entry-T-13
          entry-no: "14"
          type: "reversal"
          reverses: "13"
          reason: "重复录入，冲销"
          donor: "朱洪"
          donor-type: "individual"
          receipt: "T-2026-0003"
          Assets:Fund:General  -500.00 CNY
          Income:Donations:Individual  500.00 CNY

        2026-07-01 balance Assets:Fund:General  521224.56 CNY
        2026-07-01 balance Assets:Fund:Education  43000.00 CNY
        2026-07-01 balance Liabilities:GrantsPayable:Education  0.00 CNY
        2026-07-01 balance Expenses:Grants:Education  107000.00 CNY
        """
        self.assertEqual(errors, [])
        types = [e.meta["type"] for e in entries if hasattr(e, "postings")]
        self.assertEqual(set(types), {
            "seed", "top-up", "donation", "allocation", "commitment", "disbursement",
            "release", "unspent-return", "interest", "bank-fee", "reversal"})


class TestEntryType(unittest.TestCase):
    @loader.load_doc(expect_errors=False)
    def test_known_types_pass(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Government:Seed CNY
        2026-01-01 open Income:Interest CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  1000.00 CNY
          Income:Government:Seed  -1000.00 CNY

        2026-01-31 * "银行存款利息"
          entry-no: "2"
          type: "interest"
          Assets:Fund:General  1.20 CNY
          Income:Interest  -1.20 CNY
        """
        self.assertEqual(errors, [])

    @loader.load_doc(expect_errors=True)
    def test_unknown_or_missing_type_fails(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Government:Seed CNY
        2026-01-01 open Income:Interest CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "gift"
          Assets:Fund:General  1000.00 CNY
          Income:Government:Seed  -1000.00 CNY

        2026-01-31 * "银行存款利息"
          entry-no: "2"
          Assets:Fund:General  1.20 CNY
          Income:Interest  -1.20 CNY
        """
        self.assertEqual(reported(errors), [("entry-type", "1"), ("entry-type", "2")])
        self.assertEqual(beancount_errors(errors), [])


class TestBalanced(unittest.TestCase):
    @loader.load_doc(expect_errors=False)
    def test_balanced_and_interpolated_entries_pass(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Government:Seed CNY
        2026-01-01 open Income:Interest CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  1000.00 CNY
          Income:Government:Seed  -1000.00 CNY

        2026-01-31 * "银行存款利息"
          entry-no: "2"
          type: "interest"
          Assets:Fund:General  1.20 CNY
          Income:Interest
        """
        self.assertEqual(errors, [])

    @loader.load_doc(expect_errors=True)
    def test_unbalanced_entry_fails(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Government:Seed CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  1000.00 CNY
          Income:Government:Seed  -999.00 CNY
        """
        self.assertEqual(reported(errors), [("balanced", "1")])
        # Beancount reports it too, in its own words.
        self.assertEqual(len(beancount_errors(errors)), 1)
        self.assertIn("does not balance", beancount_errors(errors)[0])


class TestSinglePurpose(unittest.TestCase):
    @loader.load_doc(expect_errors=False)
    def test_one_purpose_per_entry_and_per_project_passes(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Liabilities:GrantsPayable:Education CNY
        2026-01-01 open Expenses:Grants:Education CNY
        2026-01-01 open Income:Government:Seed CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  5000.00 CNY
          Income:Government:Seed  -5000.00 CNY

        2026-02-01 * "专项资金分配"
          entry-no: "2"
          type: "allocation"
          Assets:Fund:Education  3000.00 CNY
          Assets:Fund:General  -3000.00 CNY

        2026-02-10 * "助学项目批准" ^grant-P1
          entry-no: "3"
          type: "commitment"
          Expenses:Grants:Education  2000.00 CNY
          Liabilities:GrantsPayable:Education  -2000.00 CNY

        2026-02-20 * "项目拨付" ^grant-P1
          entry-no: "4"
          type: "disbursement"
          Liabilities:GrantsPayable:Education  2000.00 CNY
          Assets:Fund:Education  -2000.00 CNY

        2026-03-01 * "结余资金退回" ^grant-P1
          entry-no: "5"
          type: "unspent-return"
          Assets:Fund:Education  300.00 CNY
          Expenses:Grants:Education  -300.00 CNY
        """
        self.assertEqual(errors, [])

    @loader.load_doc(expect_errors=True)
    def test_moving_money_between_purposes_in_one_entry_fails(self, entries, errors,
                                                              options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Assets:Fund:Orphans CNY
        2026-01-01 open Income:Government:Seed CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  5000.00 CNY
          Income:Government:Seed  -5000.00 CNY

        2026-02-01 * "专项资金分配"
          entry-no: "2"
          type: "allocation"
          Assets:Fund:Education  3000.00 CNY
          Assets:Fund:General  -3000.00 CNY

        2026-02-02 * "助学资金挪作助孤"
          entry-no: "3"
          type: "allocation"
          Assets:Fund:Orphans  1000.00 CNY
          Assets:Fund:Education  -1000.00 CNY
        """
        self.assertEqual(reported(errors), [("single-purpose", "3")])
        self.assertEqual(beancount_errors(errors), [])

    @loader.load_doc(expect_errors=True)
    def test_project_using_two_purposes_across_entries_fails(self, entries, errors,
                                                             options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Assets:Fund:Orphans CNY
        2026-01-01 open Liabilities:GrantsPayable:Education CNY
        2026-01-01 open Expenses:Grants:Education CNY
        2026-01-01 open Expenses:Grants:Orphans CNY
        2026-01-01 open Income:Government:Seed CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  5000.00 CNY
          Income:Government:Seed  -5000.00 CNY

        2026-02-01 * "专项资金分配"
          entry-no: "2"
          type: "allocation"
          Assets:Fund:Education  3000.00 CNY
          Assets:Fund:General  -3000.00 CNY

        2026-02-10 * "助学项目批准" ^grant-P1
          entry-no: "3"
          type: "commitment"
          Expenses:Grants:Education  2000.00 CNY
          Liabilities:GrantsPayable:Education  -2000.00 CNY

        2026-02-20 * "项目拨付" ^grant-P1
          entry-no: "4"
          type: "disbursement"
          Liabilities:GrantsPayable:Education  2000.00 CNY
          Assets:Fund:Education  -2000.00 CNY

        ; Each entry is single-purpose, but the education project's unspent money
        ; comes back into the orphan-aid purpose.
        2026-03-01 * "结余资金退回" ^grant-P1
          entry-no: "5"
          type: "unspent-return"
          Assets:Fund:Orphans  300.00 CNY
          Expenses:Grants:Orphans  -300.00 CNY
        """
        self.assertEqual(reported(errors), [("single-purpose", "5")])
        self.assertEqual(beancount_errors(errors), [])


class TestGrantLink(unittest.TestCase):
    @loader.load_doc(expect_errors=False)
    def test_grant_postings_linking_one_project_pass(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Liabilities:GrantsPayable:Education CNY
        2026-01-01 open Expenses:Grants:Education CNY
        2026-01-01 open Income:Donations:Enterprise CNY

        2026-01-10 * "定向捐赠"
          entry-no: "1"
          type: "donation"
          donor: "某公司"
          receipt: "R-1"
          Assets:Fund:Education  5000.00 CNY
          Income:Donations:Enterprise  -5000.00 CNY

        2026-02-10 * "助学项目批准" ^grant-P1
          entry-no: "2"
          type: "commitment"
          Expenses:Grants:Education  2000.00 CNY
          Liabilities:GrantsPayable:Education  -2000.00 CNY

        ; Links that are not projects may come along.
        2026-02-20 * "项目拨付" ^grant-P1 ^board-2026-02
          entry-no: "3"
          type: "disbursement"
          Liabilities:GrantsPayable:Education  500.00 CNY
          Assets:Fund:Education  -500.00 CNY
        """
        self.assertEqual(errors, [])

    @loader.load_doc(expect_errors=True)
    def test_grant_posting_without_or_with_two_projects_fails(self, entries, errors,
                                                              options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Liabilities:GrantsPayable:Education CNY
        2026-01-01 open Expenses:Grants:Education CNY
        2026-01-01 open Income:Donations:Enterprise CNY

        2026-01-10 * "定向捐赠"
          entry-no: "1"
          type: "donation"
          donor: "某公司"
          receipt: "R-1"
          Assets:Fund:Education  5000.00 CNY
          Income:Donations:Enterprise  -5000.00 CNY

        2026-02-10 * "助学项目批准" ^board-2026-02
          entry-no: "2"
          type: "commitment"
          Expenses:Grants:Education  2000.00 CNY
          Liabilities:GrantsPayable:Education  -2000.00 CNY

        2026-02-11 * "助学项目批准" ^grant-P1 ^grant-P2
          entry-no: "3"
          type: "commitment"
          Expenses:Grants:Education  1000.00 CNY
          Liabilities:GrantsPayable:Education  -1000.00 CNY
        """
        self.assertEqual(reported(errors), [("grant-link", "2"), ("grant-link", "3")])
        self.assertEqual(beancount_errors(errors), [])


class TestDonationMeta(unittest.TestCase):
    @loader.load_doc(expect_errors=False)
    def test_donations_with_donor_and_receipt_pass(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Assets:Fund:Medical CNY
        2026-01-01 open Income:Donations:Individual CNY
        2026-01-01 open Income:Donations:Enterprise CNY

        2026-01-10 * "王芳" "捐赠收入"
          entry-no: "1"
          type: "donation"
          donor: "王芳"
          receipt: "R-1"
          Assets:Fund:General  200.00 CNY
          Income:Donations:Individual  -200.00 CNY

        2026-01-11 * "某公司" "捐赠收入（定向助医）"
          entry-no: "2"
          type: "donation"
          donor: "某公司"
          receipt: "R-2"
          Assets:Fund:Medical  8000.00 CNY
          Income:Donations:Enterprise  -8000.00 CNY
        """
        self.assertEqual(errors, [])

    @loader.load_doc(expect_errors=True)
    def test_donation_without_receipt_or_donor_fails(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Donations:Individual CNY

        2026-01-10 * "王芳" "捐赠收入"
          entry-no: "1"
          type: "donation"
          donor: "王芳"
          Assets:Fund:General  200.00 CNY
          Income:Donations:Individual  -200.00 CNY

        2026-01-11 * "捐赠收入"
          entry-no: "2"
          type: "donation"
          donor: "  "
          receipt: "R-2"
          Assets:Fund:General  300.00 CNY
          Income:Donations:Individual  -300.00 CNY
        """
        self.assertEqual(reported(errors), [("donation-meta", "1"), ("donation-meta", "2")])
        self.assertEqual(beancount_errors(errors), [])


class TestReceiptUnique(unittest.TestCase):
    @loader.load_doc(expect_errors=False)
    def test_distinct_receipts_pass_and_a_reversal_may_repeat_its_receipt(
            self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Donations:Individual CNY

        2026-01-10 * "王芳" "捐赠收入"
          entry-no: "1"
          type: "donation"
          donor: "王芳"
          receipt: "R-1"
          Assets:Fund:General  200.00 CNY
          Income:Donations:Individual  -200.00 CNY

        2026-01-11 * "李强" "捐赠收入"
          entry-no: "2"
          type: "donation"
          donor: "李强"
          receipt: "R-2"
          Assets:Fund:General  300.00 CNY
          Income:Donations:Individual  -300.00 CNY

        2026-01-12 * "李强" "冲销 #2：捐赠收入"
          entry-no: "3"
          type: "reversal"
          reverses: "2"
          donor: "李强"
          receipt: "R-2"
          Assets:Fund:General  -300.00 CNY
          Income:Donations:Individual  300.00 CNY
        """
        self.assertEqual(errors, [])

    @loader.load_doc(expect_errors=True)
    def test_two_donations_sharing_a_receipt_fail(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Donations:Individual CNY

        2026-01-10 * "王芳" "捐赠收入"
          entry-no: "1"
          type: "donation"
          donor: "王芳"
          receipt: "R-1"
          Assets:Fund:General  200.00 CNY
          Income:Donations:Individual  -200.00 CNY

        2026-01-11 * "李强" "捐赠收入"
          entry-no: "2"
          type: "donation"
          donor: "李强"
          receipt: "R-1"
          Assets:Fund:General  300.00 CNY
          Income:Donations:Individual  -300.00 CNY
        """
        self.assertEqual(reported(errors), [("receipt-unique", "2")])
        self.assertEqual(beancount_errors(errors), [])


class TestFundNonnegative(unittest.TestCase):
    @loader.load_doc(expect_errors=False)
    def test_spending_down_to_zero_passes(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Income:Government:Seed CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  1000.00 CNY
          Income:Government:Seed  -1000.00 CNY

        2026-02-01 * "专项资金分配"
          entry-no: "2"
          type: "allocation"
          Assets:Fund:Education  1000.00 CNY
          Assets:Fund:General  -1000.00 CNY

        2026-02-02 balance Assets:Fund:General  0.00 CNY
        """
        self.assertEqual(errors, [])

    @loader.load_doc(expect_errors=True)
    def test_allocating_more_than_the_general_pool_holds_fails(self, entries, errors,
                                                               options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Income:Government:Seed CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  1000.00 CNY
          Income:Government:Seed  -1000.00 CNY

        2026-02-01 * "专项资金分配"
          entry-no: "2"
          type: "allocation"
          Assets:Fund:Education  1000.01 CNY
          Assets:Fund:General  -1000.01 CNY
        """
        self.assertEqual(reported(errors), [("fund-nonnegative", "2")])
        self.assertEqual(beancount_errors(errors), [])

    @loader.load_doc(expect_errors=False)
    def test_dipping_below_zero_within_a_day_passes(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Income:Government:Seed CNY
        2026-01-01 open Income:Government:TopUp CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  1000.00 CNY
          Income:Government:Seed  -1000.00 CNY

        ; The general pool is at -500.00 between these two entries and at zero
        ; when the day ends.
        2026-03-02 * "专项资金分配"
          entry-no: "2"
          type: "allocation"
          Assets:Fund:Education  1500.00 CNY
          Assets:Fund:General  -1500.00 CNY

        2026-03-02 * "财政年度补充资金"
          entry-no: "3"
          type: "top-up"
          Assets:Fund:General  500.00 CNY
          Income:Government:TopUp  -500.00 CNY
        """
        self.assertEqual(errors, [])

    @loader.load_doc(expect_errors=True)
    def test_below_zero_at_the_end_of_a_day_fails(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Income:Government:Seed CNY
        2026-01-01 open Income:Government:TopUp CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  1000.00 CNY
          Income:Government:Seed  -1000.00 CNY

        2026-03-02 * "专项资金分配"
          entry-no: "2"
          type: "allocation"
          Assets:Fund:Education  1500.00 CNY
          Assets:Fund:General  -1500.00 CNY

        ; Made good one day too late: 2026-03-02 ended at -500.00.
        2026-03-03 * "财政年度补充资金"
          entry-no: "3"
          type: "top-up"
          Assets:Fund:General  500.00 CNY
          Income:Government:TopUp  -500.00 CNY
        """
        self.assertEqual(reported(errors), [("fund-nonnegative", "2")])
        self.assertIn("2026-03-02", messages(errors, "fund-nonnegative")[0])
        self.assertEqual(beancount_errors(errors), [])


class TestAvailableNonnegative(unittest.TestCase):
    @loader.load_doc(expect_errors=False)
    def test_committing_all_available_money_passes(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Liabilities:GrantsPayable:Education CNY
        2026-01-01 open Expenses:Grants:Education CNY
        2026-01-01 open Income:Donations:Enterprise CNY

        2026-01-10 * "定向捐赠"
          entry-no: "1"
          type: "donation"
          donor: "某公司"
          receipt: "R-1"
          Assets:Fund:Education  5000.00 CNY
          Income:Donations:Enterprise  -5000.00 CNY

        2026-02-10 * "助学项目批准" ^grant-P1
          entry-no: "2"
          type: "commitment"
          Expenses:Grants:Education  3000.00 CNY
          Liabilities:GrantsPayable:Education  -3000.00 CNY

        2026-02-11 * "助学项目批准" ^grant-P2
          entry-no: "3"
          type: "commitment"
          Expenses:Grants:Education  2000.00 CNY
          Liabilities:GrantsPayable:Education  -2000.00 CNY
        """
        self.assertEqual(errors, [])

    @loader.load_doc(expect_errors=False)
    def test_committing_before_allocating_on_the_same_day_passes(self, entries, errors,
                                                                 options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Liabilities:GrantsPayable:Education CNY
        2026-01-01 open Expenses:Grants:Education CNY
        2026-01-01 open Income:Government:Seed CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  5000.00 CNY
          Income:Government:Seed  -5000.00 CNY

        2026-02-10 * "助学项目批准" ^grant-P1
          entry-no: "2"
          type: "commitment"
          Expenses:Grants:Education  3000.00 CNY
          Liabilities:GrantsPayable:Education  -3000.00 CNY

        2026-02-10 * "专项资金分配"
          entry-no: "3"
          type: "allocation"
          Assets:Fund:Education  3000.00 CNY
          Assets:Fund:General  -3000.00 CNY
        """
        self.assertEqual(errors, [])

    @loader.load_doc(expect_errors=True)
    def test_committing_more_than_available_fails(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Liabilities:GrantsPayable:Education CNY
        2026-01-01 open Expenses:Grants:Education CNY
        2026-01-01 open Income:Donations:Enterprise CNY

        2026-01-10 * "定向捐赠"
          entry-no: "1"
          type: "donation"
          donor: "某公司"
          receipt: "R-1"
          Assets:Fund:Education  5000.00 CNY
          Income:Donations:Enterprise  -5000.00 CNY

        2026-02-10 * "助学项目批准" ^grant-P1
          entry-no: "2"
          type: "commitment"
          Expenses:Grants:Education  3000.00 CNY
          Liabilities:GrantsPayable:Education  -3000.00 CNY

        ; The fund account still holds 5000.00, but 3000.00 of it is owed already.
        2026-02-11 * "助学项目批准" ^grant-P2
          entry-no: "3"
          type: "commitment"
          Expenses:Grants:Education  2500.00 CNY
          Liabilities:GrantsPayable:Education  -2500.00 CNY
        """
        self.assertEqual(reported(errors), [("available-nonnegative", "3")])
        self.assertEqual(beancount_errors(errors), [])


class TestOutstandingNonnegative(unittest.TestCase):
    @loader.load_doc(expect_errors=False)
    def test_paying_and_releasing_exactly_what_was_committed_passes(self, entries, errors,
                                                                    options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Liabilities:GrantsPayable:Education CNY
        2026-01-01 open Expenses:Grants:Education CNY
        2026-01-01 open Income:Donations:Enterprise CNY

        2026-01-10 * "定向捐赠"
          entry-no: "1"
          type: "donation"
          donor: "某公司"
          receipt: "R-1"
          Assets:Fund:Education  5000.00 CNY
          Income:Donations:Enterprise  -5000.00 CNY

        2026-02-10 * "助学项目批准" ^grant-P1
          entry-no: "2"
          type: "commitment"
          Expenses:Grants:Education  3000.00 CNY
          Liabilities:GrantsPayable:Education  -3000.00 CNY

        2026-02-20 * "项目拨付" ^grant-P1
          entry-no: "3"
          type: "disbursement"
          Liabilities:GrantsPayable:Education  2500.00 CNY
          Assets:Fund:Education  -2500.00 CNY

        2026-03-31 * "释放未拨付承诺" ^grant-P1
          entry-no: "4"
          type: "release"
          Liabilities:GrantsPayable:Education  500.00 CNY
          Expenses:Grants:Education  -500.00 CNY

        2026-04-01 balance Liabilities:GrantsPayable:Education  0.00 CNY
        """
        self.assertEqual(errors, [])

    @loader.load_doc(expect_errors=True)
    def test_paying_more_than_the_purpose_committed_fails(self, entries, errors,
                                                          options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Liabilities:GrantsPayable:Education CNY
        2026-01-01 open Income:Donations:Enterprise CNY

        2026-01-10 * "定向捐赠"
          entry-no: "1"
          type: "donation"
          donor: "某公司"
          receipt: "R-1"
          Assets:Fund:Education  5000.00 CNY
          Income:Donations:Enterprise  -5000.00 CNY

        ; Nothing was committed for education. A grants-payable posting that names
        ; a project is held to that project's commitment (grant-outstanding), so the
        ; purpose-wide rule can only be the one that catches a payment naming none.
        2026-02-20 * "项目拨付"
          entry-no: "2"
          type: "disbursement"
          Liabilities:GrantsPayable:Education  500.00 CNY
          Assets:Fund:Education  -500.00 CNY
        """
        self.assertEqual(reported(errors),
                         [("grant-link", "2"), ("outstanding-nonnegative", "2")])
        self.assertEqual(beancount_errors(errors), [])


class TestGrantOutstanding(unittest.TestCase):
    @loader.load_doc(expect_errors=False)
    def test_paying_then_releasing_the_rest_passes(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Liabilities:GrantsPayable:Education CNY
        2026-01-01 open Expenses:Grants:Education CNY
        2026-01-01 open Income:Donations:Enterprise CNY

        2026-01-10 * "定向捐赠"
          entry-no: "1"
          type: "donation"
          donor: "某公司"
          receipt: "R-1"
          Assets:Fund:Education  5000.00 CNY
          Income:Donations:Enterprise  -5000.00 CNY

        2026-02-10 * "助学项目批准" ^grant-P1
          entry-no: "2"
          type: "commitment"
          Expenses:Grants:Education  1000.00 CNY
          Liabilities:GrantsPayable:Education  -1000.00 CNY

        2026-02-20 * "项目拨付" ^grant-P1
          entry-no: "3"
          type: "disbursement"
          Liabilities:GrantsPayable:Education  600.00 CNY
          Assets:Fund:Education  -600.00 CNY

        2026-02-28 * "释放未拨付承诺" ^grant-P1
          entry-no: "4"
          type: "release"
          Liabilities:GrantsPayable:Education  400.00 CNY
          Expenses:Grants:Education  -400.00 CNY
        """
        self.assertEqual(errors, [])

    @loader.load_doc(expect_errors=True)
    def test_paying_or_releasing_more_than_the_project_commitment_fails(
            self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Liabilities:GrantsPayable:Education CNY
        2026-01-01 open Expenses:Grants:Education CNY
        2026-01-01 open Income:Donations:Enterprise CNY

        2026-01-10 * "定向捐赠"
          entry-no: "1"
          type: "donation"
          donor: "某公司"
          receipt: "R-1"
          Assets:Fund:Education  5000.00 CNY
          Income:Donations:Enterprise  -5000.00 CNY

        2026-02-10 * "助学项目批准" ^grant-P1
          entry-no: "2"
          type: "commitment"
          Expenses:Grants:Education  1000.00 CNY
          Liabilities:GrantsPayable:Education  -1000.00 CNY

        ; Other projects keep the purpose as a whole owing more than it pays or
        ; releases, so only the project rule is broken.
        2026-02-11 * "助学项目批准" ^grant-P2
          entry-no: "3"
          type: "commitment"
          Expenses:Grants:Education  3000.00 CNY
          Liabilities:GrantsPayable:Education  -3000.00 CNY

        2026-02-12 * "助学项目批准" ^grant-P3
          entry-no: "4"
          type: "commitment"
          Expenses:Grants:Education  1000.00 CNY
          Liabilities:GrantsPayable:Education  -1000.00 CNY

        ; P1 owes 1000.00 and is paid 1200.00.
        2026-02-20 * "项目拨付" ^grant-P1
          entry-no: "5"
          type: "disbursement"
          Liabilities:GrantsPayable:Education  1200.00 CNY
          Assets:Fund:Education  -1200.00 CNY

        2026-02-21 * "释放未拨付承诺" ^grant-P2
          entry-no: "6"
          type: "release"
          Liabilities:GrantsPayable:Education  500.00 CNY
          Expenses:Grants:Education  -500.00 CNY

        ; P2 owes 2500.00 and releases 2600.00.
        2026-02-22 * "释放未拨付承诺" ^grant-P2
          entry-no: "7"
          type: "release"
          Liabilities:GrantsPayable:Education  2600.00 CNY
          Expenses:Grants:Education  -2600.00 CNY

        2026-02-23 balance Liabilities:GrantsPayable:Education  -700.00 CNY
        """
        self.assertEqual(reported(errors),
                         [("grant-outstanding", "5"), ("grant-outstanding", "7")])
        self.assertEqual(beancount_errors(errors), [])

    @loader.load_doc(expect_errors=True)
    def test_paying_before_committing_on_the_same_day_fails(self, entries, errors,
                                                            options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Liabilities:GrantsPayable:Education CNY
        2026-01-01 open Expenses:Grants:Education CNY
        2026-01-01 open Income:Donations:Enterprise CNY

        2026-01-10 * "定向捐赠"
          entry-no: "1"
          type: "donation"
          donor: "某公司"
          receipt: "R-1"
          Assets:Fund:Education  5000.00 CNY
          Income:Donations:Enterprise  -5000.00 CNY

        ; Project rules hold after every entry, not only at the end of the day:
        ; the day ends with the purpose in order, but the payment came first.
        2026-02-10 * "项目拨付" ^grant-P1
          entry-no: "2"
          type: "disbursement"
          Liabilities:GrantsPayable:Education  1000.00 CNY
          Assets:Fund:Education  -1000.00 CNY

        2026-02-10 * "助学项目批准" ^grant-P1
          entry-no: "3"
          type: "commitment"
          Expenses:Grants:Education  1000.00 CNY
          Liabilities:GrantsPayable:Education  -1000.00 CNY
        """
        self.assertEqual(reported(errors), [("grant-outstanding", "2")])
        self.assertEqual(beancount_errors(errors), [])


class TestGrantReturned(unittest.TestCase):
    @loader.load_doc(expect_errors=False)
    def test_returning_what_was_paid_passes(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Liabilities:GrantsPayable:Education CNY
        2026-01-01 open Expenses:Grants:Education CNY
        2026-01-01 open Income:Donations:Enterprise CNY

        2026-01-10 * "定向捐赠"
          entry-no: "1"
          type: "donation"
          donor: "某公司"
          receipt: "R-1"
          Assets:Fund:Education  5000.00 CNY
          Income:Donations:Enterprise  -5000.00 CNY

        2026-02-10 * "助学项目批准" ^grant-P1
          entry-no: "2"
          type: "commitment"
          Expenses:Grants:Education  1000.00 CNY
          Liabilities:GrantsPayable:Education  -1000.00 CNY

        2026-02-20 * "项目拨付" ^grant-P1
          entry-no: "3"
          type: "disbursement"
          Liabilities:GrantsPayable:Education  1000.00 CNY
          Assets:Fund:Education  -1000.00 CNY

        2026-03-20 * "结余资金退回" ^grant-P1
          entry-no: "4"
          type: "unspent-return"
          Assets:Fund:Education  1000.00 CNY
          Expenses:Grants:Education  -1000.00 CNY
        """
        self.assertEqual(errors, [])

    @loader.load_doc(expect_errors=True)
    def test_returning_more_than_was_paid_fails(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Liabilities:GrantsPayable:Education CNY
        2026-01-01 open Expenses:Grants:Education CNY
        2026-01-01 open Income:Donations:Enterprise CNY

        2026-01-10 * "定向捐赠"
          entry-no: "1"
          type: "donation"
          donor: "某公司"
          receipt: "R-1"
          Assets:Fund:Education  5000.00 CNY
          Income:Donations:Enterprise  -5000.00 CNY

        2026-02-10 * "助学项目批准" ^grant-P1
          entry-no: "2"
          type: "commitment"
          Expenses:Grants:Education  1000.00 CNY
          Liabilities:GrantsPayable:Education  -1000.00 CNY

        2026-02-20 * "项目拨付" ^grant-P1
          entry-no: "3"
          type: "disbursement"
          Liabilities:GrantsPayable:Education  600.00 CNY
          Assets:Fund:Education  -600.00 CNY

        2026-03-20 * "结余资金退回" ^grant-P1
          entry-no: "4"
          type: "unspent-return"
          Assets:Fund:Education  600.01 CNY
          Expenses:Grants:Education  -600.01 CNY
        """
        self.assertEqual(reported(errors), [("grant-returned", "4")])
        self.assertEqual(beancount_errors(errors), [])


class TestReversalLink(unittest.TestCase):
    @loader.load_doc(expect_errors=False)
    def test_exact_reversals_pass(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Liabilities:GrantsPayable:Education CNY
        2026-01-01 open Expenses:Grants:Education CNY
        2026-01-01 open Income:Government:Seed CNY
        2026-01-01 open Income:Interest CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  5000.00 CNY
          Income:Government:Seed  -5000.00 CNY

        2026-01-31 * "银行存款利息"
          entry-no: "2"
          type: "interest"
          Assets:Fund:General  12.00 CNY
          Income:Interest  -12.00 CNY

        ; Same day as the original, after it.
        2026-01-31 * "冲销 #2：银行存款利息" ^entry-T-2
          entry-no: "3"
          type: "reversal"
          reverses: "2"
          Assets:Fund:General  -12.00 CNY
          Income:Interest  12.00 CNY

        2026-02-01 * "专项资金分配"
          entry-no: "4"
          type: "allocation"
          Assets:Fund:Education  3000.00 CNY
          Assets:Fund:General  -3000.00 CNY

        2026-02-10 * "助学项目批准" ^grant-P1
          entry-no: "5"
          type: "commitment"
          Expenses:Grants:Education  2000.00 CNY
          Liabilities:GrantsPayable:Education  -2000.00 CNY

        2026-02-20 * "项目拨付" ^grant-P1
          entry-no: "6"
          type: "disbursement"
          Liabilities:GrantsPayable:Education  800.00 CNY
          Assets:Fund:Education  -800.00 CNY

        ; Postings in another order: still the exact opposite. The project owes
        ; 2000.00 again and can then be paid in full.
        2026-02-21 * "冲销 #6：项目拨付" ^grant-P1
          entry-no: "7"
          type: "reversal"
          reverses: "6"
          Assets:Fund:Education  800.00 CNY
          Liabilities:GrantsPayable:Education  -800.00 CNY

        2026-02-22 * "项目拨付" ^grant-P1
          entry-no: "8"
          type: "disbursement"
          Liabilities:GrantsPayable:Education  2000.00 CNY
          Assets:Fund:Education  -2000.00 CNY

        2026-02-23 balance Assets:Fund:General  2000.00 CNY
        2026-02-23 balance Assets:Fund:Education  1000.00 CNY
        """
        self.assertEqual(errors, [])

    @loader.load_doc(expect_errors=True)
    def test_reversal_of_a_missing_or_later_entry_fails(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Government:Seed CNY
        2026-01-01 open Income:Interest CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  5000.00 CNY
          Income:Government:Seed  -5000.00 CNY

        2026-01-31 * "冲销 #99"
          entry-no: "2"
          type: "reversal"
          reverses: "99"
          Assets:Fund:General  -12.00 CNY
          Income:Interest  12.00 CNY

        2026-02-01 * "冲销 #4"
          entry-no: "3"
          type: "reversal"
          reverses: "4"
          Assets:Fund:General  -12.00 CNY
          Income:Interest  12.00 CNY

        2026-02-28 * "银行存款利息"
          entry-no: "4"
          type: "interest"
          Assets:Fund:General  12.00 CNY
          Income:Interest  -12.00 CNY
        """
        self.assertEqual(reported(errors), [("reversal-link", "2"), ("reversal-link", "3")])
        self.assertEqual(beancount_errors(errors), [])

    @loader.load_doc(expect_errors=True)
    def test_reversal_naming_no_entry_fails(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Government:Seed CNY
        2026-01-01 open Income:Interest CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  5000.00 CNY
          Income:Government:Seed  -5000.00 CNY

        2026-01-31 * "银行存款利息"
          entry-no: "2"
          type: "interest"
          Assets:Fund:General  12.00 CNY
          Income:Interest  -12.00 CNY

        2026-02-01 * "冲销"
          entry-no: "3"
          type: "reversal"
          Assets:Fund:General  -12.00 CNY
          Income:Interest  12.00 CNY
        """
        # Only reversal-link, all on the reversal (how many times is not the point).
        self.assertEqual({error for error in reported(errors)}, {("reversal-link", "3")})
        self.assertEqual(beancount_errors(errors), [])

    @loader.load_doc(expect_errors=True)
    def test_reversing_an_entry_twice_fails(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Government:Seed CNY
        2026-01-01 open Income:Interest CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  5000.00 CNY
          Income:Government:Seed  -5000.00 CNY

        2026-01-31 * "银行存款利息"
          entry-no: "2"
          type: "interest"
          Assets:Fund:General  12.00 CNY
          Income:Interest  -12.00 CNY

        2026-02-01 * "冲销 #2"
          entry-no: "3"
          type: "reversal"
          reverses: "2"
          Assets:Fund:General  -12.00 CNY
          Income:Interest  12.00 CNY

        2026-02-02 * "冲销 #2"
          entry-no: "4"
          type: "reversal"
          reverses: "2"
          Assets:Fund:General  -12.00 CNY
          Income:Interest  12.00 CNY
        """
        self.assertEqual(reported(errors), [("reversal-link", "4")])
        self.assertEqual(beancount_errors(errors), [])

    @loader.load_doc(expect_errors=True)
    def test_reversal_that_is_not_the_exact_opposite_fails(self, entries, errors,
                                                           options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Government:Seed CNY
        2026-01-01 open Income:Interest CNY
        2026-01-01 open Expenses:BankFees CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  5000.00 CNY
          Income:Government:Seed  -5000.00 CNY

        2026-01-31 * "银行存款利息"
          entry-no: "2"
          type: "interest"
          Assets:Fund:General  12.00 CNY
          Income:Interest  -12.00 CNY

        2026-02-01 * "冲销 #2（金额不符）"
          entry-no: "3"
          type: "reversal"
          reverses: "2"
          Assets:Fund:General  -10.00 CNY
          Income:Interest  10.00 CNY

        2026-02-02 * "银行手续费"
          entry-no: "4"
          type: "bank-fee"
          Expenses:BankFees  5.00 CNY
          Assets:Fund:General  -5.00 CNY

        2026-02-03 * "冲销 #4（科目不符）"
          entry-no: "5"
          type: "reversal"
          reverses: "4"
          Assets:Fund:General  5.00 CNY
          Income:Interest  -5.00 CNY
        """
        self.assertEqual(reported(errors), [("reversal-link", "3"), ("reversal-link", "5")])
        self.assertEqual(beancount_errors(errors), [])


class TestEntryUnique(unittest.TestCase):
    @loader.load_doc(expect_errors=False)
    def test_distinct_entry_numbers_pass(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Government:Seed CNY
        2026-01-01 open Income:Interest CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  5000.00 CNY
          Income:Government:Seed  -5000.00 CNY

        2026-01-31 * "银行存款利息"
          entry-no: "2"
          type: "interest"
          Assets:Fund:General  12.00 CNY
          Income:Interest  -12.00 CNY
        """
        self.assertEqual(errors, [])

    @loader.load_doc(expect_errors=True)
    def test_two_entries_sharing_a_number_fail(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Government:Seed CNY
        2026-01-01 open Income:Interest CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  5000.00 CNY
          Income:Government:Seed  -5000.00 CNY

        2026-01-31 * "银行存款利息"
          entry-no: "1"
          type: "interest"
          Assets:Fund:General  12.00 CNY
          Income:Interest  -12.00 CNY
        """
        self.assertEqual(reported(errors), [("entry-unique", "1")])
        self.assertEqual(entries[-1].meta["type"], "interest")
        self.assertIs(next(e for e in errors if isinstance(e, FundRuleError)).entry,
                      entries[-1])
        self.assertEqual(beancount_errors(errors), [])


class TestCurrency(unittest.TestCase):
    @loader.load_doc(expect_errors=False)
    def test_cny_postings_pass(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Government:Seed CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  5000.00 CNY
          Income:Government:Seed  -5000.00 CNY
        """
        self.assertEqual(errors, [])

    @loader.load_doc(expect_errors=True)
    def test_postings_in_another_currency_fail(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"

        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Government:Seed CNY
        2026-01-01 open Income:Interest CNY

        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  5000.00 CNY
          Income:Government:Seed  -5000.00 CNY

        2026-01-31 * "银行存款利息"
          entry-no: "2"
          type: "interest"
          Assets:Fund:General  12.00 USD
          Income:Interest  -12.00 USD
        """
        # Only currency, all on the USD entry (one report per offending posting).
        self.assertEqual(rules_reported(errors), {"currency"})
        self.assertEqual({no for _, no in reported(errors)}, {"2"})
        # The accounts are opened for CNY, so Beancount refuses the postings too.
        self.assertTrue(beancount_errors(errors))
        for message in beancount_errors(errors):
            self.assertIn("Invalid currency USD", message)


class TestWhatTheJournalRefusesTheFileMayNotSay(unittest.TestCase):
    """Rules the SQL journal enforces, checked on hand-edited files too."""

    @loader.load_doc(expect_errors=True)
    def test_a_pad_cannot_invent_money(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"
        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Equity:Opening-Balances CNY
        2026-01-01 open Income:Government:Seed CNY
        2026-01-10 * "财政启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  1000.00 CNY
          Income:Government:Seed  -1000.00 CNY
        2026-01-20 pad Assets:Fund:General Equity:Opening-Balances
        2026-01-21 balance Assets:Fund:General  -5000.00 CNY
        """
        self.assertIn("no-pad", {m.split("]")[0][1:] for m in
                                 (e.message for e in errors if isinstance(e, FundRuleError))})

    @loader.load_doc(expect_errors=True)
    def test_reversing_a_reversal_fails(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"
        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Interest CNY
        2026-01-10 * "利息"
          entry-no: "1"
          type: "interest"
          Assets:Fund:General  10.00 CNY
          Income:Interest  -10.00 CNY
        2026-01-11 * "冲销 #1"
          entry-no: "2"
          type: "reversal"
          reverses: "1"
          Assets:Fund:General  -10.00 CNY
          Income:Interest  10.00 CNY
        2026-01-12 * "冲销 #2"
          entry-no: "3"
          type: "reversal"
          reverses: "2"
          Assets:Fund:General  10.00 CNY
          Income:Interest  -10.00 CNY
        """
        self.assertEqual(reported(errors), [("reversal-link", "3")])

    @loader.load_doc(expect_errors=True)
    def test_committing_a_project_twice_fails(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"
        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Liabilities:GrantsPayable:Education CNY
        2026-01-01 open Expenses:Grants:Education CNY
        2026-01-01 open Income:Government:Seed CNY
        2026-01-10 * "s"
          entry-no: "1"
          type: "seed"
          Assets:Fund:Education  5000.00 CNY
          Income:Government:Seed  -5000.00 CNY
        2026-02-01 * "c" ^grant-P1
          entry-no: "2"
          type: "commitment"
          Expenses:Grants:Education  1000.00 CNY
          Liabilities:GrantsPayable:Education  -1000.00 CNY
        2026-02-02 * "c again" ^grant-P1
          entry-no: "3"
          type: "commitment"
          Expenses:Grants:Education  1000.00 CNY
          Liabilities:GrantsPayable:Education  -1000.00 CNY
        """
        self.assertEqual(reported(errors), [("grant-commitment", "3")])

    @loader.load_doc(expect_errors=True)
    def test_fractions_of_a_fen_and_zero_amounts_fail(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"
        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Interest CNY
        2026-01-01 open Expenses:BankFees CNY
        2026-01-10 * "利息"
          entry-no: "1"
          type: "interest"
          Assets:Fund:General  10.001 CNY
          Income:Interest  -10.001 CNY
        2026-01-11 * "手续费"
          entry-no: "2"
          type: "bank-fee"
          Expenses:BankFees  0.00 CNY
          Assets:Fund:General  0.00 CNY
        """
        self.assertEqual(reported(errors), [("currency", "1"), ("currency", "1"),
                                            ("currency", "2"), ("currency", "2")])

    @loader.load_doc(expect_errors=True)
    def test_an_entry_without_a_number_fails(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"
        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Interest CNY
        2026-01-10 * "利息"
          type: "interest"
          Assets:Fund:General  10.00 CNY
          Income:Interest  -10.00 CNY
        """
        self.assertEqual(reported(errors), [("entry-unique", "None")])


class TestBankReconciled(unittest.TestCase):
    """The bank's month-end balance equals the sum of the fund's accounts."""

    @loader.load_doc(expect_errors=False)
    def test_the_bank_agrees_with_the_fund_accounts(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"
        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Assets:Fund:Education CNY
        2026-01-01 open Income:Government:Seed CNY
        2026-01-10 * "启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  1000.00 CNY
          Income:Government:Seed  -1000.00 CNY
        2026-01-20 * "分配"
          entry-no: "2"
          type: "allocation"
          Assets:Fund:Education  400.00 CNY
          Assets:Fund:General  -400.00 CNY
        2026-01-31 custom "bank-balance" 1000.00 CNY
        2026-02-28 custom "bank-balance" 1000.00 CNY
        """

    @loader.load_doc(expect_errors=True)
    def test_a_bank_balance_that_disagrees_fails(self, entries, errors, options_map):
        """
        plugin "ledger.plugins.fund_rules"
        2026-01-01 open Assets:Fund:General CNY
        2026-01-01 open Income:Government:Seed CNY
        2026-01-10 * "启动资金"
          entry-no: "1"
          type: "seed"
          Assets:Fund:General  1000.00 CNY
          Income:Government:Seed  -1000.00 CNY
        2026-01-31 custom "bank-balance" 1001.00 CNY
        """
        self.assertEqual([e.message.split("]")[0] for e in errors
                          if isinstance(e, FundRuleError)], ["[bank-reconciled"])
