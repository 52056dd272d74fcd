"""Alembic migrations. ``specialfund init`` applies them through ``core.migrate``, given
this package's ``SCRIPT_LOCATION``."""

from pathlib import Path

SCRIPT_LOCATION = str(Path(__file__).parent)
