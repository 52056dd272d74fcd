"""Translation for domain messages without Flask.

Messages are written in English in code and translated through the catalog in
``core/translations``; the same catalog serves the web app. The current locale
is a context variable: the CLI sets it from ``SPECIALFUND_LANG`` and the web app
per request.
"""

from __future__ import annotations

import contextvars
import functools
import gettext as _gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
DEFAULT_LOCALE = "zh_CN"
LOCALES = ("zh_CN", "en")

_current: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=DEFAULT_LOCALE)


def normalize_locale(value: str | None) -> str:
    """Map what a user or environment says ('en_US.UTF-8', 'zh') to a supported locale."""
    if not value:
        return DEFAULT_LOCALE
    value = value.split(".")[0].replace("-", "_")
    if value.lower().startswith("en"):
        return "en"
    return DEFAULT_LOCALE


def get_locale() -> str:
    return _current.get()


def set_locale(locale: str) -> None:
    _current.set(normalize_locale(locale))


@contextmanager
def locale_as(locale: str) -> Iterator[None]:
    token = _current.set(normalize_locale(locale))
    try:
        yield
    finally:
        _current.reset(token)


@functools.cache
def _translations(locale: str) -> _gettext.NullTranslations:
    po = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return _gettext.NullTranslations()
    # Compiled in memory so a checkout never carries a stale .mo file.
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def gettext(message: str, /, **params: object) -> str:
    text = _translations(get_locale()).gettext(message)
    return text.format(**params) if params else text


def N_(message: str) -> str:
    """Mark a message for extraction where it is translated later, by ``gettext``."""
    return message


class Bilingual:
    """A name kept in both languages; it prints in the current locale."""

    __slots__ = ("en", "zh")

    def __init__(self, zh: str, en: str) -> None:
        self.zh = zh
        self.en = en

    def __str__(self) -> str:
        return self.en if get_locale() == "en" else self.zh

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __repr__(self) -> str:
        return f"Bilingual({self.zh!r}, {self.en!r})"
