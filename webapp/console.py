"""What the console's commands share: who they act as, their one transaction and its
one commit point, and how they read options and print.

Every command body runs in one transaction (``in_transaction``): it commits when the
command succeeds and rolls back entirely when it fails. What the command has to say
(``say``, ``print_table``) is printed once its work is committed, so a commit that fails
prints its error alone, never a success before it.

The console acts as a named user who proves it, like the pages: ``specialfund --user
NAME …`` with NAME's password as the first line of standard input (asked for, hidden,
on a terminal), or ``SPECIALFUND_TOKEN`` holding one of their API tokens. Every step
reserved to a role runs as that user's ``Actor``, so the domain's role, jurisdiction
and two-person rules apply as on the pages, and the audit log names that user. The
console's own name (``SPECIALFUND_ACTOR``) only labels jobs that need no role.
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import os
import sys
import unicodedata
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import click
from sqlalchemy.orm import Session

from audit import ChainReport, chain_label
from core import clock
from core.actors import Actor
from core.errors import DomainError, PermissionDenied
from core.i18n import gettext as _
from core.money import parse_amount
from core.reading import read_date, read_int
from grants.access import require_acting
from ledger.journal import find_fund
from people.models import User
from people.tokens import user_for_token
from people.users import authenticate
from webapp.extensions import db

_CLAIMED = "specialfund.user"  # the name given with --user (ctx.meta, shared by subcommands)
_PROVEN = "specialfund.proven"  # the id of the user once proven, for this invocation
_SAID = "specialfund.said"  # what the command says once its transaction has committed


def actor() -> Actor:
    """The console itself: labels jobs that need no role (set-up, export, verify, lists)."""
    name = os.environ.get("SPECIALFUND_ACTOR") or f"cli:{getpass.getuser()}"
    return Actor(name, "console")


def _claim_user(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[_CLAIMED] = value


user_option = click.Option(
    ["--user"], metavar="NAME", expose_value=False, allow_from_autoenv=False,
    callback=_claim_user,
    help="Act as this user, who proves it: their password is the first line of standard "
         "input (asked for on a terminal; never give it on the command line). Steps "
         "reserved to a role need it, or an API token of theirs in SPECIALFUND_TOKEN.")


def _read_password(username: str) -> str:
    if sys.stdin is None:
        return ""
    if sys.stdin.isatty():
        return getpass.getpass(_("Password for {name}: ", name=username))
    return sys.stdin.readline().rstrip("\n")


def prove(claim: str | None = None, *, by_token: bool = True) -> int | None:
    """Prove who the console acts as, once per command and before its transaction (a
    wrong password is counted towards the lockout even though the command then fails).
    ``claim`` names the user the command itself is about (``token create NAME``) when no
    ``--user`` was given. Returns the proven user's id, or None when nobody was named."""
    meta = click.get_current_context().meta
    if _PROVEN in meta:
        return meta[_PROVEN]
    name, token = meta.get(_CLAIMED), os.environ.get("SPECIALFUND_TOKEN") or None
    if name is not None and token is not None:
        raise click.UsageError(_("Give --user or SPECIALFUND_TOKEN, not both."))
    if token is not None and not by_token:
        raise PermissionDenied("This step needs the user's own password, not an API token.")
    name = name if name is not None else (None if token else claim)
    if name is None and token is None:
        return None
    with db.transaction() as session:  # commits the failure count, or the reset
        if token is not None:
            user = user_for_token(session, token)
        else:
            user = authenticate(session, name or "", _read_password(name or ""))
        user_id = user.id if user is not None else None
    if user_id is None:
        if token is not None:
            raise PermissionDenied("SPECIALFUND_TOKEN is not a valid API token: unknown, "
                                   "revoked, expired, or its user deactivated.")
        raise PermissionDenied("Wrong user name or password, or the account is locked for a "
                               "while after repeated failures.")
    meta[_PROVEN] = user_id
    return user_id


def is_proven() -> bool:
    """Whether this command was given a user and proved them."""
    return click.get_current_context().meta.get(_PROVEN) is not None


def proven(session: Session) -> Actor:
    """The proven user's actor; refuses when the console was not given one."""
    user_id = click.get_current_context().meta.get(_PROVEN)
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or not user.active:
        raise PermissionDenied(
            "This step is reserved to a role: name the user who takes it, "
            "specialfund --user NAME … with their password as the first line of standard "
            "input, or set SPECIALFUND_TOKEN to one of their API tokens.")
    return user.actor()


def acting_as(session: Session, fund_code: str, *roles: str) -> Actor:
    """The proven user, if they act in this fund with one of these roles: the pages' rule
    (``grants.access.require_acting``) with the pages' message."""
    who = proven(session)
    require_acting(who, find_fund(session, fund_code), *roles)
    return who


def parse_date(value: str | None, field: str = "--date") -> dt.date:
    if value is None or value.strip().lower() == "today":
        return clock.today()
    return read_date(value, field)


def amount_option(_ctx: click.Context, param: click.Parameter, value: str | None
                  ) -> Decimal | None:
    """Click callback: an amount option read by the one strict reader, naming the option."""
    return None if value is None else parse_amount(value, field=param.opts[0])


class WholeNumber(click.ParamType):
    """A whole number read by the one strict reader (ASCII or full-width digits only, in the
    database's range), so an overflowing or oddly written number is refused, not sent on."""
    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        field = (param.opts[0] if param is not None and param.opts else "") or self.name
        try:
            return read_int(value, field)
        except DomainError as error:
            self.fail(error.message, param, ctx)


WHOLE = WholeNumber()


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
                right: Sequence[int] = ()) -> None:
    """Columns aligned for Chinese (double-width) text, said as ``say`` says."""
    widths = [max(_width(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def fmt(row: Sequence[str]) -> str:
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - _width(str(cell)))
            cells.append(pad + str(cell) if i in right else str(cell) + pad)
        return "  ".join(cells).rstrip()

    say(fmt(headers))
    say("  ".join("-" * w for w in widths))
    for row in rows:
        say(fmt(row))


def say(message: str = "", *, err: bool = False) -> None:
    """Print a line of what the command has to say (to standard error with ``err``):
    inside ``in_transaction`` once its work is committed, elsewhere at once."""
    said = click.get_current_context().meta.get(_SAID)
    if said is None:
        click.echo(message, err=err)
    else:
        said.append((message, err))


def _print(said: list[tuple[str, bool]]) -> None:
    for message, err in said:
        click.echo(message, err=err)


def in_transaction(work: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command body with a session in one transaction, after proving the user the
    console was told to act as: the one commit point of a command. What the body says is
    printed after the commit; when the body or the commit fails, nothing of it is, and
    the error alone is. A check that exits non-zero (``click.exceptions.Exit``: verify,
    reconcile) keeps nothing either, and prints the report it made."""

    @functools.wraps(work)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        prove()
        meta = click.get_current_context().meta
        said: list[tuple[str, bool]] = []
        meta[_SAID] = said
        try:
            with db.transaction() as session:
                result = work(session, *args, **kwargs)
        except click.exceptions.Exit:
            _print(said)
            raise
        finally:
            del meta[_SAID]
        _print(said)
        return result

    return wrapper


def say_chains(report: ChainReport) -> None:
    """``audit verify``'s verdict: a line for each audit chain, the broken one named."""
    for chain in report.heads:
        if chain.chain != report.broken_chain:
            say(_("Audit chain {chain} intact: {count} records, head {head}.",
                  chain=chain.label, count=chain.seq, head=chain.hash))
    if report.broken_chain is not None:
        say(_("Audit chain {chain} BROKEN at record #{position}: {problem}",
              chain=chain_label(report.broken_chain), position=report.broken_at,
              problem=report.problem))
    elif not report.heads:
        say(_("Audit log empty: no records."))
