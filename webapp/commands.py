"""Console commands (registered on ``webapp.cli.cli``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from core.db import begin_write
from core.errors import DomainError, InvalidInput
from core.i18n import N_, get_locale
from core.i18n import gettext as _
from core.money import format_cny
from webapp.cli import actor, cli, in_transaction, parse_date, print_table
from webapp.extensions import db


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    return make_url(url).render_as_string(hide_password=True)


@cli.command("init")
def init_command() -> None:
    """Create the database or upgrade it to the newest schema."""
    from flask import current_app  # noqa: PLC0415

    from core.migrate import upgrade  # noqa: PLC0415

    upgrade(db.engine)
    click.echo(_("Database ready: {url}", url=_redacted(current_app.config["DATABASE_URL"])))


# --- funds ---------------------------------------------------------------------

LEVELS = {"city": N_("city"), "county": N_("county")}

fund_group = AppGroup("fund", help="Funds, one per jurisdiction.")
cli.add_command(fund_group)


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
    """Open a fund and its accounts."""
    from ledger.funds import add_fund  # noqa: PLC0415

    fund = add_fund(session, actor(), code=code, name_zh=name_zh, name_en=name_en,
                    opened_on=parse_date(opened_on, "--opened-on"), parent_code=parent_code,
                    chart=chart)
    from ledger.funds import accounts_of  # noqa: PLC0415

    click.echo(_("Fund {code} opened with {count} accounts.", code=fund.code,
                 count=len(accounts_of(session, fund))))


@fund_group.command("list")
@in_transaction
def fund_list(session: Session) -> None:
    """List funds, city level first with its counties."""
    from ledger.funds import list_funds  # noqa: PLC0415

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
cli.add_command(ledger_group)
post_group = AppGroup("post", help="Post one fund event.")
ledger_group.add_command(post_group)


def _posted(entry: Any, fund: str) -> None:
    click.echo(_("Posted {fund} #{seq} on {date} ({type}); entry hash {hash}.", fund=fund,
                 seq=entry.seq, date=entry.date.isoformat(), type=entry.type,
                 hash=entry.hash[:16]))


def fund_option(func: Any) -> Any:
    return click.option("--fund", "fund_code", required=True, help="Fund code")(func)


def common(func: Any) -> Any:
    func = click.option("--date", help="Booking date (YYYY-MM-DD); today when omitted")(func)
    func = click.option("--amount", required=True, help="Amount in yuan, e.g. 1200.50")(func)
    return fund_option(func)


def _post(event: str, **kwargs: Any) -> None:
    from ledger.events import EVENTS  # noqa: PLC0415

    fund_code = kwargs.pop("fund_code")

    @in_transaction
    def run(session: Session) -> None:
        entry = EVENTS[event](session, actor(), fund_code, **kwargs)
        _posted(entry, fund_code.upper())

    run()


@post_group.command("seed")
@common
@click.option("--doc-no", required=True, help="Treasury decision document number (文号)")
@click.option("--narration")
def post_seed(fund_code: str, amount: str, date: str | None, doc_no: str,
              narration: str | None) -> None:
    """Treasury seed money (财政启动资金) into the general pool."""
    _post("seed", fund_code=fund_code, amount=amount, date=parse_date(date), doc_no=doc_no,
          narration=narration)


@post_group.command("top-up")
@common
@click.option("--doc-no", required=True, help="Treasury decision document number (文号)")
@click.option("--narration")
def post_top_up(fund_code: str, amount: str, date: str | None, doc_no: str,
                narration: str | None) -> None:
    """The treasury's yearly top-up (年度补充资金)."""
    _post("top-up", fund_code=fund_code, amount=amount, date=parse_date(date), doc_no=doc_no,
          narration=narration)


@post_group.command("donation")
@common
@click.option("--donor", required=True)
@click.option("--donor-type", type=click.Choice(["enterprise", "individual"]), required=True)
@click.option("--purpose", help="Directed purpose (education, 助学, …); general when omitted")
@click.option("--anonymous", is_flag=True, help="A new donor who wants to be published as 匿名")
@click.option("--narration")
@in_transaction
def post_donation(session: Session, fund_code: str, amount: str, date: str | None, donor: str,
                  donor_type: str, purpose: str | None, anonymous: bool,
                  narration: str | None) -> None:
    """A donation, directed or undirected; its receipt takes the next number."""
    from ledger.donations import record_donation  # noqa: PLC0415
    from webapp.money_commands import donor_for  # noqa: PLC0415

    donor_id = donor_for(session, fund_code, donor, donor_type, anonymous)
    receipt = record_donation(session, actor(), fund_code, donor_id=donor_id,
                              date=parse_date(date), amount=amount, purpose=purpose,
                              narration=narration)
    click.echo(_("Donation booked; receipt {code} issued.", code=receipt.code))


@post_group.command("allocation")
@common
@click.option("--purpose", required=True)
@click.option("--doc-no", help="Decision document number")
@click.option("--narration")
def post_allocation(fund_code: str, amount: str, date: str | None, purpose: str,
                    doc_no: str | None, narration: str | None) -> None:
    """Earmark general money for a purpose."""
    _post("allocation", fund_code=fund_code, amount=amount, date=parse_date(date),
          purpose=purpose, doc_no=doc_no, narration=narration)


@post_group.command("commitment")
@common
@click.option("--grant", required=True, help="Project reference")
@click.option("--purpose", required=True)
@click.option("--payee", help="Implementing unit")
@click.option("--narration")
def post_commitment(fund_code: str, amount: str, date: str | None, grant: str, purpose: str,
                    payee: str | None, narration: str | None) -> None:
    """An approved project's commitment."""
    _post("commitment", fund_code=fund_code, amount=amount, date=parse_date(date), grant=grant,
          purpose=purpose, payee=payee, narration=narration)


@post_group.command("disbursement")
@common
@click.option("--grant", required=True)
@click.option("--bank-ref", required=True, help="Bank transaction reference")
@click.option("--payee")
def post_disbursement(fund_code: str, amount: str, date: str | None, grant: str, bank_ref: str,
                      payee: str | None) -> None:
    """Pay a tranche of an approved project."""
    _post("disbursement", fund_code=fund_code, amount=amount, date=parse_date(date), grant=grant,
          bank_ref=bank_ref, payee=payee)


@post_group.command("release")
@common
@click.option("--grant", required=True)
@click.option("--reason", required=True)
def post_release(fund_code: str, amount: str, date: str | None, grant: str, reason: str) -> None:
    """Release an unpaid commitment."""
    _post("release", fund_code=fund_code, amount=amount, date=parse_date(date), grant=grant,
          reason=reason)


@post_group.command("unspent-return")
@common
@click.option("--grant", required=True)
@click.option("--bank-ref", required=True)
@click.option("--reason")
def post_unspent_return(fund_code: str, amount: str, date: str | None, grant: str,
                        bank_ref: str, reason: str | None) -> None:
    """Unspent project money returned to its purpose."""
    _post("unspent-return", fund_code=fund_code, amount=amount, date=parse_date(date),
          grant=grant, bank_ref=bank_ref, reason=reason)


@post_group.command("interest")
@common
@click.option("--bank-ref")
def post_interest(fund_code: str, amount: str, date: str | None, bank_ref: str | None) -> None:
    """Bank interest into the general pool."""
    _post("interest", fund_code=fund_code, amount=amount, date=parse_date(date),
          bank_ref=bank_ref)


@post_group.command("bank-fee")
@common
@click.option("--bank-ref")
def post_bank_fee(fund_code: str, amount: str, date: str | None, bank_ref: str | None) -> None:
    """A bank charge paid from the general pool."""
    _post("bank-fee", fund_code=fund_code, amount=amount, date=parse_date(date),
          bank_ref=bank_ref)


@post_group.command("reversal")
@fund_option
@click.option("--entry", "seq", type=int, required=True, help="Entry number (#) to reverse")
@click.option("--date", help="Date of the reversal, in the open period; today when omitted")
@click.option("--reason", required=True)
def post_reversal(fund_code: str, seq: int, date: str | None, reason: str) -> None:
    """Reverse a posted entry (the original is kept)."""
    _post("reversal", fund_code=fund_code, seq=seq, date=parse_date(date), reason=reason)


@ledger_group.command("balances")
@fund_option
@click.option("--as-of", help="Balances at the end of this date (YYYY-MM-DD)")
@in_transaction
def ledger_balances(session: Session, fund_code: str, as_of: str | None) -> None:
    """Every account's balance, and money per purpose."""
    from ledger.balances import balances, purpose_summary  # noqa: PLC0415
    from ledger.funds import accounts_of  # noqa: PLC0415
    from ledger.journal import find_fund  # noqa: PLC0415

    fund = find_fund(session, fund_code)
    day = parse_date(as_of, "--as-of") if as_of else None
    book = balances(session, fund, day)
    when = day.isoformat() if day else _("today")
    click.echo(_("{fund} — balances as of {when}", fund=fund.name, when=when))
    print_table([_("Code"), _("Account"), _("Name"), _("Balance")],
                [[a.code, a.name, a.name_en if get_locale() == "en" else a.name_zh,
                  format_cny(book[a.name])] for a in accounts_of(session, fund)], right=(3,))
    click.echo()
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
    from ledger.beancount_io import write_ledger  # noqa: PLC0415
    from ledger.journal import find_fund  # noqa: PLC0415

    fund = find_fund(session, fund_code)
    if output == "-":
        write_ledger(session, fund, sys.stdout)
        return
    path = Path(output)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as out:
        count = write_ledger(session, fund, out)
    partial.replace(path)  # a reader never sees half a file
    click.echo(_("Exported {count} entries of fund {fund} to {path}.", count=count,
                 fund=fund.code, path=str(path)), err=True)


@ledger_group.command("verify")
@click.option("--fund", "fund_code", help="Only this fund; all funds when omitted")
@click.option("--against", "exports", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="An earlier export of a fund (repeatable): the heads its closed periods "
                   "printed must still be in the books")
@in_transaction
def ledger_verify(session: Session, fund_code: str | None, exports: tuple[str, ...]) -> int:
    """Prove the SQL books equal Beancount's realization, and that receipts, projects,
    the audit log and the closed periods' heads agree with the journal; names every
    difference."""
    from grants.verify import check_projects  # noqa: PLC0415
    from ledger.beancount_io import read_period_heads  # noqa: PLC0415
    from ledger.funds import list_funds  # noqa: PLC0415
    from ledger.journal import find_fund  # noqa: PLC0415
    from ledger.verify import verify_fund  # noqa: PLC0415

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
                             against=against.get(fund.code, ()))
        if report.ok:
            click.echo(_("OK {fund}: {count} entries; Beancount and SQL agree; receipts, "
                         "projects, the audit log and the closed periods' heads match the "
                         "journal.", fund=fund.code, count=report.entries))
            continue
        failed += 1
        click.echo(_("FAILED {fund}: {count} problems", fund=fund.code,
                     count=len(report.problems)))
        for problem in report.problems:
            click.echo(f"  - {problem}")
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
    from ledger.periods import close_period  # noqa: PLC0415

    close = close_period(session, actor(), fund_code, period, reason=reason,
                         unreconciled_reason=unreconciled_reason)
    click.echo(_("Closed {period} of fund {fund}: nothing can post on or before {end}.",
                 period=close.period, fund=fund_code.upper(), end=close.period_end.isoformat()))


# --- audit and demo --------------------------------------------------------------

audit_group = AppGroup("audit", help="The hash-chained audit log.")
cli.add_command(audit_group)


@audit_group.command("verify")
@in_transaction
def audit_verify(session: Session) -> None:
    """Recompute the audit chain and name the first broken link; then check, fund by
    fund, that the audit log and the journal name each other and that every closed
    period still finds the heads it recorded."""
    from audit import verify_chain  # noqa: PLC0415
    from ledger.crosscheck import check_audit_against_journal  # noqa: PLC0415
    from ledger.funds import list_funds  # noqa: PLC0415

    report = verify_chain(session)
    if report.ok:
        click.echo(_("Audit chain intact: {count} records, head {head}.", count=report.checked,
                     head=report.head_hash))
    else:
        click.echo(_("Audit chain BROKEN at record #{id}: {problem}", id=report.broken_at,
                     problem=report.problem))
    failed = not report.ok
    for fund in list_funds(session):
        problems = check_audit_against_journal(session, fund)
        if not problems:
            click.echo(_("OK {fund}: the audit log and the journal name each other; the "
                         "closed periods' heads are in place.", fund=fund.code))
            continue
        failed = True
        click.echo(_("FAILED {fund}: {count} problems", fund=fund.code, count=len(problems)))
        for problem in problems:
            click.echo(f"  - {problem}")
    if failed:
        raise click.exceptions.Exit(1)


@cli.command("demo")
@click.option("--years", default=3, show_default=True, type=click.IntRange(1, 10),
              help="Full years of history before this one")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has funds")
def demo_command(years: int, if_empty: bool) -> None:
    """Fill an empty database with the six Ziyang funds, their users and projects."""
    from flask import current_app  # noqa: PLC0415

    from ledger.funds import list_funds  # noqa: PLC0415
    from webapp.demo import DEMO_PASSWORD, build  # noqa: PLC0415
    from webapp.projects.routes import protector  # noqa: PLC0415

    if if_empty:
        with db.transaction() as session:
            if list_funds(session):
                click.echo(_("The database already holds funds; demo data not added."))
                return
    session = begin_write(db.factory())

    def commit() -> None:
        session.commit()
        begin_write(session)

    with current_app.test_request_context():
        keys = protector()
    try:
        funds = build(session, keys, years=years, commit=commit)
        session.commit()
    except DomainError:
        session.rollback()
        raise
    finally:
        session.close()
    click.echo(_("Demo data ready: {count} funds.", count=len(funds)))
    click.echo(_("Demo users: <fund code>_ca, _co, _fin1, _fin2, _aud, _admin "
                 "(e.g. yjq_ca), password {password}", password=DEMO_PASSWORD))


# --- users -----------------------------------------------------------------------

user_group = AppGroup("user", help="Users of the web app.")
cli.add_command(user_group)


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
    """Create a user from a script; the password comes on standard input:

    echo "$PW" | specialfund user add NAME --role ROLE --fund CODE --password-stdin
    """
    from webapp.auth.users import add_user  # noqa: PLC0415

    password = sys.stdin.readline().rstrip("\n")
    user = add_user(session, actor(), username=username, display_name=display_name or username,
                    role=role, fund_code=fund_code, password=password)
    click.echo(_("User {name} created.", name=user.username))


# --- API tokens ------------------------------------------------------------------

token_group = AppGroup("token", help="API tokens: each acts as its user.")
cli.add_command(token_group)


@token_group.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for, e.g. the script's name")
@click.option("--expires", help="Last day the token works (YYYY-MM-DD); no expiry when omitted")
@in_transaction
def token_create(session: Session, username: str, name: str, expires: str | None) -> None:
    """Make a token for a user and print it alone on standard output, once:

    TOKEN=$(specialfund token create NAME --name script)
    """
    from webapp.auth.tokens import create_token  # noqa: PLC0415
    from webapp.auth.users import find_user  # noqa: PLC0415

    user = find_user(session, username)
    token, row = create_token(session, actor(), user, name=name,
                              expires_on=parse_date(expires, "--expires") if expires else None)
    click.echo(token)
    click.echo(_("API token {id} ({hint}…) created for {name}. It is shown only this once; "
                 "keep it secret.", id=row.id, hint=row.hint, name=user.username), err=True)


@token_group.command("revoke")
@click.argument("token_id", type=int)
@in_transaction
def token_revoke(session: Session, token_id: int) -> None:
    """Revoke a token for good (see `token list` for its number)."""
    from webapp.auth.tokens import revoke_token  # noqa: PLC0415

    row = revoke_token(session, actor(), token_id)
    click.echo(_("API token {id} ({hint}…) of {name} revoked.", id=row.id, hint=row.hint,
                 name=row.user.username))


@token_group.command("list")
@click.argument("username")
@in_transaction
def token_list(session: Session, username: str) -> None:
    """A user's tokens, newest first; only their first characters, never the tokens."""
    from webapp.auth.tokens import is_live, tokens_of  # noqa: PLC0415
    from webapp.auth.users import find_user  # noqa: PLC0415

    def state(row: Any) -> str:
        if row.revoked_at is not None:
            return _("revoked {when} by {name}", when=row.revoked_at.strftime("%Y-%m-%d %H:%M"),
                     name=row.revoked_by)
        return _("active") if is_live(row) else _("expired")

    rows = [[str(t.id), t.name, t.hint + "…", t.created_at.strftime("%Y-%m-%d %H:%M"),
             t.expires_at.date().isoformat() if t.expires_at else "—", state(t)]
            for t in tokens_of(session, find_user(session, username))]
    print_table([_("ID"), _("Token name"), _("Begins with"), _("Created"), _("Valid until"),
                 _("Status")], rows, right=(0,))
