"""Where an auditor might start looking: flags computed from a fund's records over a
period (DESIGN §4). A flag is a hint, not a finding: the auditor reads the records
it links and decides.

Every message is an English message id with named parameters, translated when it is
shown. No flag ever carries a child's name or ID number: the same child in two
projects is found by equal keyed hashes and reported by project numbers only.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from core.clock import CST
from core.errors import InvalidInput
from core.i18n import N_, gettext
from core.money import format_cny
from core.reading import ascii_digits
from grants.models import Beneficiary, Project, Report, Tranche, Transition
from grants.operations import dual_threshold
from grants.states import State
from ledger.income_models import Receipt
from ledger.models import Fund

# A project that reached approval, whatever became of it afterwards.
APPROVED_OR_LATER = frozenset({State.APPROVED, State.PARTIALLY_PAID, State.PAID,
                               State.COMPLETED, State.CLOSED, State.CANCELLED})
# A project still aiding (or about to aid) its children.
LIVE = frozenset({State.SUBMITTED, State.CHECKED, State.APPROVED, State.PARTIALLY_PAID,
                  State.PAID, State.COMPLETED})

NEAR_THRESHOLD = Decimal("0.10")  # approvals within 10% below the dual-approval threshold
MANY_PROJECTS = 3  # one payee in this many projects of a period
LATE_RECEIPT_DAYS = 30  # a receipt issued more than this many days after the donation

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}

KIND_LABELS = {
    "payment_condition_unmet": N_("Paid before its condition was met"),
    "payment_report_overdue": N_("Paid while a report was overdue"),
    "near_dual_threshold": N_("Approved just under the dual-approval threshold"),
    "payee_concentration": N_("One payee in many projects"),
    "late_receipt": N_("Donation receipted late"),
    "duplicate_beneficiary": N_("The same child in two projects"),
}


# --- periods -------------------------------------------------------------------------

_PERIOD = re.compile(r"^([0-9]{4})(?:-([0-9]{2}))?$")  # [0-9]: no other script's digits


@dataclass(frozen=True)
class Period:
    """A calendar year ("2025") or month ("2025-03"), both ends included."""

    label: str
    start: dt.date
    end: dt.date

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), CST)

    @property
    def end_before(self) -> dt.datetime:
        """The first moment after the period."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), CST)

    def __str__(self) -> str:
        return self.label


def parse_period(value: str | Period) -> Period:
    if isinstance(value, Period):
        return value
    match = _PERIOD.match(ascii_digits(value or "").strip())
    year = int(match.group(1)) if match else 0
    month = int(match.group(2)) if match and match.group(2) else None
    if not match or not 2000 <= year <= 2100 or (month is not None and not 1 <= month <= 12):
        raise InvalidInput("A period is a year such as 2025 or a month such as 2025-03.")
    if month is None:
        return Period(f"{year:04d}", dt.date(year, 1, 1), dt.date(year, 12, 31))
    last = calendar.monthrange(year, month)[1]
    return Period(f"{year:04d}-{month:02d}", dt.date(year, month, 1), dt.date(year, month, last))


# --- which projects a period concerns ------------------------------------------------

def active_projects(session: Session, fund: Fund, period: str | Period) -> list[Project]:
    """The fund's projects active in the period, sorted by number: approved by the
    period's end (in an approved or later state now) and with a step or a payment
    inside the period."""
    when = parse_period(period)
    approved_by_end = select(Transition.project_id).where(
        Transition.action == "approve", Transition.at < when.end_before)
    stepped = select(Transition.project_id).where(
        Transition.at >= when.start_at, Transition.at < when.end_before)
    paid = select(Tranche.project_id).where(
        Tranche.state == "paid", Tranche.paid_on >= when.start, Tranche.paid_on <= when.end)
    return list(session.execute(
        select(Project).where(
            Project.fund_id == fund.id,
            Project.state.in_([s.value for s in APPROVED_OR_LATER]),
            Project.id.in_(approved_by_end),
            or_(Project.id.in_(stepped), Project.id.in_(paid)))
        .order_by(Project.ref)).unique().scalars())


# --- flags ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Flag:
    kind: str  # a key of KIND_LABELS
    severity: str  # a hint for the finding: "low", "medium" or "high"
    message: str  # English message id, formatted with params when shown
    params: dict[str, object] = field(default_factory=dict)
    links: tuple[str, ...] = ()  # "project:YJQ-2026-003", "receipt:YJQ-2026-000005"

    @property
    def text(self) -> str:
        return gettext(self.message, **self.params)

    @property
    def label(self) -> str:
        return gettext(KIND_LABELS[self.kind])


def flags(session: Session, fund: Fund, period: str | Period, *,
          readable: Collection[int] | None = None) -> list[Flag]:
    """Every flag of the fund over the period, most serious first.

    Reading only; whoever calls this decides who may see it (an auditor of the fund),
    and passes the ids of the funds that reader may read (``readable``): a flag names
    another fund's project only when it is among them.
    """
    when = parse_period(period)
    found = [
        *_payments(session, fund, when),
        *_near_threshold(session, fund, when),
        *_payee_concentration(session, fund, when),
        *_late_receipts(session, fund, when),
        *_duplicate_children(session, fund, when, readable),
    ]
    return sorted(found, key=lambda f: (SEVERITY_ORDER[f.severity], f.kind, f.links))


def _payments(session: Session, fund: Fund, when: Period) -> list[Flag]:
    """Tranches paid in the period whose condition was unmet, or while a report of the
    project was overdue on the day of payment."""
    rows = session.execute(
        select(Tranche, Project).join(Project, Project.id == Tranche.project_id)
        .where(Project.fund_id == fund.id, Tranche.state == "paid",
               Tranche.paid_on >= when.start, Tranche.paid_on <= when.end)
        .order_by(Project.ref, Tranche.seq)).unique().all()
    found = []
    for tranche, project in rows:
        paid_on = tranche.paid_on
        assert paid_on is not None  # a paid tranche carries its date
        link = (f"project:{project.ref}",)
        common = {"seq": tranche.seq, "ref": project.ref, "day": paid_on.isoformat()}
        if tranche.condition == "progress_report":
            if not any(r.kind == "progress" and r.state == "accepted" for r in project.reports):
                found.append(Flag(
                    "payment_condition_unmet", "high",
                    N_("Tranche {seq} of {ref} was paid on {day}; it waits for an accepted "
                       "progress report, and the project has none."), common, link))
            else:
                accepted = _progress_accepted_on(project)
                if accepted is not None and accepted > paid_on:
                    found.append(Flag(
                        "payment_condition_unmet", "high",
                        N_("Tranche {seq} of {ref} was paid on {day}, before its progress "
                           "report was accepted on {accepted}."),
                        {**common, "accepted": accepted.isoformat()}, link))
        for report in project.reports:
            if _overdue_on(report, paid_on):
                message = (N_("Tranche {seq} of {ref} was paid on {day} while the project's "
                              "final report, due {due}, was overdue.") if report.kind == "final"
                           else N_("Tranche {seq} of {ref} was paid on {day} while the "
                                   "project's progress report, due {due}, was overdue."))
                found.append(Flag("payment_report_overdue", "medium", message,
                                  {**common, "due": report.due_date.isoformat()}, link))
    return found


def _overdue_on(report: Report, day: dt.date) -> bool:
    """Whether the report was past due and not yet filed on that day."""
    if report.due_date >= day:
        return False
    return report.state == "due" or (report.filed_on is not None and report.filed_on > day)


def _progress_accepted_on(project: Project) -> dt.date | None:
    """The day the project's progress report was first accepted, from its timeline."""
    moments = [t.at for t in project.transitions
               if t.action == "accept_report" and t.detail == "report:progress"]
    return min(moments).astimezone(CST).date() if moments else None


def _near_threshold(session: Session, fund: Fund, when: Period) -> list[Flag]:
    threshold = dual_threshold(session, fund)
    floor = threshold * (1 - NEAR_THRESHOLD)
    approved_in = select(Transition.project_id).where(
        Transition.action == "approve", Transition.at >= when.start_at,
        Transition.at < when.end_before)
    projects = session.execute(
        select(Project).where(Project.fund_id == fund.id, Project.id.in_(approved_in),
                              Project.approved_amount >= floor,
                              Project.approved_amount <= threshold)
        .order_by(Project.ref)).unique().scalars()
    return [Flag("near_dual_threshold", "low",
                 N_("{ref} was approved for {amount}, within 10% under the dual-approval "
                    "threshold of {threshold}."),
                 {"ref": p.ref, "amount": format_cny(p.approved_amount or Decimal(0)),
                  "threshold": format_cny(threshold)},
                 (f"project:{p.ref}",))
            for p in projects]


def _normalize(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().casefold().replace(" ", "")


def _payee_concentration(session: Session, fund: Fund, when: Period) -> list[Flag]:
    groups: dict[str, list[Project]] = {}
    for project in active_projects(session, fund, when):
        groups.setdefault(_normalize(project.payee), []).append(project)
    return [Flag("payee_concentration", "medium",
                 N_("{payee} is the payee of {count} projects active in {period}: {refs}."),
                 {"payee": group[0].payee, "count": len(group), "period": when.label,
                  "refs": ", ".join(p.ref for p in group)},
                 tuple(f"project:{p.ref}" for p in group))
            for group in groups.values() if len(group) >= MANY_PROJECTS]


def _late_receipts(session: Session, fund: Fund, when: Period) -> list[Flag]:
    """Receipts first issued more than 30 days after the donation. A replacement of a
    voided receipt is issued late by nature; the receipt it replaces counts."""
    receipts = session.execute(
        select(Receipt).where(
            Receipt.fund_id == fund.id, Receipt.replaces_id.is_(None),
            or_(and_(Receipt.donated_on >= when.start, Receipt.donated_on <= when.end),
                and_(Receipt.issued_at >= when.start_at, Receipt.issued_at < when.end_before)))
        .order_by(Receipt.code)).unique().scalars()
    found = []
    for receipt in receipts:
        days = (receipt.issued_at.astimezone(CST).date() - receipt.donated_on).days
        if days > LATE_RECEIPT_DAYS:
            found.append(Flag("late_receipt", "low",
                              N_("Receipt {code} was issued {days} days after the donation "
                                 "of {day}."),
                              {"code": receipt.code, "days": days,
                               "day": receipt.donated_on.isoformat()},
                              (f"receipt:{receipt.code}",)))
    return found


def _duplicate_children(session: Session, fund: Fund, when: Period,
                        readable: Collection[int] | None) -> list[Flag]:
    """Live projects of the same purpose, this fund's and any other fund's, aiding the
    same child: equal keyed hashes of the ID number. Nothing is decrypted. A project of
    a fund the reader may not read is named by its fund only."""
    mine_child, other_child = aliased(Beneficiary), aliased(Beneficiary)
    mine, other = aliased(Project), aliased(Project)
    live = [s.value for s in LIVE]
    rows = session.execute(
        select(mine.ref, other.ref, other.fund_id, func.count())
        .select_from(mine_child)
        .join(mine, mine.id == mine_child.project_id)
        .join(other_child, and_(other_child.id_hash == mine_child.id_hash,
                                other_child.project_id != mine_child.project_id))
        .join(other, other.id == other_child.project_id)
        .where(mine.fund_id == fund.id, mine.state.in_(live), other.state.in_(live),
               other.purpose == mine.purpose, mine.created_at < when.end_before)
        .group_by(mine.ref, other.ref, other.fund_id))
    pairs: dict[tuple[str, str], int] = {}
    hidden: dict[str, int] = {}  # a project the reader may not read -> its fund
    for ref, other_ref, other_fund, count in rows:
        key = (min(ref, other_ref), max(ref, other_ref))
        pairs[key] = max(pairs.get(key, 0), int(count))
        if readable is not None and other_fund not in readable:
            hidden[other_ref] = other_fund
    names = {f.id: f.name for f in session.execute(select(Fund).where(
        Fund.id.in_(set(hidden.values())))).scalars()} if hidden else {}
    found = []
    for (a, b), count in sorted(pairs.items()):
        if a in hidden or b in hidden:
            ref, theirs = (b, a) if a in hidden else (a, b)
            found.append(Flag(
                "duplicate_beneficiary", "high",
                N_("{ref} and a project of {fund}, which you may not read, aid {count} of "
                   "the same children for the same purpose."),
                {"ref": ref, "fund": names[hidden[theirs]], "count": count},
                (f"project:{ref}",)))
        else:
            found.append(Flag("duplicate_beneficiary", "high",
                              N_("{ref} and {other} aid {count} of the same children for the "
                                 "same purpose."),
                              {"ref": a, "other": b, "count": count},
                              (f"project:{a}", f"project:{b}")))
    return found
