"""The job queue: huey, configured from the app, and the worker that runs it.

Storage is SQLite in the instance folder (``instance/queue.db``) unless ``REDIS_URL`` is
set, when it is Redis: every app server and every worker then share one queue. The
queue carries only job ids; what to make and for whom is the job's row (``jobs``), and
the worker makes it with ``jobs.runner.run_job`` in its own sessions.

- ``specialfund worker`` runs a consumer (threads) in its own process: production.
- ``specialfund run`` starts one consumer thread beside the development server, so
  ``make run`` needs nothing else (``--no-worker`` to leave it out).
- ``JOBS_IMMEDIATE`` (tests) runs each job in the request that asks for it, after
  that request's commit, on huey's memory storage.

A job is handed to the queue only once the request that created it has committed: a
worker must never look for a row that is not there yet.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.consumer import Consumer
from sqlalchemy import event

from core import clock
from core.db import transaction
from webapp.extensions import db

log = logging.getLogger(__name__)

QUEUE = "specialfund.queue"


@dataclass(frozen=True)
class Queue:
    huey: Huey
    run_job: TaskWrapper
    folder: Path


def make_huey(config: dict[str, Any]) -> Huey:
    """The huey of this configuration: Redis when ``REDIS_URL`` names one, else SQLite in
    the instance folder. No results are kept: a job's row is its result."""
    common: dict[str, Any] = {"name": str(config["JOBS_QUEUE_NAME"]), "results": False,
                              "immediate": bool(config["JOBS_IMMEDIATE"])}
    if config["REDIS_URL"]:
        return RedisHuey(url=str(config["REDIS_URL"]), **common)
    path = Path(str(config["JOBS_QUEUE"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(filename=str(path), **common)


def _runner() -> ModuleType:
    from jobs import runner  # noqa: PLC0415 - the reports (WeasyPrint) load with a job

    return runner


def init_app(app: Flask) -> None:
    """Make the app's queue on first use (``queue_of``): a console command that never
    queues a job then opens no queue and writes nothing into the instance folder."""
    app.extensions[QUEUE] = None


def _make_queue(app: Flask) -> Queue:
    """The app's queue and its two tasks. After ``db.init_app``: tasks use its sessions."""
    huey = make_huey(app.config)
    folder = Path(str(app.config["JOBS_DIR"]))
    factory = app.extensions["specialfund.db"][1]
    keep = dt.timedelta(days=int(app.config["JOBS_KEEP_DAYS"]))

    @huey.task(name="run_job")
    def run_job(job_id: str) -> None:
        with app.app_context():
            _runner().run_job(factory, job_id, folder)

    @huey.periodic_task(crontab(minute="17"), name="purge_jobs")
    def purge_jobs() -> None:
        with app.app_context(), transaction(factory) as session:
            _runner().purge_jobs(session, folder, clock.now() - keep)

    return Queue(huey, run_job, folder)


_making = threading.Lock()


def queue_of(app: Flask) -> Queue:
    with _making:
        made: Queue | None = app.extensions[QUEUE]
        if made is None:
            made = app.extensions[QUEUE] = _make_queue(app)
        return made


def depth(app: Flask) -> int:
    """How many jobs wait for the worker; reading it proves the queue's storage answers
    (``/healthz``, the metrics' queue depth)."""
    return int(queue_of(app).huey.pending_count())


def current_queue() -> Queue:
    return queue_of(current_app._get_current_object())  # type: ignore[attr-defined]


def enqueue(job_id: str) -> None:
    """Hand the job to the worker once the request's work commits (never if it rolls
    back). A queue that cannot be reached fails the job, which can then be retried."""
    current = current_queue()
    factory = db.factory

    def send(_session: object) -> None:
        try:
            current.run_job(job_id)
        except Exception:
            log.exception("job %s could not be queued", job_id)
            _runner().fail_unqueued(factory, job_id)

    event.listen(db.session, "after_commit", send, once=True)


def keep_input(job_id: str, data: bytes) -> None:
    """Save a job's input (an uploaded statement) under the jobs folder for the worker.
    If the request's work rolls back, the job never was: its input is deleted again."""
    path = _runner().save_input(current_queue().folder, job_id, data)
    session = db.session
    committed = False

    def kept(_session: object) -> None:
        nonlocal committed
        committed = True

    def discard(_session: object) -> None:
        if not committed:
            path.unlink(missing_ok=True)

    event.listen(session, "after_commit", kept, once=True)
    event.listen(session, "after_rollback", discard, once=True)


class EmbeddedConsumer(Consumer):
    """A consumer running in threads of a process that is not its own (the development
    server): it leaves the process's signals to their owner."""

    def _set_signal_handlers(self) -> None:
        pass


def consumer(app: Flask, workers: int, *, embedded: bool = False) -> Consumer:
    huey = queue_of(app).huey
    kind = EmbeddedConsumer if embedded else Consumer
    return kind(huey, workers=workers, worker_type="thread")
