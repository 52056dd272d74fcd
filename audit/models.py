from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class AuditRecord(Base):
    """One action. Rows are only ever inserted (database triggers refuse the rest)."""

    __tablename__ = "audit_log"
    __table_args__ = (CheckConstraint("id > 0", name="positive_id"),)

    # Assigned by record() as head + 1 under a lock, so the chain has no gaps.
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
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    def payload(self) -> dict[str, object]:
        """What the hash covers. The fund only when there is one, so that a record of no
        fund -- and every record written before funds were recorded -- hashes exactly as
        records did before, and a fund added to it later breaks its link."""
        payload: dict[str, object] = {
            "id": self.id,
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
    """The chain's tip: one row, locked while appending so appends serialise."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(BigInteger)
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
