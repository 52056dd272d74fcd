"""Read-only statements, registers and disclosure data (DESIGN §5)."""
