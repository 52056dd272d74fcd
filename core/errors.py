"""Typed domain errors. Each carries an English message id translated on display,
so the CLI and the web app show it in the user's language."""

from __future__ import annotations

from core.i18n import gettext


class DomainError(Exception):
    """A refusal the user can act on. Nothing was changed."""

    code = "domain-error"
    http_status = 400

    def __init__(self, message: str, /, **params: object) -> None:
        super().__init__(message)
        self.message_id = message
        self.params = params

    @property
    def message(self) -> str:
        return gettext(self.message_id, **self.params)

    def __str__(self) -> str:
        return self.message


class InvalidInput(DomainError):
    code = "invalid-input"
    http_status = 400


class NotFound(DomainError):
    code = "not-found"
    http_status = 404


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


class PermissionDenied(DomainError):
    code = "permission-denied"
    http_status = 403


class RuleViolation(DomainError):
    """A ledger invariant of DESIGN §2 would break; ``rule`` names which one."""

    code = "rule-violation"
    http_status = 422

    def __init__(self, rule: str, message: str, /, **params: object) -> None:
        super().__init__(message, **params)
        self.rule = rule


class PeriodLocked(RuleViolation):
    def __init__(self, message: str, /, **params: object) -> None:
        super().__init__("period-locked", message, **params)
