"""Withdrawing published items from public view: finance and the charity office, one
proposing and the other confirming. The rules live in ``reports.withdrawals``."""
