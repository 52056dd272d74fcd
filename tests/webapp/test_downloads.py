"""The auditor downloads every report in every format, within their jurisdiction."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pytest

from webapp.downloads.routes import FORMATS, REPORTS


@pytest.mark.parametrize("report", sorted(REPORTS))
def test_every_report_in_every_format(world, login, approved, report):
    client = login("city_aud")  # the city auditor reads the counties too
    for fmt in FORMATS:
        response = client.get(f"/downloads/file?fund=ZYS&fund=YJQ&report={report}"
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
    response = login("aud").get("/downloads/file?report=beancount")
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
    assert "YJQ.beancount" in names and "README.txt" in names
    assert "AYX.beancount" not in names  # another county


def test_a_county_auditor_cannot_reach_another_county(world, login):
    response = login("aud").get("/downloads/file?fund=AYX&report=fund-statement&period=2026"
                                "&format=csv")
    assert response.status_code == 404


def test_a_bad_period_is_refused(world, login):
    response = login("aud").get("/downloads/file?report=fund-statement&period=20xx&format=csv")
    assert response.status_code == 400
