"""Typed domain errors mapped to pages and statuses in one place.

Error pages say what went wrong in the user's language and nothing more: no
stack trace, no SQL, no personal data. Unexpected errors are logged with the
request path only (never form contents), so nothing a user typed -- a child's
name, an ID number -- reaches a log line. A database error, whether raised by the
view or by the request's commit (``webapp.boundary``, which rolls the request's work
back before any handler here runs), is logged by its kind and SQLSTATE only: its
message quotes SQL, and the database's may quote values. A lost race answers 409; a
database that is gone still gets the app's own error page.
"""

from __future__ import annotations

import logging
import traceback

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from werkzeug.exceptions import HTTPException

from core.errors import DomainError
from core.i18n import gettext
from webapp.api import is_api_request
from webapp.api.problems import HTTP_CODES, TITLES, from_domain, problem
from webapp.extensions import db, login_manager

log = logging.getLogger("specialfund.web")


def _page(status: int, message: str):
    title = gettext(TITLES.get(status, TITLES[400]))
    try:
        return render_template("errors/error.html", status=status, title=title,
                               message=message), status
    except SQLAlchemyError:
        # The page's header names the signed-in user, read from the database; without
        # one, the page is shown as to a visitor rather than not at all.
        db.rollback_request()
        _as_visitor()
        return render_template("errors/error.html", status=status, title=title,
                               message=message), status


def _as_visitor() -> None:
    g._login_user = login_manager.anonymous_user()  # flask-login's user for this request


# SQLSTATEs of a transaction that lost a race and may simply be tried again:
# serialization failure, deadlock, lock not available.
RETRY_STATES = frozenset({"40001", "40P01", "55P03"})
SQLITE_BUSY = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED


def _sqlstate(error: SQLAlchemyError) -> str | None:
    orig = getattr(error, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def _lost_a_race(error: SQLAlchemyError) -> bool:
    if isinstance(error, IntegrityError):
        return True
    busy = getattr(getattr(error, "orig", None), "sqlite_errorcode", None) in SQLITE_BUSY
    return busy or _sqlstate(error) in RETRY_STATES


def _where(error: BaseException) -> str:
    return "; ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}"
                     for f in traceback.extract_tb(error.__traceback__)[-6:])


def answer(status: int, message: str):
    """The error page, or for the JSON API a problem document saying the same."""
    if is_api_request():
        return problem(status, HTTP_CODES.get(status, "bad-request"), message)
    return _page(status, message)


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        if is_api_request():
            return from_domain(error)
        return _page(error.http_status, error.message)

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError):
        return _page(400, gettext("The form expired or was not sent from this site. "
                                  "Go back, reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        messages = {
            403: gettext("Your role or jurisdiction does not allow this."),
            404: gettext("There is nothing here, or it is outside what you may see."),
            405: gettext("This address does not accept that kind of request."),
            413: gettext("The upload is too large: at most {size} MB can be sent at once.",
                         size=int(app.config["MAX_CONTENT_LENGTH"]) // (1024 * 1024)),
        }
        return answer(status, messages.get(status, gettext("Please check what you entered.")))

    @app.errorhandler(SQLAlchemyError)
    def database_error(error: SQLAlchemyError):
        # The kind of error and its SQLSTATE, never its message: SQLAlchemy's quotes the
        # statement, and the database's may quote the values (a name, an ID number).
        if _lost_a_race(error):
            log.warning("database conflict %s (SQLSTATE %s) on %s %s at %s",
                        type(error).__name__, _sqlstate(error), request.method, request.path,
                        _where(error))
            return answer(409, gettext("The change clashes with what is saved now, most "
                                        "likely because someone changed the same records at "
                                        "the same moment. Nothing was saved; reload the page "
                                        "and try again."))
        log.error("database error %s (SQLSTATE %s) on %s %s at %s", type(error).__name__,
                  _sqlstate(error), request.method, request.path, _where(error))
        if isinstance(error, OperationalError | InterfaceError) or (
                isinstance(error, DBAPIError) and error.connection_invalidated):
            _as_visitor()  # the signed-in user cannot be read back now
        return answer(500, gettext("The database did not answer. Check whether your last "
                                    "change was saved before you repeat it, or tell the "
                                    "system administrator."))

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        # Where it failed, but not the exception's message: that may quote input or SQL.
        log.error("unexpected %s on %s %s at %s", type(error).__name__, request.method,
                  request.path, _where(error))
        return answer(500, gettext("The error has been recorded. Nothing was changed; "
                                    "please try again or tell the system administrator."))
