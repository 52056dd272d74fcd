"""Signed-in sessions, kept on the server.

A browser's session cookie carries a random key; the database keeps only the key's
SHA-256, whose session it is, when it began and, once it is over, when and why it ended.
An ended session never opens again, so a copied cookie dies with it: signing out ends
that one session, a password change or a deactivation every session of the user.

Reading a session writes nothing. Idle time and lifetime are judged on each request
from the time the cookie says the session was last used (signed with the app's key, and
renewed only by a request that was itself still within the idle time) and from when the
session began, so neither needs a write and neither can be stretched by an old cookie.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import clock
from people.models import END_REASONS, User, UserSession

MAX_KEY = 100  # longer than any key we make; a bigger cookie value is not worth hashing


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def start_session(session: Session, user: User) -> str:
    """Begin a session for ``user``; returns the key for the browser's cookie."""
    key = secrets.token_urlsafe(32)
    session.add(UserSession(user_id=user.id, key_hash=_hash(key), created_at=clock.now()))
    session.flush()
    return key


def find_session(session: Session, key: object) -> UserSession | None:
    """The session this key opens, with its user, if it has not ended. Reads only."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY:
        return None
    return session.execute(select(UserSession).where(
        UserSession.key_hash == _hash(key), UserSession.ended_at.is_(None))
    ).scalar_one_or_none()


def closed_because(row: UserSession, *, last_used: dt.datetime | None, idle: dt.timedelta,
                   lifetime: dt.timedelta) -> str | None:
    """Why this open session may not go on now ("inactive", "idle", "expired"), or None."""
    now = clock.now()
    if not row.user.active:
        return "inactive"
    if now - row.created_at >= lifetime:
        return "expired"
    if last_used is None or now - last_used >= idle:
        return "idle"
    return None


def end_session(row: UserSession, reason: str) -> None:
    assert reason in END_REASONS, reason
    if row.ended_at is None:
        row.ended_at, row.end_reason = clock.now(), reason


def end_session_by_key(session: Session, key: object, reason: str) -> None:
    row = find_session(session, key)
    if row is not None:
        end_session(row, reason)
        session.flush()


def end_sessions_of(session: Session, user: User, reason: str) -> int:
    """End every open session of ``user``; returns how many there were."""
    assert reason in END_REASONS, reason
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=clock.now(), end_reason=reason)
        .execution_options(synchronize_session="fetch"))
    return int(result.rowcount)  # type: ignore[attr-defined]  # DML answers a CursorResult
