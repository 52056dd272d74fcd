"""Children's names and ID numbers never reach the public (DESIGN §3).

Canary children, with invented names and well-formed invented ID numbers, are put on
the beneficiary list of a public (approved) project. Then every public page, every
open dataset in both formats and with every filter, and every log line written
meanwhile at DEBUG (SQL statements and rows included) is searched for them.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from core.db import transaction
from core.protection import Protector
from grants.access import get_project
from grants.beneficiaries import add_beneficiary
from ledger.journal import find_fund
from reports import public
from reports.annual import annual_pdf
from reports.models import AnnualReport
from tests.reports.test_public import disclose
from tests.reports.test_statements import pdf_text
from webapp.demo import synthetic_id

# Names no real text on the pages could contain by chance.
CHILDREN = [
    ("金丝雀甲", synthetic_id("512002", dt.date(2015, 3, 8), 917), "left_behind", "金丝雀监护人甲"),
    ("金丝雀乙", synthetic_id("512021", dt.date(2010, 11, 23), 428), "orphan", None),
    ("Canary Zhang", synthetic_id("512022", dt.date(2016, 1, 30), 651), "in_difficulty",
     "Canary Guardian"),
]


def secrets() -> list[str]:
    """Every name and ID number, and the pieces of an ID a page might show on its own."""
    found = []
    for name, number, _category, guardian in CHILDREN:
        found += [name, number, number[:3] + "*" * 11 + number[-4:], number[6:14]]
        if guardian:
            found.append(guardian)
    return found


@pytest.fixture
def planted(app, world, factory, post, approved):
    """The disclosure world, with canary children on its approved project's list,
    encrypted with the app's own keys."""
    disclosed = disclose(world, factory, post, approved)
    protector = Protector(str(app.config["DATA_KEY"]).encode(),
                          str(app.config["HASH_KEY"]).encode())
    with transaction(factory) as session:
        project = get_project(session, world["ca"], approved, for_update=True)
        for name, number, category, guardian in CHILDREN:
            add_beneficiary(session, world["ca"], protector, project, name=name,
                            id_number=number, category=category, guardian=guardian,
                            guardian_consent=True)
    return disclosed


def every_public_url() -> list[str]:
    urls = ["/public/", "/public/data/", "/public/funds/NOPE", "/public/data/nope.csv"]
    for code in ("ZYS", "YJQ", "AYX"):
        for year in (2025, 2026):
            urls += [f"/public/funds/{code}?year={year}",
                     f"/public/funds/{code}?year={year}&projects_page=2&donations_page=2"]
        urls.append(f"/public/funds/{code}")
    for name in public.OPEN_DATA:
        for fmt in ("csv", "json"):
            for query in ("", "?fund=YJQ", "?fund=YJQ&year=2026", "?fund=ZYS", "?year=2025"):
                urls.append(f"/public/data/{name}.{fmt}{query}")
    return urls


def test_no_public_page_dataset_or_log_line_names_a_child(site, planted, caplog):
    for logger in ("", "sqlalchemy", "werkzeug", "specialfund"):
        caplog.set_level(logging.DEBUG, logger=logger or None)
    seen = []
    for url in every_public_url():
        response = site.get(url)
        assert response.status_code in (200, 404), url
        body = response.get_data()
        text = body.decode("utf-8-sig")
        seen.append(url)
        for secret in secrets():
            assert secret not in text, (url, secret)
            assert secret.encode("utf-8") not in body, (url, secret)
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert caplog.records, "the logs were not captured at all"
    for secret in secrets():
        assert secret not in logged, secret
    assert len(seen) == len(every_public_url()) > 90


def test_no_annual_report_names_a_child(planted, factory, tmp_path):
    """The public report of the canaries' year, for their county and for the city."""
    with transaction(factory) as session:
        for code in ("YJQ", "ZYS"):
            fund = find_fund(session, code)
            report = AnnualReport(fund=fund, year=2026, consolidated=fund.level == "city",
                                  narrative={}, state="draft")
            printed = pdf_text(annual_pdf(session, report), tmp_path)
            assert "120" in printed  # the children are counted
            for secret in secrets():
                assert "".join(secret.split()) not in printed, (code, secret)
        session.rollback()


def test_the_canaries_are_really_there(planted, login, approved):
    """The control: civil affairs of the county does see them, so the search above could
    have found them."""
    page = login("ca").get(f"/projects/{approved}").get_data(as_text=True)
    assert all(name in page for name, *_ in CHILDREN)


def test_the_project_still_counts_its_children_by_category(site, planted):
    body = site.get("/public/data/projects.json?fund=YJQ").get_data(as_text=True)
    assert '"left_behind": 100' in body and '"children": 120' in body
    page = site.get("/public/funds/YJQ").get_data(as_text=True)
    assert f'data-ref="{planted.ref}"' in page
