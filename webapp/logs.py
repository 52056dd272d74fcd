"""Log lines, and the request id that ties each line to its request.

Every request has an id: the ``X-Request-Id`` it came with, if that is a sane token (1-64
of ``A-Z a-z 0-9 . _ -``; a proxy or load balancer in front may set one), else a new
random one. The response carries it back in ``X-Request-Id``, gunicorn's access log
prints it (``webapp.gunicorn_config``), and every line logged while the request is
served carries it as ``request_id`` -- so an operator finds every line of the request a
user reports from the id alone.

``SPECIALFUND_LOG_FORMAT`` chooses the lines: ``json``, one JSON object a line (time,
level, logger, message, request_id), the default outside local development, for a log
collector; or ``text``, for a person at a terminal, the default of ``make run``
(``SPECIALFUND_ENV=development``). ``SPECIALFUND_LOG_LEVEL`` (default INFO) applies to
the app's own loggers; the libraries' stay at WARNING, so SQLAlchemy never logs a
statement or a row read, which may hold a child's data. The lines themselves name kinds,
codes and paths, never what a user typed (``webapp.errors``).
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from typing import IO

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

HEADER = "X-Request-Id"
SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
HANDLER = "specialfund"  # the name of the handler ``configure`` installs, and replaces
APP_LOGGERS = ("specialfund", "core", "audit", "people", "ledger", "grants", "reports",
               "webapp")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = ("levelname", "name", "message", "request_id")
NO_REQUEST = "-"


def request_id() -> str | None:
    """This request's id (made on first use), or None outside a request."""
    if not has_request_context():
        return None
    found = g.get("request_id")
    if found is None:
        incoming = request.headers.get(HEADER, "")
        found = incoming if SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
        g.request_id = found
    return found


class RequestIdFilter(logging.Filter):
    """Stamps each record with the request id (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() or NO_REQUEST
        return True


class _Stderr(logging.StreamHandler[IO[str]]):
    """Writes to whatever ``sys.stderr`` is at the moment (as logging's last resort does),
    so replacing it -- a test capturing it, a daemon redirecting it -- loses no line."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


def formatter(kind: str) -> logging.Formatter:
    if kind == "json":
        # "time": the moment in UTC, ISO 8601
        return JsonFormatter(list(JSON_FIELDS), timestamp="time",
                             rename_fields={"levelname": "level", "name": "logger"})
    return logging.Formatter(TEXT_FORMAT)


def configure(kind: str, level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Send the process's log lines to ``stream`` (standard error) as ``kind`` (``json`` or
    ``text``). Replaces the handler an earlier call installed: one handler, however
    many apps a process makes."""
    handler: logging.Handler = _Stderr() if stream is None else logging.StreamHandler(stream)
    handler.set_name(HANDLER)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(formatter(kind))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER]:
        root.removeHandler(old)
    root.addHandler(handler)
    for name in APP_LOGGERS:
        logging.getLogger(name).setLevel(level)
    return handler


def _answer_with_id(response: Response) -> Response:
    response.headers[HEADER] = request_id() or uuid.uuid4().hex
    return response


def init_app(app: Flask) -> None:
    """Give every response its request's id; configure the process's logging unless the
    app is a test's (the suite captures logs itself)."""
    app.after_request(_answer_with_id)
    if not app.testing:
        configure(str(app.config["LOG_FORMAT"]), str(app.config["LOG_LEVEL"]))
