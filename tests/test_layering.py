"""Imports point one way: webapp -> reports -> grants -> ledger -> audit -> core.

A package may import only packages to its right, and only webapp touches Flask.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["webapp", "reports", "grants", "ledger", "audit", "core"]
WEB_ONLY = {"flask", "flask_login", "flask_wtf", "flask_babel", "werkzeug"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", ORDER)
def test_imports_point_one_way(package):
    allowed = set(ORDER[ORDER.index(package):])
    forbidden = set(ORDER) - allowed
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_modules(path) & forbidden)
        for path in (ROOT / package).rglob("*.py")
        if imported_modules(path) & forbidden
    }
    assert not offenders, f"{package} may import only {sorted(allowed)}: {offenders}"


@pytest.mark.parametrize("package", ORDER[1:])
def test_only_webapp_imports_flask(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_modules(path) & WEB_ONLY)
        for path in (ROOT / package).rglob("*.py")
        if imported_modules(path) & WEB_ONLY
    }
    assert not offenders, offenders
