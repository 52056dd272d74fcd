"""The ``specialfund`` console command: set-up, funds, users and tokens, postings,
donations and receipts, the bank account, balances, export, verify, period close, audit,
keys, demo data, backup and restore, the static public site. Its commands are defined in
``webapp.commands`` and its siblings and named here (``COMMANDS``), each loaded when it
is run; what they share is ``webapp.console``.

Every command runs in one transaction: it commits when the command succeeds and
rolls back entirely when it fails, and prints what it did only once committed. Errors
print one line and exit non-zero.

The console acts as a named user who proves it (``--user NAME`` or
``SPECIALFUND_TOKEN``; see ``webapp.console``).
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Sequence

import click
from flask.cli import FlaskGroup
from sqlalchemy.exc import SQLAlchemyError

from core.errors import DomainError
from core.i18n import gettext as _
from core.i18n import set_locale
from webapp import create_app
from webapp.console import user_option
from webapp.extensions import db

EXIT_PROBLEM = 1
EXIT_USAGE = 2

# Each command is loaded from its module when it is run, so that a command loads only
# what it needs: ``ledger verify`` neither the job queue nor Alembic nor the pages.
COMMANDS = {
    "init": "webapp.setup_commands:init_command",
    "fund": "webapp.commands:fund_group",
    "ledger": "webapp.commands:ledger_group",
    "audit": "webapp.commands:audit_group",
    "demo": "webapp.setup_commands:demo_command",
    "user": "webapp.commands:user_group",
    "token": "webapp.commands:token_group",
    "donor": "webapp.money_commands:donor_group",
    "receipt": "webapp.money_commands:receipt_group",
    "donation-return": "webapp.money_commands:donation_return",
    "top-up": "webapp.money_commands:topup_group",
    "allocation": "webapp.money_commands:allocation_group",
    "reconcile": "webapp.money_commands:reconcile_command",
    "bank": "webapp.bank_commands:bank_group",
    "keys": "webapp.key_commands:keys_group",
    "backup": "webapp.backup_commands:backup_command",
    "restore": "webapp.backup_commands:restore_command",
    "publish-static": "webapp.static_site:publish_static_command",
    "verify-static": "webapp.static_site:verify_static_command",
    "run": "webapp.serving:run_command",  # in place of Flask's own ``run``
    "worker": "webapp.serving:worker_command",
    "shell": "flask.cli:shell_command",  # Flask's ``routes`` would list no page: none here
}


class Console(FlaskGroup):
    """Flask's command group, with the app's commands loaded as they are run, whose help
    lists them without building the app: the app refuses to start without its keys, and
    ``keys generate`` is how to get them. Its app has no pages (``create_app``); the
    commands that serve them build their own."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            module, name = COMMANDS[cmd_name].split(":")
            command: click.Command = getattr(importlib.import_module(module), name)
            return command
        return super().get_command(ctx, cmd_name)


cli = Console(
    name="specialfund",
    create_app=functools.partial(create_app, pages=False),
    add_default_commands=False,
    load_dotenv=False,
    params=[user_option],
    help="Special Fund: children's special fund ledgers and grants.",
)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: one clear line per error, non-zero exit status."""
    set_locale(os.environ.get("SPECIALFUND_LANG") or "zh_CN")
    mark = db.made()
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
        db.dispose_since(mark)
    sys.exit(code if isinstance(code, int) else 0)
