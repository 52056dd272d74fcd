"""The one place that asks what time it is, so tests and the demo can pin it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

# China Standard Time has no daylight saving; a fixed offset avoids a tzdata dependency.
CST = dt.timezone(dt.timedelta(hours=8), "CST")

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """Aware current time in China Standard Time."""
    return _frozen if _frozen is not None else dt.datetime.now(CST)


def today() -> dt.date:
    return now().date()


@contextmanager
def frozen_at(moment: dt.datetime) -> Iterator[None]:
    global _frozen  # noqa: PLW0603 - a process-wide test/demo switch by design
    previous, _frozen = _frozen, moment.astimezone(CST)
    try:
        yield
    finally:
        _frozen = previous
