"""Appending to and verifying the audit chains: one per fund, and "" for actions of no fund.

Each record's hash covers its own content and the previous record's hash in its chain,
so an edited, removed or inserted row breaks every link after it. Appends to one chain
take turns on that chain's head row; appends to different funds never wait on each
other. ``verify_chain`` checks every chain and names the first broken link.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal, NamedTuple

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from audit.models import AuditHead, AuditRecord, PublicVersion
from core import clock
from core.actors import Actor
from core.hashing import GENESIS, canonical_json, chain_hash
from core.i18n import gettext

_HEAD = AuditHead.__table__
_LOG = AuditRecord.__table__
# Built once: this runs on every posting (see journal._SQL for why).
_READ_HEAD = select(_HEAD.c.last_seq, _HEAD.c.last_id, _HEAD.c.last_hash).where(
    _HEAD.c.chain == bindparam("b_chain"))
_LOCK_HEAD = _READ_HEAD.with_for_update()
_READ_HEADS = select(_HEAD.c.chain, _HEAD.c.last_seq, _HEAD.c.last_id,
                     _HEAD.c.last_hash).order_by(_HEAD.c.chain)
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.chain == bindparam("b_chain")).values(
    last_seq=bindparam("b_last_seq"), last_id=bindparam("b_last_id"),
    last_hash=bindparam("b_last_hash"))


def _start_chain(dialect: str) -> Executable:
    """The head of an empty chain, unless another transaction made it first: two first
    records of a new chain then take turns on the one row like any others."""
    insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert_for(_HEAD).values(last_seq=0, last_id=0, last_hash=GENESIS) \
        .on_conflict_do_nothing(index_elements=[_HEAD.c.chain])


def _insert_record(dialect: str) -> Executable:
    """The record, given a global id no lock waits for: a sequence on PostgreSQL; on
    SQLite, which has one writer at a time, the next after the largest."""
    next_id = (func.nextval("audit_log_id_seq") if dialect == "postgresql"
               else select(func.coalesce(func.max(_LOG.c.id), 0) + 1).scalar_subquery())
    return insert(_LOG).values(id=next_id).returning(_LOG.c.id)


_START_CHAIN = {name: _start_chain(name) for name in ("postgresql", "sqlite")}
_INSERT_RECORD = {name: _insert_record(name) for name in ("postgresql", "sqlite")}

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


class ChainHead(NamedTuple):
    """The tip of one chain: its last record's position and hash, and that record's
    global id ((0, 0, GENESIS) while the chain is empty)."""

    chain: str  # a fund's code, or "" for actions of no fund
    seq: int  # the position of the last record: the chain's length
    id: int
    hash: str

    @property
    def label(self) -> str:
        return chain_label(self.chain)


def chain_label(chain: str) -> str:
    """How a chain is named to people: its fund's code, or "(no fund)"."""
    return chain or gettext("(no fund)")


def _empty(chain: str) -> ChainHead:
    return ChainHead(chain, 0, 0, GENESIS)


def _lock_head(conn: Connection, chain: str) -> ChainHead:
    row = conn.execute(_LOCK_HEAD, {"b_chain": chain}).first()
    if row is None:
        conn.execute(_START_CHAIN[conn.dialect.name], {"chain": chain})
        row = conn.execute(_LOCK_HEAD, {"b_chain": chain}).one()
    return ChainHead(chain, int(row[0]), int(row[1]), row[2])


def head(session: Session, chain: str = "", *, lock: bool = False) -> ChainHead:
    """The tip of a chain: a fund's (by its code), or "" for actions of no fund.

    With ``lock`` the tip stays locked until the transaction ends, so the next
    ``record`` in this chain in the transaction chains directly after the head
    returned here (an empty chain's head row is made for that, at position 0).
    """
    conn = session.connection()
    if lock:
        return _lock_head(conn, chain)
    row = conn.execute(_READ_HEAD, {"b_chain": chain}).first()
    return ChainHead(chain, int(row[0]), int(row[1]), row[2]) if row else _empty(chain)


def heads(session: Session) -> list[ChainHead]:
    """The tip of every chain, ordered by chain ("" first)."""
    return [ChainHead(row[0], int(row[1]), int(row[2]), row[3])
            for row in session.connection().execute(_READ_HEADS)]


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

    The record goes to the chain of that fund ("" for none) and waits only for other
    transactions appending to the same chain. Returns the record's global id and its
    hash. Plain Core statements: this runs once
    per posting, and the ORM's unit of work would cost more than the posting.
    """
    owner = actor.fund if fund is ACTORS_FUND else fund
    chain = owner or ""
    conn = session.connection()
    tip = _lock_head(conn, chain)
    seq = tip.seq + 1
    row = {
        "id": seq,  # the hash covers the position in the chain (see AuditRecord.payload)
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
    digest = chain_hash(tip.hash, row)
    del row["id"]
    record_id: int = conn.execute(_INSERT_RECORD[conn.dialect.name], {
        "fund": None, **row, "chain": chain, "seq": seq, "prev_hash": tip.hash,
        "hash": digest}).scalar_one()
    conn.execute(_MOVE_HEAD, {"b_chain": chain, "b_last_seq": seq, "b_last_id": record_id,
                              "b_last_hash": digest})
    if not action.startswith(PRIVATE_ACTIONS):
        conn.execute(_COUNT_CHANGE[conn.dialect.name],
                     {"fund": chain, "changed_at": row["at"]})
    return record_id, digest


@dataclass(frozen=True)
class ChainReport:
    """What ``verify_chain`` found: the chains it checked, each up to its last good
    record, and the first problem, in which chain and at which position."""

    checked: int  # records whose links held, over every chain
    heads: tuple[ChainHead, ...] = ()  # ordered by chain; a broken one up to its break
    broken_chain: str | None = None
    broken_at: int | None = None  # the position in broken_chain
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def head(self, chain: str = "") -> ChainHead:
        return next((h for h in self.heads if h.chain == chain), _empty(chain))


class _Broken(Exception):
    def __init__(self, chain: str, position: int, problem: str) -> None:
        super().__init__(problem)
        self.chain, self.position, self.problem = chain, position, problem


def _check(entry: AuditRecord, chain: str, expected: int, previous: ChainHead) -> None:
    label = chain_label(chain)
    position = entry.position
    if position != expected:
        raise _Broken(chain, expected, gettext(
            "audit record {chain} #{missing} is missing (the next present is #{present})",
            chain=label, missing=expected, present=position))
    if entry.prev_hash != previous.hash:
        raise _Broken(chain, position, gettext(
            "audit record {chain} #{position} does not link to the hash of record "
            "{chain} #{previous}", chain=label, position=position, previous=position - 1))
    if chain_hash(entry.prev_hash, entry.payload()) != entry.hash:
        raise _Broken(chain, position, gettext(
            "audit record {chain} #{position} ({action} {subject}) was altered: "
            "its content no longer matches its hash",
            chain=label, position=position, action=entry.action,
            subject=f"{entry.subject_type} {entry.subject_id}"))
    if entry.chain is not None and (entry.fund or "") != entry.chain:
        raise _Broken(chain, position, gettext(
            "audit record {chain} #{position} belongs to fund {fund}, not to this chain",
            chain=label, position=position, fund=chain_label(entry.fund or "")))


def _check_head(stored: ChainHead | None, last: ChainHead) -> None:
    if stored is None:
        raise _Broken(last.chain, last.seq, gettext(
            "the audit chain {chain} has records up to #{last} but no head",
            chain=last.label, last=last.seq))
    if (stored.seq, stored.id, stored.hash) != (last.seq, last.id, last.hash):
        raise _Broken(last.chain, stored.seq, gettext(
            "the head of audit chain {chain} names record #{head} but the chain ends at "
            "#{last}", chain=last.label, head=stored.seq, last=last.seq))


def verify_chain(session: Session) -> ChainReport:
    """Recompute every link of every chain in order; stop at the first that does not
    hold. Each chain runs from position 1 without gaps and ends at its head."""
    stored = {h.chain: h for h in heads(session)}
    done: list[ChainHead] = []
    checked = 0
    current: ChainHead | None = None
    key = func.coalesce(AuditRecord.chain, "")
    rows = session.execute(select(AuditRecord).order_by(
        key, func.coalesce(AuditRecord.seq, AuditRecord.id))).yield_per(2000)
    try:
        for entry in rows.scalars():
            chain = entry.chain_key
            if current is None or chain != current.chain:
                if current is not None:
                    _check_head(stored.pop(current.chain, None), current)
                    done.append(current)
                current = _empty(chain)
            _check(entry, chain, current.seq + 1, current)
            current = ChainHead(chain, current.seq + 1, entry.id, entry.hash)
            checked += 1
        if current is not None:
            _check_head(stored.pop(current.chain, None), current)
            done.append(current)
            current = None
        for orphan in stored.values():  # a head whose chain has no records
            if (orphan.seq, orphan.hash) != (0, GENESIS):
                raise _Broken(orphan.chain, orphan.seq, gettext(
                    "the head of audit chain {chain} names record #{head} but the chain "
                    "has no records", chain=orphan.label, head=orphan.seq))
    except _Broken as broken:
        if current is not None:
            done.append(current)
        return ChainReport(checked, tuple(done), broken.chain, broken.position,
                           broken.problem)
    return ChainReport(checked, tuple(done))
