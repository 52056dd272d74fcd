"""Managing users: passwords hashed with argon2, related-party declarations.
Administrators manage users and funds, never money. Repeated failed sign-ins are
refused per account *and* address by the web's rate limits (``webapp.limits``): an
account is never locked for everyone, so nobody can lock another user out."""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

import audit
from core import clock
from core.actors import ROLES, Actor
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.reading import clean_text
from people.jurisdictions import find_jurisdiction, managed_jurisdictions
from people.models import ApiToken, Jurisdiction, RelatedParty, User
from people.sessions import end_sessions_of

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
    place = find_jurisdiction(session, fund_code)
    if actor.role == "admin" and \
            place.id not in {j.id for j in managed_jurisdictions(session, actor)}:
        raise PermissionDenied("Administrators add users only to the funds they manage.")
    user = User(username=username,
                display_name=clean_text(display_name, "Full name", required=True, limit=80) or "",
                role=role, jurisdiction=place, password_hash=_hasher.hash(password),
                active=True, failed_logins=0, created_at=clock.now())
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.add", "user", username,
                 after={"role": role, "fund": place.code, "name": user.display_name},
                 fund=place.code)
    return user


def manages(session: Session, actor: Actor, user: User) -> bool:
    """Whether this actor is an administrator whose jurisdiction holds ``user``."""
    return actor.role == "admin" and actor.fund is not None and \
        user.jurisdiction_id in {j.id for j in managed_jurisdictions(session, actor)}


def has_administrator(session: Session, place: Jurisdiction) -> bool:
    """Whether an active administrator manages the users of this jurisdiction (or its
    fund): one of the jurisdiction itself or, for a county, of its city."""
    ids = [place.id] + ([place.parent_id] if place.parent_id is not None else [])
    return session.execute(select(User.id).where(
        User.role == "admin", User.active.is_(True), User.jurisdiction_id.in_(ids)).limit(1)
    ).first() is not None


def find_user(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username.strip().lower())
                           ).scalar_one_or_none()
    if user is None:
        raise NotFound("There is no user {name}.", name=username[:40])
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user if the password is right and the account active. Says nothing about
    which part failed. Failures are counted (``failed_logins``, since the last success)
    but never lock the account: the limit on failures is per account and address."""
    user = session.execute(select(User).where(User.username == username.strip().lower())
                           ).scalar_one_or_none()
    if user is None:
        _hasher.hash(password)  # the same work either way: no timing hint that the user exists
        return None
    if not user.active:
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        return None
    user.failed_logins, user.locked_until = 0, None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


@dataclass(frozen=True)
class Ended:
    """What a password change or a deactivation ended: how many sessions, and the
    first characters of each API token it revoked."""

    sessions: int
    tokens: tuple[str, ...]

    def record(self) -> dict[str, object]:
        return {"sessions_ended": self.sessions, "tokens_revoked": list(self.tokens)}


def revoke_tokens_of(session: Session, actor: Actor, user: User, *, reason: str) -> list[ApiToken]:
    """Revoke every API token of ``user`` not revoked yet, for good; each revocation is
    audited like one made by hand, with the reason. The caller has checked the actor."""
    rows = session.execute(select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.id).with_for_update(of=ApiToken)).scalars().all()
    now = clock.now()
    for row in rows:
        row.revoked_at, row.revoked_by = now, actor.name[:40]
        audit.record(session, actor, "api-token.revoke", "api-token", row.id,
                     before={"revoked_at": None},
                     after={"user": user.username, "name": row.name, "hint": row.hint,
                            "revoked_at": now.isoformat()}, reason=reason,
                     fund=user.jurisdiction.code)
    session.flush()
    return list(rows)


def change_password(session: Session, user: User, current: str, new: str, *,
                    revoke_tokens: bool = True) -> Ended:
    """Set a new password. Every session of the user ends (the browser that changed it
    goes on under a new session), and unless told otherwise every API token is revoked."""
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise InvalidInput("The current password is not right.") from None
    check_password_rules(new)
    user.password_hash = _hasher.hash(new)
    actor = user.actor()
    revoked = revoke_tokens_of(session, actor, user, reason="password changed") \
        if revoke_tokens else []
    ended = Ended(end_sessions_of(session, user, "password"), tuple(r.hint for r in revoked))
    audit.record(session, actor, "user.password", "user", user.username, after=ended.record())
    return ended


def set_active(session: Session, actor: Actor, user: User, active: bool) -> Ended:
    """Activate or deactivate a user. Deactivating ends every session of theirs and
    revokes every API token for good: activating them again revives neither."""
    if actor.role not in ("admin", "console"):
        raise PermissionDenied("Only administrators manage users.")
    user.active = active
    ended = Ended(0, ())
    if not active:
        revoked = revoke_tokens_of(session, actor, user, reason="user deactivated")
        ended = Ended(end_sessions_of(session, user, "deactivated"),
                      tuple(r.hint for r in revoked))
    audit.record(session, actor, "user.activate" if active else "user.deactivate", "user",
                 user.username, after=None if active else ended.record(),
                 fund=user.jurisdiction.code)
    return ended


def declare_related_party(session: Session, actor: Actor, user: User, party: str) -> None:
    """Record that ``user`` is related to an implementing unit or payee."""
    if actor.user_id != user.id and actor.role not in ("admin", "console"):
        raise PermissionDenied("Only the user or an administrator may declare this.")
    name = clean_text(party, "Related party", required=True, limit=200) or ""
    session.add(RelatedParty(user_id=user.id, party=name, declared_at=clock.now()))
    session.flush()
    audit.record(session, actor, "user.related-party", "user", user.username,
                 after={"party": name}, fund=user.jurisdiction.code)
