"""Importers for a Beancount user's own import flow (beangulp).

The same statement files the application imports can feed a plain Beancount
ledger: ``BankStatementImporter`` extracts one transaction per statement line.
"""

from __future__ import annotations

from ledger.importers.bank_csv import BankStatementImporter

__all__ = ["BankStatementImporter"]
