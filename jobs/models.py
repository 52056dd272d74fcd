"""A job: work longer than a page view, asked for by a user and done by the worker.

The row says what to make (``kind`` and ``parameters``), for whom, how far it got and
where the result is; never what the result holds. Parameters are report names, fund
codes, periods and formats, or the name and SHA-256 of a statement to import --
nothing about a child -- and an error is a message id of the catalog with a few short
parameters, never a traceback or SQL. A job that changes the books instead of making
a file (a statement import) keeps what it did as a few counts (``outcome``), and the
SHA-256 of the file it imported as its result.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Timestamp

STATES = ("queued", "running", "done", "failed")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("state IN (" + ", ".join(f"'{s}'" for s in STATES) + ")", name="state"),
        CheckConstraint("(state = 'done') = (result_sha256 IS NOT NULL)", name="result"),
        CheckConstraint("(state = 'failed') = (error IS NOT NULL)", name="error"),
        CheckConstraint("attempts >= 1", name="attempts"),
    )

    # Random and unguessable (secrets.token_urlsafe): the id is in the job page's URL.
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The fund the job reads when it reads one; a job over several funds names their
    # codes in its parameters (``funds``).
    fund_id: Mapped[int | None] = mapped_column(ForeignKey("funds.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    # Message ids of the catalog, translated when shown.
    progress: Mapped[str | None] = mapped_column(String(200))
    progress_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(300))
    error_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    started_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    finished_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    # Relative to the jobs folder of the instance: "<id>.pdf".
    result_path: Mapped[str | None] = mapped_column(String(200))
    result_name: Mapped[str | None] = mapped_column(String(200))
    result_type: Mapped[str | None] = mapped_column(String(100))
    result_sha256: Mapped[str | None] = mapped_column(String(64))
    # What a job that changes the books did, once done: counts, line numbers and dates.
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
