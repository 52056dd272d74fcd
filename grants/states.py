"""The project state machine, in one place.

Each step names the states it starts from, who may take it from each of them, the
state it leads to, whether the actor must give a reason or declare they have no
conflict of interest, and the ledger event it posts. ``grants.operations``
carries the steps out; pages and the API read this table to offer them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from core.i18n import N_


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CHECKED = "checked"
    RETURNED = "returned"
    REJECTED = "rejected"
    APPROVED = "approved"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    COMPLETED = "completed"
    CLOSED = "closed"
    CANCELLED = "cancelled"


STATE_LABELS = {
    State.DRAFT: N_("Draft"),
    State.SUBMITTED: N_("Submitted"),
    State.CHECKED: N_("Checked by the charity office"),
    State.RETURNED: N_("Returned for revision"),
    State.REJECTED: N_("Rejected"),
    State.APPROVED: N_("Approved"),
    State.PARTIALLY_PAID: N_("Partially paid"),
    State.PAID: N_("Paid"),
    State.COMPLETED: N_("Completed"),
    State.CLOSED: N_("Closed"),
    State.CANCELLED: N_("Cancelled"),
}

# What the public sees: no internal review states.
PUBLIC_LABELS = {
    State.APPROVED: N_("Approved"),
    State.PARTIALLY_PAID: N_("Under way"),
    State.PAID: N_("Under way"),
    State.COMPLETED: N_("Completed"),
    State.CLOSED: N_("Completed"),
    State.CANCELLED: N_("Terminated"),
}

EDITABLE = frozenset({State.DRAFT, State.RETURNED})
UNDER_WAY = frozenset({State.APPROVED, State.PARTIALLY_PAID, State.PAID})


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    # source state -> the role that may take the step from it
    roles: dict[State, str]
    target: State | None  # None: the state stays, or the operation decides
    reason: bool = False  # a reason must be given
    declare: bool = False  # a conflict-of-interest declaration is required
    posts: str | None = None  # the ledger event it posts
    sources: frozenset[State] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", frozenset(self.roles))


def _all(states: frozenset[State] | set[State], role: str) -> dict[State, str]:
    return dict.fromkeys(states, role)


STEPS: dict[str, Step] = {step.name: step for step in (
    Step("submit", N_("Submit"), _all(EDITABLE, "civil_affairs"), State.SUBMITTED),
    Step("return", N_("Return for revision"),
         {State.SUBMITTED: "charity_office", State.CHECKED: "finance"}, State.RETURNED,
         reason=True),
    Step("reject", N_("Reject"),
         {State.SUBMITTED: "charity_office", State.CHECKED: "finance"}, State.REJECTED,
         reason=True),
    Step("check", N_("Check against the fund's rules"), {State.SUBMITTED: "charity_office"},
         State.CHECKED, declare=True),
    Step("approve", N_("Approve"), {State.CHECKED: "finance"}, State.APPROVED, declare=True,
         posts="commitment"),
    Step("request_tranche", N_("Request a tranche"), _all(UNDER_WAY - {State.PAID},
                                                          "civil_affairs"), None),
    Step("approve_tranche", N_("Approve the disbursement"),
         _all(UNDER_WAY - {State.PAID}, "finance"), None, declare=True),
    Step("pay_tranche", N_("Pay the tranche"), _all(UNDER_WAY - {State.PAID}, "charity_office"),
         None, posts="disbursement"),
    Step("file_report", N_("File a report"), _all(UNDER_WAY, "civil_affairs"), None),
    Step("accept_report", N_("Accept the report"), _all(UNDER_WAY, "finance"), None),
    Step("return_report", N_("Return the report"), _all(UNDER_WAY, "finance"), None,
         reason=True),
    Step("return_unspent", N_("Record the unspent money returned"),
         {State.COMPLETED: "charity_office"}, None, posts="unspent-return"),
    Step("close", N_("Close the project"), {State.COMPLETED: "finance"}, State.CLOSED,
         posts="release"),
    Step("cancel", N_("Cancel the project"), _all(UNDER_WAY - {State.PAID}, "finance"),
         State.CANCELLED, reason=True, posts="release"),
)}

REPORT_LABELS = {"progress": N_("Progress report"), "final": N_("Final report")}
REPORT_STATE_LABELS = {"due": N_("Due"), "filed": N_("Filed"), "accepted": N_("Accepted")}
TRANCHE_STATE_LABELS = {
    "planned": N_("Planned"),
    "requested": N_("Requested"),
    "approved": N_("Approved for payment"),
    "paid": N_("Paid"),
}

# Timeline entries: every step, plus what is not a step of its own.
ACTION_LABELS = {
    **{name: step.label for name, step in STEPS.items()},
    "create": N_("Drafted"),
    "edit": N_("Edited"),
    "approve_first": N_("First of two approvals"),
}
