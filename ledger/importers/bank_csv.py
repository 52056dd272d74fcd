"""A beangulp importer for the dedicated account's CSV statements.

It reads the files ``ledger.bank.parse_statement`` reads (UTF-8 or GBK, Chinese or
English headers) and yields one flagged transaction per line, with the bank's
amount on the configured account and the other leg left for the user::

    import beangulp
    from ledger.importers import BankStatementImporter

    importers = [BankStatementImporter("Assets:Fund:General")]
    if __name__ == "__main__":
        beangulp.Ingest(importers)()
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import beangulp
from beancount.core import data, flags
from beancount.core.amount import Amount

from ledger.bank import StatementLine, looks_like_statement, parse_statement

CURRENCY = "CNY"
# Enough of a file to read its header.
_SNIFF_BYTES = 64 * 1024


class BankStatementImporter(beangulp.Importer):  # type: ignore[misc]  # beangulp has no types
    """Statement lines of the dedicated account as incomplete transactions (flag ``!``)."""

    def __init__(self, account: str = "Assets:Fund:General", currency: str = CURRENCY,
                 flag: str = flags.FLAG_WARNING) -> None:
        self._account = account
        self.currency = currency
        self.flag = flag

    def identify(self, filepath: str) -> bool:
        path = Path(filepath)
        if path.suffix.lower() not in (".csv", ".txt") or not path.is_file():
            return False
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
        # A cut in the middle of a character or line must not spoil the header.
        head = head[: head.rfind(b"\n") + 1] or head
        return looks_like_statement(head)

    def account(self, filepath: str) -> data.Account:
        return self._account

    def _lines(self, filepath: str) -> list[StatementLine]:
        path = Path(filepath)
        return parse_statement(path.read_bytes(), path.name)

    def date(self, filepath: str) -> dt.date | None:
        """The statement's last day, which names the archived file."""
        return max(line.date for line in self._lines(filepath))

    def filename(self, filepath: str) -> str | None:
        return "bank-statement" + Path(filepath).suffix.lower()

    def extract(self, filepath: str, existing: data.Entries) -> data.Entries:
        entries: data.Entries = []
        for line in self._lines(filepath):
            meta = data.new_metadata(filepath, line.line_no, {"bank-ref": line.reference})
            posting = data.Posting(self._account, Amount(line.amount, self.currency),
                                   None, None, None, None)
            entries.append(data.Transaction(
                meta, line.date, self.flag, line.counterparty, line.description or "",
                data.EMPTY_SET, data.EMPTY_SET, [posting]))
        return entries

    def deduplicate(self, entries: data.Entries, existing: data.Entries) -> None:
        """A transaction whose bank reference the ledger already has is a duplicate;
        the others go through beangulp's usual comparison."""
        known = {e.meta.get("bank-ref"): e for e in existing
                 if isinstance(e, data.Transaction) and e.meta and e.meta.get("bank-ref")}
        for entry in entries:
            twin = known.get(entry.meta.get("bank-ref"))
            if twin is not None:
                entry.meta[beangulp.extract.DUPLICATE] = twin
        super().deduplicate(entries, existing)
