"""Appending to and verifying the audit chain.

Each record's hash covers its own content and the previous record's hash, so an
edited, removed or inserted row breaks every link after it. ``verify_chain``
names the first broken one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from audit.models import AuditHead, AuditRecord, PublicVersion
from core import clock
from core.actors import Actor
from core.hashing import GENESIS, canonical_json, chain_hash
from core.i18n import gettext

_HEAD = AuditHead.__table__
# Built once: this runs on every posting (see journal._SQL for why).
_READ_HEAD = select(_HEAD.c.last_id, _HEAD.c.last_hash).where(_HEAD.c.id == 1).with_for_update()
_INSERT_RECORD = insert(AuditRecord.__table__)
_INSERT_HEAD = insert(_HEAD)
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(
    last_id=bindparam("b_last_id"), last_hash=bindparam("b_last_hash"))

# Actions the public site never shows: they leave every public page as it was.
PRIVATE_ACTIONS = ("user.", "api-token.", "keys.", "beneficiary.")
_VERSIONS = PublicVersion.__table__


def _count_change(dialect: str) -> Executable:
    insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert_for(_VERSIONS).values(version=1)
    return stmt.on_conflict_do_update(
        index_elements=[_VERSIONS.c.fund],
        set_={"version": _VERSIONS.c.version + 1, "changed_at": stmt.excluded.changed_at})


_COUNT_CHANGE = {name: _count_change(name) for name in ("postgresql", "sqlite")}


class _Default(enum.Enum):
    ACTORS_FUND = enum.auto()


ACTORS_FUND = _Default.ACTORS_FUND


def head(session: Session, *, lock: bool = False) -> tuple[int, str]:
    """The chain's tip: the last record's number and hash ((0, GENESIS) when empty).

    With ``lock`` the tip stays locked until the transaction ends, so the next
    ``record`` in it chains directly after the head returned here.
    """
    stmt = _READ_HEAD if lock else select(_HEAD.c.last_id, _HEAD.c.last_hash).where(
        _HEAD.c.id == 1)
    row = session.connection().execute(stmt).first()
    return (row[0], row[1]) if row is not None else (0, GENESIS)


def record(
    session: Session,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: object,
    *,
    before: object = None,
    after: object = None,
    reason: str | None = None,
    fund: str | Literal[_Default.ACTORS_FUND] | None = ACTORS_FUND,
) -> tuple[int, str]:
    """Append one record in the caller's transaction; it commits or rolls back with it.

    ``fund`` is the code of the fund the action belongs to: who may read the record.
    By default the actor's own; a caller acting on another fund's things (a posting, a
    project, a county's user managed from the city, a new fund) or whose actor has no
    fund (the console, system jobs) names it, or passes None for an action of no fund.

    Returns the record's number and hash. Plain Core statements: this runs once
    per posting, and the ORM's unit of work would cost more than the posting.
    """
    owner = actor.fund if fund is ACTORS_FUND else fund
    conn = session.connection()
    head = conn.execute(_READ_HEAD).first()
    last_id, last_hash = head if head is not None else (0, GENESIS)
    record_id: int = last_id + 1
    row = {
        "id": record_id,
        "at": clock.now().isoformat(timespec="microseconds"),
        "actor": actor.name,
        "role": actor.role,
        "action": action,
        "subject_type": subject_type,
        "subject_id": str(subject_id),
        "before": None if before is None else canonical_json(before),
        "after": None if after is None else canonical_json(after),
        "reason": reason,
    }
    if owner is not None:  # see AuditRecord.payload: a record of no fund hashes as before
        row["fund"] = owner
    digest = chain_hash(last_hash, row)
    conn.execute(_INSERT_RECORD, {"fund": None, **row, "prev_hash": last_hash, "hash": digest})
    if head is None:
        conn.execute(_INSERT_HEAD, {"id": 1, "last_id": record_id, "last_hash": digest})
    else:
        conn.execute(_MOVE_HEAD, {"b_last_id": record_id, "b_last_hash": digest})
    if not action.startswith(PRIVATE_ACTIONS):
        conn.execute(_COUNT_CHANGE[conn.dialect.name],
                     {"fund": owner or "", "changed_at": row["at"]})
    return record_id, digest


@dataclass(frozen=True)
class ChainReport:
    checked: int
    head_hash: str
    broken_at: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None and self.problem is None


def verify_chain(session: Session) -> ChainReport:
    """Recompute every link in order; stop at the first that does not hold."""
    expected_id, previous = 1, GENESIS
    checked = 0
    rows = session.execute(select(AuditRecord).order_by(AuditRecord.id)).yield_per(2000)
    for entry in rows.scalars():
        if entry.id != expected_id:
            return ChainReport(
                checked, previous, expected_id,
                gettext(
                    "audit record #{missing} is missing (the next present is #{present})",
                    missing=expected_id, present=entry.id,
                ),
            )
        if entry.prev_hash != previous:
            return ChainReport(
                checked, previous, entry.id,
                gettext(
                    "audit record #{id} does not link to the hash of record #{previous}",
                    id=entry.id, previous=entry.id - 1,
                ),
            )
        if chain_hash(entry.prev_hash, entry.payload()) != entry.hash:
            return ChainReport(
                checked, previous, entry.id,
                gettext(
                    "audit record #{id} ({action} {subject}) was altered: "
                    "its content no longer matches its hash",
                    id=entry.id, action=entry.action,
                    subject=f"{entry.subject_type} {entry.subject_id}",
                ),
            )
        previous, expected_id, checked = entry.hash, expected_id + 1, checked + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_id, head.last_hash) != (checked, previous):
        return ChainReport(
            checked, previous, head.last_id,
            gettext(
                "the chain head names audit record #{head} but the log ends at #{last}",
                head=head.last_id, last=checked,
            ),
        )
    return ChainReport(checked, previous)
