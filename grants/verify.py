"""Projects against the journal, for ``ledger verify``.

A project's approved amount must equal its commitment, its paid tranches the
disbursements, what closing or cancelling released the releases, and the unspent
money it returned the unspent return -- all counted from the entries linked
``^grant-<ref>``, net of their reversals. Each paid tranche and each step that
posted names an entry of the project that says the same. Commitments posted with no
project behind them (``ledger post commitment``) are the ledger's own business.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.i18n import N_, gettext
from core.money import ZERO, format_cny
from grants.models import Project
from grants.operations import unspent, unspent_returned
from grants.states import State
from ledger.beancount_io import OpenPart
from ledger.crosscheck import capped
from ledger.models import Fund, JournalEntry, Posting
from ledger.rules import GRANT_LINK_PREFIX

# What each kind of grant entry adds up to, as the project names it.
KINDS = {
    "commitment": N_("approved"),
    "disbursement": N_("paid"),
    "release": N_("released"),
    "unspent-return": N_("unspent returned"),
}
APPROVED = frozenset({State.APPROVED, State.PARTIALLY_PAID, State.PAID, State.COMPLETED,
                      State.CLOSED, State.CANCELLED})
ENDED = frozenset({State.CLOSED, State.CANCELLED})


@dataclass(frozen=True)
class _Entry:
    seq: int
    type: str
    date: dt.date
    amount: Decimal


@dataclass
class _Grant:
    totals: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    entries: dict[int, _Entry] = field(default_factory=dict)


def _grants(session: Session, fund: Fund, refs: set[str] | None = None) -> dict[str, _Grant]:
    """Per project reference (of ``refs`` only, when given), its entries and the net
    total of each kind."""
    types = (*KINDS, "reversal")
    amounts: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for entry_id, amount in session.execute(
            select(Posting.entry_id, Posting.amount)
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .where(JournalEntry.fund_id == fund.id, JournalEntry.type.in_(types),
                   Posting.amount > 0)):
        amounts[entry_id] += amount
    rows = session.execute(
        select(JournalEntry.id, JournalEntry.seq, JournalEntry.type, JournalEntry.date,
               JournalEntry.links, JournalEntry.reverses_id)
        .where(JournalEntry.fund_id == fund.id, JournalEntry.type.in_(types))
        .order_by(JournalEntry.seq)).all()
    type_of = {row.id: row.type for row in rows}
    grants: dict[str, _Grant] = defaultdict(_Grant)
    for row in rows:
        link = next((k for k in row.links or () if k.startswith(GRANT_LINK_PREFIX)), None)
        if link is None or (refs is not None and link.removeprefix(GRANT_LINK_PREFIX)
                            not in refs):
            continue
        grant = grants[link.removeprefix(GRANT_LINK_PREFIX)]
        amount = amounts[row.id]
        grant.entries[row.seq] = _Entry(row.seq, row.type, row.date, amount)
        if row.type == "reversal":
            undone = type_of.get(row.reverses_id or 0)
            if undone in KINDS:
                grant.totals[undone] -= amount
        else:
            grant.totals[row.type] += amount
    return grants


def _expected(project: Project) -> dict[str, Decimal]:
    state = State(project.state)
    approved = (project.approved_amount or ZERO) if state in APPROVED else ZERO
    paid = project.paid_amount
    return {
        "commitment": approved,
        "disbursement": paid,
        "release": max(approved - paid, ZERO) if state in ENDED else ZERO,
        "unspent-return": unspent(project) if unspent_returned(project) else ZERO,
    }


def _seq(ref: str | None, fund: Fund) -> int | None:
    if not ref or not ref.startswith(f"{fund.code}#"):
        return None
    number = ref[len(fund.code) + 1:]
    return int(number) if number.isascii() and number.isdigit() else None


def _project_problems(project: Project, fund: Fund, grant: _Grant) -> list[str]:
    problems = []
    for kind, expected in _expected(project).items():
        if grant.totals[kind] != expected:
            problems.append(gettext(
                "project {ref}: {what} {project} by the project, {ledger} by its ledger "
                "entries", ref=project.ref, what=gettext(KINDS[kind]),
                project=format_cny(expected), ledger=format_cny(grant.totals[kind])))
    for tranche in project.tranches:
        if tranche.state != "paid":
            continue
        entry = grant.entries.get(_seq(tranche.ledger_ref, fund) or 0)
        if entry is None or entry.type != "disbursement":
            problems.append(gettext(
                "project {ref}, tranche {seq}: its payment {entry} is not a disbursement of "
                "the project in the journal", ref=project.ref, seq=tranche.seq,
                entry=tranche.ledger_ref or "—"))
        elif (entry.amount, entry.date) != (tranche.amount, tranche.paid_on):
            problems.append(gettext(
                "project {ref}, tranche {seq}: paid {amount} on {date}, but entry {entry} "
                "pays {ledger} on {day}", ref=project.ref, seq=tranche.seq,
                amount=format_cny(tranche.amount),
                date=tranche.paid_on.isoformat() if tranche.paid_on else "—",
                entry=tranche.ledger_ref, ledger=format_cny(entry.amount),
                day=entry.date.isoformat()))
    for step in project.transitions:
        if step.ledger_ref and _seq(step.ledger_ref, fund) not in grant.entries:
            problems.append(gettext(
                "project {ref}: step {step} names entry {entry}, which is not an entry of "
                "the project", ref=project.ref, step=step.action, entry=step.ledger_ref))
    return problems


def check_projects(session: Session, fund: Fund, /,
                   open_part: OpenPart | None = None) -> list[str]:
    """Every project of the fund against its ledger entries (a ``ledger.verify`` check).
    With the daily verify's ``open_part``: only the projects its entries move."""
    where = [Project.fund_id == fund.id]
    refs = None
    if open_part is not None:
        refs = {g.removeprefix(GRANT_LINK_PREFIX) for g in open_part.grants}
        where.append(Project.ref.in_(sorted(refs)))
        if not refs or session.execute(select(Project.id).where(*where).limit(1)).first() is None:
            return []
    grants = _grants(session, fund, refs)
    projects = session.execute(
        select(Project).where(*where).order_by(Project.id)
        .options(selectinload(Project.tranches), selectinload(Project.reports),
                 selectinload(Project.transitions))).scalars()
    problems = []
    for project in projects:
        problems.extend(_project_problems(project, fund, grants.get(project.ref, _Grant())))
    return capped(problems)
