from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class AuditRecord(Base):
    """One action. Rows are only ever inserted (database triggers refuse the rest)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint("id > 0", name="positive_id"),
        Index("ix_audit_log_chain_seq", "chain", "seq", unique=True),
    )

    # Unique across the log, in no particular order across chains: a sequence on
    # PostgreSQL (with gaps where a transaction rolled back), max + 1 on SQLite.
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))  # ISO 8601 with offset, hashed as stored
    actor: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(80), index=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(120))
    before: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    after: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    # The fund (jurisdiction) the action belongs to, by its code: who may read the record.
    # A code, not a key: the audit log sits below the funds in the order of imports.
    # None for an action of no fund, and for every record written before funds were
    # recorded (revision 0006).
    fund: Mapped[str | None] = mapped_column(String(16), index=True)
    # The chain the record is appended to -- its fund's, or "" for an action of no
    # fund -- and its position there, gap-free, assigned under that chain's head lock.
    # Both None for every record written before chains were per fund (revision 0013):
    # those are the start of chain "" and their position is their id (``position``).
    chain: Mapped[str | None] = mapped_column(String(16))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    @property
    def chain_key(self) -> str:
        return self.chain if self.chain is not None else ""

    @property
    def position(self) -> int:
        """The record's number in its chain: what its hash covers as "id"."""
        return self.seq if self.seq is not None else self.id

    def payload(self) -> dict[str, object]:
        """What the hash covers. The fund only when there is one, so that a record of no
        fund -- and every record written before funds were recorded -- hashes exactly as
        records did before, and a fund added to it later breaks its link. "id" is the
        position in the chain, which for a record written before chains were per fund is
        its id, so those hash as they always did."""
        payload: dict[str, object] = {
            "id": self.position,
            "at": self.at,
            "actor": self.actor,
            "role": self.role,
            "action": self.action,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
        }
        if self.fund is not None:
            payload["fund"] = self.fund
        return payload


class AuditHead(Base):
    """The tip of one chain: a fund's (by its code) or "" for actions of no fund. Locked
    while appending to that chain, so appends to the same chain serialise and appends
    to different chains never wait on each other."""

    __tablename__ = "audit_chain_heads"

    chain: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)  # 0 while the chain is empty
    last_id: Mapped[int] = mapped_column(BigInteger)  # the last record's global id
    last_hash: Mapped[str] = mapped_column(String(64))


class PublicVersion(Base):
    """How often what the public site shows of one fund has changed ("" for actions of
    no fund). ``record`` counts every action except those the public never sees (sign-ins,
    users, tokens, keys, the children's list), so a public page can be kept for as long as
    the counts of the funds it shows stay the same."""

    __tablename__ = "public_versions"

    fund: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[str] = mapped_column(String(40))  # ISO 8601, as the audit record's
