"""Demo books: a few years of realistic activity in the six Ziyang funds.

Deterministic (seeded) so two runs give the same books. Everything goes through
the real posting functions, so the demo obeys every rule a user would.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Callable
from decimal import Decimal
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock
from core.actors import Actor
from core.errors import Conflict
from ledger import donations, events
from ledger.balances import balance
from ledger.bank import import_statement
from ledger.chart import GENERAL, load_chart
from ledger.funds import add_fund
from ledger.models import Account, Fund, JournalEntry, Posting
from ledger.periods import close_period
from ledger.reconciliation import fund_cash, reconcile

FUNDS = (
    # code, Chinese name, English name, parent, seed money
    ("ZYS", "资阳市本级", "Ziyang City", None, Decimal("5000000.00")),
    ("YJQ", "雁江区", "Yanjiang District", "ZYS", Decimal("2000000.00")),
    ("AYX", "安岳县", "Anyue County", "ZYS", Decimal("1800000.00")),
    ("LZX", "乐至县", "Lezhi County", "ZYS", Decimal("1500000.00")),
    ("GXQ", "高新区", "Hi-tech Zone", "ZYS", Decimal("1000000.00")),
    ("LKQ", "临空经济区", "Airport Economic Zone", "ZYS", Decimal("800000.00")),
)

ENTERPRISES = (
    "资阳众诚建设有限公司", "四川安岳柠檬产业集团", "乐至县宏达商贸有限公司", "资阳市雁江农商银行",
    "四川临空物流有限公司", "资阳高新园区电子科技有限公司", "资阳市爱心企业联合会",
    "川中机车配件厂",
)
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何罗高林"
GIVEN = ("建国", "秀英", "明", "丽", "强", "芳", "军", "敏", "伟", "静", "磊", "燕", "洪", "霞")

FINANCE = Actor("demo:finance", "finance")
OFFICE = Actor("demo:charity_office", "charity_office")


def _money(rng: random.Random, low: int, high: int, step: int = 100) -> Decimal:
    return Decimal(rng.randrange(low // step, high // step + 1) * step).quantize(Decimal("0.01"))


def _month_days(year: int, month: int, today: dt.date) -> list[dt.date]:
    first = dt.date(year, month, 1)
    days = []
    day = first
    while day.month == month and day < today:
        days.append(day)
        day += dt.timedelta(days=1)
    return days


Action = tuple[dt.date, int, Callable[[], object]]
# Adds a fund's other activity for a month (the grants workflow): (day, order, action)
# triples merged into the month's agenda, so everything is booked in date order.
MonthHook = Callable[[Fund, list[dt.date]], list[Action]]


def build_demo(session: Session, *, years: int = 3, commit: Callable[[], None] | None = None,
               after_funds: Callable[[list[Fund]], None] | None = None,
               month_hook: MonthHook | None = None) -> list[Fund]:
    """Create the six funds and post ``years`` full years plus this year to yesterday:
    treasury money, donations (one keyed twice and reversed), allocations, interest,
    bank fees, closed periods -- and whatever ``month_hook`` adds."""
    if session.execute(select(Fund.id).limit(1)).first():
        raise Conflict("The database already holds funds; demo data goes into an empty database.")
    today = clock.today()
    start = dt.date(today.year - years, 1, 1)
    rng = random.Random(2017)
    created = []
    for code, zh, en, parent, _seed in FUNDS:
        created.append(add_fund(session, FINANCE, code=code, name_zh=zh, name_en=en,
                                opened_on=start, parent_code=parent))
    if after_funds:
        after_funds(created)
    if commit:
        commit()
    for (code, *_rest, seed), fund in zip(FUNDS, created, strict=True):
        _fund_history(session, fund, code, seed, start, today, rng, month_hook)
        if commit:
            commit()
    return created


def _fund_history(session: Session, fund: Fund, code: str, seed: Decimal, start: dt.date,
                  today: dt.date, rng: random.Random, month_hook: MonthHook | None) -> None:
    """Month by month, the month's events are posted in date order, then the month
    (or, in December of a past year, the year) is closed."""
    purposes = [p.key for p in load_chart(fund.chart).purposes]
    donors: dict[tuple[str, str], int] = {}
    state = {"reversal_done": False, "reissued": False}

    def donor(name: str, kind: str, anonymous: bool) -> int:
        if (name, kind) not in donors:
            uscc = donations.credit_code(f"915120{len(donors):011d}")
            donors[(name, kind)] = donations.add_donor(
                session, OFFICE, code, kind=kind, name=name,
                credit_code=uscc if kind == "enterprise" else None,
                publish="anonymous" if anonymous else "name").id
        return donors[(name, kind)]

    events.post_seed(session, FINANCE, code, date=start + dt.timedelta(days=9), amount=seed,
                     doc_no=f"资财社〔{start.year}〕{rng.randint(3, 40)}号")
    year, month = start.year, start.month
    while dt.date(year, month, 1) < today:
        days = _month_days(year, month, today)
        agenda: list[tuple[dt.date, int, Callable[[], object]]] = []

        def day(index: int, days: list[dt.date] = days) -> dt.date:
            return days[min(index, len(days) - 1)]

        if month == 2 and year > start.year:
            agenda.append((day(4), 0, partial(
                events.post_top_up, session, FINANCE, code, date=day(4),
                amount=(seed * Decimal("0.3")).quantize(Decimal("0.01")),
                doc_no=f"资财社〔{year}〕{rng.randint(3, 60)}号")))
        for when in sorted(rng.sample(days, min(len(days), rng.randint(2, 5)))):
            agenda.append((when, 1, _donation(session, code, when, rng, purposes, donor, state,
                                              allow_reversal=year > start.year, last=days[-1])))
        if month in (3, 9) or (month == 2 and year == start.year):
            agenda.append((day(10), 2, partial(_allocate, session, fund, code, purposes,
                                               day(10), rng)))
        if month in (3, 6, 9, 12):
            interest = (_money(rng, 300, 3000, 1) * seed / 1000000).quantize(Decimal("0.01"))
            agenda.append((day(20), 4, partial(
                events.post_interest, session, OFFICE, code, date=day(20), amount=interest,
                bank_ref=f"LX{day(20):%Y%m%d}")))
        if len(days) > 25:
            agenda.append((days[25], 5, partial(
                events.post_bank_fee, session, OFFICE, code, date=days[25],
                amount=Decimal(rng.choice(("5.00", "10.00", "15.50"))),
                bank_ref=f"SXF{days[25]:%Y%m%d}")))
        if month_hook:
            agenda.extend(month_hook(fund, days))
        for when, _order, action in sorted(agenda, key=lambda item: (item[0], item[1])):
            # Each event happens on its day: receipts, audit records and timestamps agree.
            with clock.frozen_at(dt.datetime(when.year, when.month, when.day, 10,
                                             tzinfo=clock.CST)):
                action()

        next_first = (dt.date(year, month, 28) + dt.timedelta(days=4)).replace(day=1)
        _bank_statement(session, fund, days, unmatched_interest=next_first > today)
        if next_first <= today:
            reconcile(session, OFFICE, code, f"{year}-{month:02d}")
        # Past years close as a whole; this year closes month by month.
        if year < today.year and month == 12:
            close_period(session, FINANCE, code, f"{year}")
        elif year == today.year and next_first <= today:
            close_period(session, FINANCE, code, f"{year}-{month:02d}")
        year, month = next_first.year, next_first.month


def _donation(session: Session, code: str, day: dt.date, rng: random.Random,
              purposes: list[str], donor: Callable[[str, str, bool], int],
              state: dict[str, bool], *, allow_reversal: bool,
              last: dt.date) -> Callable[[], object]:
    is_enterprise = rng.random() < 0.45
    name = rng.choice(ENTERPRISES) if is_enterprise else rng.choice(SURNAMES) + rng.choice(GIVEN)
    amount = _money(rng, 5000, 200000) if is_enterprise else _money(rng, 100, 5000, 50)
    purpose = rng.choice(purposes) if rng.random() < 0.5 else None
    kind = "enterprise" if is_enterprise else "individual"
    anonymous = rng.random() < 0.15

    def post() -> None:
        donor_id = donor(name, kind, anonymous)
        receipt = donations.record_donation(session, OFFICE, code, donor_id=donor_id, date=day,
                                            amount=amount, purpose=purpose)
        if allow_reversal and not state["reversal_done"] and not is_enterprise and day < last:
            # The same donation keyed in twice by mistake: given back the same day, which
            # reverses its entry and voids its receipt.
            duplicate = donations.record_donation(session, OFFICE, code, donor_id=donor_id,
                                                  date=day, amount=amount, purpose=purpose)
            donations.return_donation(session, OFFICE, code, duplicate.code, date=day,
                                      reason="重复录入")
            state["reversal_done"] = True
        elif is_enterprise and not state["reissued"] and day < last:
            # A receipt printed with a mistake is voided and replaced.
            donations.void_receipt(session, OFFICE, code, receipt.code, reason="票据打印错误，重开",
                                   reissue=True)
            state["reissued"] = True

    return post


def _bank_statement(session: Session, fund: Fund, days: list[dt.date], *,
                    unmatched_interest: bool) -> None:
    """The month's statement of the dedicated account, as the bank would send it: one
    line per entry that moved the fund's money, with the running balance. Odd months
    come in GBK, even ones in UTF-8, as Chinese banks' exports do. The current month
    also carries interest the office has not booked yet: a line left to match."""
    first, last = days[0], days[-1]
    running = fund_cash(session, fund, first - dt.timedelta(days=1))
    moved = (
        select(Posting.entry_id, func.sum(Posting.amount).label("cash"))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .join(Account, Account.id == Posting.account_id)
        .where(JournalEntry.fund_id == fund.id, JournalEntry.date.between(first, last),
               Account.name.like("Assets:Fund:%"))
        .group_by(Posting.entry_id)
        .having(func.sum(Posting.amount) != 0)
        .subquery())
    rows = session.execute(
        select(JournalEntry.seq, JournalEntry.date, JournalEntry.narration, JournalEntry.payee,
               JournalEntry.meta, moved.c.cash)
        .join(moved, moved.c.entry_id == JournalEntry.id)
        .order_by(JournalEntry.date, JournalEntry.seq)).all()
    out = io.StringIO()
    out.write("交易日期,摘要,对方户名,收入金额,支出金额,余额,流水号\n")
    for seq, day, narration, payee, meta, amount in rows:
        running += amount
        reference = meta.get("bank-ref") or f"DM{fund.code}{seq:06d}"
        money_in, money_out = (f"{amount:.2f}", "") if amount > 0 else ("", f"{-amount:.2f}")
        out.write(f"{day.isoformat()},{narration[:40].replace(',', '，')},"
                  f"{(payee or '').replace(',', '，')},{money_in},{money_out},"
                  f"{running:.2f},{reference}\n")
    if unmatched_interest:
        running += Decimal("8.88")
        out.write(f"{last.isoformat()},结息,资阳市商业银行,8.88,,{running:.2f},"
                  f"JX{last:%Y%m%d}\n")
    if not rows and not unmatched_interest:
        return
    encoding = "gbk" if first.month % 2 else "utf-8"
    import_statement(session, OFFICE, fund.code, out.getvalue().encode(encoding),
                     f"{fund.code}-{first:%Y-%m}.csv")


def _allocate(session: Session, fund: Fund, code: str, purposes: list[str], day: dt.date,
              rng: random.Random) -> None:
    general = balance(session, fund, GENERAL)
    budget = (general * Decimal("0.6")).quantize(Decimal("100"))
    if budget <= 0:
        return
    weights = [rng.randint(1, 5) for _ in purposes]
    for purpose, weight in zip(purposes, weights, strict=True):
        share = (budget * weight / sum(weights)).quantize(Decimal("100"))
        if share > 0:
            events.post_allocation(session, FINANCE, code, date=day, amount=share, purpose=purpose,
                                   doc_no=f"资慈基〔{day.year}〕{rng.randint(1, 30)}号")
