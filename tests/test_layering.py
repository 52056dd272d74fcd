"""Imports point one way:
webapp -> migrations -> jobs -> reports -> grants -> ledger -> people -> audit -> core.

A package may import only packages to its right, and only webapp touches Flask. Nothing
below the web layer imports the migrations (the caller hands ``core.migrate`` the script
location), and the migrations' environment reads the domain's models, never the web's.
Migration scripts are history: they import Alembic and SQLAlchemy only, never the models of
today. Tables follow the imports: a foreign key points at a table of its own package or of a
package to its right, never up.
"""

from __future__ import annotations

import ast
import importlib
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import Table

from core.db import Base

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["webapp", "migrations", "jobs", "reports", "grants", "ledger", "people", "audit", "core"]
WEB_ONLY = {"flask", "flask_login", "flask_wtf", "flask_babel", "werkzeug"}
SCRIPTS_MAY_IMPORT = {"alembic", "sqlalchemy"}


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


def test_migration_scripts_import_only_alembic_and_sqlalchemy():
    scripts = sorted((ROOT / "migrations" / "versions").glob("[0-9]*.py"))
    assert scripts
    offenders = {path.name: sorted(imported_modules(path) - SCRIPTS_MAY_IMPORT)
                 for path in scripts if imported_modules(path) - SCRIPTS_MAY_IMPORT}
    assert not offenders, offenders


def _declares_tables(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__tablename__" for t in node.targets):
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "sqlalchemy" and any(
                alias.name == "Table" for alias in node.names):
            return True
    return False


@cache
def table_owners() -> dict[str, str]:
    """Each table's package: every module that declares a table is imported, and each
    table is owned by the package of the class (or the module) that declares it."""
    owners: dict[str, str] = {}
    for package in ORDER:
        if package == "migrations":
            continue
        for path in sorted((ROOT / package).rglob("*.py")):
            if _declares_tables(path):
                module = importlib.import_module(
                    ".".join(path.relative_to(ROOT).with_suffix("").parts))
                for value in vars(module).values():
                    if isinstance(value, Table):
                        owners[value.name] = module.__name__.split(".")[0]
    for mapper in Base.registry.mappers:
        owners[mapper.local_table.name] = mapper.class_.__module__.split(".")[0]
    return owners


def test_every_table_belongs_to_a_package():
    owners = table_owners()
    assert set(Base.metadata.tables) <= set(owners)
    assert set(owners.values()) <= set(ORDER)


@pytest.mark.parametrize("package", ORDER)
def test_foreign_keys_point_one_way(package):
    owners = table_owners()
    allowed = set(ORDER[ORDER.index(package):])
    offenders = sorted(
        f"{table.name}.{key.parent.name} -> {key.column.table.name} "
        f"({owners[key.column.table.name]})"
        for table in Base.metadata.tables.values() if owners[table.name] == package
        for key in table.foreign_keys if owners[key.column.table.name] not in allowed)
    assert not offenders, f"tables of {package} may reference only {sorted(allowed)}: {offenders}"
