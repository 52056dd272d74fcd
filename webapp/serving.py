"""The servers in front of the app name themselves without a version.

Werkzeug's development server says ``Server: Werkzeug/3.1.9 Python/3.11.2`` and
gunicorn sets ``SERVER_SOFTWARE`` to ``gunicorn/<version>`` (older releases also put
it in ``Server``): a version tells an attacker which published flaws to try. Both
say ``specialfund`` instead: ``specialfund run`` serves with ``QuietRequestHandler``,
and gunicorn started with ``-c gunicorn.conf.py`` (which reads
``webapp.gunicorn_config``) is told the same.
"""

from __future__ import annotations

import click
from flask.cli import ScriptInfo, pass_script_info
from werkzeug.serving import WSGIRequestHandler, run_simple

SERVER_NAME = "specialfund"


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, sending ``Server: specialfund`` and no versions."""

    def version_string(self) -> str:
        return SERVER_NAME

    def make_environ(self):  # type: ignore[no-untyped-def]
        environ = super().make_environ()
        environ["SERVER_SOFTWARE"] = SERVER_NAME
        return environ


@click.command("run")
@click.option("--host", "-h", default="127.0.0.1", show_default=True,
              help="The interface to bind to.")
@click.option("--port", "-p", default=5000, show_default=True, help="The port to bind to.")
@click.option("--reload/--no-reload", default=False, show_default=True,
              help="Restart when the code changes.")
@pass_script_info
def run_command(info: ScriptInfo, host: str, port: int, reload: bool) -> None:
    """Development web server. Production runs gunicorn (docs/operations.md)."""
    app = info.load_app()  # refuses to start here, as gunicorn would, without the keys
    run_simple(host, port, app, use_reloader=reload, use_debugger=False, threaded=True,
               request_handler=QuietRequestHandler)
