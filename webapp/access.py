"""The web side of authorization: who is signed in, and role gates for views.
The rules themselves live in ``grants.access``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from core.actors import Actor
from grants.access import require_acting, require_fund
from ledger.journal import find_fund
from ledger.models import Fund
from webapp.extensions import db


def current_actor() -> Actor:
    return current_user.actor()


def roles_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Sign-in required, and one of these roles (403 otherwise)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        # The roles, on the view for whoever inspects it; mypy's Callable takes no attributes.
        wrapper.allowed_roles = roles  # type: ignore[attr-defined]
        return wrapper

    return decorate


STAFF = ("civil_affairs", "charity_office", "finance", "auditor")


def readable(code: str) -> Fund:
    """The fund, if the user may read it (404 otherwise): pages and the API alike."""
    return require_fund(current_actor(), find_fund(db.session, code))


def acting(code: str, *roles: str) -> Fund:
    """The fund, if the user acts in it with one of these roles."""
    return require_acting(current_actor(), find_fund(db.session, code), *roles)
