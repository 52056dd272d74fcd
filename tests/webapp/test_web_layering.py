"""The web shell's own layering: blueprints share only ``webapp/``'s helpers, its modules
import each other without a cycle, and the console adds its commands itself."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEBAPP = ROOT / "webapp"
BLUEPRINTS = sorted(p.parent.name for p in WEBAPP.glob("*/routes.py"))

def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at its top or inside a function."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # ``from webapp import errors`` imports the submodule, where there is one
            for alias in node.names:
                name = f"{base}.{alias.name}"
                where = ROOT / Path(*name.split("."))
                found.add(name if where.with_suffix(".py").exists()
                          or (where / "__init__.py").exists() else base)
    return found


def webapp_modules() -> dict[str, Path]:
    return {module_name(p): p for p in WEBAPP.rglob("*.py")}


def test_the_blueprints_are_found():
    assert {"admin", "api", "auth", "money", "projects", "public"} <= set(BLUEPRINTS)


def test_no_blueprint_imports_another():
    offenders = {}
    for blueprint in BLUEPRINTS:
        for path in (WEBAPP / blueprint).rglob("*.py"):
            wrong = sorted(m for m in imports(path)
                           if m.split(".")[0] == "webapp" and len(m.split(".")) > 1
                           and m.split(".")[1] in set(BLUEPRINTS) - {blueprint})
            if wrong:
                offenders[str(path.relative_to(ROOT))] = wrong
    assert not offenders, f"a blueprint imports another; share through webapp/: {offenders}"


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_webapp_modules_import_each_other_without_a_cycle():
    modules = webapp_modules()
    graph = {name: {m for m in imports(path) if m in modules and m != name}
             for name, path in modules.items()}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_in_function_imports_are_few_and_say_why():
    lines = [(path, number, line) for path in WEBAPP.rglob("*.py")
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if "noqa: PLC0415" in line]
    unexplained = [f"{p.relative_to(ROOT)}:{n}" for p, n, line in lines
                   if not re.search(r"PLC0415\s*-\s*\w+", line)]
    assert not unexplained, unexplained
    assert len(lines) <= 6, [f"{p.relative_to(ROOT)}:{n}" for p, n, _ in lines]


def test_the_console_names_its_commands_and_loads_each_when_run():
    """Every name of ``COMMANDS`` is a command of that name in its module: no command
    registers by being imported from somewhere else, and no command module reaches back
    for the group."""
    import click

    from webapp.cli import COMMANDS, cli

    context = click.Context(cli)
    assert {name: getattr(cli.get_command(context, name), "name", None) for name in COMMANDS} \
        == {name: name for name in COMMANDS}
    assert {"init", "ledger", "run", "worker", "backup", "publish-static"} <= set(
        cli.list_commands(context))
    reaching_back = [name for name, path in webapp_modules().items()
                     if name != "webapp.cli" and "webapp.cli" in imports(path)]
    assert not reaching_back, reaching_back


def test_a_ledger_command_loads_neither_the_pages_nor_the_queue():
    """``ledger verify`` runs daily from cron: loading the pages, WeasyPrint, the job queue
    or Alembic would cost it seconds (docs/benchmarks.md, sealed periods)."""
    code = ("import sys, click, webapp.cli as c; "
            "c.cli.get_command(click.Context(c.cli), 'ledger'); print(' '.join(sys.modules))")
    loaded = set(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.split())
    assert {"ledger.verify", "webapp.commands"} <= loaded
    assert not {"weasyprint", "openpyxl", "huey", "alembic", "redis", "webapp.site",
                "webapp.blueprints", "reports.public", "jobs.runner"} & loaded


def test_every_event_of_the_ledger_has_its_post_command():
    """``ledger post <event>`` is made from the events table: an event the ledger gains
    needs its line in the console's table, or the console does not load."""
    from ledger.events import EVENTS
    from webapp.commands import POSTINGS, post_group

    assert list(POSTINGS) == list(EVENTS)
    assert set(post_group.commands) == set(EVENTS)
    closed = {name for name, posting in POSTINGS.items() if posting.closed}
    assert closed == {"allocation", "commitment", "disbursement", "release", "unspent-return"}
    assert {n for n, c in post_group.commands.items() if c.hidden} == closed
    for name in set(EVENTS) - closed:
        assert post_group.commands[name].params[0].opts == ["--fund"], name
