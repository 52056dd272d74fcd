"""Public lists come a page at a time, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

PER_PAGE = 50
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, newest first; or the whole list when it was asked for whole.
    A page does not count the whole list (that would read every row): it knows only
    whether another page follows."""

    items: list[T]
    page: int
    has_next: bool


def paged(rows: list[T], page: int | None, per_page: int) -> Page[T]:
    """A page of rows read with one row more than a page (to know whether one follows)."""
    if page is None:
        return Page(rows, 1, False)
    return Page(rows[:per_page], page, len(rows) > per_page)


def page_params(page: int | None, per_page: int) -> dict[str, object]:
    """The ``limit`` and ``offset`` a page is read with: one row more than a page."""
    if page is None:
        return {}
    return {"limit": per_page + 1, "offset": (max(page, 1) - 1) * per_page}
