"""How responses may be kept, and what they say about the server.

- **Private** is the default: every response that is not a public page answered to an
  anonymous visitor (signed-in pages, downloads, receipts, attachments, the API, error
  pages, the sign-in form) carries ``Cache-Control: no-store``, whatever its type.
- **Public** pages and open data (the ``public`` blueprint), answered to an anonymous
  visitor without anything of their own in the page (no CSRF token, no new
  cookie), may be kept by browsers and proxies for a short while
  (``Cache-Control: public, max-age=60``). They carry a weak ``ETag`` and a
  ``Last-Modified`` derived from what their content depends on: the public version of
  the funds the page shows (every change the public site can show counts in it; see
  ``webapp.public.page_cache``), the day, the language, the app's version and the key
  that signs the static site (every page's footer prints its fingerprint). A
  request whose ``If-None-Match`` (or ``If-Modified-Since``) still matches is answered
  304 before the page is rendered.
- ``Strict-Transport-Security`` when configured (``SPECIALFUND_HSTS_SECONDS``), and
  werkzeug's ``ProxyFix`` when the app runs behind proxies
  (``SPECIALFUND_PROXY_HOPS``): only then do ``X-Forwarded-For`` and
  ``X-Forwarded-Proto`` count, for the client's address (rate limits) and the scheme.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib.metadata

from flask import Flask, Response, current_app, g, request, session
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.http import is_resource_modified
from werkzeug.middleware.proxy_fix import ProxyFix

from core import clock
from reports.public import public_version
from webapp.extensions import db
from webapp.site_key import printed

PUBLIC_BLUEPRINT = "public"
OPEN_DATA = frozenset({"public.data_csv", "public.data_json"})  # ?fund= names the fund
CACHEABLE_METHODS = frozenset({"GET", "HEAD"})


@functools.cache  # read from the installed metadata: a few milliseconds a request
def _version() -> str:
    try:
        return importlib.metadata.version("special-fund")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a checkout
        return "0"


def _may_be_public() -> bool:
    """Whether this request asks for a public page as an anonymous visitor."""
    return (request.blueprint == PUBLIC_BLUEPRINT and request.method in CACHEABLE_METHODS
            and not current_user.is_authenticated)


def public_scope() -> str | None:
    """The fund whose public pages this request shows (None: every fund's)."""
    code = (request.view_args or {}).get("code")
    if code is not None:
        return str(code)
    return request.args.get("fund") or None if request.endpoint in OPEN_DATA else None


def public_version_now() -> tuple[int, str | None]:
    """The public version of what this request shows (``reports.public.public_version``)."""
    return public_version(db.session, public_scope())


def public_validators() -> tuple[str, dt.datetime]:
    """The ETag and the last-modified moment of this public page now: they change
    whenever anything the page shows may have changed, and only then."""
    version, at = public_version_now()
    g.public_version = version  # the page cache need not read it again (public.routes)
    today = clock.today()
    modified = dt.datetime.combine(today, dt.time.min, tzinfo=clock.CST)
    if at is not None:
        modified = max(modified, dt.datetime.fromisoformat(at))
    key = printed()
    state = "|".join((_version(), public_scope() or "", str(version), today.isoformat(),
                      str(get_locale()), key["sha256"] if key else ""))
    return hashlib.sha256(state.encode()).hexdigest()[:32], modified.replace(microsecond=0)


def _answer_unchanged() -> Response | None:
    if not _may_be_public():
        return None
    etag, modified = public_validators()
    g.public_validators = (etag, modified)
    if not is_resource_modified(request.environ, etag=etag, last_modified=modified):
        return current_app.response_class(status=304)
    return None


def _holds_something_of_the_visitor(response: Response) -> bool:
    # Flask-WTF keeps the token it put in the page in g; a changed session is a cookie.
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    return field in g or session.modified or "Set-Cookie" in response.headers


def _cache_headers(response: Response) -> Response:
    validators = g.get("public_validators")
    if validators is not None and response.status_code in (200, 304) \
            and not _holds_something_of_the_visitor(response):
        etag, modified = validators
        response.headers["Cache-Control"] = \
            f"public, max-age={current_app.config['PUBLIC_MAX_AGE']}"
        response.set_etag(etag, weak=True)
        response.last_modified = modified
        response.vary.add("Cookie")  # a signed-in visitor gets a private answer
    elif request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    hsts = int(current_app.config.get("HSTS_SECONDS") or 0)
    if hsts > 0:
        response.headers["Strict-Transport-Security"] = f"max-age={hsts}"
    return response


def init_app(app: Flask) -> None:
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops > 0:
        # Wrapping the WSGI app is how Flask's documentation installs ProxyFix.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.before_request(_answer_unchanged)
    app.after_request(_cache_headers)
