"""Beancount plugin: the children's special fund rules (DESIGN §2).

Add ``plugin "ledger.plugins.fund_rules"`` to a ledger and ``bean-check`` refuses a
file in which:

* an entry lacks a known ``type`` or does not balance (``entry-type``, ``balanced``);
* an entry moves money between two purposes (``single-purpose``);
* a grant posting does not link exactly one project ``^grant-…`` (``grant-link``),
  or a project's postings use more than one purpose;
* a donation lacks its donor or receipt number (``donation-meta``), or two
  donations share a receipt number (``receipt-unique``);
* at the end of any day an ``Assets:Fund:*`` account is below zero
  (``fund-nonnegative``), a purpose's available money -- its fund account plus
  its unpaid commitments -- is below zero (``available-nonnegative``), or a
  purpose has paid or released more than it committed (``outstanding-nonnegative``);
* after any entry a project has paid or released more than its commitment
  (``grant-outstanding``) or had more returned than it was paid (``grant-returned``);
* a reversal does not exactly undo an earlier entry, undoes one twice or undoes a
  reversal (``reversal-link``); an entry lacks an ``entry-no`` or shares one
  (``entry-unique``); a project is committed twice (``grant-commitment``);
* an amount is zero, in another currency or finer than a fen (``currency``);
* a ``pad`` directive invents money (``no-pad``): a fund's balances come only
  from its entries;
* at the end of a reconciled month, the bank's balance stated by a
  ``custom "bank-balance"`` directive differs from the sum of the fund's
  ``Assets:Fund:*`` accounts (``bank-reconciled``);
* an ``opening`` transaction, a ``custom "sealed-grant"`` or a ``custom
  "sealed-entry"`` directive appears anywhere but at the seal of an export of the
  open part (``sealed-opening``).

An export of the open part (``ledger verify``'s daily check, ``ledger.beancount_io.
write_open_part``) begins with a ``custom "sealed"`` directive; on that day one
``opening`` transaction states every account's sealed balance, ``custom
"sealed-grant"`` directives the sealed positions of the projects its entries move, and
``custom "sealed-entry"`` directives the sealed entries its reversals undo. The
plugin starts from them; what they state is only as good as the seal, which ``ledger
verify`` checks against the database and the audit log.

The rules themselves live in ``ledger.rules``, shared with the SQL journal.
"""

from __future__ import annotations

import collections
from collections import defaultdict
from decimal import Decimal
from typing import Any, NamedTuple

from beancount.core import data

from core.i18n import N_
from core.money import ZERO, format_cny
from ledger import rules
from ledger.chart import purpose_of

__plugins__ = ("fund_rules",)

CURRENCY = "CNY"
CENT = Decimal("0.01")


class FundRuleError(NamedTuple):
    source: Any
    message: str
    entry: Any


def _deltas(entry: data.Transaction) -> dict[str, Decimal]:
    """Net CNY change per account (other currencies are reported, not counted)."""
    deltas: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for posting in entry.postings:
        units = posting.units
        if units is not None and units.currency == CURRENCY and isinstance(units.number, Decimal):
            deltas[posting.account] += units.number
    return dict(deltas)


def _negative(quantity: rules.Quantity, value: Decimal, day: Any,
              labels: dict[str, str]) -> rules.Violation:
    messages = {
        "fund": N_("{subject} is {value} at the end of {date}, below zero."),
        "available": N_("{subject} available money is {value} at the end of {date}, "
                        "below zero."),
        "outstanding": N_("{subject} paid or released {value} more than it committed "
                          "by {date}."),
    }
    rule = {"fund": "fund-nonnegative", "available": "available-nonnegative",
            "outstanding": "outstanding-nonnegative"}[quantity.kind]
    subject = labels.get(quantity.key, quantity.key)
    shown = value if quantity.kind != "outstanding" else -value
    return rules.Violation(rule, messages[quantity.kind],
                           {"subject": subject, "value": format_cny(shown), "date": day})


class _Checker:
    def __init__(self) -> None:
        self.errors: list[FundRuleError] = []
        self.balances: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.labels: dict[str, str] = {}
        self.grants: dict[str, rules.GrantPosition] = {}
        self.grant_purpose: dict[str, str] = {}
        self.committed: set[str] = set()
        self.receipts: dict[str, int] = {}
        self.by_number: dict[str, data.Transaction] = {}
        self.reversed: set[str] = set()
        self.day_touched: set[rules.Quantity] = set()
        self.bank_statements: dict[Any, list[data.Custom]] = defaultdict(list)
        self.day_entry: dict[rules.Quantity, data.Transaction] = {}
        # An export of the open part: the day of its seal, and what was sealed.
        self.sealed_day: Any = None
        self.seen_transaction = False
        self.sealed_entries: dict[str, tuple[str, dict[str, Decimal]]] = {}

    def sealed(self, entry: data.Custom) -> None:
        """The directives that state what a seal holds (see the module's docstring)."""
        if entry.type == "sealed":
            if self.sealed_day is not None or self.seen_transaction:
                self.fail(entry, _misplaced())
            self.sealed_day = entry.date
            return
        if self.sealed_day != entry.date or not entry.values:
            self.fail(entry, _misplaced())
            return
        name = str(entry.values[0].value)
        meta = entry.meta
        try:
            if entry.type == "sealed-grant":
                self.grants[name] = rules.GrantPosition(Decimal(str(meta["outstanding"])),
                                                        Decimal(str(meta["paid"])))
                self.grant_purpose[name] = str(meta["purpose"])
                self.committed.add(name)
            else:
                deltas: dict[str, Decimal] = defaultdict(lambda: ZERO)
                for line in str(meta["postings"]).split(";"):
                    account, amount = line.split()
                    deltas[account] += Decimal(amount)
                self.sealed_entries[name] = (str(meta["type"]), dict(deltas))
        except (KeyError, ValueError, ArithmeticError):
            self.fail(entry, rules.Violation("sealed-opening",
                                             "The sealed directive lacks what it states."))

    def opening(self, entry: data.Transaction) -> None:
        """The balances sealed at the end of the last closed period."""
        if self.sealed_day != entry.date or self.seen_transaction:
            self.fail(entry, _misplaced())
            return
        deltas = _deltas(entry)
        if sum(deltas.values(), ZERO) != 0:
            self.fail(entry, rules.Violation(
                "balanced", "The entry does not balance: it is off by {amount}.",
                {"amount": format_cny(sum(deltas.values(), ZERO))}))
        for account, delta in deltas.items():
            self.balances[account] += delta
        for quantity in rules.quantities(deltas):
            self.day_touched.add(quantity)
            self.day_entry[quantity] = entry

    def fail(self, entry: Any, violation: rules.Violation) -> None:
        text = f"[{violation.rule}] {violation.text()}"
        self.errors.append(FundRuleError(entry.meta, text, entry))

    def open(self, entry: data.Open) -> None:
        zh = entry.meta.get("zh")
        self.labels[entry.account] = f"{entry.account} ({zh})" if zh else entry.account
        purpose = purpose_of(entry.account)
        if purpose and zh and entry.account.startswith("Assets:Fund:"):
            self.labels.setdefault(purpose, f"{purpose} ({str(zh).rsplit('—', 1)[-1]})")

    def end_of_day(self, day: Any) -> None:
        for statement in self.bank_statements.pop(day, []):
            self.check_bank(statement)
        for quantity in sorted(self.day_touched):
            value = quantity.value(lambda account: self.balances[account])
            if value < 0:
                self.fail(self.day_entry[quantity], _negative(quantity, value, day, self.labels))
        self.day_touched.clear()
        self.day_entry.clear()

    def check_bank(self, entry: data.Custom) -> None:
        """The bank's balance at the end of a reconciled month equals the fund's accounts."""
        stated = entry.values[0].value if entry.values else None
        number = getattr(stated, "number", None)
        held = sum((v for a, v in self.balances.items() if a.startswith("Assets:Fund:")), ZERO)
        if number is None or number != held:
            self.fail(entry, rules.Violation(
                "bank-reconciled", "The bank held {bank} at the end of {date}; the fund's "
                "accounts hold {held}.", {"bank": format_cny(number) if number is not None
                                          else "?", "date": entry.date, "held":
                                          format_cny(held)}))

    def transaction(self, entry: data.Transaction) -> None:
        if entry.meta.get("type") == "opening":
            self.opening(entry)
            self.seen_transaction = True
            return
        self.seen_transaction = True
        deltas = _deltas(entry)
        for posting in entry.postings:
            units = posting.units
            if units is None or units.currency != CURRENCY:
                self.fail(entry, rules.Violation("currency", "Fund postings are in CNY only."))
            elif not isinstance(units.number, Decimal) or units.number == 0 or \
                    units.number != units.number.quantize(CENT):
                self.fail(entry, rules.Violation(
                    "currency", "{account}: amounts are whole fen and never zero ({amount}).",
                    {"account": posting.account, "amount": str(units.number)}))
        meta = {k: str(v) for k, v in entry.meta.items()
                if k not in ("filename", "lineno") and v is not None}
        for violation in rules.entry_violations(entry.meta.get("type"), deltas, entry.links, meta):
            self.fail(entry, violation)
        self.check_numbering(entry)
        self.check_grant(entry, deltas)
        for account, delta in deltas.items():
            self.balances[account] += delta
        for quantity in rules.quantities(deltas):
            self.day_touched.add(quantity)
            self.day_entry[quantity] = entry

    def check_numbering(self, entry: data.Transaction) -> None:
        if entry.meta.get("entry-no") is None:
            self.fail(entry, rules.Violation("entry-unique", "The entry has no entry number."))
        else:
            number = str(entry.meta["entry-no"])
            if number in self.by_number:
                self.fail(entry, rules.Violation("entry-unique", "Entry number {no} is used twice.",
                                                 {"no": number}))
            self.by_number[number] = entry
        if entry.meta.get("type") == "donation" and entry.meta.get("receipt"):
            receipt = str(entry.meta["receipt"])
            self.receipts[receipt] = self.receipts.get(receipt, 0) + 1
            if self.receipts[receipt] > 1:
                self.fail(entry, rules.Violation(
                    "receipt-unique", "Receipt number {receipt} is used by two donations.",
                    {"receipt": receipt}))
        if entry.meta.get("type") == "reversal":
            self.check_reversal(entry)

    def check_reversal(self, entry: data.Transaction) -> None:
        target = str(entry.meta.get("reverses") or "")
        if not target:
            return  # reported by entry_violations
        original = self.by_number.get(target)
        if original is not None:
            kind, original_deltas = original.meta.get("type"), _deltas(original)
        elif target in self.sealed_entries:
            kind, original_deltas = self.sealed_entries[target]
        else:
            self.fail(entry, rules.Violation(
                "reversal-link", "The reversal names entry {no}, which does not come before it.",
                {"no": target}))
            return
        if target in self.reversed:
            self.fail(entry, rules.Violation("reversal-link", "Entry {no} is reversed twice.",
                                             {"no": target}))
        if kind == "reversal":
            self.fail(entry, rules.Violation(
                "reversal-link", "Entry {no} is itself a reversal; post the entry again instead.",
                {"no": target}))
        self.reversed.add(target)
        undone = collections.Counter(original_deltas)
        undone.update(_deltas(entry))
        if any(value != 0 for value in undone.values()):
            self.fail(entry, rules.Violation(
                "reversal-link", "The reversal does not exactly undo entry {no}.", {"no": target}))

    def check_grant(self, entry: data.Transaction, deltas: dict[str, Decimal]) -> None:
        links = rules.grant_links(entry.links)
        if len(links) != 1:
            return
        grant = links[0]
        purposes = sorted({p for a in deltas if (p := purpose_of(a))})
        if entry.meta.get("type") == "commitment":
            if grant in self.committed:
                self.fail(entry, rules.Violation(
                    "grant-commitment", "Project {grant} is already committed.",
                    {"grant": rules.project_ref(grant)}))
            self.committed.add(grant)
        for purpose in purposes:
            known = self.grant_purpose.setdefault(grant, purpose)
            if known != purpose:
                self.fail(entry, rules.Violation(
                    "single-purpose", "Grant {grant} belongs to {purpose}; it cannot use {other}.",
                    {"grant": rules.project_ref(grant), "purpose": known, "other": purpose}))
        position = self.grants.setdefault(grant, rules.GrantPosition())
        violation = position.violation(grant, deltas)
        if violation:
            self.fail(entry, violation)
        position.apply(deltas)


def _misplaced() -> rules.Violation:
    return rules.Violation(
        "sealed-opening", "Sealed balances and positions are stated only once, at the seal "
        "that begins an export of the open part, before any entry.")


SEALED_TYPES = ("sealed", "sealed-grant", "sealed-entry")


def fund_rules(entries: list[Any], options_map: dict[str, Any],
               config: str | None = None) -> tuple[list[Any], list[FundRuleError]]:
    checker = _Checker()
    current_day = None
    for entry in entries:
        if isinstance(entry, data.Open):
            checker.open(entry)
        if isinstance(entry, data.Custom) and entry.type == "bank-balance":
            checker.bank_statements[entry.date].append(entry)
            if current_day is None or entry.date != current_day:
                # A month-end with no entry of its own still gets its check.
                if current_day is not None:
                    checker.end_of_day(current_day)
                current_day = entry.date
            continue
        if isinstance(entry, data.Custom) and entry.type in SEALED_TYPES:
            checker.sealed(entry)
            continue
        if isinstance(entry, data.Pad):
            checker.fail(entry, rules.Violation(
                "no-pad", "A pad directive would invent money; fund balances come only from "
                "entries."))
        if not isinstance(entry, data.Transaction):
            continue
        if current_day is not None and entry.date != current_day:
            checker.end_of_day(current_day)
        current_day = entry.date
        checker.transaction(entry)
    if current_day is not None:
        checker.end_of_day(current_day)
    return entries, checker.errors
