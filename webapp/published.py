"""Where the app keeps what it published: each annual report's PDF editions, in the
instance folder, exactly as published (the annual pages write them, the public site and
the withdrawals read them)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from reports import annual
from reports.models import AnnualReport


def published_folder() -> Path:
    return Path(current_app.instance_path) / "published"


def published_path(report: AnnualReport) -> Path:
    """The edition the public reads (``reports.annual.edition_path``)."""
    return annual.edition_path(published_folder(), report)
