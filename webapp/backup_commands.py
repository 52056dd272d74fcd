"""Console commands ``backup`` and ``restore`` (added to the ``specialfund`` group by
``webapp.cli``): the app's side of ``core.backup`` -- which folders it keeps, its version
and schema, and the verifies a restore runs before it says the books are back."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from audit import verify_chain
from core.backup import differences, restore_backup, write_backup
from core.db import begin_snapshot
from core.i18n import gettext as _
from core.migrate import head_revision
from grants.verify import check_projects
from ledger.crosscheck import check_audit_against_journal
from ledger.funds import list_funds
from ledger.heads import book_heads
from ledger.verify import verify_fund
from migrations import SCRIPT_LOCATION
from webapp.console import say, say_chains
from webapp.extensions import db


def _folders() -> dict[str, Path]:
    """The files the app keeps beside its database, by their folder's name in a backup.
    Never the instance folder as a whole: it holds secrets.toml in local development."""
    from webapp.published import published_folder  # noqa: PLC0415 - loads WeasyPrint

    return {"attachments": Path(current_app.config["ATTACHMENTS_DIR"]),
            "published": published_folder()}


def _app_version() -> str:
    try:
        return version("special-fund")
    except PackageNotFoundError:
        return "unknown"


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_command(directory: Path) -> None:
    """Back up the database, the attachments and the published PDFs into DIRECTORY (new
    or empty), with a manifest of their SHA-256 sums and the heads of the books. The
    keys are never copied: keep them separately."""
    written = write_backup(db.engine, directory, folders=_folders(), read_heads=book_heads,
                           app_version=_app_version())
    manifest = written.manifest
    say(_("Backup written to {path}: the {kind} database (schema {revision}) and {count} "
          "files, with the heads of {funds} funds and of the audit log.",
          path=str(written.folder), kind=manifest["database"]["kind"],
          revision=manifest["database"]["alembic_revision"],
          count=len(manifest["files"]) - 1, funds=len(manifest["heads"]["funds"])))
    say(_("SHA-256 of its manifest: {sha}. The keys are not in the backup: keep them "
          "separately.", sha=written.manifest_sha256))


def _verify(session: Session, expected: dict[str, Any]) -> bool:
    """``ledger verify`` of every fund, ``audit verify``, then the restored heads against
    the backup's; says each result as those commands do. True when all pass."""
    ok = True
    funds = list_funds(session)
    for fund in funds:
        report = verify_fund(session, fund, checks=[check_projects])
        if report.ok:
            say(_("OK {fund}: {count} entries; Beancount and SQL agree; receipts, projects, "
                  "the audit log and the closed periods' heads match the journal.",
                  fund=fund.code, count=report.entries))
            continue
        ok = False
        say(_("FAILED {fund}: {count} problems", fund=fund.code, count=len(report.problems)))
        for problem in report.problems:
            say(f"  - {problem}")
    chains = verify_chain(session)
    say_chains(chains)
    ok = ok and chains.ok
    for fund in funds:
        problems = check_audit_against_journal(session, fund)
        if problems:
            ok = False
            say(_("FAILED {fund}: {count} problems", fund=fund.code, count=len(problems)))
            for problem in problems:
                say(f"  - {problem}")
    found = differences(expected, book_heads(session))
    if found:
        ok = False
        say(_("The restored heads differ from the backup's manifest:"))
        for line in found:
            say(f"  - {line}")
    else:
        say(_("The heads of {funds} funds and of the audit log equal the backup's manifest.",
              funds=len(funds)))
    return ok


@click.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def restore_command(directory: Path) -> None:
    """Restore a backup made by ``specialfund backup`` into an empty database
    (DATABASE_URL) and empty attachments and published folders, once every file matches
    its SHA-256; then verify the ledgers and the audit chain and compare the heads."""
    manifest, checked = restore_backup(db.engine, directory, folders=_folders(),
                                       revision=head_revision(SCRIPT_LOCATION))
    say(_("Backup of {when} checked: {count} files match their SHA-256. Restored the {kind} "
          "database and the files.", when=manifest.get("created_at"), count=checked,
          kind=manifest["database"]["kind"]))
    with db.factory() as session:
        begin_snapshot(session)
        ok = _verify(session, manifest["heads"])
    if not ok:
        say(_("Restore FAILED its checks: the restored books are not those of the backup. "
              "Do not use them."), err=True)
        raise click.exceptions.Exit(1)
    say(_("Restore complete: both verifies pass and the books end where the backup did."))
