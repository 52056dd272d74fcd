"""Who does something. Domain operations receive an Actor; they never look up a
web session or an OS user themselves."""

from __future__ import annotations

from dataclasses import dataclass

from core.i18n import N_

ROLES = ("civil_affairs", "charity_office", "finance", "auditor", "admin")
ROLE_LABELS = {
    "civil_affairs": N_("Civil affairs bureau"),
    "charity_office": N_("Charity federation office"),
    "finance": N_("Finance bureau"),
    "auditor": N_("Audit bureau"),
    "admin": N_("System administrator"),
}


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    user_id: int | None = None
    # The jurisdiction the user belongs to (a fund code) and whether it is city level.
    fund: str | None = None
    city_level: bool = False

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"


SYSTEM = Actor("system", "system")
