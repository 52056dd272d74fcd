"""The public site as static files: ``specialfund publish-static DIR`` and
``specialfund verify-static DIR`` (added to the console by ``webapp.cli``).

The site is rendered by the app itself, through its test client as an anonymous visitor,
starting from the public pages in each language and following every link to the public
site and its style sheets; the published annual reports are added from the books, linked
or not. Each address becomes a file that a plain web server serves from DIR, and every
link in the pages is rewritten to the relative path of its file:

- ``/public/`` -> ``public/index.html``, ``/public/verify`` -> ``public/verify.html``;
- a query becomes part of the name, in the order of its keys:
  ``/public/funds/YJQ?year=2025`` -> ``public/funds/YJQ.year-2025.html``,
  ``/public/data/donations.csv?fund=YJQ`` -> ``public/data/donations.fund-YJQ.csv``;
- the English site (``?lang=en``) is a parallel tree under ``en/``; the open data, the
  reports and the style sheets are one copy, which both trees link to.

A fund page pages its projects and its donations separately; the live page's link to the
next page of one list keeps the page the other list is on, which would publish every
combination of the two. The static site keeps the list the link is about
(``#projects`` or ``#donations``) and shows the other from its first page.

Writing, signing and checking the files is ``reports.mirror``'s, which knows no Flask.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo
from sqlalchemy import select

from core.errors import Conflict, DomainError, InvalidInput
from core.i18n import DEFAULT_LOCALE, get_locale, locale_as
from core.i18n import gettext as _
from core.signing import load_signing_key
from ledger.models import Fund
from reports import mirror
from reports.models import AnnualReport
from webapp import create_app
from webapp.backup_commands import _app_version
from webapp.console import say
from webapp.extensions import db

SITE_ROOTS = ("/public/", "/static/")
START = ("/public/", "/public/data/", "/public/verify")
OTHER_LANGUAGE = "en"
_SAFE = re.compile(r"[A-Za-z0-9_-]+")
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_LINK = re.compile(r'(\s(?:href|src)=")([^"]*)(")')
_FUND_PAGE = re.compile(r"/public/funds/[A-Za-z0-9_-]+")
LIST_PAGES = {"projects": "projects_page", "donations": "donations_page"}


# --- addresses and files --------------------------------------------------------------


def canonical(url: str) -> str:
    """The address the static site publishes for a link (see the module's note on a
    fund page's two lists)."""
    parts = urlsplit(url)
    if not _FUND_PAGE.fullmatch(parts.path) or parts.fragment not in LIST_PAGES:
        return url
    other = {name for key, name in LIST_PAGES.items() if key != parts.fragment}
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in other])
    return urlunsplit(("", "", parts.path, query, parts.fragment))


def file_for(url: str) -> str:
    """The file that holds the page or file at ``url`` (a path on the site with its query;
    a fragment is ignored)."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith(SITE_ROOTS):
        raise InvalidInput("{url} is not an address of the public site.", url=url)
    query = sorted(parse_qsl(parts.query, keep_blank_values=True))
    languages = [v for k, v in query if k == "lang"]
    if languages not in ([], [DEFAULT_LOCALE], [OTHER_LANGUAGE]):
        raise InvalidInput("{url} is not an address of the public site.", url=url)
    prefix = "en/" if languages == [OTHER_LANGUAGE] else ""
    *folders, last = parts.path.lstrip("/").split("/")
    if last == "":
        stem, suffix = "index", ".html"
    elif "." in last:
        stem, dot, extension = last.rpartition(".")
        suffix = dot + extension
    else:
        stem, suffix = last, ".html"
    names = [*folders, stem]
    if not all(_SAFE_NAME.fullmatch(n) and n not in (".", "..") for n in names) \
            or not _SAFE_NAME.fullmatch(suffix):
        raise InvalidInput("{url} is not an address of the public site.", url=url)
    for key, value in query:
        if key == "lang":
            continue
        if not (_SAFE.fullmatch(key) and _SAFE.fullmatch(value)):
            raise InvalidInput("{url} is not an address of the public site.", url=url)
        stem += f".{key}-{value}"
    return prefix + "/".join([*folders, stem + suffix])


def _target(page_url: str, href: str) -> tuple[str, str] | None:
    """The site address a link of ``page_url`` leads to, and its fragment (None: the link
    leads elsewhere or within the page)."""
    if not href or href.startswith("#"):
        return None
    resolved = urlsplit(urljoin(page_url, href))
    if resolved.scheme or resolved.netloc or not resolved.path.startswith(SITE_ROOTS):
        return None
    address = canonical(urlunsplit(("", "", resolved.path, resolved.query, resolved.fragment)))
    parts = urlsplit(address)
    return urlunsplit(("", "", parts.path, parts.query, "")), parts.fragment


def rewrite(page_url: str, body: str) -> tuple[str, list[str]]:
    """The page with every link to the site made relative to its file, and the addresses
    it links to."""
    here = posixpath.dirname(file_for(page_url))
    found: list[str] = []

    def relative(match: re.Match[str]) -> str:
        target = _target(page_url, html.unescape(match.group(2)))
        if target is None:
            return match.group(0)
        address, fragment = target
        found.append(address)
        path = posixpath.relpath(file_for(address), here or ".")
        return match.group(1) + html.escape(path + ("#" + fragment if fragment else "")) \
            + match.group(3)

    return _LINK.sub(relative, body), found


# --- the crawl ------------------------------------------------------------------------


@contextmanager
def _no_rate_limit(app: Flask) -> Iterator[None]:
    """The crawl asks for every page from one address, far above a visitor's limit."""
    limiter = app.extensions.get("specialfund.limiter")
    enabled = getattr(limiter, "enabled", False)
    if limiter is not None:
        limiter.enabled = False
    try:
        yield
    finally:
        if limiter is not None:
            limiter.enabled = enabled


def published_reports() -> list[str]:
    """The address of every published annual report."""
    with db.factory() as session:
        rows = session.execute(
            select(Fund.code, AnnualReport.year).join(Fund, Fund.id == AnnualReport.fund_id)
            .where(AnnualReport.state == "published").order_by(Fund.code, AnnualReport.year))
        return [f"/public/funds/{code}/annual/{year}.pdf" for code, year in rows]


def render_site(app: Flask) -> dict[str, bytes]:
    """Every file of the static site (its path in DIR: its content)."""
    starts = [*START, *(f"{url}?lang={OTHER_LANGUAGE}" for url in START), *published_reports()]
    queue = deque(starts)
    seen = set(starts)
    files: dict[str, bytes] = {}
    client = app.test_client(use_cookies=False)
    # Each request sets the language of its page; the command keeps its own.
    with _no_rate_limit(app), locale_as(get_locale()):
        while queue:
            url = queue.popleft()
            # A request inside an app context shares it (and its ``g``: the language,
            # the session); a fresh one each makes each request a visitor's own.
            with app.app_context():
                response = client.get(url)
                content = response.get_data()
                response.close()  # a file response holds its file open until closed
            if response.status_code != 200:
                raise Conflict("{url} answered {status}: the site cannot be published "
                               "whole.", url=url, status=response.status_code)
            if "Set-Cookie" in response.headers:
                raise Conflict("{url} sets a cookie: only what anyone may see is published.",
                               url=url)
            if response.mimetype == "text/html":
                body, links = rewrite(url, content.decode("utf-8"))
                content = body.encode("utf-8")
                for link in links:
                    if link not in seen:
                        seen.add(link)
                        queue.append(link)
            files[file_for(url)] = content
    return files


def signing_key_value() -> str:
    value = str(current_app.config.get("SIGNING_KEY") or "")
    if not value:
        raise DomainError("SPECIALFUND_SIGNING_KEY is not set: the static site is signed with "
                          "it. Make one with “specialfund keys generate”.")
    return value


def _heads() -> dict[str, object]:
    with db.factory() as session:
        return mirror.heads(session)


# --- the commands ---------------------------------------------------------------------


@click.command("publish-static")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def publish_static_command(directory: Path) -> None:
    """Write the public site (every page in Chinese and English, the open data, the
    published annual reports, the style sheets) into DIRECTORY as files any web server
    serves, with manifest.json (the SHA-256 of every file and the heads of the books),
    its Ed25519 signature manifest.json.sig and public-key.pem. DIRECTORY is new, empty,
    or a site published before, which is replaced."""
    app = create_app()  # the console's app has no pages to render
    with app.app_context():
        key = load_signing_key(signing_key_value())
        before = _heads()
        files = render_site(app)
        if _heads() != before:
            raise Conflict("The books changed while the site was rendered; publish again.")
        published = mirror.write_site(directory, files, book_heads=before,
                                      app_version=_app_version(), key=key)
    say(_("Static site written to {path}: {count} files, signed by the key {key}.",
          path=str(published.folder), count=published.files, key=published.key_fingerprint))


@click.command("verify-static")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--public-key", "key_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The site's public key in PEM (default: this app's own signing key)")
@click.pass_context
def verify_static_command(ctx: click.Context, directory: Path, key_file: Path | None) -> None:
    """Check a copy of the static site: the signature of manifest.json, every file's
    SHA-256, no file missing and none added. One line per problem; exit status 1 if any."""
    if key_file is not None:
        key = mirror.read_public_key(key_file)
    else:
        with ctx.ensure_object(ScriptInfo).load_app().app_context():
            key = load_signing_key(signing_key_value()).public_key()
    problems = mirror.verify_site(directory, key)
    for problem in problems:
        say(problem)
    if problems:
        raise click.exceptions.Exit(1)
    say(_("OK {path}: the signature holds and every file is as published.",
          path=str(directory)))
