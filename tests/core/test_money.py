"""Amount parsing, formatting and capital numerals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import InvalidInput
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
