"""The one helper every CSV and XLSX writer uses for text (core.spreadsheet)."""

from __future__ import annotations

import io

import openpyxl
import pytest

from core.spreadsheet import csv_text, xlsx_text


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(A1)",
                                  "\t=1", "\r=1", "＝1+1", "－5"])
def test_risky_text_is_kept_as_text(text):
    assert csv_text(text) == "'" + text
    book = openpyxl.Workbook()
    xlsx_text(book.active.cell(row=1, column=1), text)
    buffer = io.BytesIO()
    book.save(buffer)
    cell = openpyxl.load_workbook(buffer).active.cell(row=1, column=1)
    assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)


@pytest.mark.parametrize("text", ["雁江区民政局", "a=b", "1-2", " =x", "#N/A"])
def test_other_text_is_left_alone(text):
    assert csv_text(text) == text
    cell = openpyxl.Workbook().active.cell(row=1, column=1)
    xlsx_text(cell, text)
    assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", False)


def test_nothing_is_empty():
    assert csv_text(None) == ""
