"""The open data files: CSV and JSON of a dataset's rows, with its dictionary."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from core.i18n import gettext, locale_as
from core.spreadsheet import csv_text
from reports.public.datasets import OPEN_DATA, Row


def columns(name: str) -> list[str]:
    return [column for column, _type, _meaning in OPEN_DATA[name][1]]


def to_csv(name: str, rows: Sequence[Row]) -> bytes:
    """UTF-8 with a byte-order mark (so spreadsheet programs read the Chinese), a header
    row of the column names, empty cells for missing values. Text that a spreadsheet
    would run as a formula is kept as text (``core.spreadsheet``); amounts, whole
    numbers and dates are written as they are."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    names = columns(name)
    text = {column for column, kind, _meaning in OPEN_DATA[name][1] if kind == "string"}
    writer.writerow(names)
    for row in rows:
        writer.writerow([csv_text(row[c]) if c in text else "" if row[c] is None else row[c]
                         for c in names])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_json(name: str, rows: Sequence[Row], *, fund_code: str | None = None,
            year: int | None = None) -> bytes:
    """``{"dataset", "description", "description_zh", "filters", "columns", "rows"}``;
    amounts are strings such as "1234.56" so no reader turns them into floating point.
    The dictionary is given in English and in Chinese, whatever the reader's language."""
    description, spec = OPEN_DATA[name]
    with locale_as("zh_CN"):
        document = {
            "dataset": name,
            "description": description,
            "description_zh": gettext(description),
            "filters": {"fund": fund_code.upper() if fund_code else None, "year": year},
            "columns": [{"name": c, "type": t, "meaning": m, "meaning_zh": gettext(m)}
                        for c, t, m in spec],
            "rows": list(rows),
        }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")

