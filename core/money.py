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
    if amount > MAX_AMOUNT:  # before quantizing: 1e400 cannot be quantized at all
        raise InvalidInput(
            "{value} exceeds the largest amount accepted in one entry ({limit}).",
            value=str(value)[:40], limit=format_cny(MAX_AMOUNT),
        )
    if amount != amount.quantize(CENT):
        raise InvalidInput(
            "An amount has at most two decimal places (fen): {value}.", value=str(value)[:40]
        )
    amount = amount.quantize(CENT)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidInput("An amount must be greater than zero: {value}.", value=str(value)[:40])
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


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿", "万亿")


def _four_digits(group: int) -> str:
    """0..9999 in capitals, with 零 for inner gaps (1005 -> 壹仟零伍)."""
    text, zero = "", False
    for position in range(3, -1, -1):
        digit = group // 10 ** position % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += _DIGITS[digit] + _SMALL_UNITS[position]
    return text


def chinese_capital(amount: Decimal) -> str:
    """An amount in Chinese capital numerals (大写) as 会计基础工作规范 writes them:
    整 after 元 or 角, never after 分: Decimal("10005.30") gives 壹万零伍元叁角整."""
    amount = amount.quantize(CENT)
    if amount < 0:
        return "负" + chinese_capital(-amount)
    yuan = int(amount)
    fen_total = int((amount - yuan) * 100)
    jiao, fen = divmod(fen_total, 10)
    text = ""
    if yuan:
        groups = []
        while yuan:
            yuan, group = divmod(yuan, 10000)
            groups.append(group)
        zero = False
        for index in range(len(groups) - 1, -1, -1):
            group = groups[index]
            if group == 0:
                zero = True
                continue
            if text and (zero or group < 1000):
                text += "零"
            text += _four_digits(group) + _BIG_UNITS[index]
            zero = False
        text += "元"
    if not jiao and not fen:
        return (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen:
        return text + _DIGITS[fen] + "分"
    return text + "整"
