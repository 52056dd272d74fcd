"""Any ``Table`` as CSV, XLSX or PDF.

- CSV: UTF-8 with a byte-order mark, so Excel opens the Chinese correctly; one header
  row of Chinese labels, the rows, then the totals row. Money is plain ``1234.56``.
- XLSX: the title and period above a bold header row; money cells are numbers written
  from the exact ``Decimal`` and shown as ``#,##0.00``; notes under the table; the
  provenance on a second sheet.
- PDF: ``templates/table.html`` through ``reports.pdf.render_pdf`` (embedded CJK fonts,
  no network). It names the period, when it was generated and the ledger and audit
  heads it was made from; A4 landscape when the table is wide; the header row repeats
  on every page, and every page is numbered 第 x 页 / 共 y 页.

Text that a spreadsheet would take for a formula (``=``, ``+``, ``-``, ``@``, tab or CR
first) is kept as text through ``core.spreadsheet``: in CSV behind an apostrophe, in XLSX
as a string cell. Every text cell goes through it, titles and labels included.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import jinja2
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from core import clock
from core.money import CENT, format_cny, format_plain
from core.spreadsheet import csv_text, xlsx_text
from reports.pdf import ASSETS, assets_url, render_pdf
from reports.tables import EMPHASIS, Column, Provenance, Table, period_zh

MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
# Column widths in millimetres for the PDF's layout decision, and characters for XLSX.
_PDF_WIDTH = {"text": 30, "money": 25, "int": 14, "date": 21}
_XLSX_WIDTH = {"text": 24, "money": 16, "int": 10, "date": 12}
PORTRAIT_WIDTH_MM = 186  # A4 less the page margins
HEADER_ROW = 4  # XLSX: title, subtitle and period above it
SHORT_TEXT = 8  # characters: a PDF column of text no longer than this does not wrap
CODE_TEXT = 20  # nor one of codes (ASCII, no spaces) no longer than this

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(ASSETS),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _csv_cell(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.kind == "money":
        return format_plain(Decimal(value))
    if column.kind == "date":
        return value.isoformat()
    if column.kind == "int":
        return str(int(value))
    return csv_text(value)


def _row_cells(table: Table, row: dict[str, Any]) -> list[str]:
    return [_csv_cell(column, row.get(column.key)) for column in table.columns]


def to_csv(table: Table) -> bytes:
    """The table as CSV: header labels, rows, totals."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([csv_text(column.label) for column in table.columns])
    for row in table.rows:
        writer.writerow(_row_cells(table, row))
    if table.totals is not None:
        writer.writerow(_row_cells(table, table.totals))
    return buffer.getvalue().encode("utf-8-sig")


def _sheet_title(text: str) -> str:
    for bad in "[]:*?/\\":
        text = text.replace(bad, "")
    return text[:31] or "Sheet"


def _put(sheet: Any, row: int, col: int, column: Column, value: Any, bold: bool) -> None:
    cell = sheet.cell(row=row, column=col)
    if value is None:
        pass
    elif column.kind == "money":
        # openpyxl writes a Decimal as its exact digits; never through float.
        cell.value = Decimal(value).quantize(CENT)
        cell.number_format = MONEY_FORMAT
    elif column.kind == "date":
        cell.value = value
        cell.number_format = DATE_FORMAT
    elif column.kind == "int":
        cell.value = int(value)
    else:
        xlsx_text(cell, value)  # never a formula, whatever the text starts with
    if bold:
        cell.font = Font(bold=True)


def to_xlsx(table: Table, provenance: Provenance | None = None) -> bytes:
    """The table as an Excel workbook; the provenance, when given, on a second sheet."""
    book = Workbook()
    sheet = book.worksheets[0]  # the active sheet of a new workbook
    sheet.title = _sheet_title(table.title)
    xlsx_text(sheet.cell(row=1, column=1), table.title).font = Font(bold=True, size=14)
    if table.subtitle:
        xlsx_text(sheet.cell(row=2, column=1), table.subtitle)
    if provenance is not None:
        generated = provenance.generated_at.astimezone(clock.CST)
        xlsx_text(sheet.cell(row=3, column=1), (
            f"期间：{period_zh(provenance.period)}（{provenance.period.start.isoformat()} 至 "
            f"{provenance.period.end.isoformat()}）　生成时间："
            f"{generated.isoformat(timespec='seconds')}"))
    for index, column in enumerate(table.columns, start=1):
        cell = xlsx_text(sheet.cell(row=HEADER_ROW, column=index), column.label)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(index)].width = _XLSX_WIDTH[column.kind]
    line = HEADER_ROW
    for row in table.rows:
        line += 1
        for index, column in enumerate(table.columns, start=1):
            _put(sheet, line, index, column, row.get(column.key), bool(row.get(EMPHASIS)))
    if table.totals is not None:
        line += 1
        for index, column in enumerate(table.columns, start=1):
            _put(sheet, line, index, column, table.totals.get(column.key), True)
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=1).coordinate
    if table.notes:
        line += 2
        sheet.cell(row=line, column=1, value="说明").font = Font(bold=True)
        for note in table.notes:
            line += 1
            xlsx_text(sheet.cell(row=line, column=1), note)
    if provenance is not None:
        _provenance_sheet(book, table, provenance)
    buffer = io.BytesIO()
    book.save(buffer)
    book.close()
    return buffer.getvalue()


def provenance_lines(provenance: Provenance) -> list[tuple[str, str]]:
    """The provenance as labelled lines, for the XLSX sheet and the PDF."""
    generated = provenance.generated_at.astimezone(clock.CST)
    period = provenance.period
    lines = [
        ("期间", f"{period.label}（{period.start.isoformat()} 至 {period.end.isoformat()}）"),
        ("生成时间", generated.isoformat(timespec="seconds")),
    ]
    for fund in provenance.funds:
        lines.append((f"账簿链头 {fund.code}",
                      f"{fund.name_zh}　共 {fund.entry_count} 笔分录　{fund.last_entry_hash}"))
    for fund in provenance.funds:
        lines.append((f"审计日志链头 {fund.code}",
                      f"第 {fund.audit_seq} 条　{fund.audit_hash}"))
    return lines


def _provenance_sheet(book: Workbook, table: Table, provenance: Provenance) -> None:
    sheet = book.create_sheet("数据来源")
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 100
    sheet.cell(row=1, column=1, value="报表").font = Font(bold=True)
    xlsx_text(sheet.cell(row=1, column=2), table.title)
    row = 1
    for label, value in provenance_lines(provenance):
        row += 1
        xlsx_text(sheet.cell(row=row, column=1), label).font = Font(bold=True)
        xlsx_text(sheet.cell(row=row, column=2), value)
    for fund in provenance.funds:  # the heads again, one value to a cell, for checking
        row += 1
        xlsx_text(sheet.cell(row=row, column=1), f"{fund.code} 分录数")
        sheet.cell(row=row, column=2, value=fund.entry_count)
        row += 1
        xlsx_text(sheet.cell(row=row, column=1), f"{fund.code} 链头哈希")
        xlsx_text(sheet.cell(row=row, column=2), fund.last_entry_hash)
        row += 1
        xlsx_text(sheet.cell(row=row, column=1), f"{fund.code} 审计链头哈希")
        xlsx_text(sheet.cell(row=row, column=2), fund.audit_hash)


def _pdf_cell(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.kind == "money":
        return format_cny(Decimal(value))
    if column.kind == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if column.kind == "int":
        return f"{int(value):,}"
    return str(value)


def _unbroken(text: str) -> bool:
    if len(text) <= SHORT_TEXT:
        return True
    return len(text) <= CODE_TEXT and text.isascii() and " " not in text


def is_wide(table: Table) -> bool:
    """Whether the table needs an A4 page on its side."""
    return sum(_PDF_WIDTH[c.kind] for c in table.columns) > PORTRAIT_WIDTH_MM


def table_html(table: Table, provenance: Provenance) -> str:
    """The table as HTML, for the PDF (and for a preview)."""

    # A text column of short values or of codes (receipt numbers, references) is kept on
    # one line; other text wraps.
    every = table.rows + ([table.totals] if table.totals is not None else [])
    short = {c.key for c in table.columns if c.kind == "text" and len(c.label) <= SHORT_TEXT
             and all(_unbroken(_pdf_cell(c, r.get(c.key))) for r in every)}

    def cells(row: dict[str, Any]) -> list[tuple[str, str]]:
        return [(_pdf_cell(c, row.get(c.key)), c.kind + (" short" if c.key in short else ""))
                for c in table.columns]

    generated = provenance.generated_at.astimezone(clock.CST)
    return _templates.get_template("table.html").render(
        table=table,
        wide=is_wide(table),
        period=period_zh(provenance.period),
        period_label=provenance.period.label,
        generated=generated.strftime("%Y-%m-%d %H:%M:%S"),
        rows=[(cells(row), bool(row.get(EMPHASIS))) for row in table.rows],
        totals=cells(table.totals) if table.totals is not None else None,
        provenance=provenance,
    )


def to_pdf(table: Table, provenance: Provenance) -> bytes:
    """The table as a PDF that names the books it was made from."""
    return render_pdf(table_html(table, provenance), base_url=assets_url(),
                      title=f"{table.title} {provenance.period.label}",
                      created=provenance.generated_at)


def filename(table: Table, provenance: Provenance, extension: str) -> str:
    """An ASCII file name for a download: fund-statement-YJQ-2026.pdf."""
    funds = "-".join(provenance.fund_codes[:3]) + ("-etc" if len(provenance.funds) > 3 else "")
    parts = [table.slug, funds, provenance.period.label.replace("..", "_")]
    return "-".join(p for p in parts if p) + "." + extension
