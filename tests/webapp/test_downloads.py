"""The auditor downloads every report in every format, within their jurisdiction: a CSV
at once, the other files through a job (run at once here; tests/webapp/test_jobs.py
runs a real worker)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import openpyxl
import pytest

from jobs import downloads
from ledger.journal import find_fund
from tests.webapp.conftest import prepared
from webapp.downloads.routes import FORMATS, REPORTS


@pytest.mark.parametrize("report", sorted(REPORTS))
def test_every_report_in_every_format(world, login, approved, report):
    client = login("city_aud")  # the city auditor reads the counties too
    for fmt in FORMATS:
        response = prepared(client, f"fund=ZYS&fund=YJQ&report={report}"
                                    f"&period=2026&format={fmt}")
        assert response.status_code == 200, (report, fmt, response.status_code)
        body = response.data
        if fmt == "pdf":
            assert body.startswith(b"%PDF")
        elif fmt == "csv":
            rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
            assert len(rows) >= 1
        else:
            workbook = openpyxl.load_workbook(io.BytesIO(body))
            assert workbook.worksheets
            workbook.close()


def test_the_ledgers_come_as_a_zip(world, login):
    response = prepared(login("aud"), "report=beancount&period=2026&format=pdf")
    assert response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
    assert "YJQ.beancount" in names and "README.txt" in names
    assert "AYX.beancount" not in names  # another county


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_county_auditor_cannot_reach_another_county(world, login, fmt):
    client = login("aud")
    response = prepared(client, f"fund=AYX&report=fund-statement&period=2026&format={fmt}")
    assert response.status_code == 404
    assert client.get(f"/downloads/file?fund=AYX&report=fund-statement&period=2026"
                      f"&format={fmt}").status_code == (404 if fmt == "csv" else 400)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_bad_period_is_refused(world, login, fmt):
    response = prepared(login("aud"), f"report=fund-statement&period=20xx&format={fmt}")
    assert response.status_code == 400


def test_a_pdf_is_not_made_in_the_request(world, login):
    response = login("aud").get("/downloads/file?fund=YJQ&report=audit-log&period=2026"
                                "&format=pdf")
    assert response.status_code == 400


def test_a_report_and_its_stamp_come_from_one_moment(world, login, post, factory, monkeypatch):
    """A posting that lands while a report is being made is in neither its figures nor
    the heads it is stamped with: both describe the books as they were."""
    with factory() as session:
        before = find_fund(session, "YJQ").entry_count
    stamped = []

    def late_posting(session, funds, period):  # type: ignore[no-untyped-def]
        post("interest", "YJQ", date=dt.date(2026, 6, 21), amount="7.77")  # commits
        stamped.append(real(session, funds, period))
        return stamped[-1]

    real = downloads.provenance
    monkeypatch.setattr(downloads, "provenance", late_posting)
    response = login("aud").get("/downloads/file?fund=YJQ&report=fund-statement&period=2026"
                                "&format=csv")
    assert response.status_code == 200
    (head,) = stamped[0].funds
    with factory() as session:
        assert find_fund(session, "YJQ").entry_count == before + 1  # it did land
    assert head.entry_count == before
    assert "7.77" not in response.get_data(as_text=True)
