"""The strict reader of dates and whole numbers that every door shares."""

from __future__ import annotations

import datetime as dt

import pytest

from core.errors import InvalidInput
from core.i18n import locale_as
from core.reading import DB_INT_MAX, read_date, read_int


@pytest.mark.parametrize(("value", "day"), [
    ("2026-07-01", dt.date(2026, 7, 1)), ("２０２６-０７-０１", dt.date(2026, 7, 1)),
    ("２０２６－０７－０１", dt.date(2026, 7, 1)), (" 2024-02-29 ", dt.date(2024, 2, 29)),
    (dt.date(2026, 7, 1), dt.date(2026, 7, 1)),
])
def test_a_day_is_yyyy_mm_dd(value, day):
    assert read_date(value, "Date") == day


# The first four are what date.fromisoformat also reads (Python 3.11); the rest were never
# dates, or are days that do not exist.
@pytest.mark.parametrize("bad", [
    "20260701", "2026-W27-3", "2026-07-01T00:00:00", "2026-07-01 00:00", "2026-7-1",
    "2026/07/01", "٢٠٢٦-٠٧-٠١", "2026-07-0²", "2026-02-30", "0000-01-01", "", "today",
    "2026-07-01" * 10, dt.datetime(2026, 7, 1, tzinfo=dt.UTC), 1782864000, None,
])
def test_anything_else_is_refused_naming_the_field(bad):
    with locale_as("en"), pytest.raises(InvalidInput) as refused:
        read_date(bad, "--date")
    with locale_as("en"):
        assert refused.value.message == ("--date: not a date; write a day that exists as "
                                         "YYYY-MM-DD, such as 2026-07-01.")


@pytest.mark.parametrize(("value", "number"), [("12", 12), ("１２", 12), (" 7 ", 7), (5, 5),
                                               (str(DB_INT_MAX), DB_INT_MAX)])
def test_a_whole_number(value, number):
    assert read_int(value, "page") == number


@pytest.mark.parametrize("bad", ["²", "١٢٣", "1_000", "1e3", "1.0", "+1", "0", "-1",
                                 "99999999999999999999", str(DB_INT_MAX + 1), "9" * 5000,
                                 True, 1.0, None, ""])
def test_a_whole_number_within_the_database_range(bad):
    with locale_as("en"), pytest.raises(InvalidInput) as refused:
        read_int(bad, "projects_page")
    with locale_as("en"):
        assert refused.value.message == (
            f"projects_page: give a whole number from 1 to {DB_INT_MAX}.")


def test_a_narrower_range():
    assert read_int("2026", "year", minimum=2000, maximum=2100) == 2026
    with pytest.raises(InvalidInput):
        read_int("1999", "year", minimum=2000, maximum=2100)
