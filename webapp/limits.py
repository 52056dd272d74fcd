"""Rate limits (Flask-Limiter): sign-in, the API and the public site.

- **Sign-in** (``POST /login``): attempts per client address
  (``SPECIALFUND_LIMIT_SIGN_IN``), and failed attempts per account *and* address
  (``SPECIALFUND_LIMIT_SIGN_IN_FAILURES``). Once an address has used up its failures
  for an account, that address is refused for that account until the window passes,
  before the password is even checked; the same account still signs in from any
  other address, so a stranger cannot lock a named user out. The key is the name as
  typed, whether or not such a user exists, so the answer tells nothing about which
  accounts exist.
- **API** (``/api/v1``): requests per token (``SPECIALFUND_LIMIT_API``); a request
  without a token counts against its address.
- **Public pages and open data** (``/public``): requests per address
  (``SPECIALFUND_LIMIT_PUBLIC``).

Counters live in memory (each server process its own) unless ``REDIS_URL`` names a
Redis server, which every process and server then shares; if Redis cannot be reached
the processes fall back to their own memory rather than refuse requests. Behind a
proxy the client's address is the proxy's unless ``SPECIALFUND_PROXY_HOPS`` is set
(``webapp.responses``). A refused request gets 429 with ``Retry-After``: the app's
error page, or a problem document on the API, in the user's language.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from flask import Blueprint, Flask, Response, current_app, g, make_response, request
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from limits import parse_many

from core.i18n import gettext
from webapp.config import ConfigurationError
from webapp.errors import answer

log = logging.getLogger("specialfund.web")

EXTENSION = "specialfund.limiter"
SIGN_IN_FAILED = "sign_in_failed"  # set on g by the sign-in view when a password is wrong
LIMITS = {  # configuration key: environment variable
    "RATE_LIMIT_SIGN_IN": "SPECIALFUND_LIMIT_SIGN_IN",
    "RATE_LIMIT_SIGN_IN_FAILURES": "SPECIALFUND_LIMIT_SIGN_IN_FAILURES",
    "RATE_LIMIT_API": "SPECIALFUND_LIMIT_API",
    "RATE_LIMIT_PUBLIC": "SPECIALFUND_LIMIT_PUBLIC",
}
MAX_NAME = 40  # longer than any user name (people.users)


def client_address() -> str:
    return request.remote_addr or "unknown"


def account_and_address() -> str:
    name = (request.form.get("username") or "").strip().lower()[:MAX_NAME]
    return f"{name}|{client_address()}"


def token_or_address() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        # Only a digest reaches the counters' storage, never the token.
        return "token:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:32]
    return "address:" + client_address()


def sign_in_failed(response: Response) -> bool:
    return bool(g.get(SIGN_IN_FAILED))


def not_sign_in() -> bool:
    return request.endpoint != "auth.login"


def _refused_for_account(limit: RequestLimit) -> None:
    g.sign_in_refused = True
    # The name as typed and the address, for the operators; never the password.
    log.warning("sign-in refused for %r from %s: too many failed attempts",
                account_and_address().rpartition("|")[0], client_address())


def _checked(app: Flask) -> None:
    for key, variable in LIMITS.items():
        try:
            if not parse_many(str(app.config[key])):
                raise ValueError(key)
        except ValueError:
            raise ConfigurationError(
                "{name} is not a rate limit such as “10 per minute” or “5 per 15 minutes; "
                "100 per day”.", name=variable) from None


def _too_many(error: RateLimitExceeded) -> Response:
    limiter: Limiter = current_app.extensions[EXTENSION]
    current = limiter.current_limit
    wait = max(1, math.ceil(current.window.reset_time - time.time())) if current else 60
    if g.get("sign_in_refused"):
        message = gettext("Too many failed sign-ins to this account from your address. Try "
                          "again in {minutes} minutes; signing in from elsewhere still works.",
                          minutes=max(1, math.ceil(wait / 60)))
    else:
        message = gettext("Too many requests from you in a short time. Please wait {seconds} "
                          "seconds, then try again.", seconds=wait)
    response = make_response(answer(429, message))
    response.headers["Retry-After"] = str(wait)
    return response


def _blueprint(app: Flask, name: str) -> Blueprint:
    blueprint = app.blueprints[name]
    assert isinstance(blueprint, Blueprint)  # Flask types its blueprints as the sansio base
    return blueprint


def init_app(app: Flask) -> None:
    """Bind a limiter to this app (after its blueprints are registered)."""
    _checked(app)
    limiter = Limiter(
        client_address, app=None, storage_uri=str(app.config["RATE_LIMIT_STORAGE"]),
        key_prefix=str(app.config["RATE_LIMIT_KEY_PREFIX"]), strategy="moving-window",
        in_memory_fallback_enabled=True, enabled=bool(app.config["RATE_LIMITS"]))
    limiter.shared_limit(str(app.config["RATE_LIMIT_SIGN_IN"]), "sign-in",
                         key_func=client_address, methods=["POST"],
                         exempt_when=not_sign_in)(_blueprint(app, "auth"))
    limiter.shared_limit(str(app.config["RATE_LIMIT_SIGN_IN_FAILURES"]), "sign-in-failures",
                         key_func=account_and_address, methods=["POST"],
                         exempt_when=not_sign_in, deduct_when=sign_in_failed,
                         on_breach=_refused_for_account)(_blueprint(app, "auth"))
    limiter.shared_limit(str(app.config["RATE_LIMIT_API"]), "api",
                         key_func=token_or_address)(_blueprint(app, "api"))
    limiter.shared_limit(str(app.config["RATE_LIMIT_PUBLIC"]), "public",
                         key_func=client_address)(_blueprint(app, "public"))
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    app.register_error_handler(RateLimitExceeded, _too_many)
