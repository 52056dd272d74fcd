"""Project applications and their workflow (DESIGN §3). Built on ``ledger``."""
