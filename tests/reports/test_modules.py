"""The reports package keeps one idea per module, and reads money from one place.

Every money figure is defined in ``reports/figures.py``; the public pages, the
statements and the annual report arrange it. A report module that read the ledger's
balances or named the accounts a figure is made of would be a second definition of
that figure, free to drift from the first (as the public pages' "paid" and the
statements' once were): these tests name it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports"
MOST_LINES = 500  # STYLE.md, "Lessons from the first release"
FIGURES = "reports/figures.py"

# What a money figure is read from: the balances, the per-day changes, and the names
# of the accounts behind in the bank, committed, paid, spent, fees and income.
MONEY_SOURCES = {
    "ledger.balances": None,  # anything
    "ledger.models": {"DailyChange"},
    "ledger.chart": {"fund_account", "payable_account", "expense_account", "GENERAL",
                     "BANK_FEES", "SEED", "TOP_UP", "DONATIONS", "INTEREST", "FUND_PREFIX",
                     "PAYABLE_PREFIX", "GRANT_EXPENSE_PREFIX", "DONATION_PREFIX"},
}
# (module, name): why it is not a second definition of a figure.
ALLOWED = {
    ("reports/public/projects.py", "FUND_PREFIX"):
        "lists each payment to a project entry by entry (its cash leg); no sum is shown",
    ("reports/statements/activity.py", "BANK_FEES"):
        "finds the fee account's code, to check the statement's line against the figures",
}


def report_modules() -> list[Path]:
    return sorted(REPORTS.rglob("*.py"))


def money_imports(path: Path) -> set[str]:
    """The money sources a module imports, as "module.name"."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in MONEY_SOURCES}
        elif isinstance(node, ast.ImportFrom) and node.module in MONEY_SOURCES:
            names = MONEY_SOURCES[node.module]
            found |= {f"{node.module}.{alias.name}" for alias in node.names
                      if names is None or alias.name in names}
    return found


def test_no_report_module_exceeds_five_hundred_lines():
    long = {str(path.relative_to(ROOT)): n for path in report_modules()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MOST_LINES}
    assert long == {}, f"split these by idea (a report family is a package): {long}"


def test_money_figures_are_read_from_the_ledger_only_in_reports_figures():
    offenders = {}
    for path in report_modules():
        module = str(path.relative_to(ROOT))
        if module == FIGURES:
            continue
        reads = {name for name in money_imports(path)
                 if (module, name.rsplit(".", 1)[1]) not in ALLOWED}
        if reads:
            offenders[module] = sorted(reads)
    assert offenders == {}, (
        "define the figure in reports/figures.py and arrange it here: " + repr(offenders))


def test_the_guard_sees_a_module_that_reads_money(tmp_path):
    """The check above would name a module computing a figure of its own."""
    module = tmp_path / "rogue.py"
    module.write_text("import ledger.balances\n"
                      "from ledger.chart import expense_account, load_chart\n"
                      "from ledger.models import DailyChange, Fund\n", encoding="utf-8")
    assert money_imports(module) == {"ledger.balances", "ledger.chart.expense_account",
                                     "ledger.models.DailyChange"}


def test_every_allowance_is_still_needed():
    for module, name in ALLOWED:
        assert any(found.endswith(f".{name}") for found in money_imports(ROOT / module)), (
            module, name)
