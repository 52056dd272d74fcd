"""Typed domain errors mapped to pages and statuses in one place.

Error pages say what went wrong in the user's language and nothing more: no
stack trace, no SQL, no personal data. Unexpected errors are logged with the
request path only (never form contents), so nothing a user typed -- a child's
name, an ID number -- reaches a log line.
"""

from __future__ import annotations

import logging
import traceback

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from core.errors import DomainError
from core.i18n import N_, gettext
from webapp.api import is_api_request

log = logging.getLogger("specialfund.web")

TITLES = {
    400: N_("The request could not be understood"),
    401: N_("Sign-in needed"),
    403: N_("You may not do this"),
    404: N_("Not found"),
    405: N_("Not allowed here"),
    409: N_("Conflict"),
    413: N_("The upload is too large"),
    422: N_("The fund's rules do not allow this"),
    429: N_("Too many requests"),
    500: N_("Something went wrong"),
}


def _page(status: int, message: str):  # type: ignore[no-untyped-def]
    title = gettext(TITLES.get(status, TITLES[400]))
    return render_template("errors/error.html", status=status, title=title,
                           message=message), status


def _answer(status: int, message: str):  # type: ignore[no-untyped-def]
    """The error page, or for the JSON API a problem document saying the same."""
    if is_api_request():
        from webapp.api.problems import HTTP_CODES, problem  # noqa: PLC0415 - imports TITLES

        return problem(status, HTTP_CODES.get(status, "bad-request"), message)
    return _page(status, message)


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):  # type: ignore[no-untyped-def]
        if is_api_request():
            from webapp.api.problems import from_domain  # noqa: PLC0415

            return from_domain(error)
        return _page(error.http_status, error.message)

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError):  # type: ignore[no-untyped-def]
        return _page(400, gettext("The form expired or was not sent from this site. "
                                  "Go back, reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        status = error.code or 500
        messages = {
            403: gettext("Your role or jurisdiction does not allow this."),
            404: gettext("There is nothing here, or it is outside what you may see."),
            405: gettext("This address does not accept that kind of request."),
            413: gettext("Files may be at most 10 MB."),
        }
        return _answer(status, messages.get(status, gettext("Please check what you entered.")))

    @app.errorhandler(Exception)
    def unexpected(error: Exception):  # type: ignore[no-untyped-def]
        # Where it failed, but not the exception's message: that may quote input or SQL.
        frames = "; ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}"
                           for f in traceback.extract_tb(error.__traceback__)[-6:])
        log.error("unexpected %s on %s %s at %s", type(error).__name__, request.method,
                  request.path, frames)
        return _answer(500, gettext("The error has been recorded. Nothing was changed; "
                                    "please try again or tell the system administrator."))
