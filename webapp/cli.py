"""The ``specialfund`` console command: set-up, funds, postings, balances,
export, verify, period close, audit and demo data.

Every command runs in one transaction: it commits when the command succeeds and
rolls back entirely when it fails. Errors print one line and exit non-zero.

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
from typing import TYPE_CHECKING, Any

import click
from flask.cli import FlaskGroup
from sqlalchemy.exc import SQLAlchemyError

from core.actors import Actor
from core.errors import DomainError, PermissionDenied
from core.i18n import gettext as _
from core.i18n import set_locale

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

EXIT_PROBLEM = 1
EXIT_USAGE = 2
_CLAIMED = "specialfund.user"  # the name given with --user (ctx.meta, shared by subcommands)
_PROVEN = "specialfund.proven"  # the id of the user once proven, for this invocation


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
    from people.tokens import user_for_token  # noqa: PLC0415
    from people.users import authenticate  # noqa: PLC0415
    from webapp.extensions import db  # noqa: PLC0415

    meta = click.get_current_context().meta
    if _PROVEN in meta:
        return meta[_PROVEN]  # type: ignore[no-any-return]
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
    from people.models import User  # noqa: PLC0415

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
    from grants.access import require_acting  # noqa: PLC0415
    from ledger.journal import find_fund  # noqa: PLC0415

    who = proven(session)
    require_acting(who, find_fund(session, fund_code), *roles)
    return who


def parse_date(value: str | None, field: str = "--date") -> dt.date:
    from core import clock  # noqa: PLC0415
    from core.reading import read_date  # noqa: PLC0415

    if value is None or value.strip().lower() == "today":
        return clock.today()
    return read_date(value, field)


def amount_option(_ctx: click.Context, param: click.Parameter, value: str | None
                  ) -> Decimal | None:
    """Click callback: an amount option read by the one strict reader, naming the option."""
    from core.money import parse_amount  # noqa: PLC0415

    return None if value is None else parse_amount(value, field=param.opts[0])


class WholeNumber(click.ParamType):
    """A whole number read by the one strict reader (ASCII or full-width digits only, in the
    database's range), so an overflowing or oddly written number is refused, not sent on."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        from core.reading import read_int  # noqa: PLC0415

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
    """Columns aligned for Chinese (double-width) text."""
    widths = [max(_width(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def fmt(row: Sequence[str]) -> str:
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - _width(str(cell)))
            cells.append(pad + str(cell) if i in right else str(cell) + pad)
        return "  ".join(cells).rstrip()

    click.echo(fmt(headers))
    click.echo("  ".join("-" * w for w in widths))
    for row in rows:
        click.echo(fmt(row))


def _create_app():  # type: ignore[no-untyped-def]
    from webapp import create_app  # noqa: PLC0415

    return create_app()


class Console(FlaskGroup):
    """Flask's command group, whose help lists the commands without building the app:
    the app refuses to start without its keys, and ``keys generate`` is how to get them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands)


cli = Console(
    name="specialfund",
    create_app=_create_app,
    add_default_commands=True,
    load_dotenv=False,
    params=[user_option],
    help="Special Fund: children's special fund ledgers and grants.",
)


def in_transaction(work: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command body with a session in one transaction (commit or roll back), after
    proving the user the console was told to act as."""

    @functools.wraps(work)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from webapp.extensions import db  # noqa: PLC0415

        prove()
        with db.transaction() as session:
            return work(session, *args, **kwargs)

    return wrapper


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: one clear line per error, non-zero exit status."""
    set_locale(os.environ.get("SPECIALFUND_LANG") or "zh_CN")
    from webapp import (  # noqa: F401, PLC0415 - registers the commands
        bank_commands,
        commands,
        key_commands,
        money_commands,
        serving,
    )
    from webapp.extensions import db  # noqa: PLC0415

    try:
        code = cli.main(args=argv, prog_name="specialfund", standalone_mode=False)
    except DomainError as error:
        click.echo(_("Error: {message}", message=error.message), err=True)
        sys.exit(EXIT_PROBLEM)
    except click.exceptions.Abort:
        click.echo(_("Aborted."), err=True)
        sys.exit(EXIT_PROBLEM)
    except click.ClickException as error:
        click.echo(_("Error: {message}", message=error.format_message()), err=True)
        sys.exit(EXIT_USAGE)
    except SQLAlchemyError as error:
        # Its kind only: its text quotes the SQL, and the database's may quote values.
        click.echo(_("Error: {message}", message=_(
            "the database failed ({kind}); check whether the change was saved before you "
            "repeat it.", kind=type(error).__name__)), err=True)
        sys.exit(EXIT_PROBLEM)
    except OSError as error:
        click.echo(_("Error: {message}", message=f"{error.strerror}: {error.filename}"), err=True)
        sys.exit(EXIT_PROBLEM)
    finally:
        db.dispose_all()
    sys.exit(code if isinstance(code, int) else 0)
