"""One strict reader for what people type: lines of text, dates and whole numbers (amounts
are read by ``core.money.parse_amount``, on the same rules).

Every door -- pages, API, console, bank statements -- reads through here, so a value
means the same wherever it comes in. Digits are ASCII or full-width (normalized, as a
Chinese input method types them); digits of other scripts (Arabic-Indic ٣, superscript ²,
which ``str.isdigit`` and ``int`` accept), exponents, underscores and anything else are
refused with a message that names the field and never echoes the input.
"""

from __future__ import annotations

import datetime as dt
import re

from core.errors import InvalidInput
from core.i18n import gettext
from core.screening import strip_invisible

# What a Chinese input method types in full width, read as its ASCII twin.
_FULL_WIDTH = str.maketrans({**{chr(0xFF10 + d): str(d) for d in range(10)},
                             "．": ".", "，": ",", "－": "-", "＋": "+", "\u3000": " "})
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_INTEGER = re.compile(r"-?[0-9]{1,20}")
# The longest text worth reading as one value; a longer one is refused before parsing.
MAX_TEXT = 40
# The longest line of text a field takes unless it says otherwise.
MAX_LINE = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Identifiers and counters are INTEGER columns on PostgreSQL (SQLite has no limit);
# a larger number in a URL or a form would overflow in the query.
DB_INT_MAX = 2**31 - 1


def ascii_digits(text: str) -> str:
    """Full-width digits, point, comma, minus and space as their ASCII forms."""
    return text.translate(_FULL_WIDTH)


def read_date(value: object, field: str) -> dt.date:
    """A calendar day written YYYY-MM-DD (a ``date`` passes through); refused: other
    layouts (2026/7/1, 20260701, 2026-W27-3), times (2026-07-01T00:00:00), timestamps,
    days that do not exist and digits of other scripts."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and len(value) <= MAX_TEXT:
        match = _DATE.fullmatch(ascii_digits(value).strip())
        if match is not None:
            try:
                return dt.date(*(int(part) for part in match.groups()))
            except ValueError:
                pass
    raise InvalidInput("{field}: not a date; write a day that exists as YYYY-MM-DD, "
                       "such as 2026-07-01.", field=field)


def read_int(value: object, field: str, *, minimum: int = 1,
             maximum: int = DB_INT_MAX) -> int:
    """A whole number in ``minimum``..``maximum`` written in digits (an ``int`` passes the
    same range check); ``maximum`` defaults to the database's INTEGER range."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        text = ascii_digits(value).strip()
        if _INTEGER.fullmatch(text):
            number = int(text)
    if number is None or not minimum <= number <= maximum:
        raise InvalidInput("{field}: give a whole number from {minimum} to {maximum}.",
                           field=field, minimum=minimum, maximum=maximum)
    return number


def clean_text(value: str | None, field: str, *, required: bool = False,
               limit: int = MAX_LINE) -> str | None:
    """One line of text: control characters refused, invisible characters (bidi
    overrides, zero-width characters) stripped, surrounding space trimmed."""
    if value is not None:
        value = strip_invisible(value)
    if value is None or not value.strip():
        if required:
            raise InvalidInput("{field} is required.", field=gettext(field))
        return None
    value = value.strip()
    if _CONTROL.search(value):
        raise InvalidInput("{field} must be a single line of text.", field=gettext(field))
    if len(value) > limit:
        raise InvalidInput("{field} is longer than {limit} characters.", field=gettext(field),
                           limit=limit)
    return value
