"""Money is ``Decimal`` in CNY with two places, never float.

In the database an amount is stored as whole fen (cents) in a BIGINT, which is
exact on SQLite and PostgreSQL alike; ``MoneyType`` converts at the boundary.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

from core.errors import InvalidInput

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# No single entry in a county children's fund comes near a billion yuan; a larger
# figure is a typing slip (extra zeros) and is refused rather than booked.
MAX_AMOUNT = Decimal("1000000000.00")


def parse_amount(value: object, *, allow_zero: bool = False) -> Decimal:
    """Turn user input into an exact positive amount, or refuse it clearly."""
    if isinstance(value, float):
        raise InvalidInput("Amounts must be given as exact decimals, not floating point.")
    if isinstance(value, Decimal):
        amount = value
    else:
        text = str(value).strip().replace(",", "").replace("，", "")
        text = text.removeprefix("¥").removeprefix("￥").strip()
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise InvalidInput("“{value}” is not an amount.", value=str(value)[:40]) from None
    if not amount.is_finite():
        raise InvalidInput("An amount must be a finite number.")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(CENT):
        raise InvalidInput(
            "An amount has at most two decimal places (fen): {value}.", value=str(value)[:40]
        )
    amount = amount.quantize(CENT)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidInput("An amount must be greater than zero: {value}.", value=str(value)[:40])
    if amount > MAX_AMOUNT:
        raise InvalidInput(
            "{value} exceeds the largest amount accepted in one entry ({limit}).",
            value=format_cny(amount),
            limit=format_cny(MAX_AMOUNT),
        )
    return amount


def to_cents(amount: Decimal) -> int:
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise InvalidInput("An amount has at most two decimal places (fen): {value}.", value=amount)
    return int(cents)


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def format_cny(amount: Decimal) -> str:
    """¥1,234.56 — the same grouping in Chinese and English; negatives as -¥1.00."""
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def format_plain(amount: Decimal) -> str:
    """Amount without currency sign, for tables and files: 1234.56."""
    return f"{amount.quantize(CENT):.2f}"


class MoneyType(TypeDecorator[Decimal]):
    """A ``Decimal`` column stored as integer fen."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: object) -> int | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, not float")
        return to_cents(Decimal(value))

    def process_result_value(self, value: int | None, dialect: object) -> Decimal | None:
        return None if value is None else from_cents(value)
