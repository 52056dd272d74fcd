"""gunicorn's settings for Special Fund, read through ``gunicorn.conf.py`` at the top of
the checkout (``gunicorn -c gunicorn.conf.py``, docs/operations.md) or directly as
``gunicorn -c python:webapp.gunicorn_config``. Any setting here can still be given on
the command line or in ``GUNICORN_CMD_ARGS``, which win over this file.

gunicorn names itself in the ``Server`` header and its version in ``SERVER_SOFTWARE``
(older releases in the header too); both become ``specialfund``
(``webapp.serving``). Loading this file patches gunicorn's module before any worker
starts, which is the hook gunicorn offers for it.

It also turns on the access log, each line with the request's id.
"""

from __future__ import annotations

import os

import gunicorn
import gunicorn.http.wsgi

from webapp.serving import SERVER_NAME

# Replacing these is the point of this file: they are Final in gunicorn's stubs, and
# gunicorn.http.wsgi's own copies are not in the stubs at all.
gunicorn.SERVER = gunicorn.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[misc]
gunicorn.http.wsgi.SERVER = gunicorn.http.wsgi.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[attr-defined]


def _cpus() -> int:
    """The CPUs this process may run on (a container's or a cgroup's share), not the host's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


wsgi_app = "webapp:create_app()"
# Behind the https proxy (deploy/nginx-specialfund.conf), never reached directly.
bind = "127.0.0.1:8000"
# Sync workers: pages and PDFs are rendered by the CPU, so more workers than about twice
# the CPUs only queue. WEB_CONCURRENCY (gunicorn's own variable) overrides it.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * _cpus() + 1)
# Long PDFs and exports are made by the worker (webapp.queue), but a large bank
# statement's import still runs inside its request; gunicorn's default of 30 s killed a
# year's audit-log PDF in the middle of it before it was queued. The proxy waits as long
# (proxy_read_timeout in deploy/nginx-specialfund.conf).
timeout = 180
# A restart (systemctl reload, a deploy) lets such a download finish first
# (TimeoutStopSec in deploy/specialfund.service is longer still).
graceful_timeout = 180
# Seconds an idle connection from the proxy is kept open for its next request.
keepalive = 5
# One line per request on standard output (the journal, under systemd); errors on stderr.
# The path without its query string (%(U)s): a query may carry what a user typed into a
# search; the request's id (webapp.logs) finds the app's own lines of that request.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'
errorlog = "-"
# gunicorn 25+ opens a control socket in $HOME by default: nothing here uses it, and two
# servers on one machine would fight over the one path. (Older releases ignore this.)
control_socket_disable = True
