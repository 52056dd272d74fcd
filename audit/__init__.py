"""Append-only, hash-chained log of every action. Knows no domain types."""

from audit.chain import ChainHead, ChainReport, chain_label, head, heads, record, verify_chain
from audit.models import AuditHead, AuditRecord

__all__ = ["AuditHead", "AuditRecord", "ChainHead", "ChainReport", "chain_label", "head", "heads",
           "record", "verify_chain"]
