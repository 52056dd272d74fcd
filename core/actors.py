"""Who does something. Domain operations receive an Actor; they never look up a
web session or an OS user themselves."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    user_id: int | None = None

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"


SYSTEM = Actor("system", "system")
