"""Rendered public pages, kept in memory under the public versions of the funds they show.

Every change the public site can show (a posting, a project's step, a receipt voided,
an audit result published or answered, a correction, an annual report, a fund
renamed) is audited, and counts as a change of its fund's public version
(``audit.models.PublicVersion``; sign-ins, tokens, users and the children's list do
not count). A page is kept under the version of the funds it shows
(``reports.public.public_version``; and its language, its day and its arguments), so a
kept page can only be served while nothing it shows has changed, and a change in
another fund leaves it kept: reading the version is the one query a repeated view makes.

A page is kept only if the version read after rendering is the one read before, so a
change committed while the page was being rendered is never kept under the old version.
Each server process keeps its own pages; a size of 0 turns keeping off.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

Rendered = tuple[str, str]  # (title, body) of a page, as HTML
UNREAD = object()  # the version was not read yet


class PageCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self._pages: OrderedDict[tuple[Hashable, ...], Rendered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Hashable, ...], render: Callable[[], Rendered],
            read_version: Callable[[], Hashable], version: object = UNREAD) -> Rendered:
        """The page kept under the version ``read_version`` reads, or a fresh one;
        ``version``, when the request has already read it, saves reading it again."""
        if self.size <= 0:
            return render()
        if version is UNREAD:
            version = read_version()
        full = (version, *key)
        with self._lock:
            page = self._pages.get(full)
            if page is not None:
                self._pages.move_to_end(full)
                return page
        page = render()
        if read_version() == version:
            with self._lock:
                self._pages[full] = page
                while len(self._pages) > self.size:
                    self._pages.popitem(last=False)
        return page

    def __len__(self) -> int:
        return len(self._pages)
