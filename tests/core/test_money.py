"""Amount parsing, formatting and capital numerals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import InvalidInput
from core.i18n import locale_as
from core.money import chinese_capital, format_cny, parse_amount


@pytest.mark.parametrize(("value", "capital"), [
    ("0", "零元整"), ("0.05", "伍分"), ("0.50", "伍角整"), ("1", "壹元整"), ("15", "壹拾伍元整"),
    ("101", "壹佰零壹元整"), ("1005", "壹仟零伍元整"), ("10005.30", "壹万零伍元叁角整"),
    ("100005", "壹拾万零伍元整"), ("120000", "壹拾贰万元整"), ("100010000", "壹亿零壹万元整"),
    ("12345.67", "壹万贰仟叁佰肆拾伍元陆角柒分"), ("3000000.08", "叁佰万元零捌分"),
    ("1010.01", "壹仟零壹拾元零壹分"), ("200000000.00", "贰亿元整"),
])
def test_chinese_capital(value, capital):
    assert chinese_capital(Decimal(value)) == capital


@pytest.mark.parametrize(("text", "amount"), [
    ("1,200.50", "1200.50"), ("¥1200.5", "1200.50"), ("￥ 88", "88.00"), ("1，000", "1000.00"),
    ("3.10", "3.10"),
])
def test_amounts_people_type(text, amount):
    assert parse_amount(text) == Decimal(amount)


def test_format_cny():
    assert format_cny(Decimal("1234567.8")) == "¥1,234,567.80"
    assert format_cny(Decimal("-1")) == "-¥1.00"


@pytest.mark.parametrize("bad", ["0", "-1", "1.001", "1e400", "NaN", "sNaN", "inf", "1 000",
                                 "一百", "", "1000000000.01"])
def test_bad_amounts(bad):
    with pytest.raises(InvalidInput):
        parse_amount(bad)


# --- one strict reader (issue 9) -------------------------------------------------------------


@pytest.mark.parametrize(("text", "amount"), [
    ("１２３４.５０", "1234.50"), ("¥1,234.50", "1234.50"), ("￥１，２３４．５", "1234.50"),
    ("1,234,567.89", "1234567.89"), (" 88 ", "88.00"), ("0.01", "0.01"),
])
def test_ascii_or_full_width_digits_grouped_by_three(text, amount):
    assert parse_amount(text, field="--amount") == Decimal(amount)


# Each of these was once read as a number (Decimal reads exponents, underscores and any
# script's digits; commas were simply dropped).
@pytest.mark.parametrize("bad", ["1e3", "1E3", "1_000", "1,2,3", "12,34", "1,0000", "١٢٣",
                                 "۱۲۳", "१२३", "1.000", "+5"])
def test_what_once_passed_for_an_amount_is_refused(bad):
    with pytest.raises(InvalidInput):
        parse_amount(bad)


@pytest.mark.parametrize("bad", ["1e3", "1_000", "1,2,3", "١٢٣", "²", "NaN", "Infinity",
                                 "-inf", "abc", "1.001", "-1", "1000000000.01"])
def test_a_refusal_names_the_field_and_echoes_nothing(bad):
    with locale_as("en"), pytest.raises(InvalidInput) as refused:
        parse_amount(bad, field="Requested amount (yuan)")
    with locale_as("en"):
        message = refused.value.message
    assert message.startswith("Requested amount (yuan): "), message
    assert bad not in message, message


def test_an_amount_without_a_field_is_called_an_amount():
    with locale_as("zh_CN"), pytest.raises(InvalidInput) as refused:
        parse_amount("1e3")
    assert refused.value.message.startswith("金额：")


def test_code_may_pass_decimals_and_ints_but_never_floats():
    assert parse_amount(Decimal("12.5"), field="x") == Decimal("12.50")
    assert parse_amount(12, field="x") == Decimal("12.00")
    for bad in (1.5, True, Decimal("NaN"), Decimal("1.001"), None, ["1"], "¥-5", "--5"):
        with locale_as("en"), pytest.raises(InvalidInput) as refused:
            parse_amount(bad, field="x")
        with locale_as("en"):
            assert refused.value.message.startswith("x: "), bad
