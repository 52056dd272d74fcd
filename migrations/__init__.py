"""Alembic migrations. ``specialfund init`` applies them; see ``core.migrate``."""
