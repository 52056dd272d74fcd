"""Errors of the API as ``application/problem+json`` (RFC 9457).

A problem carries the status, a machine-readable ``code``, a title, and in ``detail``
the same message the web page would show, in the caller's language. Nothing else: no
stack trace, no SQL, no input echoed back (it may hold a child's ID number). The
app's error handlers (``webapp.errors``) answer the API's addresses with these.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response

from core.errors import DomainError, RuleViolation
from core.i18n import N_, gettext

PROBLEM = "application/problem+json"

# The title of each status, on the app's error pages (``webapp.errors``) as in problems.
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

# The codes a client can act on, beside the domain errors' own (core.errors).
HTTP_CODES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "permission-denied",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "too-many-requests",
    500: "server-error",
}


class ApiProblem(Exception):
    """A refusal made by the API layer itself (authentication, idempotency, parsing)."""

    def __init__(self, status: int, code: str, message: str, /, **params: object) -> None:
        super().__init__(message)
        self.status, self.code, self.message_id, self.params = status, code, message, params


def problem(status: int, code: str, detail: str, **extra: Any) -> Response:
    body = {"type": "about:blank", "title": gettext(TITLES.get(status, TITLES[400])),
            "status": status, "code": code, "detail": detail, **extra}
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="specialfund"'
    return response


def from_domain(error: DomainError) -> Response:
    # A domain refusal that is a client error maps to its own status; the web shows a
    # 400 for invalid input, which the API reports as 422 (the request was understood).
    status = 422 if error.http_status == 400 else error.http_status
    extra = {"rule": error.rule} if isinstance(error, RuleViolation) else {}
    return problem(status, error.code, error.message, **extra)


def from_api(error: ApiProblem) -> Response:
    return problem(error.status, error.code, gettext(error.message_id, **error.params))
