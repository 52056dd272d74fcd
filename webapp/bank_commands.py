"""Console commands for the dedicated bank account (added to the ``specialfund`` group by
``webapp.cli``): import a statement, list the lines waiting, match or book them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from core.i18n import gettext as _
from core.money import format_cny
from ledger.bank import book_line, import_statement, match_line, parse_statement, unmatched_lines
from ledger.journal import find_fund
from webapp.console import WHOLE, acting_as, in_transaction, print_table, say

bank_group = AppGroup("bank", help="The fund's dedicated bank account: import statements, "
                                   "match their lines to entries.")


def _fund_option(func: Any) -> Any:
    return click.option("--fund", "fund_code", required=True, help="Fund code")(func)


@bank_group.command("import")
@_fund_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@in_transaction
def bank_import(session: Session, fund_code: str, file: Path) -> None:
    """Import a statement file (CSV, UTF-8 or GBK) and match its lines."""
    office = acting_as(session, fund_code, "charity_office")
    data = file.read_bytes()
    total = len(parse_statement(data, file.name))  # refuses a bad file before the bar
    err = sys.stderr
    with click.progressbar(length=total, label=_("Importing {file}", file=file.name), file=err,
                           hidden=not err.isatty()) as bar:
        result = import_statement(session, office, fund_code, data, file.name,
                                  progress=lambda: bar.update(1))
    say(_("Imported {file} into fund {fund}: {lines} lines, {skipped} already known, "
          "{matched} matched, {unmatched} waiting to be matched.", file=file.name,
          fund=fund_code.strip().upper(), lines=result.lines, skipped=result.skipped,
          matched=result.matched, unmatched=result.unmatched))
    if result.closed_notice:
        say(result.closed_notice, err=True)


@bank_group.command("unmatched")
@_fund_option
@in_transaction
def bank_unmatched(session: Session, fund_code: str) -> None:
    """Statement lines no entry explains yet."""
    fund = find_fund(session, fund_code)
    lines = unmatched_lines(session, fund)
    if not lines:
        say(_("Every statement line of fund {fund} is matched.", fund=fund.code))
        return
    rows = [[str(line.id), line.date.isoformat(), format_cny(line.amount), line.reference,
             line.counterparty or "—", line.description or "—"] for line in lines]
    print_table([_("Line"), _("Date"), _("Amount"), _("Reference"), _("Counterparty"),
                 _("Description")], rows, right=(0, 2))


@bank_group.command("match")
@_fund_option
@click.option("--line", "line_id", type=WHOLE, required=True,
              help="Statement line (bank unmatched)")
@click.option("--entry", "seq", type=WHOLE, required=True, help="Entry number (#)")
@in_transaction
def bank_match(session: Session, fund_code: str, line_id: int, seq: int) -> None:
    """Match a statement line to an entry of the same amount."""
    line = match_line(session, acting_as(session, fund_code, "charity_office"), fund_code,
                      line_id, seq)
    say(_("Statement line {line} ({amount}) matched to {fund} #{seq}.", line=line.id,
          amount=format_cny(line.amount), fund=fund_code.strip().upper(), seq=seq))


@bank_group.command("book")
@_fund_option
@click.option("--line", "line_id", type=WHOLE, required=True,
              help="Statement line (bank unmatched)")
@click.option("--as", "kind", type=click.Choice(["interest", "fee"]), required=True,
              help="Book money in as interest, money out as a bank fee")
@in_transaction
def bank_book(session: Session, fund_code: str, line_id: int, kind: str) -> None:
    """Post a statement line as bank interest or a bank fee, and match it."""
    entry = book_line(session, acting_as(session, fund_code, "charity_office"), fund_code,
                      line_id, kind)
    say(_("Posted {fund} #{seq} on {date} ({type}) for statement line {line}.",
          fund=entry.fund, seq=entry.seq, date=entry.date.isoformat(), type=entry.type,
          line=line_id))
