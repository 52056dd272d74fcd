"""Console commands for a fund's income and custody: donors, donations and receipts,
top-ups, allocations, reconciliation (added to the ``specialfund`` group by
``webapp.cli``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import Actor
from core.errors import InvalidInput
from core.i18n import gettext as _
from core.money import format_cny, parse_amount
from ledger.allocations import confirm, propose
from ledger.donations import add_donor, find_receipt, register, return_donation, void_receipt
from ledger.income_models import Donor
from ledger.journal import find_fund
from ledger.reconciliation import reconcile
from ledger.treasury import propose_top_up, set_rule
from webapp.console import (
    WHOLE,
    acting_as,
    amount_option,
    in_transaction,
    parse_date,
    print_table,
    say,
)
from webapp.extensions import protector


def donor_for(session: Session, actor: Actor, fund_code: str, name: str, kind: str,
              anonymous: bool = False) -> int:
    """The donor of that name and kind in the fund, registered on first sight."""
    fund = find_fund(session, fund_code)
    found = session.execute(select(Donor.id).where(
        Donor.fund_id == fund.id, Donor.kind == kind, Donor.name == name.strip())).scalar()
    if found is not None:
        return found
    return add_donor(session, actor, fund.code, kind=kind, name=name,
                     publish="anonymous" if anonymous else "name").id


# --- donors and donations ---------------------------------------------------------

donor_group = AppGroup("donor", help="Donors of a fund.")


@donor_group.command("add")
@click.option("--fund", "fund_code", required=True)
@click.option("--kind", type=click.Choice(["enterprise", "individual"]), required=True)
@click.option("--name", required=True)
@click.option("--credit-code", help="Unified social credit code (enterprises)")
@click.option("--id-number-stdin", is_flag=True,
              help="Read an individual's ID number from standard input")
@click.option("--anonymous", is_flag=True, help="Publish the donor as 匿名")
@in_transaction
def donor_add(session: Session, fund_code: str, kind: str, name: str, credit_code: str | None,
              id_number_stdin: bool, anonymous: bool) -> None:
    """Register a donor."""
    office = acting_as(session, fund_code, "charity_office")
    number = sys.stdin.readline().strip() if id_number_stdin else None
    donor = add_donor(session, office, fund_code, kind=kind, name=name,
                      credit_code=credit_code, id_number=number,
                      publish="anonymous" if anonymous else "name", protector=protector())
    say(_("Donor {name} registered (id {id}).", name=donor.name, id=donor.id))


receipt_group = AppGroup("receipt", help="The donation receipt register.")


@receipt_group.command("list")
@click.option("--fund", "fund_code", required=True)
@click.option("--year", type=WHOLE)
@in_transaction
def receipt_list(session: Session, fund_code: str, year: int | None) -> None:
    """The register, voided receipts included."""
    rows = register(session, find_fund(session, fund_code), year)
    print_table([_("Receipt number"), _("Date"), _("Donor"), _("Amount"), _("State")],
                [[r.code, r.donated_on.isoformat(), r.donor.name, format_cny(r.amount),
                  _("Issued") if r.state == "issued" else _("Void: {reason}",
                                                            reason=r.void_reason)]
                 for r in rows], right=(3,))


@receipt_group.command("void")
@click.option("--fund", "fund_code", required=True)
@click.argument("code")
@click.option("--reason", required=True)
@click.option("--reissue", is_flag=True, help="Issue a replacement receipt")
@in_transaction
def receipt_void(session: Session, fund_code: str, code: str, reason: str,
                 reissue: bool) -> None:
    """Void a receipt; it stays in the register with its reason."""
    replacement = void_receipt(session, acting_as(session, fund_code, "charity_office"),
                               fund_code, code, reason=reason,
                               reissue=reissue)
    say(_("Receipt {code} voided.", code=code))
    if replacement:
        say(_("Replacement {code} issued.", code=replacement.code))


@receipt_group.command("pdf")
@click.option("--fund", "fund_code", required=True)
@click.argument("code")
@click.option("-o", "--output", required=True)
@in_transaction
def receipt_pdf(session: Session, fund_code: str, code: str, output: str) -> None:
    """Write a receipt as PDF."""
    # WeasyPrint takes most of a second to load; only this command needs it.
    from reports.receipts import receipt_pdf as render  # noqa: PLC0415 - loads WeasyPrint

    receipt = find_receipt(session, find_fund(session, fund_code), code)
    Path(output).write_bytes(render(session, receipt))
    say(_("Wrote {path}.", path=output), err=True)


@click.command("donation-return")
@click.option("--fund", "fund_code", required=True)
@click.argument("code")
@click.option("--reason", required=True)
@click.option("--date")
@with_appcontext
@in_transaction
def donation_return(session: Session, fund_code: str, code: str, reason: str,
                    date: str | None) -> None:
    """Give a donation back: reverse its entry and void its receipt."""
    entry = return_donation(session, acting_as(session, fund_code, "charity_office"), fund_code,
                            code, date=parse_date(date), reason=reason)
    say(_("Donation returned: reversal {fund} #{seq}.", fund=fund_code.upper(), seq=entry.seq))


# --- top-ups and allocations -----------------------------------------------------

topup_group = AppGroup("top-up", help="The yearly top-up rule.")


@topup_group.command("rule")
@click.option("--fund", "fund_code", required=True)
@click.option("--fixed", "amount", callback=amount_option, help="A fixed amount every year")
@click.option("--ratio", help="A ratio of last year's donations, e.g. 0.5")
@click.option("--cap", callback=amount_option, help="The most the ratio rule gives")
@in_transaction
def topup_rule(session: Session, fund_code: str, amount: str | None, ratio: str | None,
               cap: str | None) -> None:
    """Set how the yearly top-up is computed."""
    set_rule(session, acting_as(session, fund_code, "finance"), fund_code,
             kind="fixed" if amount else "ratio",
             amount=amount, ratio=ratio, cap=cap)
    say(_("Top-up rule saved."))


@topup_group.command("propose")
@click.option("--fund", "fund_code", required=True)
@click.option("--year", type=WHOLE, required=True)
@in_transaction
def topup_propose(session: Session, fund_code: str, year: int) -> None:
    """Show the top-up the rule gives, for confirmation (post it with `ledger post top-up`)."""
    proposal = propose_top_up(session, fund_code, year)
    say(f"{format_cny(proposal.amount)}  ({proposal.basis})")


allocation_group = AppGroup("allocation", help="Allocating general money to purposes.")


@allocation_group.command("propose")
@click.option("--fund", "fund_code", required=True)
@click.option("--amount", "amounts", multiple=True, required=True,
              help="PURPOSE=AMOUNT, e.g. education=50000; repeat for each purpose")
@click.option("--doc-no")
@in_transaction
def allocation_propose(session: Session, fund_code: str, amounts: tuple[str, ...],
                       doc_no: str | None) -> None:
    """Propose an allocation; a second finance user confirms it."""
    finance = acting_as(session, fund_code, "finance")
    pairs = {}
    for item in amounts:
        purpose, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput("Write each amount as PURPOSE=AMOUNT, not “{value}”.",
                               value=item[:40])
        pairs[purpose] = parse_amount(value, field=f"--amount {purpose}")
    proposal = propose(session, finance, fund_code, amounts=pairs, doc_no=doc_no)
    say(_("Allocation {id} proposed.", id=proposal.id))


@allocation_group.command("confirm")
@click.option("--fund", "fund_code", required=True)
@click.argument("proposal_id", type=WHOLE)
@in_transaction
def allocation_confirm(session: Session, fund_code: str, proposal_id: int) -> None:
    """Confirm a proposal (by another user than its author) and post it."""
    confirm(session, acting_as(session, fund_code, "finance"), fund_code, proposal_id)
    say(_("Allocation confirmed and posted."))


@click.command("reconcile")
@click.option("--fund", "fund_code", required=True)
@click.option("--period", required=True, help="A month, e.g. 2026-03")
@with_appcontext
@in_transaction
def reconcile_command(session: Session, fund_code: str, period: str) -> int:
    """Reconcile a month of the dedicated account with the ledger."""
    result = reconcile(session, acting_as(session, fund_code, "charity_office", "finance"),
                       fund_code, period)
    bank = format_cny(result.bank_balance) if result.bank_balance is not None else "—"
    say(_("{period}: bank {bank}, fund accounts {ledger}; {lines} statement lines and "
          "{entries} entries outstanding.", period=result.period, bank=bank,
          ledger=format_cny(result.ledger_balance), lines=len(result.unmatched_lines),
          entries=len(result.unmatched_entries)))
    if not result.reconciled:
        raise click.exceptions.Exit(1)
    return 0
