"""Every test's books are verified when it ends: a test that leaves books `ledger verify`
or `audit verify` would refuse is reported as an error, unless it is marked as tampering."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

TESTS = '''
import datetime as dt

import pytest
from sqlalchemy import text


@pytest.fixture
def books(make_fund, post, factory):
    code = make_fund("YJQ")
    post("seed", code, date=dt.date(2025, 1, 5), amount="100", doc_no="D1")
    return factory


def forge(factory):
    with factory() as session:
        session.execute(text("UPDATE accounts SET balance = balance + 100 "
                             "WHERE name = 'Assets:Fund:General'"))
        session.commit()


def test_clean(books):
    pass


def test_forged(books):
    forge(books)


@pytest.mark.tampers
def test_forged_on_purpose(books):
    forge(books)
'''


def test_a_test_that_leaves_broken_books_errors(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["tests.conftest"]')
    pytester.makeini("[pytest]\nmarkers =\n    tampers: corrupts the books on purpose\n")
    pytester.makepyfile(test_books=TESTS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_forged*",
        "*the books this test left do not verify*",
        "*ledger verify YJQ: Assets:Fund:General: SQL balance ¥101.00, Beancount ¥100.00*",
    ])
    assert "test_forged_on_purpose" not in result.stdout.str().split("short test summary")[1]
