"""A large bank statement, imported by the worker.

The page checks the upload first (``ledger.bank.check_statement``: every refusal that
quotes the file -- a line, a column, a cell -- is said there, at once, since a job's row
keeps only plain parameters), saves it under the jobs folder and queues this job. The
worker imports it as the charity-office user who uploaded it, if they still act as the
charity office of that fund (the page's own rule), in one write transaction with its
audit record: the same ``ledger.bank.import_statement`` that imports a small file in the
request. The job makes no file; what the import did is its ``outcome``, shown on the
job's page as the bank page would have said it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.i18n import N_
from grants.access import require_acting
from ledger import bank
from ledger.journal import find_fund

KIND = "statement-import"
ROLE = "charity_office"
STARTED = N_("Importing the statement and matching its lines")
STORED = N_("{done} of {lines} lines stored")
GONE = N_("Nothing was imported: the user who asked is no longer active, or no longer acts "
          "as the charity office of this fund.")
# The message of ``ledger.bank.check_statement`` without the earlier file's name, which
# a job's row would not keep (it may be any text).
ALREADY = N_("This file was already imported into fund {fund} on {date} (statement {id}); "
             "nothing changed.")
CHANGED = N_("The uploaded file is not the one that was checked; nothing was imported. "
             "Import the statement again.")
# How often the count of lines stored is recorded: every twentieth of the file.
STEPS = 20

Progress = Callable[..., None]


@dataclass(frozen=True)
class Imported:
    """What a statement-import job did: the SHA-256 of the file it imported, and the
    import's counts as the job keeps them."""

    sha256: str
    outcome: dict[str, Any]


def parameters(fund_code: str, checked: bank.CheckedStatement) -> dict[str, Any]:
    return {"fund": fund_code, "file": checked.name, "sha256": checked.sha256,
            "lines": len(checked.lines)}


def may_have(session: Session, actor: Actor, parameters: dict[str, Any]) -> bool:
    """Whether the user acts as the charity office of the fund, as the import page asks."""
    try:
        require_acting(actor, find_fund(session, str(parameters["fund"])), ROLE)
    except (NotFound, PermissionDenied):
        return False
    return True


def make(books: Session, actor: Actor, parameters: dict[str, Any], data: bytes,
         progress: Progress = lambda *_, **__: None) -> Imported:
    """Import the statement into ``books``, a session in a write transaction; flushes,
    the runner commits."""
    digest = str(parameters["sha256"])
    if bank.statement_digest(data) != digest:
        raise InvalidInput(CHANGED)
    fund = find_fund(books, str(parameters["fund"]), lock=True)
    earlier = bank.earlier_import(books, fund, digest)
    if earlier is not None:  # imported meanwhile: by a retry's first attempt, or by hand
        raise Conflict(ALREADY, fund=fund.code, date=earlier.imported_at.date().isoformat(),
                       id=earlier.id)
    total = int(parameters["lines"])
    step = max(total // STEPS, 1)
    done = 0

    def stored() -> None:
        nonlocal done
        done += 1
        if done % step == 0 or done == total:
            progress(STORED, done=done, lines=total)

    result = bank.import_statement(books, actor, fund.code, data, str(parameters["file"]),
                                   progress=stored)
    return Imported(digest, {
        "statement": result.statement_id, "lines": result.lines, "skipped": result.skipped,
        "matched": result.matched, "unmatched": result.unmatched,
        "closed": list(result.closed),
        "locked_through": result.locked_through.isoformat() if result.locked_through else None})


def result_of(outcome: dict[str, Any]) -> bank.ImportResult:
    """The import's result again, from what the job kept, to say it as the page does."""
    locked = outcome.get("locked_through")
    return bank.ImportResult(
        int(outcome["statement"]), int(outcome["lines"]), int(outcome["skipped"]),
        int(outcome["matched"]), int(outcome["unmatched"]),
        tuple(int(n) for n in outcome.get("closed", ())),
        dt.date.fromisoformat(locked) if locked else None)
