"""Append-only, hash-chained log of every action. Knows no domain types."""

from audit.chain import ChainReport, head, record, verify_chain
from audit.models import AuditHead, AuditRecord

__all__ = ["AuditHead", "AuditRecord", "ChainReport", "head", "record", "verify_chain"]
