"""Every CSV and XLSX the app writes keeps hostile text as text (OWASP CSV injection)
and numbers as numbers: downloads (statements, registers, receipts, the audit-log
extract) and open data, through the app's own routes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import openpyxl
import pytest

from core.db import transaction
from grants import operations as ops
from ledger import donations
from reports import public
from tests.webapp.conftest import prepared
from tests.worlds import project_input
from webapp.downloads.routes import REPORTS

HOSTILE = '=HYPERLINK("http://x","y")'
HOSTILE_TITLE = "@SUM(1+1)*cmd|' /C calc'!A0"
HOSTILE_UNIT = "+86 民政局"
HOSTILE_REASON = "-2+3 抬头有误"
NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
RISKY = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def hostile(world, factory):
    """A project, a donor and a voided receipt whose texts a spreadsheet would run."""
    project = world.run("ca", ops.create_project, data=project_input(
        title=HOSTILE_TITLE, implementing_unit=HOSTILE_UNIT, requested_amount="60000",
        budget=[("助学金", "60000")], tranches=[(dt.date(2026, 7, 10), "60000", "none")]))
    world.run("ca", ops.submit, project)
    world.run("co", ops.check, project, no_conflict=True)
    world.run("fin1", ops.approve, project, amount="60000", no_conflict=True)
    office = world["co"]
    with transaction(factory) as s:
        donor = donations.add_donor(s, office, "YJQ", kind="individual", name=HOSTILE).id
    with transaction(factory) as s:
        first = donations.record_donation(s, office, "YJQ", donor_id=donor,
                                          date=dt.date(2026, 2, 1), amount="500").code
        donations.record_donation(s, office, "YJQ", donor_id=donor,
                                  date=dt.date(2025, 6, 1), amount="800")
    with transaction(factory) as s:
        donations.void_receipt(s, office, "YJQ", first, reason=HOSTILE_REASON, reissue=True)
    return project


def csv_cells(body: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row]


def check_csv(name: str, body: bytes) -> list[str]:
    """Every risky cell is a number or behind a quote; returns the cells."""
    cells = csv_cells(body)
    for cell in cells:
        if cell.startswith(RISKY):
            assert NUMBER.match(cell), (name, cell)
        if cell.startswith("'"):
            assert not NUMBER.match(cell[1:]), (name, cell)  # a number is never quoted
    return cells


def check_xlsx(name: str, body: bytes) -> list[object]:
    """No cell of any sheet is a formula, and risky text is marked as text; returns the
    values."""
    book = openpyxl.load_workbook(io.BytesIO(body))
    values = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (name, sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value.startswith(RISKY):
                    # stays text even when someone edits it in Excel
                    assert cell.quotePrefix, (name, sheet.title, cell.coordinate)
                values.append(cell.value)
    book.close()
    return values


def test_every_download_keeps_hostile_text_as_text(world, login, hostile):
    client = login("aud")
    seen: dict[str, set[str]] = {}
    for report in sorted(REPORTS):
        for period in ("2025", "2026"):
            query = f"fund=YJQ&report={report}&period={period}&format="
            as_csv = prepared(client, query + "csv")
            assert as_csv.status_code == 200, (report, period)
            cells = check_csv(report, as_csv.data)
            as_xlsx = prepared(client, query + "xlsx")
            assert as_xlsx.status_code == 200, (report, period)
            values = check_xlsx(report, as_xlsx.data)
            for text in (HOSTILE, HOSTILE_TITLE, HOSTILE_UNIT, HOSTILE_REASON):
                if "'" + text in cells:
                    seen.setdefault(text, set()).add(f"{report}.csv")
                    assert text in values, (report, text)  # the XLSX holds it, unquoted
                    seen[text].add(f"{report}.xlsx")
                assert text not in cells, (report, text)  # never unquoted in CSV
    assert {"donation-register.csv", "donation-register.xlsx", "receipt-register.csv",
            "receipt-register.xlsx"} <= seen[HOSTILE]
    assert {"grant-register.csv", "grant-register.xlsx"} <= seen[HOSTILE_TITLE]
    assert {"grant-register.csv", "grant-register.xlsx"} <= seen[HOSTILE_UNIT]
    assert {"receipt-register.csv", "receipt-register.xlsx"} <= seen[HOSTILE_REASON]


def test_every_download_keeps_numbers_as_numbers(world, login, hostile):
    """The 2025 allocation moved 500,000 out of the general pool: a negative amount,
    written as a number in both formats."""
    client = login("aud")
    query = "fund=YJQ&report=fund-statement&period=2025&format="
    cells = check_csv("fund-statement", prepared(client, query + "csv").data)
    assert "-500000.00" in cells
    values = check_xlsx("fund-statement", prepared(client, query + "xlsx").data)
    assert -500000 in values
    assert "-500000.00" not in values


def test_every_open_dataset_keeps_hostile_text_as_text(app, world, hostile):
    site = app.test_client()
    found: dict[str, set[str]] = {}
    for name in public.OPEN_DATA:
        response = site.get(f"/public/data/{name}.csv")
        assert response.status_code == 200, name
        cells = check_csv(name, response.data)
        for text in (HOSTILE, HOSTILE_TITLE, HOSTILE_UNIT):
            assert text not in cells, (name, text)
            if "'" + text in cells:
                found.setdefault(text, set()).add(name)
    assert found == {HOSTILE: {"donations"}, HOSTILE_TITLE: {"projects"},
                     HOSTILE_UNIT: {"projects"}}


def test_open_data_numbers_stay_numbers():
    rows = [{"fund": "YJQ", "project": "YJQ-2026-001", "date": "2026-07-01",
             "kind": "unspent_return", "amount": "-120.50", "entry": "YJQ#9"}]
    cells = csv_cells(public.to_csv("payments", rows))
    assert "-120.50" in cells and "'-120.50" not in cells
