"""Console commands: funds, the ledger, audit, users and tokens (named in
``webapp.cli.COMMANDS``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.orm import Session

from audit import verify_chain
from core.actors import Actor
from core.errors import InvalidInput, PermissionDenied
from core.i18n import N_, get_locale
from core.i18n import gettext as _
from core.money import format_cny
from grants.access import require_acting, require_fund
from grants.verify import check_projects
from ledger.balances import balances, purpose_summary
from ledger.beancount_io import read_period_heads, write_ledger
from ledger.crosscheck import check_audit_against_journal
from ledger.donations import record_donation
from ledger.events import EVENTS
from ledger.funds import accounts_of, add_fund, list_funds
from ledger.journal import find_entry, find_fund
from ledger.models import Fund
from ledger.periods import close_period
from ledger.verify import verify_fund
from people.tokens import create_token, is_live, revoke_token, tokens_of
from people.users import add_user, find_user, has_administrator
from webapp.console import (
    WHOLE,
    acting_as,
    actor,
    amount_option,
    in_transaction,
    is_proven,
    parse_date,
    print_table,
    prove,
    proven,
    say,
    say_chains,
)
from webapp.money_commands import donor_for

# --- setting up: funds and users ------------------------------------------------


def _setting_up(session: Session, fund: Fund | None, *, opening: bool = False) -> Actor:
    """Who opens a fund below ``fund`` (``opening``) or adds a user to ``fund``: a proven
    administrator, as on the pages; the console itself only while no active administrator
    manages that jurisdiction (the first fund and the first administrator of a new city).
    A new city-level fund (``fund`` None) has nobody over it yet."""
    if is_proven():
        admin = proven(session)
        if opening and (admin.role != "admin" or not admin.city_level or fund is None
                        or fund.code != admin.fund):
            raise PermissionDenied("Only a city administrator opens funds, for the counties "
                                   "below their city.")
        return admin
    if fund is not None and has_administrator(session, fund):
        raise PermissionDenied("{fund} has an administrator: they set it up, e.g. "
                               "specialfund --user ADMIN … with their password as the first "
                               "line of standard input.", fund=fund.name)
    return actor()


# --- funds ---------------------------------------------------------------------

LEVELS = {"city": N_("city"), "county": N_("county")}

fund_group = AppGroup("fund", help="Funds, one per jurisdiction.")


@fund_group.command("add")
@click.argument("code")
@click.option("--name-zh", required=True, help="Chinese name, e.g. 雁江区")
@click.option("--name-en", required=True, help="English name")
@click.option("--parent", "parent_code", help="Code of the city-level fund above this one")
@click.option("--opened-on", help="Opening date (YYYY-MM-DD); today when omitted")
@click.option("--chart", default="npo-2026", show_default=True, help="Chart-of-accounts template")
@in_transaction
def fund_add(session: Session, code: str, name_zh: str, name_en: str, parent_code: str | None,
             opened_on: str | None, chart: str) -> None:
    """Open a fund and its accounts: a city administrator, for a county below their city;
    the console itself while nobody administers the city yet (setting up)."""
    parent = find_fund(session, parent_code) if parent_code else None
    fund = add_fund(session, _setting_up(session, parent, opening=True), code=code,
                    name_zh=name_zh, name_en=name_en,
                    opened_on=parse_date(opened_on, "--opened-on"), parent_code=parent_code,
                    chart=chart)
    say(_("Fund {code} opened with {count} accounts.", code=fund.code,
          count=len(accounts_of(session, fund))))


@fund_group.command("list")
@in_transaction
def fund_list(session: Session) -> None:
    """List funds, city level first with its counties."""
    rows = [
        [f.code, ("  " if f.parent_id else "") + str(f.name), _(LEVELS[f.level]),
         f.opened_on.isoformat(),
         f.locked_through.isoformat() if f.locked_through else "—", str(f.entry_count)]
        for f in list_funds(session)
    ]
    print_table([_("Code"), _("Fund"), _("Level"), _("Opened"), _("Closed through"),
                 _("Entries")], rows, right=(5,))


# --- ledger ----------------------------------------------------------------------

ledger_group = AppGroup("ledger", help="Post entries, read balances, close, export, verify.")
post_group = AppGroup("post", help="Post one fund event.")
ledger_group.add_command(post_group)


def _posted(entry: Any, fund: str) -> None:
    say(_("Posted {fund} #{seq} on {date} ({type}); entry hash {hash}.", fund=fund,
          seq=entry.seq, date=entry.date.isoformat(), type=entry.type, hash=entry.hash[:16]))


def fund_option(func: Any) -> Any:
    return click.option("--fund", "fund_code", required=True, help="Fund code")(func)


# --- ledger post <event>: one command per event of ledger.events.EVENTS ------------------


def _amount() -> click.Option:
    return click.Option(["--amount"], required=True, callback=amount_option,
                        help="Amount in yuan, e.g. 1200.50")


def _booking_date() -> click.Option:
    return click.Option(["--date"], help="Booking date (YYYY-MM-DD); today when omitted")


def _doc_no() -> click.Option:
    return click.Option(["--doc-no"], required=True,
                        help="Treasury decision document number (文号)")


def _bank_ref() -> click.Option:
    return click.Option(["--bank-ref"])


def _narration() -> click.Option:
    return click.Option(["--narration"])


@dataclass(frozen=True)
class Posting:
    """How ``ledger post <event>`` takes one event: its help, its options after --fund
    (named as the event's keyword arguments), and the role that posts it through
    ``ledger.events.EVENTS`` -- or its own step (``take``, which says what it did), or,
    for an event the console does not post alone, the way the money goes instead
    (``closed``)."""

    help: str = ""
    options: Callable[[], list[click.Option]] = list
    role: str = ""
    take: Callable[..., None] | None = None
    closed: str = ""


def _take_donation(session: Session, fund_code: str, *, amount: Decimal, date: str | None,
                   donor: str, donor_type: str, purpose: str | None, anonymous: bool,
                   narration: str | None) -> None:
    """A donation goes through the receipt register (``ledger.donations``), which gives
    its receipt the next number."""
    office = acting_as(session, fund_code, "charity_office")
    donor_id = donor_for(session, office, fund_code, donor, donor_type, anonymous)
    receipt = record_donation(session, office, fund_code, donor_id=donor_id,
                              date=parse_date(date), amount=amount, purpose=purpose,
                              narration=narration)
    say(_("Donation booked; receipt {code} issued.", code=receipt.code))


# Who reverses what on the console: the role that posts that kind of entry. Donations go
# back with `donation-return` (which voids the receipt too); allocations and project
# money are two-person decisions that one person does not undo alone.
REVERSIBLE = {"seed": "finance", "top-up": "finance", "interest": "charity_office",
              "bank-fee": "charity_office"}


def _take_reversal(session: Session, fund_code: str, *, seq: int, date: str | None,
                   reason: str) -> None:
    """A reversal is taken by the role that posts the kind of entry it reverses."""
    who = proven(session)
    fund = require_fund(who, find_fund(session, fund_code))
    original = find_entry(session, fund, seq)
    if original.type not in REVERSIBLE:
        raise PermissionDenied("Entry #{seq} is a {type} entry: the console reverses only seed, "
                               "top-up, interest and bank-fee entries. A donation goes back "
                               "with donation-return; project money and allocations only "
                               "through their own steps.", seq=seq, type=original.type)
    require_acting(who, fund, REVERSIBLE[original.type])
    _posted(EVENTS["reversal"](session, who, fund.code, seq=seq, date=parse_date(date),
                               reason=reason), fund.code)


PROJECT_MONEY = N_(
    "Project money moves only through the project's own steps on the pages or the API "
    "(approve, pay a tranche, record the unspent money, close, cancel), where nobody "
    "both approves and pays. Nothing was posted.")

POSTINGS = {
    "seed": Posting(
        help="Treasury seed money (财政启动资金) into the general pool.", role="finance",
        options=lambda: [_amount(), _booking_date(), _doc_no(), _narration()]),
    "top-up": Posting(
        help="The treasury's yearly top-up (年度补充资金).", role="finance",
        options=lambda: [_amount(), _booking_date(), _doc_no(), _narration()]),
    "donation": Posting(
        help="A donation, directed or undirected; its receipt takes the next number.",
        take=_take_donation,
        options=lambda: [
            _amount(), _booking_date(), click.Option(["--donor"], required=True),
            click.Option(["--donor-type"], type=click.Choice(["enterprise", "individual"]),
                         required=True),
            click.Option(["--purpose"],
                         help="Directed purpose (education, 助学, …); general when omitted"),
            click.Option(["--anonymous"], is_flag=True,
                         help="A new donor who wants to be published as 匿名"),
            _narration()]),
    "allocation": Posting(closed=N_(
        "An allocation needs two finance users: one proposes it (specialfund --user NAME "
        "allocation propose …) and another confirms it (allocation confirm). Nothing was "
        "posted.")),
    "commitment": Posting(closed=PROJECT_MONEY),
    "disbursement": Posting(closed=PROJECT_MONEY),
    "release": Posting(closed=PROJECT_MONEY),
    "unspent-return": Posting(closed=PROJECT_MONEY),
    "interest": Posting(
        help="Bank interest into the general pool.", role="charity_office",
        options=lambda: [_amount(), _booking_date(), _bank_ref()]),
    "bank-fee": Posting(
        help="A bank charge paid from the general pool.", role="charity_office",
        options=lambda: [_amount(), _booking_date(), _bank_ref()]),
    "reversal": Posting(
        help="Reverse a seed, top-up, interest or bank-fee entry (the original is kept).",
        take=_take_reversal,
        options=lambda: [
            click.Option(["--entry", "seq"], type=WHOLE, required=True,
                         help="Entry number (#) to reverse"),
            click.Option(["--date"],
                         help="Date of the reversal, in the open period; today when omitted"),
            click.Option(["--reason"], required=True)]),
}


@in_transaction
def _post(session: Session, event: str, fund_code: str, options: dict[str, Any]) -> None:
    """Post as the proven user, if they act in the fund with the event's role (as on the
    pages), or take the event's own step."""
    posting = POSTINGS[event]
    if posting.take is not None:
        posting.take(session, fund_code, **options)
        return
    entry = EVENTS[event](session, acting_as(session, fund_code, posting.role), fund_code,
                          **options)
    _posted(entry, fund_code.upper())


def _post_command(event: str, posting: Posting) -> click.Command:
    if posting.closed:
        def closed() -> None:
            """A command that no longer posts: it says which way the money goes instead."""
            raise click.UsageError(_(posting.closed))

        return click.Command(event, callback=with_appcontext(closed), hidden=True,
                             add_help_option=False,
                             context_settings={"ignore_unknown_options": True,
                                               "allow_extra_args": True})

    def post(fund_code: str, **options: Any) -> None:
        if posting.take is None:  # the date is read before the user is proven
            options["date"] = parse_date(options["date"])
        _post(event, fund_code, options)

    fund = click.Option(["--fund", "fund_code"], required=True, help="Fund code")
    return click.Command(event, callback=with_appcontext(post), help=posting.help,
                         params=[fund, *posting.options()])


for _event in EVENTS:  # a new event of the ledger needs its line in POSTINGS
    post_group.add_command(_post_command(_event, POSTINGS[_event]))


@ledger_group.command("balances")
@fund_option
@click.option("--as-of", help="Balances at the end of this date (YYYY-MM-DD)")
@in_transaction
def ledger_balances(session: Session, fund_code: str, as_of: str | None) -> None:
    """Every account's balance, and money per purpose."""
    fund = find_fund(session, fund_code)
    day = parse_date(as_of, "--as-of") if as_of else None
    book = balances(session, fund, day)
    when = day.isoformat() if day else _("today")
    say(_("{fund} — balances as of {when}", fund=fund.name, when=when))
    print_table([_("Code"), _("Account"), _("Name"), _("Balance")],
                [[a.code, a.name, a.name_en if get_locale() == "en" else a.name_zh,
                  format_cny(book[a.name])] for a in accounts_of(session, fund)], right=(3,))
    say()
    print_table([_("Purpose"), _("In the bank"), _("Committed, unpaid"), _("Available"),
                 _("Spent"), _("Paid out")],
                [[str(p.label), format_cny(p.cash), format_cny(p.committed),
                  format_cny(p.available), format_cny(p.spent), format_cny(p.paid)]
                 for p in purpose_summary(session, fund, day)], right=(1, 2, 3, 4, 5))


@ledger_group.command("export")
@fund_option
@click.option("-o", "--output", required=True, help="File to write, or - for standard output")
@in_transaction
def ledger_export(session: Session, fund_code: str, output: str) -> None:
    """Write a fund's complete Beancount ledger."""
    fund = find_fund(session, fund_code)
    if output == "-":  # written as it is read: the export commits nothing
        write_ledger(session, fund, sys.stdout)
        return
    path = Path(output)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as out:
        count = write_ledger(session, fund, out)
    partial.replace(path)  # a reader never sees half a file
    say(_("Exported {count} entries of fund {fund} to {path}.", count=count, fund=fund.code,
          path=str(path)), err=True)


@ledger_group.command("verify")
@click.option("--fund", "fund_code", help="Only this fund; all funds when omitted")
@click.option("--against", "exports", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="An earlier export of a fund (repeatable): the heads its closed periods "
                   "printed must still be in the books")
@click.option("--full", is_flag=True,
              help="Re-derive every entry, the sealed periods' too (by default the sealed "
                   "periods are checked against their seals and only the rest is re-derived)")
@in_transaction
def ledger_verify(session: Session, fund_code: str | None, exports: tuple[str, ...],
                  full: bool) -> int:
    """Prove the SQL books equal Beancount's realization, and that receipts, projects,
    the audit log and the closed periods' heads agree with the journal; names every
    difference. Periods sealed by a close are checked against their seals and only the
    open part is re-derived, unless --full."""
    funds = [find_fund(session, fund_code)] if fund_code else list_funds(session)
    against: dict[str, list[Any]] = {}
    for export in exports:
        heads = read_period_heads(Path(export))
        codes = {h.fund for h in heads}
        if codes - {f.code for f in funds}:
            raise InvalidInput("{file} is an export of fund {fund}, which is not verified "
                               "here.", file=export, fund=", ".join(sorted(codes)))
        for head in heads:
            against.setdefault(head.fund, []).append(head)
    failed = 0
    for fund in funds:
        report = verify_fund(session, fund, checks=[check_projects],
                             against=against.get(fund.code, ()), full=full)
        if report.sealed is not None:
            say(_("{fund}: sealed through period {period}, checked against its seal; "
                  "{count} entries since re-derived (--full re-derives all).",
                  fund=fund.code, period=report.sealed, count=report.open_entries), err=True)
        elif report.seal_failed:
            say(_("{fund}: a sealed period failed its seal's checks; every entry was "
                  "re-derived.", fund=fund.code), err=True)
        if report.ok:
            say(_("OK {fund}: {count} entries; Beancount and SQL agree; receipts, projects, "
                  "the audit log and the closed periods' heads match the journal.",
                  fund=fund.code, count=report.entries))
            continue
        failed += 1
        say(_("FAILED {fund}: {count} problems", fund=fund.code, count=len(report.problems)))
        for problem in report.problems:
            say(f"  - {problem}")
    if failed:
        raise click.exceptions.Exit(1)
    return 0


@ledger_group.command("close-period")
@fund_option
@click.option("--period", required=True, help="A month (2025-03) or a year (2025)")
@click.option("--reason")
@click.option("--unreconciled-reason",
              help="Close although months are not reconciled with the bank, and say why")
@in_transaction
def ledger_close(session: Session, fund_code: str, period: str, reason: str | None,
                 unreconciled_reason: str | None) -> None:
    """Assert every closing balance and lock the period."""
    close = close_period(session, acting_as(session, fund_code, "finance"), fund_code, period,
                         reason=reason,
                         unreconciled_reason=unreconciled_reason)
    say(_("Closed {period} of fund {fund}: nothing can post on or before {end}.",
          period=close.period, fund=fund_code.upper(), end=close.period_end.isoformat()))


# --- audit and demo --------------------------------------------------------------

audit_group = AppGroup("audit", help="The hash-chained audit log.")


@audit_group.command("verify")
@in_transaction
def audit_verify(session: Session) -> None:
    """Recompute every audit chain (each fund's, and that of actions of no fund) and
    name the first broken link; then check, fund by fund, that the audit log and the
    journal name each other and that every closed period still finds the heads it
    recorded."""
    report = verify_chain(session)
    say_chains(report)
    failed = not report.ok
    for fund in list_funds(session):
        problems = check_audit_against_journal(session, fund)
        if not problems:
            say(_("OK {fund}: the audit log and the journal name each other; the closed "
                  "periods' heads are in place.", fund=fund.code))
            continue
        failed = True
        say(_("FAILED {fund}: {count} problems", fund=fund.code, count=len(problems)))
        for problem in problems:
            say(f"  - {problem}")
    if failed:
        raise click.exceptions.Exit(1)


# --- users -----------------------------------------------------------------------

user_group = AppGroup("user", help="Users of the web app.")


@user_group.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(
    ["civil_affairs", "charity_office", "finance", "auditor", "admin"]))
@click.option("--fund", "fund_code", required=True, help="Jurisdiction (fund code)")
@click.option("--name", "display_name", help="Display name; the user name when omitted")
@click.option("--password-stdin", is_flag=True, required=True,
              help="Read the password from standard input (never from the command line)")
@in_transaction
def user_add(session: Session, username: str, role: str, fund_code: str,
             display_name: str | None, password_stdin: bool) -> None:
    """Create a user from a script; the password comes on standard input. An administrator
    of the fund adds users (their own password first); the console itself only while nobody
    administers the fund yet, e.g. the first administrator:

    echo "$PW" | specialfund user add NAME --role ROLE --fund CODE --password-stdin
    printf '%s\n%s\n' "$ADMIN_PW" "$PW" | specialfund --user ADMIN user add NAME … --password-stdin
    """
    who = _setting_up(session, find_fund(session, fund_code))
    password = sys.stdin.readline().rstrip("\n")
    user = add_user(session, who, username=username, display_name=display_name or username,
                    role=role, fund_code=fund_code, password=password)
    say(_("User {name} created.", name=user.username))


# --- API tokens ------------------------------------------------------------------

token_group = AppGroup("token", help="API tokens: each acts as its user, who alone makes them.")


@token_group.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for, e.g. the script's name")
@click.option("--expires", help="Last day the token works (YYYY-MM-DD); no expiry when omitted")
def token_create(username: str, name: str, expires: str | None) -> None:
    """Make a token for yourself, proven by your own password as the first line of standard
    input, and print it alone on standard output, once:

    TOKEN=$(specialfund token create NAME --name script < password-file)
    """
    prove(claim=username, by_token=False)  # never a token: it would outlive its own revoking
    _create_token(username, name=name, expires=expires)


@in_transaction
def _create_token(session: Session, username: str, *, name: str, expires: str | None) -> None:
    user = find_user(session, username)
    token, row = create_token(session, proven(session), user, name=name,
                              expires_on=parse_date(expires, "--expires") if expires else None)
    say(token)
    say(_("API token {id} ({hint}…) created for {name}. It is shown only this once; keep it "
          "secret.", id=row.id, hint=row.hint, name=user.username), err=True)


@token_group.command("revoke")
@click.argument("token_id", type=WHOLE)
@in_transaction
def token_revoke(session: Session, token_id: int) -> None:
    """Revoke a token for good (see `token list` for its number), as its user or an
    administrator who manages them (specialfund --user NAME token revoke ID)."""
    row = revoke_token(session, proven(session), token_id)
    say(_("API token {id} ({hint}…) of {name} revoked.", id=row.id, hint=row.hint,
          name=row.user.username))


@token_group.command("list")
@click.argument("username")
@in_transaction
def token_list(session: Session, username: str) -> None:
    """A user's tokens, newest first; only their first characters, never the tokens."""
    def state(row: Any) -> str:
        if row.revoked_at is not None:
            return _("revoked {when} by {name}", when=row.revoked_at.strftime("%Y-%m-%d %H:%M"),
                     name=row.revoked_by)
        if not row.made_by_owner:
            return _("opens nothing: made by {name}, not by its user", name=row.created_by)
        return _("active") if is_live(row) else _("expired")

    rows = [[str(t.id), t.name, t.hint + "…", t.created_at.strftime("%Y-%m-%d %H:%M"),
             t.expires_at.date().isoformat() if t.expires_at else "—", state(t)]
            for t in tokens_of(session, find_user(session, username))]
    print_table([_("ID"), _("Token name"), _("Begins with"), _("Created"), _("Valid until"),
                 _("Status")], rows, right=(0,))
