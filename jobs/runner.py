"""Asking for a job, running it, and handing its result over -- without the web.

A job is asked for in the asker's transaction (``request_job`` flushes; the caller
commits, and only then hands the id to the queue, so the worker never looks for a row
that is not there yet). The worker calls ``run_job`` with a session factory: it marks
the job running, makes the file from one snapshot of the books as the asker may see
them now, writes it atomically under the jobs folder and records its SHA-256, each step
in its own short transaction so that the page can show how far it got. A refusal the
user can act on (a ``DomainError``) is kept as its message id; anything else is logged
here and shown as a plain "could not be made" -- never a traceback or SQL.

A kind that writes (a statement import) changes the books instead: it reads its input,
saved beside the jobs' files when it was asked for (``input_path``), and runs as its
user in one write transaction that also marks the job done, so the change and "done"
commit together or not at all. Its input is deleted once it is done, and kept while a
failed job may be tried again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from core import clock
from core.actors import Actor
from core.db import begin_snapshot, transaction
from core.errors import Conflict, DomainError, NotFound
from core.i18n import N_
from jobs import annual_preview, downloads, statement_import
from jobs.models import Job
from people.models import User

log = logging.getLogger(__name__)

FAILED = N_("The file could not be made. Try again; if it fails again, tell the administrator.")
NOT_DONE = N_("This could not be done. Try again; if it fails again, tell the administrator.")
GONE = N_("You may no longer have this file.")
INPUT_GONE = N_("The uploaded file of this job is gone; upload it again.")
UNQUEUED = N_("The job could not be handed to the worker. Try again in a while.")
# A job still "running" this long after it started lost its worker (stopped, killed):
# it may be tried again.
STALLED_AFTER = dt.timedelta(hours=1)
# An error's parameters are kept only when short and plain (codes, periods, counts), so
# that no name or number of a child can reach the row through a message.
_PLAIN = re.compile(r"[A-Za-z0-9 :./#_-]{0,40}")


@dataclass(frozen=True)
class Kind:
    """What a kind of job makes, and who may have it."""

    make: Callable[..., downloads.Made | statement_import.Imported]
    may_have: Callable[[Session, Actor, dict[str, Any]], bool]
    # A kind that writes is made in one write transaction of the books, not a snapshot,
    # from its saved input (``make(books, actor, parameters, data, progress)``), and
    # makes no file.
    writes: bool = False
    # Its progress when the worker starts it, and why it stops when its user may no
    # longer have it (or do it) by then.
    started: str = N_("Started")
    gone: str = GONE


KINDS = {"download": Kind(downloads.make, downloads.may_have),
         annual_preview.KIND: Kind(annual_preview.make, annual_preview.may_have),
         statement_import.KIND: Kind(statement_import.make, statement_import.may_have,
                                     writes=True, started=statement_import.STARTED,
                                     gone=statement_import.GONE)}


def request_job(session: Session, actor: Actor, kind: str, parameters: dict[str, Any],
                fund_ids: list[int]) -> Job:
    """A new queued job for this user. Flushes; the caller commits, then enqueues."""
    if kind not in KINDS or actor.user_id is None:
        raise NotFound("There is no such job.")
    job = Job(id=secrets.token_urlsafe(24), kind=kind, parameters=parameters,
              user_id=actor.user_id, fund_id=fund_ids[0] if len(fund_ids) == 1 else None,
              state="queued", attempts=1, progress=N_("Waiting for the worker"),
              created_at=clock.now())
    session.add(job)
    session.flush()
    return job


def visible_job(session: Session, actor: Actor, job_id: str) -> Job:
    """The job, to the user who asked for it and only while they may still have its
    result (the original download's rule); to anyone else it does not exist."""
    job = session.get(Job, job_id)
    if job is None or job.user_id != actor.user_id \
            or not KINDS[job.kind].may_have(session, actor, job.parameters):
        raise NotFound("There is no such job.")
    return job


def stalled(job: Job, now: dt.datetime) -> bool:
    return job.state == "running" and job.started_at is not None \
        and now - job.started_at > STALLED_AFTER


def can_retry(job: Job, now: dt.datetime) -> bool:
    return job.state == "failed" or stalled(job, now)


def retry_job(session: Session, job: Job) -> Job:
    """Queue a failed (or stalled) job again, as a new attempt. Flushes; the caller
    commits, then enqueues."""
    if not can_retry(job, clock.now()):
        raise Conflict("Only a job that failed can be tried again.")
    job.state, job.attempts = "queued", job.attempts + 1
    job.progress, job.error, job.error_params = N_("Waiting for the worker"), None, None
    job.progress_params = job.outcome = None
    job.started_at = job.finished_at = None
    job.result_path = job.result_name = job.result_type = job.result_sha256 = None
    session.flush()
    return job


def result_file(folder: Path, job: Job) -> Path:
    """The job's file, if it is done and the file is the one it made (same SHA-256)."""
    if job.state != "done" or job.result_path is None:
        raise NotFound("There is no such job.")
    path = folder / job.result_path
    if not path.is_file() or _sha256(path) != job.result_sha256:
        raise NotFound("The file of this job is gone; ask for it again.")
    return path


def input_path(folder: Path, job_id: str) -> Path:
    """Where a writing job's input (an uploaded statement) waits for the worker: in the
    jobs folder, which is never served, under the job's own id."""
    return folder / f"{job_id}.input"


def save_input(folder: Path, job_id: str, data: bytes) -> Path:
    return write_atomically(folder, input_path(folder, job_id).name, data)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomically(folder: Path, name: str, data: bytes) -> Path:
    """Write the file whole or not at all: a reader sees the old file or the new one."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".partial-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, folder / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return folder / name


def _reason(error: DomainError, failed: str = FAILED) -> tuple[str, dict[str, object]]:
    """What the job row keeps of a refusal: its message id and its parameters, when
    every parameter is short and plain; otherwise only that the job failed."""
    plain = all(
        (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, str) and _PLAIN.fullmatch(value))
        for value in error.params.values())
    if not plain or len(error.message_id) > 300:
        return failed, {}
    return error.message_id, dict(error.params)


def _update(factory: sessionmaker[Session], job_id: str, attempt: int, **values: Any) -> bool:
    """Record on the job, unless it has been retried since (another attempt owns it)."""
    with transaction(factory) as session:
        job = session.get(Job, job_id)
        if job is None or job.attempts != attempt:
            return False
        for key, value in values.items():
            setattr(job, key, value)
    return True


def _actor(books: Session, user_id: int, kind: Kind, parameters: dict[str, Any]) -> Actor:
    """The job's user, if still active and still allowed what the job does."""
    user = books.get(User, user_id)
    actor = user.actor() if user is not None and user.active else None
    if actor is None or not kind.may_have(books, actor, parameters):
        raise NotFound(kind.gone)
    return actor


def run_job(factory: sessionmaker[Session], job_id: str, folder: Path) -> str | None:
    """Run one queued job to done or failed; returns its final state (None when there
    was nothing to run: gone, or already taken by another worker)."""
    with transaction(factory) as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or job.state != "queued":
            return None
        name, kind = job.kind, KINDS[job.kind]
        job.state, job.started_at, job.progress = "running", clock.now(), kind.started
        parameters, user_id, attempt = dict(job.parameters), job.user_id, job.attempts

    def progress(message: str, **params: object) -> None:
        _update(factory, job_id, attempt, progress=message, progress_params=params or None)

    try:
        if kind.writes:
            return _run_writing(factory, job_id, attempt, folder, kind, parameters, user_id,
                                progress)
        with factory() as books:
            begin_snapshot(books)
            actor = _actor(books, user_id, kind, parameters)
            made = kind.make(books, actor, parameters, progress)
        assert isinstance(made, downloads.Made)
        path = write_atomically(folder, f"{job_id}.{made.extension}", made.data)
        digest = hashlib.sha256(made.data).hexdigest()
    except DomainError as error:
        message, params = _reason(error, NOT_DONE if kind.writes else FAILED)
        _update(factory, job_id, attempt, state="failed", finished_at=clock.now(),
                progress=None, progress_params=None, error=message, error_params=params)
        return "failed"
    except Exception:
        log.exception("job %s (%s) failed", job_id, name)  # the trace goes to the log only
        _update(factory, job_id, attempt, state="failed", finished_at=clock.now(),
                progress=None, progress_params=None,
                error=NOT_DONE if kind.writes else FAILED, error_params={})
        return "failed"
    _update(factory, job_id, attempt, state="done", finished_at=clock.now(), progress=None,
            progress_params=None, result_path=path.name, result_name=made.name,
            result_type=made.mimetype, result_sha256=digest)
    return "done"


def _run_writing(factory: sessionmaker[Session], job_id: str, attempt: int, folder: Path,
                 kind: Kind, parameters: dict[str, Any], user_id: int,
                 progress: Callable[..., None]) -> str | None:
    """A writing job: its change and its "done" in one write transaction; then its
    input is deleted. A refusal raises, and the caller records it."""
    source = input_path(folder, job_id)
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        raise NotFound(INPUT_GONE) from None
    try:
        with transaction(factory) as books:
            # SQLite has one writer, and this transaction is it: how far the job got cannot
            # be recorded beside it until it ends. PostgreSQL records it as it goes.
            live = books.get_bind().dialect.name != "sqlite"
            actor = _actor(books, user_id, kind, parameters)
            done = kind.make(books, actor, parameters, data, progress if live else _silent)
            assert isinstance(done, statement_import.Imported)
            job = books.get(Job, job_id, with_for_update=True)
            if job is None or job.attempts != attempt or job.state != "running":
                raise _Superseded
            job.state, job.finished_at, job.progress, job.progress_params = \
                "done", clock.now(), None, None
            job.result_sha256, job.outcome = done.sha256, done.outcome
    except _Superseded:  # retried or forgotten meanwhile: nothing of this attempt is kept
        return None
    source.unlink(missing_ok=True)
    return "done"


class _Superseded(Exception):
    pass


def _silent(message: str, **params: object) -> None:
    pass


def fail_unqueued(factory: sessionmaker[Session], job_id: str) -> None:
    """The queue could not take the job: say so on it, so that it can be retried."""
    with transaction(factory) as session:
        job = session.get(Job, job_id)
        if job is not None and job.state == "queued":
            job.state, job.finished_at, job.progress = "failed", clock.now(), None
            job.error, job.error_params = UNQUEUED, {}


def purge_jobs(session: Session, folder: Path, before: dt.datetime) -> int:
    """Forget the jobs asked for before this moment, and delete their files."""
    old = list(session.execute(select(Job).where(Job.created_at < before)).scalars())
    for job in old:
        if job.result_path:
            (folder / job.result_path).unlink(missing_ok=True)
        input_path(folder, job.id).unlink(missing_ok=True)
    session.execute(delete(Job).where(Job.id.in_([job.id for job in old])))
    return len(old)
