"""Donors, donations and the receipt register (公益事业捐赠票据).

Every donation gets the next number of its fund's series for the year, in the
same transaction as its ledger entry, under the fund's lock: no gaps, no
duplicates. A receipt is voided (with its reason), never deleted; a replacement
receipt for the same donation takes the next number and names the one it replaces.
A donation returned to its donor is a reversal of its entry, and voids its receipt.
Donations are money only: gifts in kind are not booked in this system.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

import audit
from core import clock
from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFound
from core.i18n import N_
from core.money import parse_amount
from core.protection import Protector, mask_id, validate_id
from core.reading import clean_text
from core.screening import screen_id_numbers
from ledger import events
from ledger.chart import load_chart
from ledger.income_models import Donor, Receipt, ReceiptSeries
from ledger.journal import find_entry, find_fund
from ledger.models import Fund, JournalEntry

# GB 32100-2015: 18 characters from this alphabet, the last a check character.
_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")


def credit_code(body: str) -> str:
    """Seventeen characters completed with their check character."""
    total = sum(_CODE_CHARS.index(c) * w for c, w in zip(body, _CODE_WEIGHTS, strict=True))
    return body + _CODE_CHARS[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> str:
    """A unified social credit code (统一社会信用代码), checked to its last character."""
    code = value.strip().upper()
    if not _CODE.match(code):
        raise InvalidInput("A unified social credit code has 18 digits and capital letters.")
    if credit_code(code[:17]) != code:
        raise InvalidInput("The unified social credit code's check character is wrong.")
    return code


def add_donor(session: Session, actor: Actor, fund_code: str, *, kind: str, name: str,
              credit_code: str | None = None, id_number: str | None = None,
              publish: str = "name", contact: str | None = None,
              protector: Protector | None = None) -> Donor:
    fund = find_fund(session, fund_code)
    if kind not in ("enterprise", "individual"):
        raise InvalidInput("Donor type must be enterprise or individual, not “{value}”.",
                           value=kind[:20])
    if publish not in ("name", "anonymous"):
        raise InvalidInput("Publish the donor by name or as anonymous.")
    donor = Donor(fund_id=fund.id, kind=kind, publish=publish, created_at=clock.now(),
                  name=clean_text(name, "Donor", required=True, limit=200) or "",
                  contact=clean_text(contact, "Contact", limit=100))
    # The donor's line is public: no ID number in it (the donor's own goes in id_number).
    screen_id_numbers([(N_("Donor"), donor.name)])
    if kind == "enterprise" and credit_code:
        donor.credit_code = validate_credit_code(credit_code)
        if session.execute(select(Donor.id).where(Donor.fund_id == fund.id,
                                                  Donor.credit_code == donor.credit_code)).first():
            raise Conflict("A donor with this unified social credit code is already registered.")
    if kind == "individual" and id_number:
        if protector is None:
            raise InvalidInput("ID numbers cannot be stored without the data key.")
        number = validate_id(id_number)
        donor.id_number_ct, donor.id_hash = protector.encrypt(number), protector.id_hash(number)
        donor.id_masked = mask_id(number)
        if session.execute(select(Donor.id).where(Donor.fund_id == fund.id,
                                                  Donor.id_hash == donor.id_hash)).first():
            raise Conflict("A donor with this ID number is already registered.")
    session.add(donor)
    session.flush()
    audit.record(session, actor, "donor.add", "donor", donor.id, after={
        "fund": fund.code, "kind": kind, "name": donor.name, "publish": publish,
        "credit_code": donor.credit_code, "id": donor.id_masked}, fund=fund.code)
    return donor


def find_donor(session: Session, fund: Fund, donor_id: int) -> Donor:
    donor = session.get(Donor, donor_id)
    if donor is None or donor.fund_id != fund.id:
        raise NotFound("There is no such donor in fund {fund}.", fund=fund.code)
    return donor


def _next_code(session: Session, fund: Fund, year: int) -> tuple[int, str]:
    """The next receipt number; the caller holds the fund's lock."""
    series = session.get(ReceiptSeries, (fund.id, year), populate_existing=True)
    if series is None:
        series = ReceiptSeries(fund_id=fund.id, year=year, last_number=0)
        session.add(series)
    series.last_number += 1
    return series.last_number, f"{fund.code}-{year}-{series.last_number:06d}"


def record_donation(session: Session, actor: Actor, fund_code: str, *, donor_id: int,
                    date: dt.date, amount: object, purpose: str | None = None,
                    narration: str | None = None) -> Receipt:
    """Book a donation and issue its receipt, together."""
    fund = find_fund(session, fund_code, lock=True)
    donor = find_donor(session, fund, donor_id)
    value = parse_amount(amount)
    key = load_chart(fund.chart).purpose(purpose).key if purpose else None
    number, code = _next_code(session, fund, date.year)
    entry = events.post_donation(
        session, actor, fund.code, date=date, amount=value, donor=donor.name,
        donor_type=donor.kind, receipt_no=code, purpose=key,
        anonymous=donor.publish == "anonymous", narration=narration)
    receipt = Receipt(fund_id=fund.id, year=date.year, number=number, code=code,
                      donor_id=donor.id, entry_id=entry.id, amount=value, purpose=key,
                      donated_on=date, issued_at=clock.now(), issued_by=actor.name,
                      state="issued")
    session.add(receipt)
    session.flush()
    audit.record(session, actor, "receipt.issue", "receipt", code, after={
        "entry": f"{fund.code}#{entry.seq}", "amount": str(value), "donor": donor.id},
        fund=fund.code)
    return receipt


def find_receipt(session: Session, fund: Fund, code: str) -> Receipt:
    receipt = session.execute(select(Receipt).where(
        Receipt.fund_id == fund.id, Receipt.code == code.strip())).scalar_one_or_none()
    if receipt is None:
        raise NotFound("There is no receipt {code} in fund {fund}.", code=code[:40],
                       fund=fund.code)
    return receipt


def void_receipt(session: Session, actor: Actor, fund_code: str, code: str, *, reason: str,
                 reissue: bool = False) -> Receipt | None:
    """Void a receipt (it stays in the register); optionally issue its replacement."""
    fund = find_fund(session, fund_code, lock=True)
    receipt = find_receipt(session, fund, code)
    if receipt.state == "voided":
        raise Conflict("Receipt {code} is already void.", code=receipt.code)
    why = clean_text(reason, "Reason", required=True, limit=500) or ""
    receipt.state, receipt.void_reason = "voided", why
    receipt.voided_at, receipt.voided_by = clock.now(), actor.name
    audit.record(session, actor, "receipt.void", "receipt", receipt.code,
                 before={"state": "issued"}, after={"state": "voided"}, reason=why,
                 fund=fund.code)
    if not reissue:
        session.flush()
        return None
    number, new_code = _next_code(session, fund, clock.today().year)
    replacement = Receipt(fund_id=fund.id, year=clock.today().year, number=number,
                          code=new_code, donor_id=receipt.donor_id, entry_id=receipt.entry_id,
                          amount=receipt.amount, purpose=receipt.purpose,
                          donated_on=receipt.donated_on, issued_at=clock.now(),
                          issued_by=actor.name, state="issued", replaces_id=receipt.id)
    session.add(replacement)
    session.flush()
    audit.record(session, actor, "receipt.issue", "receipt", new_code,
                 after={"replaces": receipt.code, "amount": str(receipt.amount)},
                 fund=fund.code)
    return replacement


def return_donation(session: Session, actor: Actor, fund_code: str, code: str, *,
                    date: dt.date, reason: str) -> JournalEntry:
    """Give a donation back: its entry is reversed and its receipt voided, with the reason."""
    fund = find_fund(session, fund_code, lock=True)
    receipt = find_receipt(session, fund, code)
    if receipt.state == "voided":
        raise Conflict("Receipt {code} is already void.", code=receipt.code)
    why = clean_text(reason, "Reason", required=True, limit=500) or ""
    original = session.get(JournalEntry, receipt.entry_id)
    assert original is not None
    # Voided first: a donation's entry is never reversed while its receipt is in force.
    void_receipt(session, actor, fund.code, receipt.code, reason=f"捐赠退回：{why}")
    reversal = events.post_reversal(session, actor, fund.code, seq=original.seq, date=date,
                                    reason=f"捐赠退回：{why}")
    return find_entry(session, fund, reversal.seq)


def register(session: Session, fund: Fund, year: int | None = None) -> list[Receipt]:
    stmt = select(Receipt).where(Receipt.fund_id == fund.id)
    if year is not None:
        stmt = stmt.where(Receipt.year == year)
    return list(session.execute(stmt.order_by(Receipt.year, Receipt.number)).scalars())
