"""One posting function per fund event of DESIGN §2.

Each takes the session, the acting user and the fund code, builds the entry for
its event and hands it to ``journal.post_entry``, which checks every rule.
Amounts may be given as ``Decimal`` or text; they are parsed strictly.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFound
from core.money import parse_amount
from core.reading import clean_text
from ledger.chart import (
    BANK_FEES,
    DONATIONS,
    GENERAL,
    INTEREST,
    SEED,
    TOP_UP,
    expense_account,
    fund_account,
    load_chart,
    payable_account,
)
from ledger.income_models import Receipt
from ledger.journal import PostedEntry, find_entry, find_fund, post_entry
from ledger.models import Fund, GrantPositionRow, JournalEntry
from ledger.rules import GRANT_LINK_PREFIX, project_ref

_GRANT_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")


def grant_link(grant: str) -> str:
    grant = grant.strip()
    if grant.startswith(GRANT_LINK_PREFIX):
        grant = grant[len(GRANT_LINK_PREFIX):]
    if not _GRANT_REF.match(grant):
        raise InvalidInput("A project reference is up to 60 letters, digits, dots, hyphens or "
                           "underscores: {grant}.", grant=grant[:60])
    return GRANT_LINK_PREFIX + grant


def _purpose(fund: Fund, purpose: str) -> str:
    return load_chart(fund.chart).purpose(purpose).key


def _government(session: Session, actor: Actor, fund_code: str, account: str, entry_type: str,
                date: dt.date, amount: object, doc_no: str, narration: str | None) -> PostedEntry:
    fund = find_fund(session, fund_code, lock=True)
    value = parse_amount(amount)
    doc = clean_text(doc_no, "Document number (文号)", required=True, limit=80) or ""
    return post_entry(
        session, actor, fund, date=date, entry_type=entry_type, payee="财政局",
        narration=narration or ("财政启动资金" if entry_type == "seed" else "财政年度补充资金"),
        lines=[(GENERAL, value), (account, -value)], meta={"doc-no": doc},
    )


def post_seed(session: Session, actor: Actor, fund_code: str, *, date: dt.date, amount: object,
              doc_no: str, narration: str | None = None) -> PostedEntry:
    """Treasury seed money into the general pool."""
    return _government(session, actor, fund_code, SEED, "seed", date, amount, doc_no, narration)


def post_top_up(session: Session, actor: Actor, fund_code: str, *, date: dt.date, amount: object,
                doc_no: str, narration: str | None = None) -> PostedEntry:
    """The treasury's yearly top-up into the general pool."""
    return _government(session, actor, fund_code, TOP_UP, "top-up", date, amount, doc_no,
                       narration)


def post_donation(
    session: Session, actor: Actor, fund_code: str, *, date: dt.date, amount: object,
    donor: str, donor_type: str, receipt_no: str, purpose: str | None = None,
    anonymous: bool = False, narration: str | None = None,
) -> PostedEntry:
    """A donation, directed to a purpose or into the general pool."""
    fund = find_fund(session, fund_code, lock=True)
    value = parse_amount(amount)
    if donor_type not in DONATIONS:
        raise InvalidInput("Donor type must be enterprise or individual, not “{value}”.",
                           value=donor_type[:20])
    donor = clean_text(donor, "Donor", required=True, limit=200) or ""
    receipt = clean_text(receipt_no, "Receipt number", required=True, limit=60) or ""
    target = fund_account(_purpose(fund, purpose)) if purpose else GENERAL
    return post_entry(
        session, actor, fund, date=date, entry_type="donation", payee=donor,
        narration=narration or "捐赠收入",
        lines=[(target, value), (DONATIONS[donor_type], -value)],
        meta={"donor": donor, "donor-type": donor_type, "receipt": receipt,
              "publish": "anonymous" if anonymous else "name"},
        receipt_no=receipt,
    )


def post_allocation(session: Session, actor: Actor, fund_code: str, *, date: dt.date,
                    amount: object, purpose: str, doc_no: str | None = None,
                    narration: str | None = None) -> PostedEntry:
    """Earmark general money for a purpose."""
    fund = find_fund(session, fund_code, lock=True)
    value = parse_amount(amount)
    key = _purpose(fund, purpose)
    meta = {"doc-no": doc} if (doc := clean_text(doc_no, "Document number (文号)")) else {}
    return post_entry(
        session, actor, fund, date=date, entry_type="allocation",
        narration=narration or "专项资金分配",
        lines=[(fund_account(key), value), (GENERAL, -value)],
        meta=meta,
    )


def post_commitment(session: Session, actor: Actor, fund_code: str, *, date: dt.date,
                    amount: object, grant: str, purpose: str, payee: str | None = None,
                    narration: str | None = None) -> PostedEntry:
    """An approved project's commitment: spent for the purpose, owed until paid."""
    fund = find_fund(session, fund_code, lock=True)
    value = parse_amount(amount)
    key = _purpose(fund, purpose)
    link = grant_link(grant)
    if session.get(GrantPositionRow, (fund.id, link)) is not None:
        raise Conflict("Project {grant} already has a commitment in fund {fund}.",
                       grant=grant.strip(), fund=fund.code)
    return post_entry(
        session, actor, fund, date=date, entry_type="commitment", payee=payee,
        narration=narration or "项目批准", links=[link],
        lines=[(expense_account(key), value), (payable_account(key), -value)],
    )


def _grant_purpose(session: Session, fund: Fund, link: str) -> str:
    position = session.get(GrantPositionRow, (fund.id, link))
    if position is None:
        raise NotFound("Project {grant} has no commitment in fund {fund}.",
                       grant=project_ref(link), fund=fund.code)
    return position.purpose


def _grant_event(session: Session, actor: Actor, fund_code: str, entry_type: str, *,
                 date: dt.date, amount: object, grant: str, debit: str, credit: str,
                 narration: str, payee: str | None, meta: dict[str, str],
                 reason: str | None = None) -> PostedEntry:
    fund = find_fund(session, fund_code, lock=True)
    value = parse_amount(amount)
    link = grant_link(grant)
    key = _grant_purpose(session, fund, link)
    accounts = {"fund": fund_account(key), "payable": payable_account(key),
                "expense": expense_account(key)}
    return post_entry(
        session, actor, fund, date=date, entry_type=entry_type, payee=payee, narration=narration,
        links=[link], lines=[(accounts[debit], value), (accounts[credit], -value)], meta=meta,
        reason=reason,
    )


def post_disbursement(session: Session, actor: Actor, fund_code: str, *, date: dt.date,
                      amount: object, grant: str, bank_ref: str, payee: str | None = None,
                      narration: str | None = None) -> PostedEntry:
    """Pay a tranche of an approved project out of its purpose's money."""
    ref = clean_text(bank_ref, "Bank reference", required=True, limit=80) or ""
    return _grant_event(session, actor, fund_code, "disbursement", date=date, amount=amount,
                        grant=grant, debit="payable", credit="fund",
                        narration=narration or "项目拨付", payee=payee, meta={"bank-ref": ref})


def post_release(session: Session, actor: Actor, fund_code: str, *, date: dt.date,
                 amount: object, grant: str, reason: str) -> PostedEntry:
    """Release an unpaid commitment (project cancelled or finished under budget)."""
    why = clean_text(reason, "Reason", required=True) or ""
    return _grant_event(session, actor, fund_code, "release", date=date, amount=amount,
                        grant=grant, debit="payable", credit="expense", narration="释放未拨付承诺",
                        payee=None, meta={"reason": why}, reason=why)


def post_unspent_return(session: Session, actor: Actor, fund_code: str, *, date: dt.date,
                        amount: object, grant: str, bank_ref: str,
                        reason: str | None = None) -> PostedEntry:
    """Money paid to a project and not spent comes back to its purpose."""
    ref = clean_text(bank_ref, "Bank reference", required=True, limit=80) or ""
    meta = {"bank-ref": ref}
    if why := clean_text(reason, "Reason"):
        meta["reason"] = why
    return _grant_event(session, actor, fund_code, "unspent-return", date=date, amount=amount,
                        grant=grant, debit="fund", credit="expense", narration="结余资金退回",
                        payee=None, meta=meta, reason=why)


def _bank_event(session: Session, actor: Actor, fund_code: str, entry_type: str, *,
                date: dt.date, amount: object, bank_ref: str | None, narration: str,
                debit: str, credit: str) -> PostedEntry:
    fund = find_fund(session, fund_code, lock=True)
    value = parse_amount(amount)
    meta = {"bank-ref": ref} if (ref := clean_text(bank_ref, "Bank reference")) else {}
    return post_entry(session, actor, fund, date=date, entry_type=entry_type, payee="银行",
                      narration=narration, lines=[(debit, value), (credit, -value)], meta=meta)


def post_interest(session: Session, actor: Actor, fund_code: str, *, date: dt.date,
                  amount: object, bank_ref: str | None = None) -> PostedEntry:
    """Bank interest on the dedicated account, into the general pool."""
    return _bank_event(session, actor, fund_code, "interest", date=date, amount=amount,
                       bank_ref=bank_ref, narration="银行存款利息", debit=GENERAL,
                       credit=INTEREST)


def post_bank_fee(session: Session, actor: Actor, fund_code: str, *, date: dt.date,
                  amount: object, bank_ref: str | None = None) -> PostedEntry:
    """A bank charge, paid from the general pool."""
    return _bank_event(session, actor, fund_code, "bank-fee", date=date, amount=amount,
                       bank_ref=bank_ref, narration="银行手续费", debit=BANK_FEES,
                       credit=GENERAL)


def post_reversal(session: Session, actor: Actor, fund_code: str, *, seq: int, date: dt.date,
                  reason: str) -> PostedEntry:
    """Undo a posted entry with its exact opposite, dated in the open period.

    The original stays as it was; the reversal names it and shares its links.
    """
    fund = find_fund(session, fund_code, lock=True)
    why = clean_text(reason, "Reason", required=True) or ""
    original = find_entry(session, fund, seq)
    if original.type == "reversal":
        raise InvalidInput("Entry #{seq} is itself a reversal; post the entry again instead.",
                           seq=seq)
    if session.query(JournalEntry.id).filter_by(reverses_id=original.id).first():
        raise Conflict("Entry #{seq} has already been reversed.", seq=seq)
    receipt = session.execute(select(Receipt.code).where(
        Receipt.entry_id == original.id, Receipt.state == "issued")).scalar()
    if receipt is not None:
        raise Conflict("Entry #{seq} is a donation with receipt {receipt} in force; return the "
                       "donation through its receipt, which voids the receipt.",
                       seq=seq, receipt=receipt)
    if date < original.date:
        raise InvalidInput("A reversal cannot be dated before the entry it reverses ({date}).",
                           date=original.date.isoformat())
    meta = {"reverses": str(original.seq), "reason": why}
    for key in ("donor", "donor-type", "receipt"):
        if key in original.meta:
            meta[key] = original.meta[key]
    return post_entry(
        session, actor, fund, date=date, entry_type="reversal", payee=original.payee,
        narration=f"冲销 #{original.seq}：{original.narration}"[:500],
        links=list(original.links) or [f"entry-{fund.code}-{original.seq}"],
        lines=[(p.account.name, -p.amount) for p in original.postings],
        meta=meta, reverses=original, reason=why,
    )


# Each takes (session, actor, fund_code) and its own keyword arguments.
EVENTS: dict[str, Callable[..., PostedEntry]] = {
    "seed": post_seed,
    "top-up": post_top_up,
    "donation": post_donation,
    "allocation": post_allocation,
    "commitment": post_commitment,
    "disbursement": post_disbursement,
    "release": post_release,
    "unspent-return": post_unspent_return,
    "interest": post_interest,
    "bank-fee": post_bank_fee,
    "reversal": post_reversal,
}
