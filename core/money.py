"""Money is ``Decimal`` in CNY with two places, never float.

In the database an amount is stored as whole fen (cents) in a BIGINT, which is
exact on SQLite and PostgreSQL alike; ``MoneyType`` converts at the boundary.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

from core.errors import InvalidInput
from core.i18n import N_, gettext
from core.reading import MAX_TEXT, ascii_digits

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# No single entry in a county children's fund comes near a billion yuan; a larger
# figure is a typing slip (extra zeros) and is refused rather than booked.
MAX_AMOUNT = Decimal("1000000000.00")


def parse_amount(value: object, *, allow_zero: bool = False, field: str | None = None
                 ) -> Decimal:
    """Turn user input into an exact positive amount, or refuse it clearly.

    Text is yuan in ASCII or full-width digits, with at most two decimal places, commas
    only between groups of three digits and an optional ¥ or ￥: ``1234.5``, ``¥1,234.50``,
    ``１２３４.５０``. Everything else is refused, naming ``field`` (the form's label, the
    API's field or the console's option; "Amount" when not given): exponents (1e3),
    underscores (1_000), stray commas (1,2,3), digits of other scripts (١٢٣, ²), NaN and
    infinities, floats. A ``Decimal`` or an ``int`` is checked on the same limits.
    """
    label = field if field is not None else gettext("Amount")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int) and not isinstance(value, bool):
        amount = Decimal(value)
    elif isinstance(value, float):
        raise InvalidInput("{field}: amounts are exact decimals, never floating point.",
                           field=label)
    else:
        amount = _read_amount_text(value, label)
    if not amount.is_finite():
        raise InvalidInput(_NOT_AN_AMOUNT, field=label)
    if amount <= 0 and not allow_zero:
        raise InvalidInput("{field}: an amount must be greater than zero.", field=label)
    if amount < 0:
        raise InvalidInput("{field}: an amount cannot be negative.", field=label)
    if amount > MAX_AMOUNT:  # before quantizing: 1e400 cannot be quantized at all
        raise InvalidInput("{field}: the largest amount accepted in one entry is {limit}.",
                           field=label, limit=format_cny(MAX_AMOUNT))
    if amount != amount.quantize(CENT):
        raise InvalidInput(_TOO_PRECISE, field=label)
    return amount.quantize(CENT)


_NOT_AN_AMOUNT = N_("{field}: not an amount; write yuan in digits with at most two decimal "
                    "places, such as 1234.50 or ¥1,234.50 (a comma only between groups of "
                    "three digits).")
_TOO_PRECISE = N_("{field}: an amount has at most two decimal places (fen).")
# Sign, currency sign, whole yuan (plain or grouped by three), decimals. ASCII only:
# full-width input is normalized first, and [0-9] (unlike \d) matches no other script.
_AMOUNT = re.compile(r"(-)?[¥￥]? *(-)?([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))?")


def _read_amount_text(value: object, label: str) -> Decimal:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise InvalidInput(_NOT_AN_AMOUNT, field=label)
    match = _AMOUNT.fullmatch(ascii_digits(value).strip())
    if match is None:
        raise InvalidInput(_NOT_AN_AMOUNT, field=label)
    sign, inner_sign, whole, fraction = match.groups()
    if sign and inner_sign:
        raise InvalidInput(_NOT_AN_AMOUNT, field=label)
    if fraction is not None and len(fraction) > 2:
        raise InvalidInput(_TOO_PRECISE, field=label)
    text = whole.replace(",", "") + (f".{fraction}" if fraction else "")
    return -Decimal(text) if sign or inner_sign else Decimal(text)


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
