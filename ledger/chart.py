"""The chart of accounts is data: one TOML file per template in ``ledger/charts``.

This module loads and checks a template and knows the shape of account names
(which family an account belongs to and which purpose it serves). It knows
nothing about the database.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from core.errors import InvalidInput, NotFound
from core.i18n import Bilingual

CHARTS_DIR = Path(__file__).parent / "charts"
DEFAULT_CHART = "npo-2026"

GENERAL = "Assets:Fund:General"
FUND_PREFIX = "Assets:Fund:"
PAYABLE_PREFIX = "Liabilities:GrantsPayable:"
GRANT_EXPENSE_PREFIX = "Expenses:Grants:"
DONATION_PREFIX = "Income:Donations:"
PER_PURPOSE_PREFIXES = (FUND_PREFIX, PAYABLE_PREFIX, GRANT_EXPENSE_PREFIX)

SEED = "Income:Government:Seed"
TOP_UP = "Income:Government:TopUp"
DONATIONS = {"enterprise": "Income:Donations:Enterprise",
             "individual": "Income:Donations:Individual"}
INTEREST = "Income:Interest"
BANK_FEES = "Expenses:BankFees"

_ACCOUNT_RE = re.compile(r"^(Assets|Liabilities|Equity|Income|Expenses)(:[A-Z][A-Za-z0-9-]*)+$")


def fund_account(purpose: str) -> str:
    return FUND_PREFIX + purpose


def payable_account(purpose: str) -> str:
    return PAYABLE_PREFIX + purpose


def expense_account(purpose: str) -> str:
    return GRANT_EXPENSE_PREFIX + purpose


def purpose_of(account: str) -> str | None:
    """The purpose an account is restricted to, or None (General and non-purpose accounts)."""
    for prefix in PER_PURPOSE_PREFIXES:
        if account.startswith(prefix):
            rest = account[len(prefix):]
            return None if rest == "General" else rest
    return None


def is_grant_account(account: str) -> bool:
    return account.startswith((PAYABLE_PREFIX, GRANT_EXPENSE_PREFIX))


def kind_of(account: str) -> str:
    return account.split(":", 1)[0].lower()


@dataclass(frozen=True)
class Purpose:
    key: str
    zh: str
    en: str

    @property
    def label(self) -> Bilingual:
        return Bilingual(self.zh, self.en)


@dataclass(frozen=True)
class AccountSpec:
    name: str
    code: str
    zh: str
    en: str

    @property
    def purpose(self) -> str | None:
        return purpose_of(self.name)

    @property
    def kind(self) -> str:
        return kind_of(self.name)


@dataclass(frozen=True)
class Chart:
    name: str
    zh: str
    en: str
    purposes: tuple[Purpose, ...]
    accounts: tuple[AccountSpec, ...]

    def purpose(self, value: str) -> Purpose:
        """Find a purpose by key, English or Chinese name, case-insensitively."""
        wanted = value.strip().casefold()
        for purpose in self.purposes:
            if wanted in (purpose.key.casefold(), purpose.zh, purpose.en.casefold()):
                return purpose
        choices = ", ".join(f"{p.key.lower()} ({p.zh})" for p in self.purposes)
        raise InvalidInput(
            "Unknown purpose “{value}”; choose one of: {choices}.",
            value=value[:40], choices=choices
        )

    def account(self, name: str) -> AccountSpec:
        for spec in self.accounts:
            if spec.name == name:
                return spec
        raise NotFound("No account {name} in chart {chart}.", name=name, chart=self.name)


def _validate(chart: Chart) -> Chart:
    names = [a.name for a in chart.accounts]
    codes = [a.code for a in chart.accounts]
    problems = [n for n in names if not _ACCOUNT_RE.match(n)]
    if problems:
        raise ValueError(f"chart {chart.name}: invalid account names {problems}")
    if len(set(names)) != len(names) or len(set(codes)) != len(codes):
        raise ValueError(f"chart {chart.name}: duplicate account names or codes")
    required = {GENERAL, SEED, TOP_UP, INTEREST, BANK_FEES, *DONATIONS.values()}
    for purpose in chart.purposes:
        required |= {fund_account(purpose.key), payable_account(purpose.key),
                     expense_account(purpose.key)}
    missing = required - set(names)
    if missing:
        raise ValueError(f"chart {chart.name}: missing accounts {sorted(missing)}")
    return chart


@functools.cache
def load_chart(name: str = DEFAULT_CHART) -> Chart:
    path = CHARTS_DIR / f"{name}.toml"
    if not re.fullmatch(r"[a-z0-9-]+", name) or not path.exists():
        raise NotFound("No chart-of-accounts template named “{name}”.", name=name[:40])
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return _validate(Chart(
        name=data["name"],
        zh=data["zh"],
        en=data["en"],
        purposes=tuple(Purpose(**p) for p in data["purposes"]),
        accounts=tuple(AccountSpec(**a) for a in data["accounts"]),
    ))

