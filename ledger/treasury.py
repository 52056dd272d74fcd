"""Treasury money: seed money and yearly top-ups, and the rule a top-up follows.

A top-up is computed from the fund's rule (a fixed amount, or a ratio matching last
year's donations up to a cap) and shown to finance for confirmation; only the
confirmed amount, with its decision document number (文号), is posted.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.orm import Session

import audit
from core.actors import Actor
from core.errors import InvalidInput, NotFound
from core.i18n import gettext
from core.money import CENT, ZERO, format_cny, parse_amount
from core.reading import ascii_digits
from ledger.balances import balances
from ledger.chart import DONATIONS
from ledger.income_models import TopUpRule
from ledger.journal import find_fund
from ledger.models import Fund

# A ratio in digits with up to four decimals: no exponent, no other script's digits.
_RATIO = re.compile(r"[0-9]{1,2}(?:\.[0-9]{1,4})?")


@dataclass(frozen=True)
class TopUpProposal:
    year: int
    amount: Decimal
    basis: str  # how it was computed, for the confirmation page


def set_rule(session: Session, actor: Actor, fund_code: str, *, kind: str,
             amount: object = None, ratio: object = None, cap: object = None) -> TopUpRule:
    fund = find_fund(session, fund_code)
    rule = session.get(TopUpRule, fund.id) or TopUpRule(fund_id=fund.id, kind=kind)
    before = _describe(rule) if rule.kind else None
    if kind == "fixed":
        rule.kind, rule.amount, rule.ratio, rule.cap = kind, parse_amount(amount), None, None
    elif kind == "ratio":
        text = ascii_digits(str(ratio)).strip()
        if not _RATIO.fullmatch(text) or not Decimal("0") < Decimal(text) <= Decimal("10"):
            raise InvalidInput("The ratio is a number such as 0.5 (half of last year's "
                               "donations).")
        rule.kind, rule.amount = kind, None
        rule.ratio, rule.cap = Decimal(text).quantize(Decimal("0.0001")), parse_amount(cap)
    else:
        raise InvalidInput("A top-up rule is a fixed amount or a ratio of donations.")
    session.add(rule)
    session.flush()
    audit.record(session, actor, "fund.top-up-rule", "fund", fund.code, before=before,
                 after=_describe(rule), fund=fund.code)
    return rule


def _describe(rule: TopUpRule) -> dict[str, str | None]:
    return {"kind": rule.kind, "amount": str(rule.amount) if rule.amount else None,
            "ratio": str(rule.ratio) if rule.ratio else None,
            "cap": str(rule.cap) if rule.cap else None}


def donations_in(session: Session, fund: Fund, year: int) -> Decimal:
    """Donations booked in a calendar year (net of donations returned)."""
    end = balances(session, fund, dt.date(year, 12, 31))
    start = balances(session, fund, dt.date(year - 1, 12, 31))
    return sum((start[a] - end[a] for a in DONATIONS.values()), ZERO)


def propose_top_up(session: Session, fund_code: str, year: int) -> TopUpProposal:
    fund = find_fund(session, fund_code)
    rule = session.get(TopUpRule, fund.id)
    if rule is None:
        raise NotFound("Fund {fund} has no top-up rule yet.", fund=fund.code)
    if rule.kind == "fixed":
        assert rule.amount is not None
        return TopUpProposal(year, rule.amount,
                             gettext("a fixed amount of {amount}",
                                     amount=format_cny(rule.amount)))
    assert rule.ratio is not None and rule.cap is not None
    donated = donations_in(session, fund, year - 1)
    amount = min((donated * rule.ratio).quantize(CENT, rounding=ROUND_HALF_UP), rule.cap)
    return TopUpProposal(year, amount, gettext(
        "{ratio} × {donated} donated in {last_year}, at most {cap}", ratio=rule.ratio.normalize(),
        donated=format_cny(donated), last_year=year - 1, cap=format_cny(rule.cap)))
