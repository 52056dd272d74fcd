"""Canonical JSON and SHA-256, the basis of the journal's and the audit log's chains."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal

GENESIS = "0" * 64


def _default(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot hash {type(value).__name__}")


def canonical_json(value: object) -> str:
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default
    )


def chain_hash(previous: str, payload: object) -> str:
    digest = hashlib.sha256()
    digest.update(previous.encode("ascii"))
    digest.update(canonical_json(payload).encode("utf-8"))
    return digest.hexdigest()
