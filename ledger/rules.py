"""The fund's invariants (DESIGN §2) as pure functions over account changes.

The SQL journal checks every new entry with these before it is written, and the
Beancount plugin checks an exported (or hand-edited) file with the same
functions, so the two referees can never disagree about what is allowed.

Balance rules hold at the end of every day: no ``Assets:Fund:*`` account below
zero, no purpose's available money (fund account plus unpaid commitments) below
zero, and no purpose paying or releasing more than it committed. Grant rules hold
after every entry: a grant never pays or releases more than its outstanding
commitment and never has more returned than it was paid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from core.errors import RuleViolation
from core.i18n import N_, gettext
from core.money import ZERO, format_cny
from ledger.chart import (
    DONATION_PREFIX,
    FUND_PREFIX,
    PAYABLE_PREFIX,
    fund_account,
    is_grant_account,
    payable_account,
    purpose_of,
)

# purpose_of is the chart's, and part of the rules' vocabulary (the journal asks it).
__all__ = [
    "DONATION_META", "ENTRY_TYPES", "GRANT_LINK_PREFIX", "REVERSAL_LINK_PREFIX", "GrantPosition",
    "Quantity", "Violation", "entry_violations", "grant_links", "lowest_from", "project_ref",
    "purpose_of", "quantities", "quantity_violation",
]

ENTRY_TYPES = (
    "seed", "top-up", "donation", "allocation", "commitment", "disbursement",
    "release", "unspent-return", "interest", "bank-fee", "reversal",
)
GRANT_LINK_PREFIX = "grant-"
REVERSAL_LINK_PREFIX = "rev-"
DONATION_META = {"donor": N_("donor"), "receipt": N_("receipt number")}


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str
    params: dict[str, object] = field(default_factory=dict)

    def text(self) -> str:
        return gettext(self.message, **self.params)

    def error(self) -> RuleViolation:
        return RuleViolation(self.rule, self.message, **self.params)


def project_ref(link: str) -> str:
    """The project reference a user typed, from its ledger link."""
    return link.removeprefix(GRANT_LINK_PREFIX)


def grant_links(links: Iterable[str]) -> list[str]:
    return [link for link in links if link.startswith(GRANT_LINK_PREFIX)]


def entry_violations(
    entry_type: str | None,
    deltas: Mapping[str, Decimal],
    links: Iterable[str],
    meta: Mapping[str, object],
) -> list[Violation]:
    """Rules that a single entry must satisfy on its own."""
    found: list[Violation] = []
    if entry_type not in ENTRY_TYPES:
        found.append(Violation("entry-type", "Entry type “{type}” is not one of the fund's events.",
                               {"type": entry_type}))
    total = sum(deltas.values(), ZERO)
    if total != 0:
        found.append(Violation("balanced", "The entry does not balance: it is off by {amount}.",
                               {"amount": format_cny(total)}))
    purposes = sorted({p for a in deltas if (p := purpose_of(a)) is not None})
    if len(purposes) > 1:
        found.append(Violation(
            "single-purpose",
            "Restricted money cannot move between purposes ({purposes}) in one entry.",
            {"purposes": ", ".join(purposes)},
        ))
    if any(is_grant_account(a) for a in deltas) and len(grant_links(links)) != 1:
        found.append(Violation("grant-link",
                               "A grant posting must link exactly one project (^grant-…)."))
    if any(a.startswith(DONATION_PREFIX) for a in deltas):
        missing = [key for key in DONATION_META if not str(meta.get(key) or "").strip()]
        if missing:
            named = "、".join(gettext(DONATION_META[key]) for key in missing)
            found.append(Violation("donation-meta",
                                   "A donation must carry its donor and receipt number "
                                   "(missing: {missing}).", {"missing": named}))
    if entry_type == "reversal" and not str(meta.get("reverses") or "").strip():
        found.append(Violation("reversal-link", "A reversal must name the entry it reverses."))
    return found


class Quantity(NamedTuple):
    """Something that must never be negative at the end of a day."""

    kind: str  # "fund" | "available" | "outstanding"
    key: str  # account name for "fund", purpose key otherwise

    def accounts(self) -> tuple[str, ...]:
        if self.kind == "fund":
            return (self.key,)
        if self.kind == "available":
            return (fund_account(self.key), payable_account(self.key))
        return (payable_account(self.key),)

    def value(self, balance: Callable[[str], Decimal]) -> Decimal:
        if self.kind == "fund":
            return balance(self.key)
        if self.kind == "available":
            return balance(fund_account(self.key)) + balance(payable_account(self.key))
        # Grants payable is a credit balance; what is still owed is its negation.
        return -balance(payable_account(self.key))

    def change(self, deltas: Mapping[str, Decimal]) -> Decimal:
        value = self.value(lambda account: deltas.get(account, ZERO))
        return value


def quantities(accounts: Iterable[str]) -> set[Quantity]:
    """The constrained quantities that postings to these accounts can move."""
    found: set[Quantity] = set()
    for account in accounts:
        purpose = purpose_of(account)
        if account.startswith(FUND_PREFIX):
            found.add(Quantity("fund", account))
        if purpose and account.startswith((FUND_PREFIX, PAYABLE_PREFIX)):
            found.add(Quantity("available", purpose))
        if purpose and account.startswith(PAYABLE_PREFIX):
            found.add(Quantity("outstanding", purpose))
    return found


def quantity_violation(
    quantity: Quantity,
    lowest: Decimal,
    change: Decimal,
    day: dt.date,
    label: Callable[[str], object],
) -> Violation | None:
    """``lowest`` is the smallest end-of-day value the quantity has from ``day`` on,
    before ``change``; the entry is refused if that would go below zero."""
    if lowest + change >= 0:
        return None
    requested = format_cny(-change)
    if quantity.kind == "fund":
        return Violation("fund-nonnegative",
                         "{account} would go below zero: from {date} on its lowest balance "
                         "is {balance}, and {requested} would be paid out.",
                         {"account": label(quantity.key), "date": day.isoformat(),
                          "balance": format_cny(lowest), "requested": requested})
    if quantity.kind == "available":
        return Violation("available-nonnegative",
                         "{purpose} available {available}, requested {requested}.",
                         {"purpose": label(quantity.key), "available": format_cny(lowest),
                          "requested": requested})
    return Violation("outstanding-nonnegative",
                     "{purpose} has {outstanding} of unpaid commitments; "
                     "{requested} cannot be paid or released against them.",
                     {"purpose": label(quantity.key), "outstanding": format_cny(lowest),
                      "requested": requested})


def lowest_from(current: Decimal, later_changes: Iterable[tuple[dt.date, Decimal]]) -> Decimal:
    """The lowest end-of-day value from a day on, given today's value and the
    per-day changes after that day (newest first)."""
    lowest = value = current
    for _day, change in later_changes:
        value -= change
        lowest = min(lowest, value)
    return lowest


@dataclass
class GrantPosition:
    """Where one grant stands: what is committed but unpaid, and what was paid net."""

    outstanding: Decimal = ZERO
    paid: Decimal = ZERO

    @staticmethod
    def changes(deltas: Mapping[str, Decimal]) -> tuple[Decimal, Decimal]:
        outstanding = -sum((v for a, v in deltas.items() if a.startswith(PAYABLE_PREFIX)), ZERO)
        paid = -sum((v for a, v in deltas.items() if a.startswith(FUND_PREFIX)), ZERO)
        return outstanding, paid

    def violation(self, grant: str, deltas: Mapping[str, Decimal]) -> Violation | None:
        d_outstanding, d_paid = self.changes(deltas)
        grant = project_ref(grant)
        if self.outstanding + d_outstanding < 0:
            return Violation("grant-outstanding",
                             "Grant {grant} has {outstanding} committed and unpaid; "
                             "{requested} cannot be paid or released.",
                             {"grant": grant, "outstanding": format_cny(self.outstanding),
                              "requested": format_cny(-d_outstanding)})
        if self.paid + d_paid < 0:
            return Violation("grant-returned",
                             "Grant {grant} was paid {paid}; {requested} cannot be returned.",
                             {"grant": grant, "paid": format_cny(self.paid),
                              "requested": format_cny(-d_paid)})
        return None

    def apply(self, deltas: Mapping[str, Decimal]) -> None:
        d_outstanding, d_paid = self.changes(deltas)
        self.outstanding += d_outstanding
        self.paid += d_paid
