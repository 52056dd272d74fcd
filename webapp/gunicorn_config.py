"""gunicorn's settings for Special Fund: ``gunicorn -c python:webapp.gunicorn_config
"webapp:create_app()"``. Any setting here can still be given on the command line.

gunicorn names itself in the ``Server`` header and its version in ``SERVER_SOFTWARE``
(older releases in the header too); both become ``specialfund``
(``webapp.serving``). Loading this file patches gunicorn's module before any worker
starts, which is the hook gunicorn offers for it.

It also turns on the access log, each line with the request's id.
"""

from __future__ import annotations

import gunicorn
import gunicorn.http.wsgi

from webapp.serving import SERVER_NAME

# Replacing these is the point of this file: they are Final in gunicorn's stubs, and
# gunicorn.http.wsgi's own copies are not in the stubs at all.
gunicorn.SERVER = gunicorn.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[misc]
gunicorn.http.wsgi.SERVER = gunicorn.http.wsgi.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[attr-defined]

bind = "127.0.0.1:8000"
workers = 4

# One access line a request on standard output, with the request's id (webapp.logs) to find
# the app's own lines of that request. The path without its query string (%(U)s): a query
# may carry what a user typed into a search.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'
