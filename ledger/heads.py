"""Where the books end: each fund's journal head and the head of every audit chain (one a
fund, "" for actions of no fund), as plain data. A backup's manifest records them and a
restore compares the restored books with them; two copies of the books with the same
heads hold the same chained history."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

import audit
from ledger.funds import list_funds


def book_heads(session: Session) -> dict[str, Any]:
    return {
        "funds": {fund.code: {"entry_count": fund.entry_count,
                              "last_entry_hash": fund.last_entry_hash}
                  for fund in list_funds(session)},
        "audit": {head.chain: {"seq": head.seq, "id": head.id, "hash": head.hash}
                  for head in audit.heads(session)},
    }
