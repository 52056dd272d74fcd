"""The one way the project makes PDFs: WeasyPrint with a locked-down URL fetcher.

The system runs on an offline intranet, so a PDF must never reach out to a URL; and
a template fed a hostile string (a donor's name, a narration) must not be able to pull
local files such as the instance folder's secrets into a document. The fetcher
therefore serves only files inside this package's report assets (``reports/templates``,
with its stylesheets and any fonts kept there) and small ``data:`` URLs; everything
else is refused, and WeasyPrint leaves the resource out.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit
from urllib.request import url2pathname

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from core import clock

ASSETS = (Path(__file__).parent / "templates").resolve()
# An inline icon or two; anything bigger belongs in ASSETS where it is reviewed.
DATA_URL_LIMIT = 32 * 1024
ASSET_SIZE_LIMIT = 20 * 1024 * 1024  # a CJK font subset source is large, a report is not

log = logging.getLogger(__name__)


class RefusedURL(ValueError):
    """A resource the report renderer may not fetch."""


def assets_url() -> str:
    """The base URL of the report assets, for relative links in templates."""
    return ASSETS.as_uri() + "/"


class AssetFetcher(URLFetcher):
    """Serves report assets and small data: URLs; refuses, and remembers, all else."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        try:
            scheme = urlsplit(url).scheme.lower()
            if scheme == "file":
                return _asset(url)
            if scheme == "data":
                return _data(url)
            raise RefusedURL(f"only report assets may be fetched, not {scheme or 'this'} URLs")
        except RefusedURL:
            self.refused.append(url[:200])
            log.warning("PDF resource refused: %s", url[:200])
            raise


def _asset(url: str) -> URLFetcherResponse:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise RefusedURL("file URLs on another host are refused")
    path = Path(url2pathname(unquote(parts.path))).resolve()  # follows .. and symlinks
    if not path.is_relative_to(ASSETS) or not path.is_file():
        raise RefusedURL("only files inside the report assets folder may be fetched")
    if path.stat().st_size > ASSET_SIZE_LIMIT:
        raise RefusedURL("the asset is too large")
    mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    headers = {"Content-Type": mime_type}
    return URLFetcherResponse(path.as_uri(), path.read_bytes(), headers)


def _data(url: str) -> URLFetcherResponse:
    if len(url) > DATA_URL_LIMIT:
        raise RefusedURL("data: URL is larger than the limit")
    header, comma, payload = url[len("data:"):].partition(",")
    if not comma:
        raise RefusedURL("malformed data: URL")
    params = header.split(";")
    is_base64 = params[-1].strip().lower() == "base64"
    if is_base64:
        params = params[:-1]
    mime_type = params[0].strip() or "text/plain"
    try:
        body = base64.b64decode(payload, validate=True) if is_base64 else unquote_to_bytes(payload)
    except ValueError:
        raise RefusedURL("malformed data: URL") from None
    headers = {"Content-Type": mime_type}
    for param in params[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value:
            headers["Content-Type"] += f"; charset={value.strip()}"
    return URLFetcherResponse(url[:64], body, headers)


def render_pdf(html: str, *, base_url: str, title: str | None = None,
               created: dt.datetime | None = None,
               fetcher: AssetFetcher | None = None) -> bytes:
    """HTML to PDF bytes; fonts are embedded as subsets.

    ``title`` overrides the HTML ``<title>``; ``created`` defaults to now. Pass your own
    ``fetcher`` only to inspect what it refused.
    """
    document = HTML(string=html, base_url=base_url,
                    url_fetcher=fetcher or AssetFetcher()).render()
    metadata = document.metadata
    if title is not None:
        metadata.title = title
    moment = (created or clock.now()).astimezone(clock.CST).isoformat(timespec="seconds")
    metadata.created = metadata.created or moment
    metadata.modified = moment
    metadata.generator = "资阳市儿童专项基金账簿系统"
    return document.write_pdf()
