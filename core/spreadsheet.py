"""Text in spreadsheets stays text (OWASP "CSV injection").

A spreadsheet program takes a cell that begins with ``=``, ``+``, ``-`` or ``@`` (or
with a tab or carriage return before one) for a formula, so a donor named
``=HYPERLINK("http://x","y")`` would become a live link, or worse, in an auditor's
Excel. Every CSV and XLSX the app writes passes its text cells through here:

- CSV: such a cell is written behind a single quote (``'=HYPERLINK(...)``), which
  spreadsheet programs show and never evaluate;
- XLSX: every text cell is a string cell (openpyxl would otherwise store a ``str``
  starting with ``=`` as a formula), and a risky one is marked "quote prefix" so that
  editing it in Excel does not turn it into a formula either.

Numbers are not text: amounts (negative ones included), counts and dates are written
as numbers by the writers and never pass through here. The full-width forms of the
four signs are treated the same, as some spreadsheet programs read them as formulas.
"""

from __future__ import annotations

from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_START)


def csv_text(value: object) -> str:
    """A text cell for CSV: empty for None, behind a single quote when a spreadsheet
    would take it for a formula."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if looks_like_formula(text) else text


def xlsx_text(cell: Any, value: object) -> Any:
    """Put text into an openpyxl cell as a string, never a formula; returns the cell."""
    if value is None:
        return cell
    text = str(value)
    cell.value = text
    cell.data_type = "s"  # openpyxl makes "=..." a formula and "#N/A" an error otherwise
    if looks_like_formula(text):
        cell.quotePrefix = True
    return cell
