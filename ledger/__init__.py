"""Money: funds, chart of accounts, the append-only journal and its rules,
balances, period close, and the Beancount adapter (export, verify, plugin)."""
