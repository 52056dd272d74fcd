"""Managing users: passwords hashed with argon2, lockout after repeated failures,
related-party declarations. Administrators manage users and funds, never money."""

from __future__ import annotations

import datetime as dt
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

import audit
from core import clock
from core.actors import ROLES, Actor
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from grants.models import RelatedParty
from ledger.journal import clean_text, find_fund
from ledger.models import Fund
from webapp.auth.models import User

MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD = 10
_USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{1,39}$")
_hasher = PasswordHasher()


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("A password has at least {n} characters.", n=MIN_PASSWORD)
    if password.isdigit() or password.isalpha():
        raise InvalidInput("A password mixes letters with digits or symbols.")


def add_user(session: Session, actor: Actor, *, username: str, display_name: str, role: str,
             fund_code: str, password: str) -> User:
    if actor.role not in ("admin", "system", "console"):
        raise PermissionDenied("Only administrators manage users.")
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise InvalidInput("A user name is 2–40 lower-case letters, digits, dots, hyphens or "
                           "underscores, starting with a letter.")
    if role not in ROLES:
        raise InvalidInput("Unknown role “{role}”.", role=role[:20])
    check_password_rules(password)
    if session.execute(select(User.id).where(User.username == username)).first():
        raise Conflict("User {name} already exists.", name=username)
    fund = find_fund(session, fund_code)
    if actor.role == "admin" and fund.id not in {f.id for f in managed_funds(session, actor)}:
        raise PermissionDenied("Administrators add users only to the funds they manage.")
    user = User(username=username,
                display_name=clean_text(display_name, "Full name", required=True, limit=80) or "",
                role=role, fund=fund, password_hash=_hasher.hash(password), active=True,
                failed_logins=0, session_token=secrets.token_hex(16), created_at=clock.now())
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.add", "user", username,
                 after={"role": role, "fund": fund.code, "name": user.display_name})
    return user


def managed_funds(session: Session, actor: Actor) -> list[Fund]:
    """The funds whose users an administrator manages: their own and, for a city
    administrator, the counties below it."""
    own = find_fund(session, actor.fund or "")
    if own.level == "city":
        return [own, *session.execute(
            select(Fund).where(Fund.parent_id == own.id).order_by(Fund.id)).scalars()]
    return [own]


def manages(session: Session, actor: Actor, user: User) -> bool:
    """Whether this actor is an administrator whose jurisdiction holds ``user``."""
    return actor.role == "admin" and actor.fund is not None and \
        user.fund_id in {f.id for f in managed_funds(session, actor)}


def has_administrator(session: Session, fund: Fund) -> bool:
    """Whether an active administrator manages the users of this fund: one of the fund
    itself or, for a county, of its city."""
    ids = [fund.id] + ([fund.parent_id] if fund.parent_id is not None else [])
    return session.execute(select(User.id).where(
        User.role == "admin", User.active.is_(True), User.fund_id.in_(ids)).limit(1)
    ).first() is not None


def find_user(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username.strip().lower())
                           ).scalar_one_or_none()
    if user is None:
        raise NotFound("There is no user {name}.", name=username[:40])
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user if the password is right and the account open; counts failures and
    locks the account for a while after too many. Says nothing about which part failed."""
    user = session.execute(select(User).where(User.username == username.strip().lower())
                           ).scalar_one_or_none()
    now = clock.now()
    if user is None:
        _hasher.hash(password)  # the same work either way: no timing hint that the user exists
        return None
    if not user.active or (user.locked_until is not None and user.locked_until > now):
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until, user.failed_logins = now + LOCKOUT, 0
            audit.record(session, user.actor(), "user.locked", "user", user.username,
                         after={"until": user.locked_until.isoformat()})
        return None
    user.failed_logins, user.locked_until = 0, None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > clock.now()


def change_password(session: Session, user: User, current: str, new: str) -> None:
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise InvalidInput("The current password is not right.") from None
    check_password_rules(new)
    user.password_hash = _hasher.hash(new)
    user.session_token = secrets.token_hex(16)  # signs out every other session
    audit.record(session, user.actor(), "user.password", "user", user.username)


def set_active(session: Session, actor: Actor, user: User, active: bool) -> None:
    if actor.role not in ("admin", "console"):
        raise PermissionDenied("Only administrators manage users.")
    user.active = active
    user.session_token = secrets.token_hex(16)
    audit.record(session, actor, "user.activate" if active else "user.deactivate", "user",
                 user.username)


def declare_related_party(session: Session, actor: Actor, user: User, party: str) -> None:
    """Record that ``user`` is related to an implementing unit or payee."""
    if actor.user_id != user.id and actor.role not in ("admin", "console"):
        raise PermissionDenied("Only the user or an administrator may declare this.")
    name = clean_text(party, "Related party", required=True, limit=200) or ""
    session.add(RelatedParty(user_id=user.id, party=name, declared_at=clock.now()))
    session.flush()
    audit.record(session, actor, "user.related-party", "user", user.username,
                 after={"party": name})
