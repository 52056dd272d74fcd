"""API tokens: a user's keys to the JSON API.

A token acts as its user, with the user's role and jurisdiction; it is shown once,
when it is made, and only its SHA-256 is kept. Only the user themself makes their
tokens, proven: signed in on the pages, or by their own password on the console. Nobody
else may act as them, so administrators list and revoke the tokens of the users they
manage but never make one. A revoked or expired token, one of a deactivated user, or
one that somebody other than its user made (the first API release allowed that) opens
nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

import audit
from core import clock
from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.reading import clean_text
from people.models import ApiToken, User
from people.users import manages

PREFIX = "sf_"
HINT_LENGTH = 7  # "sf_" and four characters: enough to tell a user's tokens apart
MAX_NAME = 80
MAX_TOKEN = 200  # longer than any token we make; a bigger header is not worth hashing


def generate() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def may_manage_tokens(session: Session, actor: Actor, user: User) -> bool:
    """Who may see and revoke a user's tokens: the user themself, an administrator who
    manages them, or the console. Making one is for the user alone (``create_token``)."""
    return actor.role == "console" or (actor.user_id is not None and actor.user_id == user.id) \
        or manages(session, actor, user)


def create_token(session: Session, actor: Actor, user: User, *, name: str,
                 expires_on: dt.date | None) -> tuple[str, ApiToken]:
    """Make a token for ``user``, who must be the actor; returns the token (to show once)
    and its row."""
    if actor.user_id is None or actor.user_id != user.id:
        raise PermissionDenied("Only {name} may make their own API tokens: signed in, or "
                               "with their own password on the console.", name=user.username)
    if not user.active:
        raise Conflict("{name} is deactivated and cannot get API tokens.", name=user.username)
    label = clean_text(name, "Token name", required=True, limit=MAX_NAME) or ""
    expires_at = None
    if expires_on is not None:
        if expires_on <= clock.today():
            raise InvalidInput("A token's expiry date must be after today ({today}).",
                               today=clock.today().isoformat())
        # Valid through the whole of its last day, in China time.
        expires_at = dt.datetime.combine(expires_on, dt.time.max, tzinfo=clock.CST)
    token = generate()
    row = ApiToken(user=user, name=label, token_hash=hash_token(token), hint=token[:HINT_LENGTH],
                   created_by=actor.name[:40], created_by_id=actor.user_id,
                   created_at=clock.now(), expires_at=expires_at)
    session.add(row)
    session.flush()
    # The hint identifies the token to people; the token itself never reaches a record.
    audit.record(session, actor, "api-token.create", "api-token", row.id,
                 after={"user": user.username, "name": label, "hint": row.hint,
                        "expires_on": expires_on.isoformat() if expires_on else None},
                 fund=user.jurisdiction.code)
    return token, row


def revoke_token(session: Session, actor: Actor, token_id: int, *,
                 owner: User | None = None) -> ApiToken:
    """Revoke a token for good. Tokens the actor may not manage, or (when ``owner`` is
    given) of another user, do not exist for them."""
    row = session.execute(select(ApiToken).where(ApiToken.id == token_id)
                          .with_for_update(of=ApiToken)).scalar_one_or_none()
    if row is None or (owner is not None and row.user_id != owner.id) \
            or not may_manage_tokens(session, actor, row.user):
        raise NotFound("There is no API token {id}.", id=token_id)
    if row.revoked_at is not None:
        raise Conflict("API token {hint}… was already revoked.", hint=row.hint)
    row.revoked_at, row.revoked_by = clock.now(), actor.name[:40]
    session.flush()
    audit.record(session, actor, "api-token.revoke", "api-token", row.id,
                 before={"revoked_at": None},
                 after={"user": row.user.username, "name": row.name, "hint": row.hint,
                        "revoked_at": row.revoked_at.isoformat()},
                 fund=row.user.jurisdiction.code)
    return row


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """A user's tokens, newest first, revoked and expired ones included."""
    return list(session.execute(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
                                ).scalars())


def is_live(row: ApiToken) -> bool:
    return row.revoked_at is None and row.made_by_owner and (
        row.expires_at is None or row.expires_at > clock.now())


def user_for_token(session: Session, token: str) -> User | None:
    """The user a presented token acts as, or None when it is unknown, revoked, expired,
    made by someone other than its user, or its user deactivated. Reads only: a request
    with a token writes nothing here."""
    if not token or len(token) > MAX_TOKEN:
        return None
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(token))
                          ).scalar_one_or_none()
    if row is None or not is_live(row) or not row.user.active:
        return None
    return row.user
