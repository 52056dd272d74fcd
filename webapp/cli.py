"""The ``specialfund`` console command: set-up, funds, postings, balances,
export, verify, period close, audit and demo data.

Every command runs in one transaction: it commits when the command succeeds and
rolls back entirely when it fails. Errors print one line and exit non-zero.
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
from flask.cli import FlaskGroup
from sqlalchemy.exc import SQLAlchemyError

from core.actors import Actor
from core.errors import DomainError
from core.i18n import gettext as _
from core.i18n import set_locale

EXIT_PROBLEM = 1
EXIT_USAGE = 2


def actor() -> Actor:
    name = os.environ.get("SPECIALFUND_ACTOR") or f"cli:{getpass.getuser()}"
    return Actor(name, "console")


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
    help="Special Fund: children's special fund ledgers and grants.",
)


def in_transaction(work: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command body with a session in one transaction (commit or roll back)."""

    @functools.wraps(work)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from webapp.extensions import db  # noqa: PLC0415

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
