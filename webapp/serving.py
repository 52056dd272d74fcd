"""The servers in front of the app name themselves without a version.

Werkzeug's development server says ``Server: Werkzeug/3.1.9 Python/3.11.2`` and
gunicorn sets ``SERVER_SOFTWARE`` to ``gunicorn/<version>`` (older releases also put
it in ``Server``): a version tells an attacker which published flaws to try. Both
say ``specialfund`` instead: ``specialfund run`` serves with ``QuietRequestHandler``,
and gunicorn started with ``-c gunicorn.conf.py`` (which reads
``webapp.gunicorn_config``) is told the same.

The worker that makes PDFs, workbooks and exports (``webapp.queue``) runs as
``specialfund worker``; ``specialfund run`` also starts one consumer thread beside the
development server, so that ``make run`` is the whole application in one process.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import click
from werkzeug.serving import WSGIRequestHandler, run_simple

from webapp import create_app, queue

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

SERVER_NAME = "specialfund"


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, sending ``Server: specialfund`` and no versions."""

    def version_string(self) -> str:
        return SERVER_NAME

    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        environ["SERVER_SOFTWARE"] = SERVER_NAME
        return environ


@click.command("run")
@click.option("--host", "-h", default="127.0.0.1", show_default=True,
              help="The interface to bind to.")
@click.option("--port", "-p", default=5000, show_default=True, help="The port to bind to.")
@click.option("--reload/--no-reload", default=False, show_default=True,
              help="Restart when the code changes.")
@click.option("--worker/--no-worker", default=True, show_default=True,
              help="Run a job worker thread in this process too.")
def run_command(host: str, port: int, reload: bool, worker: bool) -> None:
    """Development web server. Production runs gunicorn (docs/operations.md)."""
    app = create_app()  # refuses to start here, as gunicorn would, without the keys
    # With the reloader, the app runs in a child process: the worker runs there too.
    consumer = None
    if worker and (not reload or os.environ.get("WERKZEUG_RUN_MAIN") == "true"):
        logging.getLogger("huey").setLevel(logging.INFO)
        consumer = queue.consumer(app, workers=1, embedded=True)
        consumer.start()
        storage = "Redis" if app.config["REDIS_URL"] else app.config["JOBS_QUEUE"]
        click.echo(f" * Job worker: one thread, queue in {storage}")
    try:
        run_simple(host, port, app, use_reloader=reload, use_debugger=False, threaded=True,
                   request_handler=QuietRequestHandler)
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)


@click.command("worker")
@click.option("--workers", "-w", default=2, show_default=True,
              help="Jobs made at once (threads).")
def worker_command(workers: int) -> None:
    """Make the queued jobs (PDFs, workbooks, exports) until stopped (SIGINT: after the
    jobs in hand; SIGTERM: at once, the jobs left to be retried)."""
    app = create_app()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s "
                                                   "%(message)s")
    with app.app_context():
        queue.consumer(app, workers=workers).run()
