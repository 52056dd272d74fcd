"""The ``specialfund`` console command: set-up, funds, users and tokens, postings,
donations and receipts, the bank account, balances, export, verify, period close, audit,
keys, demo data, backup and restore, the static public site. Its commands are defined in
``webapp.commands`` and its siblings and added here, each group by name; what they share
is ``webapp.console``.

Every command runs in one transaction: it commits when the command succeeds and
rolls back entirely when it fails, and prints what it did only once committed. Errors
print one line and exit non-zero.

The console acts as a named user who proves it (``--user NAME`` or
``SPECIALFUND_TOKEN``; see ``webapp.console``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click
from flask.cli import FlaskGroup
from sqlalchemy.exc import SQLAlchemyError

from core.errors import DomainError
from core.i18n import gettext as _
from core.i18n import set_locale
from webapp import (
    backup_commands,
    bank_commands,
    commands,
    create_app,
    key_commands,
    money_commands,
    serving,
    static_site,
)
from webapp.console import user_option
from webapp.extensions import db

EXIT_PROBLEM = 1
EXIT_USAGE = 2


class Console(FlaskGroup):
    """Flask's command group, whose help lists the commands without building the app:
    the app refuses to start without its keys, and ``keys generate`` is how to get them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands)


cli = Console(
    name="specialfund",
    create_app=create_app,
    add_default_commands=True,
    load_dotenv=False,
    params=[user_option],
    help="Special Fund: children's special fund ledgers and grants.",
)
for command in (
    commands.init_command, commands.fund_group, commands.ledger_group, commands.audit_group,
    commands.demo_command, commands.user_group, commands.token_group,
    money_commands.donor_group, money_commands.receipt_group, money_commands.donation_return,
    money_commands.topup_group, money_commands.allocation_group,
    money_commands.reconcile_command, bank_commands.bank_group, key_commands.keys_group,
    backup_commands.backup_command, backup_commands.restore_command,
    static_site.publish_static_command, static_site.verify_static_command,
    serving.run_command,  # in place of Flask's own ``run``
    serving.worker_command,
):
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: one clear line per error, non-zero exit status."""
    set_locale(os.environ.get("SPECIALFUND_LANG") or "zh_CN")
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
