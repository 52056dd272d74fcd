"""Rendered public pages, kept in memory under the audit chain's head.

Every change the public site can show (a posting, a project's step, a receipt voided,
an audit result published or answered, a correction, an annual report, a fund
renamed) appends to the audit chain in its own transaction, which moves the chain's
single head row. A page is kept under that head (and its language, its day and its
arguments), so a kept page can only be served while nothing has changed since it was
rendered: reading the head is the one query a repeated view makes.

A page is kept only if the head read after rendering is the one read before, so a
change committed while the page was being rendered is never kept under the old head.
Each server process keeps its own pages; a size of 0 turns keeping off.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.models import AuditHead

Rendered = tuple[str, str]  # (title, body) of a page, as HTML
UNREAD = object()  # the head was not read yet


def audit_head(session: Session) -> str | None:
    return session.execute(select(AuditHead.last_hash).where(AuditHead.id == 1)).scalar()


class PageCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self._pages: OrderedDict[tuple[Hashable, ...], Rendered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session, key: tuple[Hashable, ...],
            render: Callable[[], Rendered], head: str | object | None = UNREAD) -> Rendered:
        """The page kept under the chain's head, or a fresh one; ``head``, when the request
        has already read it in this session, saves reading it again."""
        if self.size <= 0:
            return render()
        if head is UNREAD:
            head = audit_head(session)
        full = (head, *key)
        with self._lock:
            page = self._pages.get(full)
            if page is not None:
                self._pages.move_to_end(full)
                return page
        page = render()
        if audit_head(session) == head:
            with self._lock:
                self._pages[full] = page
                while len(self._pages) > self.size:
                    self._pages.popitem(last=False)
        return page

    def __len__(self) -> int:
        return len(self._pages)
