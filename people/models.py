"""Tables of people: jurisdictions, users, their related parties, API tokens, sessions,
and the answers kept for repeated API requests."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.actors import ROLES, Actor
from core.db import Base, Timestamp
from core.i18n import Bilingual

Level = Literal["city", "county"]
LEVELS: tuple[Level, ...] = ("city", "county")

# Why a session ended: signed out, the password changed, the user deactivated, or
# another sign-in in the same browser. Idle and expired sessions end without a write.
END_REASONS = ("logout", "password", "deactivated", "replaced")


class Jurisdiction(Base):
    """A city, or a county or district below one: where a user works, and whose children's
    special fund they act in. Its books are ``ledger.models.Fund``, which shares its id."""

    __tablename__ = "jurisdictions"
    __table_args__ = (
        CheckConstraint("level IN (" + ", ".join(f"'{v}'" for v in LEVELS) + ")", name="level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(120))
    level: Mapped[Level] = mapped_column(String(10))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdictions.id"))

    # A fund may stand for its jurisdiction here (``Fund`` extends it); loaded again, the
    # parent is a Jurisdiction, as people see it.
    parent: Mapped[Jurisdiction | None] = relationship(remote_side=[id], enable_typechecks=False)

    @property
    def name(self) -> Bilingual:
        return Bilingual(self.name_zh, self.name_en)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.code}>"


class User(Base):
    """A person who signs in. Belongs to one jurisdiction and has one role."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="role"),
        CheckConstraint("failed_logins >= 0", name="failed_logins"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)

    jurisdiction: Mapped[Jurisdiction] = relationship(lazy="joined", enable_typechecks=False)

    # What the web layer's sign-in (flask-login) asks of a user, kept here so that it
    # needs neither a Flask import nor a wrapper around every user.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    def actor(self) -> Actor:
        return Actor(self.username, self.role, self.id, self.jurisdiction.code,
                     self.jurisdiction.level == "city")


class RelatedParty(Base):
    """A declared relationship: the user may not act on projects of this unit or payee."""

    __tablename__ = "related_parties"
    __table_args__ = (UniqueConstraint("user_id", "party"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    party: Mapped[str] = mapped_column(String(200))
    declared_at: Mapped[dt.datetime] = mapped_column(Timestamp)


class ApiToken(Base):
    """A user's key to the JSON API. Only its SHA-256 is stored: the token itself is
    shown once, when it is made. It acts as its user, with the user's role and fund."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(12))  # the token's first characters
    created_by: Mapped[str] = mapped_column(String(40))
    # The user who made it, proven (signed in, or by their password on the console). Only a
    # token its own user made opens anything; the column is empty for tokens that the first
    # API release let an administrator or the console make for someone else.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    expires_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    revoked_by: Mapped[str | None] = mapped_column(String(40))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)

    user: Mapped[User] = relationship(lazy="joined", foreign_keys=[user_id])

    @property
    def made_by_owner(self) -> bool:
        return self.created_by_id is not None and self.created_by_id == self.user_id


class UserSession(Base):
    """One signed-in session: the browser's cookie carries a random key, and only its
    SHA-256 is kept. An ended session never opens again (``people.sessions``)."""

    __tablename__ = "user_sessions"
    __table_args__ = (
        CheckConstraint("end_reason IN (" + ", ".join(f"'{r}'" for r in END_REASONS) + ")",
                        name="end_reason"),
        CheckConstraint("(ended_at IS NULL AND end_reason IS NULL) OR "
                        "(ended_at IS NOT NULL AND end_reason IS NOT NULL)", name="ended"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    ended_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    end_reason: Mapped[str | None] = mapped_column(String(20))

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class IdempotentRequest(Base):
    """The first answer to a user's API request that moves money, under the client's
    ``Idempotency-Key``: a retry gets this answer back instead of posting again. Kept with
    the user who asked, like their tokens."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("user_id", "key", name="user_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    body_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)  # None until the answer is made
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)
