"""Configuration from the environment, with an embedded SQLite default."""

from __future__ import annotations

import os
from pathlib import Path


def from_environment(instance_path: str) -> dict[str, object]:
    default_db = Path(instance_path) / "specialfund.db"
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{default_db}",
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
    }
