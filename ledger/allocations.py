"""Yearly allocation of general money to purposes: finance proposes, a second
finance user confirms, and only the confirmation posts the entries. Both halves are
proven people (signed in, a token they made, or their password on the console),
compared by user id: a name proves nobody."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

import audit
from core import clock
from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.money import ZERO, format_cny, parse_amount
from core.reading import clean_text
from ledger import events
from ledger.balances import balance
from ledger.chart import GENERAL, load_chart
from ledger.income_models import AllocationLine, AllocationProposal
from ledger.journal import find_fund


def propose(session: Session, actor: Actor, fund_code: str, *,
            amounts: Mapping[str, object], doc_no: str | None = None,
            note: str | None = None) -> AllocationProposal:
    if actor.role != "finance" or actor.user_id is None:
        raise PermissionDenied("Only finance users allocate money to purposes.")
    fund = find_fund(session, fund_code)
    chart = load_chart(fund.chart)
    lines = []
    for key, value in amounts.items():
        if str(value).strip() == "":
            continue
        purpose = chart.purpose(key)
        amount = parse_amount(value, allow_zero=True, field=str(purpose.label))
        if amount:  # a purpose left at zero takes no part
            lines.append(AllocationLine(purpose=purpose.key, amount=amount))
    if not lines:
        raise InvalidInput("Allocate an amount to at least one purpose.")
    if len({line.purpose for line in lines}) != len(lines):
        raise InvalidInput("Each purpose appears once in an allocation.")
    total = sum((line.amount for line in lines), ZERO)
    general = balance(session, fund, GENERAL)
    if total > general:
        raise InvalidInput("The allocation totals {total} but the general pool holds {general}.",
                           total=format_cny(total), general=format_cny(general))
    proposal = AllocationProposal(
        fund_id=fund.id, year=clock.today().year, state="proposed", lines=lines,
        doc_no=clean_text(doc_no, "Document number (文号)", limit=80),
        note=clean_text(note, "Note", limit=500), proposed_by=actor.user_id,
        proposed_by_name=actor.name, proposed_at=clock.now())
    session.add(proposal)
    session.flush()
    audit.record(session, actor, "allocation.propose", "allocation", proposal.id, after={
        "fund": fund.code, "lines": {line.purpose: str(line.amount) for line in lines}},
        fund=fund.code)
    return proposal


def get_proposal(session: Session, fund_code: str, proposal_id: int) -> AllocationProposal:
    fund = find_fund(session, fund_code)
    proposal = session.get(AllocationProposal, proposal_id)
    if proposal is None or proposal.fund_id != fund.id:
        raise NotFound("There is no allocation proposal {id} in fund {fund}.",
                       id=proposal_id, fund=fund.code)
    return proposal


def _decide(session: Session, actor: Actor, fund_code: str, proposal_id: int
            ) -> AllocationProposal:
    if actor.role != "finance" or actor.user_id is None:
        raise PermissionDenied("Only finance users allocate money to purposes.")
    find_fund(session, fund_code, lock=True)
    proposal = get_proposal(session, fund_code, proposal_id)
    if proposal.state != "proposed":
        raise Conflict("This allocation proposal has already been decided.")
    return proposal


def confirm(session: Session, actor: Actor, fund_code: str, proposal_id: int, *,
            date: dt.date | None = None) -> AllocationProposal:
    """A second finance user confirms; every line posts as an allocation entry."""
    proposal = _decide(session, actor, fund_code, proposal_id)
    # A proposal from before its author was proven (proposed_by empty) has no second half
    # to be: it can only be withdrawn.
    if proposal.proposed_by is None or actor.user_id == proposal.proposed_by:
        raise PermissionDenied("A second finance user must confirm an allocation; "
                               "nobody confirms their own proposal.")
    day = date or clock.today()
    for line in proposal.lines:
        entry = events.post_allocation(session, actor, proposal.fund.code, date=day,
                                       amount=line.amount, purpose=line.purpose,
                                       doc_no=proposal.doc_no,
                                       narration=f"{proposal.year}年度专项资金分配")
        line.entry_id = entry.id
    proposal.state, proposal.decided_by = "confirmed", actor.user_id
    proposal.decided_by_name, proposal.decided_at = actor.name, clock.now()
    audit.record(session, actor, "allocation.confirm", "allocation", proposal.id,
                 before={"state": "proposed"}, after={"state": "confirmed"},
                 fund=proposal.fund.code)
    session.flush()
    return proposal


def withdraw(session: Session, actor: Actor, fund_code: str, proposal_id: int,
             reason: str) -> AllocationProposal:
    proposal = _decide(session, actor, fund_code, proposal_id)
    why = clean_text(reason, "Reason", required=True, limit=500)
    proposal.state, proposal.decided_by = "withdrawn", actor.user_id
    proposal.decided_by_name, proposal.decided_at = actor.name, clock.now()
    audit.record(session, actor, "allocation.withdraw", "allocation", proposal.id,
                 before={"state": "proposed"}, after={"state": "withdrawn"}, reason=why,
                 fund=proposal.fund.code)
    session.flush()
    return proposal


def proposals(session: Session, fund_code: str) -> list[AllocationProposal]:
    fund = find_fund(session, fund_code)
    return list(session.execute(select(AllocationProposal).where(
        AllocationProposal.fund_id == fund.id).order_by(AllocationProposal.id.desc())).scalars())


def total(proposal: AllocationProposal) -> Decimal:
    return sum((line.amount for line in proposal.lines), ZERO)
