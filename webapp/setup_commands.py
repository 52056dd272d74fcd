"""Console commands that set up a database: ``init`` (its schema, with Alembic) and
``demo`` (the demo's funds, users and history), apart so that no other command loads
Alembic or the demo's builder."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from core.db import begin_write
from core.errors import DomainError
from core.i18n import gettext as _
from core.migrate import upgrade
from ledger.funds import list_funds
from migrations import SCRIPT_LOCATION
from webapp.demo import DEMO_PASSWORD, build
from webapp.extensions import db, protector


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create the database or upgrade it to the newest schema."""
    upgrade(db.engine, SCRIPT_LOCATION)
    click.echo(_("Database ready: {url}", url=_redacted(current_app.config["DATABASE_URL"])))


@click.command("demo")
@click.option("--years", default=3, show_default=True, type=click.IntRange(1, 10),
              help="Full years of history before this one")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has funds")
@with_appcontext
def demo_command(years: int, if_empty: bool) -> None:
    """Fill an empty database with the six Ziyang funds, their users and projects."""
    if if_empty:
        with db.transaction() as session:
            if list_funds(session):
                click.echo(_("The database already holds funds; demo data not added."))
                return
    session = begin_write(db.factory())

    def commit() -> None:
        session.commit()
        begin_write(session)

    try:
        funds = build(session, protector(), years=years, commit=commit)
        session.commit()
    except DomainError:
        session.rollback()
        raise
    finally:
        session.close()
    click.echo(_("Demo data ready: {count} funds.", count=len(funds)))
    click.echo(_("Demo users: <fund code>_ca, _co, _fin1, _fin2, _aud, _admin "
                 "(e.g. yjq_ca), password {password}", password=DEMO_PASSWORD))
