"""Public disclosure benchmark: the public fund page served by the app beside Fava's
balance sheet of the same books, to one client and to 8 at once (also with sign-ins and
another fund's postings alongside), and the time to make the fund's annual report PDF.

    python -m bench.public_bench                    # 100,000 entries, 10,000 projects, SQLite
    python -m bench.public_bench --entries 20000 --projects 2000 --requests 200
    python -m bench.public_bench --reuse --database-url sqlite:////tmp/pb/bench.db

The benchmark builds one county fund (雁江区, under the city fund 资阳市本级) with N
ledger entries and P projects, everything through the real code paths with the
clock pinned to each day in turn: four users (civil affairs, charity office, two
finance), the treasury's seed money and yearly top-ups, donations with their
receipts (``ledger.donations.record_donation``), allocations, interest, bank fees;
every project drafted, submitted, checked and approved (its commitment entry; two
finance approvals above the fund's threshold), and about half of them with their
first tranche requested, approved and paid (a disbursement entry). One database
transaction holds a day's work; the data builder's speed is not measured.

Then three servers, each in its own process on loopback, run side by side: the app
under gunicorn twice on the same database, as configured (a page is rendered once and
kept until what it shows changes, ``webapp.public.page_cache``) and with the page cache
off (``SPECIALFUND_PUBLIC_PAGE_CACHE=0``: every request renders the page from the
database, what the first view after any change costs), and Fava on the fund's export.
Each gunicorn is given its settings on the command line, 2 sync workers and a 300 s
timeout, and an empty configuration file, so the production defaults of
``gunicorn.conf.py`` (workers from the CPUs, the access log) do not apply; rate limits
are off on both (``SPECIALFUND_RATE_LIMITS=0``: the benchmark is one address, far over
the public pages' 120 requests and the sign-ins' 30 a minute).

1. One client: ``GET /public/funds/<code>`` with ``http.client`` (keep-alive, but
   gunicorn's sync workers close the connection after each answer, so the client
   reconnects), a warm-up and then ``--requests`` requests one after another: median
   and 95th percentile latency (request sent to body read) and requests per second.
   Every answer must be 200 and name the fund. Cache on, then cache off;
2. one client, Fava (``fava FILE``, the fund exported with ``write_ledger``): its balance
   sheet as a browser gets it, ``--fava-requests`` times after a warm-up, measured the
   same way. Fava 1.30 draws its reports in the browser, so one view is two requests:
   the page (``/<slug>/balance_sheet/``, the slug found by following the redirect of
   ``/``) and then its figures (``/<slug>/api/balance_sheet``). The target compares the
   public page's requests per second with Fava's views per second;
3. the fund's annual report for the last full year (a draft with a short narrative),
   ``reports.annual.annual_pdf`` timed in this process, after the servers stopped;
4. ``--clients`` concurrent clients (default 8), the same load tool on every side:
   ``wrk`` with one connection per thread and a Lua script (``bench.wrk``) that times
   each view and checks each answer (200 and the expected text). The public page with
   the cache on, with the cache off, and Fava's balance sheet view (the page, then its
   api data, in turn on each connection; a view is the pair): views per second and the
   median, 95th percentile and slowest view, and the public page's requests per second
   over Fava's views per second, round by round;
5. the cached page under the same load while another client signs in ``--sign-ins``
   times a second (default 10) as a browser does, ``GET /login`` then ``POST /login``
   with the form's CSRF token and cookie (the 302 it answers is not followed), as a
   user of another fund (安岳县 ``AYX``, a sibling county: nothing it does is on the
   page measured), each started on a fixed schedule on its own thread, whether or not
   the ones before have finished; the page's p95 against the quiet p95 of the same
   round;
6. the page with the cache on and off under the same load while the other fund gets
   ``--writes`` postings a second (default 5, donations through the JSON API, ``POST
   /api/v1/funds/AYX/donations``, to the server measured); before and after each such
   phase the ETags of both funds' pages are read: the measured page's must not change
   (its public version, the key of its kept page, is untouched by the other fund) and
   the other fund's must.

Sections 4 to 6 run ``--rounds`` times (default 3) of ``--seconds`` each (default 10),
interleaved (each round runs every configuration in turn), after a short warm-up of each;
the table shows the best and the worst round side by side and the ratios of each round
(median and worst), and a second table every run. The other fund, its two users
(``ayx_co``, charity office, and ``ayx_fin1``, finance, with the bench's password) and
a donor are made through the real code paths when the database has no ``AYX`` yet (so
``--reuse`` works on books built before this part existed); each run makes ``ayx_co``
a new API token and adds its postings to ``AYX``, never to the fund measured.

``--keep`` keeps the database; ``--reuse --database-url sqlite:///…/bench.db`` measures
it again without rebuilding (``--profile FILE`` adds a cProfile of one page request
made in process through the Flask test client).

The figures are printed as a table against their targets (PASS or MISS). The exit
status is 1 only when a server failed to start or to answer correctly, or the
PDF could not be made; a missed target is reported, not raised.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import http.client
import io
import json
import os
import platform
import pstats
import random
import re
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from sqlalchemy import func, make_url, select
from sqlalchemy.orm import Session, sessionmaker

from bench import wrk
from bench.ledger_bench import CpuClock, Spread, print_table, revision
from core import clock
from core.actors import Actor
from core.db import make_engine, make_session_factory, transaction
from core.migrate import upgrade
from core.protection import generate_keys
from grants import operations as ops
from grants.access import get_project
from grants.models import FundPolicy, Project
from grants.states import State
from ledger import donations, events
from ledger.beancount_io import write_ledger
from ledger.chart import load_chart
from ledger.funds import add_fund
from ledger.income_models import Donor
from ledger.journal import find_fund
from ledger.models import Fund
from migrations import SCRIPT_LOCATION
from people.models import User
from people.tokens import create_token
from people.users import add_user

ROOT = Path(__file__).resolve().parent.parent
CITY = ("ZYS", "资阳市本级", "Ziyang City")
COUNTY = ("YJQ", "雁江区", "Yanjiang District")
# Another county under the city: its public version is not part of the county's pages'
# (reports.public.versions counts a fund, its parent and its children), so its sign-ins
# and postings must leave the county's kept page alone.
OTHER = ("AYX", "安岳县", "Anyue County")
OTHER_USERS = (  # key, role, display name: the API's writer, and the one who signs in
    ("co", "charity_office", "安岳县慈善办出纳"),
    ("fin1", "finance", "安岳县财政局审核员甲"),
)
CONSOLE = Actor("bench", "console")
PASSWORD = "bench-pass-2026"  # throwaway users of a throwaway database
USERS = (  # key, role, display name
    ("ca", "civil_affairs", "雁江区民政局经办人"),
    ("co", "charity_office", "雁江区慈善办出纳"),
    ("fin1", "finance", "雁江区财政局审核员甲"),
    ("fin2", "finance", "雁江区财政局审核员乙"),
)
DUAL_THRESHOLD = 200_000_00  # fen: above it, two finance approvals
SEED = 20_000_000_00  # fen
TOP_UP = 5_000_000_00  # fen, each February after the first year
ENTERPRISES = (
    "资阳众诚建设有限公司", "四川安岳柠檬产业集团", "乐至县宏达商贸有限公司", "资阳市雁江农商银行",
    "四川临空物流有限公司", "资阳高新园区电子科技有限公司", "资阳市爱心企业联合会",
    "川中机车配件厂", "雁江区商会", "资阳市建筑业协会",
)
PEOPLE = ("王建国", "李秀英", "张明", "刘丽", "陈强", "杨芳", "黄军", "赵敏", "周伟", "吴静",
          "徐磊", "孙燕")
UNITS = ("雁江区民政局", "雁江区教育和体育局", "雁江区残疾人联合会", "雁江区妇女联合会")
PAYEES = ("雁江区希望小学", "雁江区儿童福利院", "雁江区人民医院", "雁江区特殊教育学校",
          "雁江区未成年人救助保护中心")
WARMUP = 10  # requests before measuring: both gunicorn workers load their templates
HTTP_TIMEOUT = 300.0

TARGET_P95_MS = 20.0  # public page, 95th percentile
TARGET_RATIO = 20.0  # public page requests/s over Fava balance sheet requests/s
TARGET_PDF_S = 30.0  # annual report PDF
# With --clients (8) concurrent clients, views per second over Fava's balance sheet views
# per second under the same load:
TARGET_LOAD_UNCACHED = 50.0  # the public page rendered at every request (cache off)
TARGET_LOAD_CACHED = 300.0  # the kept page (cache on)
TARGET_SIGN_IN_P95 = 1.5  # cached p95 with sign-ins elsewhere over the quiet cached p95
WORKERS = 2  # gunicorn sync workers, on the command line
GUNICORN_TIMEOUT = 300  # seconds; gunicorn's own default of 30 would kill a long render


def _yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def at(day: dt.date, seconds: int = 0) -> dt.datetime:
    """A moment of a working day: 09:00 China time plus ``seconds``."""
    return dt.datetime(day.year, day.month, day.day, 9, tzinfo=clock.CST) + dt.timedelta(
        seconds=seconds)


# --- The fund's history ----------------------------------------------------------------------

Step = Callable[[Session], object]


@dataclass
class Plan:
    """What happens on which day. Every day's steps run in order, in one transaction."""

    first: dt.date
    last: dt.date
    days: dict[dt.date, list[Step]] = field(default_factory=lambda: defaultdict(list))

    def add(self, day: dt.date, step: Step) -> None:
        assert self.first <= day <= self.last, day
        self.days[day].append(step)


@dataclass
class _Project:
    number: int
    created: dt.date
    paid: bool  # its first tranche is requested, approved and paid
    request_after: int  # days from the last approval to the tranche request
    id: int | None = None
    purpose: str = ""
    fen: int = 0
    first_tranche: int = 0  # fen


class FundHistory:
    """A legal, chronological history of one fund, the same for the same seed.

    It keeps its own model of the fund's money in fen, so every step it takes passes
    the journal's rules: the general pool and each purpose's money never go below
    zero, and a project is only drafted for money its purpose has and no other project
    has claimed (``reserved`` until approved, ``owed`` until paid). A step that the
    model says cannot happen now (an allocation or a fee with too little general
    money) becomes a donation instead, so the fund ends with exactly N entries.
    """

    def __init__(self, *, entries: int, projects: int, first: dt.date, last: dt.date,
                 seed: int) -> None:
        self.rng = random.Random(seed)
        self.plan = Plan(first, last)
        self.purposes = list(load_chart().purposes)
        self.keys = [p.key for p in self.purposes]
        self.general = 0
        self.cash = dict.fromkeys(self.keys, 0)
        self.owed = dict.fromkeys(self.keys, 0)
        self.reserved = dict.fromkeys(self.keys, 0)
        self.actors: dict[str, Actor] = {}
        self.donors: list[int] = []
        self.kinds: dict[str, int] = defaultdict(int)
        self.made = 0  # projects drafted so far
        self.expected = entries
        self._plan(entries, projects)

    # The plan ------------------------------------------------------------------------------

    def _plan(self, entries: int, count: int) -> None:
        first, last = self.plan.first, self.plan.last
        span = (last - first).days + 1
        days = [first + dt.timedelta(days=n) for n in range(span)]
        # Projects: drafted and submitted on day c, checked on c+1, approved on c+2 (the
        # second approval, when one is needed, on c+3); for about half, the first
        # tranche requested some weeks later, approved the next day and paid the day after.
        projects = []
        grant_entries = 0
        for n in range(count):
            created = days[7 + n * (span - 12) // count]
            project = _Project(n + 1, created, paid=self.rng.random() < 0.5,
                               request_after=self.rng.randint(10, 40))
            projects.append(project)
            grant_entries += 1
            if project.paid and created + dt.timedelta(days=project.request_after + 5) <= last:
                grant_entries += 1
        fixed: list[tuple[dt.date, str]] = [(first, "seed")]
        fixed += [(dt.date(y, 2, 5), "top-up") for y in range(first.year + 1, last.year + 1)]
        fixed += [(dt.date(y, m, 20), "interest") for y in range(first.year, last.year + 1)
                  for m in (3, 6, 9, 12)]
        fixed += [(dt.date(y, m, 26), "bank-fee") for y in range(first.year, last.year + 1)
                  for m in range(1, 13)]
        fixed = [(d, kind) for d, kind in fixed if first <= d <= last]
        rest = entries - grant_entries - len(fixed)
        if rest < len(self.keys) + 1:
            raise SystemExit(f"{entries:,} entries are too few for {count:,} projects over "
                             f"{span:,} days; give more entries or fewer projects.")
        # The other entries, spread evenly over the days: the first ones allocate the seed
        # money to every purpose, then about one in eight is an allocation.
        ordinary: dict[dt.date, list[str]] = defaultdict(list)
        for day, kind in fixed:
            ordinary[day].append(kind)
        for n in range(rest):
            kind = ("allocation" if n < len(self.keys) or self.rng.random() < 0.125
                    else "donation")
            ordinary[days[n * span // rest]].append(kind)
        builders: dict[str, Callable[[dt.date], Step]] = {
            "seed": self._seed, "top-up": self._top_up, "interest": self._interest,
            "bank-fee": self._bank_fee, "allocation": self._allocation,
            "donation": self._donation,
        }
        by_day: dict[dt.date, list[Step]] = defaultdict(list)
        for day in days:
            order = {"seed": 0, "top-up": 0}
            for kind in sorted(ordinary[day], key=lambda k: order.get(k, 1)):
                by_day[day].append(builders[kind](day))
        for project in projects:
            self._project_steps(project, by_day)
        for day in days:
            for step in by_day[day]:
                self.plan.add(day, step)

    # Money -------------------------------------------------------------------------------

    def _seed(self, day: dt.date) -> Step:
        def post(session: Session) -> None:
            events.post_seed(session, self.actors["fin1"], COUNTY[0], date=day,
                             amount=_yuan(SEED), doc_no=f"雁财社〔{day.year}〕8号")
            self.general += SEED
            self.kinds["seed"] += 1
        return post

    def _top_up(self, day: dt.date) -> Step:
        def post(session: Session) -> None:
            events.post_top_up(session, self.actors["fin1"], COUNTY[0], date=day,
                               amount=_yuan(TOP_UP), doc_no=f"雁财社〔{day.year}〕12号")
            self.general += TOP_UP
            self.kinds["top-up"] += 1
        return post

    def _interest(self, day: dt.date) -> Step:
        fen = self.rng.randint(1_000_00, 30_000_00)

        def post(session: Session) -> None:
            events.post_interest(session, self.actors["co"], COUNTY[0], date=day,
                                 amount=_yuan(fen), bank_ref=f"LX{day:%Y%m%d}")
            self.general += fen
            self.kinds["interest"] += 1
        return post

    def _bank_fee(self, day: dt.date) -> Step:
        fen = self.rng.choice((5_00, 10_00, 15_50))
        instead = self._donation(day)

        def post(session: Session) -> None:
            if self.general < fen:
                instead(session)
                return
            events.post_bank_fee(session, self.actors["co"], COUNTY[0], date=day,
                                 amount=_yuan(fen), bank_ref=f"SXF{day:%Y%m%d}")
            self.general -= fen
            self.kinds["bank-fee"] += 1
        return post

    def _room(self, key: str) -> int:
        return self.cash[key] - self.owed[key] - self.reserved[key]

    def _allocation(self, day: dt.date) -> Step:
        share = self.rng.randint(20, 50)
        instead = self._donation(day)

        def post(session: Session) -> None:
            # The purpose with the least unclaimed money gets the next allocation.
            key = min(self.keys, key=self._room)
            fen = self.general * share // 100 // 100_00 * 100_00
            if fen < 10_000_00:
                instead(session)
                return
            events.post_allocation(session, self.actors["fin1"], COUNTY[0], date=day,
                                   amount=_yuan(fen), purpose=key,
                                   doc_no=f"雁慈基〔{day.year}〕7号")
            self.general -= fen
            self.cash[key] += fen
            self.kinds["allocation"] += 1
        return post

    def _donation(self, day: dt.date) -> Step:
        rng = self.rng
        enterprise = rng.random() < 0.45
        fen = (rng.randint(50, 2_000) * 100_00 if enterprise
               else rng.randint(2, 100) * 50_00)
        key = rng.choice(self.keys) if rng.random() < 0.5 else None
        donor_pick = rng.random()

        def post(session: Session) -> None:
            half = len(self.donors) // 2  # enterprises first, then individuals
            pool = self.donors[:half] if enterprise else self.donors[half:]
            donations.record_donation(session, self.actors["co"], COUNTY[0],
                                      donor_id=pool[int(donor_pick * len(pool))], date=day,
                                      amount=_yuan(fen), purpose=key)
            if key is None:
                self.general += fen
            else:
                self.cash[key] += fen
            self.kinds["donation"] += 1
        return post

    # Projects ----------------------------------------------------------------------------

    def _project_steps(self, project: _Project, by_day: dict[dt.date, list[Step]]) -> None:
        day = project.created
        later = [(day, self._draft(project)), (day + dt.timedelta(days=1), self._check(project)),
                 (day + dt.timedelta(days=2), self._approve(project, "fin1")),
                 (day + dt.timedelta(days=3), self._approve(project, "fin2"))]
        if project.paid:
            request = day + dt.timedelta(days=3 + project.request_after)
            later += [(request, self._tranche(project, "request")),
                      (request + dt.timedelta(days=1), self._tranche(project, "approve")),
                      (request + dt.timedelta(days=2), self._tranche(project, "pay"))]
        for when, step in later:
            if when <= self.plan.last:
                by_day[when].append(step)

    def _amount(self) -> tuple[str, int]:
        """A purpose and an amount (fen) that the purpose's unclaimed money covers."""
        target = self.rng.randint(100, 3_500) * 100_00
        roomy = [k for k in self.keys if self._room(k) >= 30_000_00]
        if roomy:
            key = self.rng.choice(roomy)
            return key, min(target, self._room(key) * 4 // 10 // 100_00 * 100_00)
        key = max(self.keys, key=self._room)
        fen = self._room(key) // 2 // 100 * 100
        if fen < 1_000_00:
            raise RuntimeError("the fund has run out of money for new projects")
        return key, fen

    def _draft(self, project: _Project) -> Step:
        rng = self.rng
        unit, payee = rng.choice(UNITS), rng.choice(PAYEES)
        counts = {"left_behind": rng.randint(5, 80), "in_difficulty": rng.randint(0, 30),
                  "orphan": rng.randint(0, 5), "disabled": rng.randint(0, 5)}

        def draft(session: Session) -> None:
            key, fen = self._amount()
            purpose = next(p for p in self.purposes if p.key == key)
            first = fen * 6 // 10 // 100 * 100
            day = project.created
            data = ops.ProjectInput(
                title=f"{day.year}年雁江区{purpose.zh}项目（第{project.number}期）",
                purpose=key, implementing_unit=unit, payee=payee,
                requested_amount=_yuan(fen),
                summary=f"面向雁江区{purpose.zh}对象的资助项目。",
                budget=[("直接资助", _yuan(fen - fen // 10 // 100 * 100)),
                        ("项目执行与回访", _yuan(fen // 10 // 100 * 100))],
                counts=counts,
                tranches=[(day + dt.timedelta(days=30), _yuan(first), "none"),
                          (day + dt.timedelta(days=90), _yuan(fen - first), "none")],
                final_report_due=day + dt.timedelta(days=150))
            made = ops.create_project(session, self.actors["ca"], data)
            ops.submit(session, self.actors["ca"], made)
            project.id, project.purpose, project.fen, project.first_tranche = (
                made.id, key, fen, first)
            self.reserved[key] += fen
            self.made += 1
        return draft

    def _load(self, session: Session, key: str, project: _Project) -> Project:
        assert project.id is not None
        return get_project(session, self.actors[key], project.id, for_update=True)

    def _check(self, project: _Project) -> Step:
        def check(session: Session) -> None:
            ops.check(session, self.actors["co"], self._load(session, "co", project),
                      no_conflict=True, comment="符合基金使用规定")
        return check

    def _approve(self, project: _Project, key: str) -> Step:
        def approve(session: Session) -> None:
            loaded = self._load(session, key, project)
            if loaded.state != State.CHECKED:  # approved already by the first approver alone
                return
            if ops.approve(session, self.actors[key], loaded, amount=_yuan(project.fen),
                           no_conflict=True, comment="同意"):
                self.reserved[project.purpose] -= project.fen
                self.owed[project.purpose] += project.fen
                self.kinds["commitment"] += 1
        return approve

    def _tranche(self, project: _Project, step: str) -> Step:
        def act(session: Session) -> None:
            if step == "request":
                ops.request_tranche(session, self.actors["ca"],
                                    self._load(session, "ca", project), 1)
            elif step == "approve":
                ops.approve_tranche(session, self.actors["fin2"],
                                    self._load(session, "fin2", project), 1, no_conflict=True)
            else:
                ops.pay_tranche(session, self.actors["co"], self._load(session, "co", project),
                                1, bank_ref=f"ZF{clock.today():%Y%m%d}{project.number:05d}")
                self.cash[project.purpose] -= project.first_tranche
                self.owed[project.purpose] -= project.first_tranche
                self.kinds["disbursement"] += 1
        return act

    # Running it --------------------------------------------------------------------------

    def setup(self, session: Session) -> None:
        """The two funds, the county's policy, users and donors, on the opening day."""
        first = self.plan.first
        add_fund(session, CONSOLE, code=CITY[0], name_zh=CITY[1], name_en=CITY[2],
                 opened_on=first)
        fund = add_fund(session, CONSOLE, code=COUNTY[0], name_zh=COUNTY[1],
                        name_en=COUNTY[2], opened_on=first, parent_code=CITY[0])
        session.add(FundPolicy(fund_id=fund.id, dual_approval_threshold=_yuan(DUAL_THRESHOLD)))
        for key, role, name in USERS:
            user = add_user(session, CONSOLE, username=f"yjq_{key}", display_name=name,
                            role=role, fund_code=COUNTY[0], password=PASSWORD)
            self.actors[key] = user.actor()
        for n, name in enumerate(ENTERPRISES):
            self.donors.append(donations.add_donor(
                session, self.actors["co"], COUNTY[0], kind="enterprise", name=name,
                credit_code=donations.credit_code(f"915120{n:011d}"),
                publish="anonymous" if n == 3 else "name").id)
        for n, name in enumerate(PEOPLE):
            self.donors.append(donations.add_donor(
                session, self.actors["co"], COUNTY[0], kind="individual", name=name,
                publish="anonymous" if n % 4 == 0 else "name").id)

    def run(self, factory: sessionmaker[Session]) -> None:
        with clock.frozen_at(at(self.plan.first)), transaction(factory) as session:
            self.setup(session)
        days = sorted(self.plan.days)
        every = max(len(days) // 20, 1)
        start = time.perf_counter()
        for n, day in enumerate(days, start=1):
            with transaction(factory) as session:
                for second, step in enumerate(self.plan.days[day]):
                    with clock.frozen_at(at(day, 20 * second)):
                        step(session)
            if n % every == 0 or n == len(days):
                posted = sum(self.kinds.values())
                _note(f"  {day}: {posted:,} of {self.expected:,} entries, "
                      f"{self.made:,} projects ({time.perf_counter() - start:,.0f} s)")


# --- The servers -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def venv_tool(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed in this environment.")
    return found


class ServeError(RuntimeError):
    """A server did not start, or answered wrongly."""


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, timeout: float) -> float:
        """Wait until the port accepts connections; the seconds it took."""
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if self.process.poll() is not None:
                raise ServeError(f"{self.name} exited with {self.process.returncode}:\n"
                                 f"{self.tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return time.perf_counter() - start
            except OSError:
                time.sleep(0.2)
        raise ServeError(f"{self.name} did not answer within {timeout:.0f} s:\n{self.tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def started(name: str, command: list[str], env: dict[str, str], log: Path,
            port: int) -> Iterator[Server]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    server = Server(name, process, port, log)
    try:
        yield server
    finally:
        server.stop()


def server_env(extra: dict[str, str]) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    # gunicorn reads settings from these too; the bench gives its own on the command line.
    inherited = {k: v for k, v in os.environ.items()
                 if k not in ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY")}
    return {**inherited, "PYTHONPATH": path, **extra}


def gunicorn_command(port: int, workdir: Path) -> list[str]:
    """gunicorn with every setting that matters given here: ``--config`` names an empty
    file, so ``gunicorn.conf.py`` (which gunicorn reads from the working directory by
    default: workers from the CPUs, the access log) does not apply."""
    import gunicorn

    empty = workdir / "gunicorn-bench.conf.py"
    empty.write_text("# The benchmark's servers take their settings from the command line.\n")
    command = [venv_tool("gunicorn"), "--config", str(empty), "--workers", str(WORKERS),
               "--worker-class", "sync", "--timeout", str(GUNICORN_TIMEOUT),
               "--graceful-timeout", "10", "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT)]
    if tuple(int(p) for p in gunicorn.__version__.split(".")[:1]) >= (25,):
        command.append("--no-control-socket")  # two servers at once would share its path
    return [*command, "webapp:create_app()"]


def gunicorn_settings() -> str:
    import gunicorn

    return (f"gunicorn {gunicorn.__version__}, {WORKERS} sync workers, timeout "
            f"{GUNICORN_TIMEOUT} s, no access log, gunicorn.conf.py not read")


# --- Measuring -------------------------------------------------------------------------------


@dataclass
class HttpRun:
    """The timings of a series of views, one after another on one client; a view is
    one or more GET requests made in turn (a page and the data it loads)."""

    paths: list[str]
    latencies: list[float]  # per view
    parts: list[list[float]]  # per path, per view
    first: float  # the first warm-up view: a cold worker or cold caches
    elapsed: float
    connections: int  # TCP connections opened (the server may close after each answer)
    sizes: list[int]  # bytes of each path's last body

    @property
    def spread(self) -> Spread:
        return Spread.of(self.latencies)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed


class Client:
    """``http.client`` with keep-alive; reconnects when the server closes."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None
        self.connections = 0

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
            self.conn.connect()
            self.connections += 1
        self.conn.request("GET", path, headers={"Accept-Encoding": "identity"})
        response = self.conn.getresponse()
        body = response.read()
        if response.will_close:
            self.conn.close()
            self.conn = None
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def measure(client: Client, view: list[tuple[str, list[bytes]]], *, count: int, warmup: int,
            max_seconds: float) -> HttpRun:
    """``warmup`` views, then up to ``count`` timed ones within ``max_seconds``. A view
    GETs each path in turn; each answer must be 200 and contain every expected string."""

    def get(path: str, expect: list[bytes]) -> tuple[float, int]:
        began = time.perf_counter()
        status, _headers, body = client.get(path)
        took = time.perf_counter() - began
        if status != 200:
            raise ServeError(f"GET {path} answered {status}: {body[:300]!r}")
        missing = [e.decode() for e in expect if e not in body]
        if missing:
            raise ServeError(f"GET {path} does not show {', '.join(missing)}")
        return took, len(body)

    first = 0.0
    for n in range(warmup):
        took = sum(get(path, expect)[0] for path, expect in view)
        first = took if n == 0 else first
    opened = client.connections
    latencies: list[float] = []
    parts: list[list[float]] = [[] for _ in view]
    sizes = [0] * len(view)
    start = time.perf_counter()
    for _ in range(count):
        for i, (path, expect) in enumerate(view):
            took, sizes[i] = get(path, expect)
            parts[i].append(took)
        latencies.append(sum(part[-1] for part in parts))
        if time.perf_counter() - start > max_seconds:
            break
    elapsed = time.perf_counter() - start
    return HttpRun([path for path, _ in view], latencies, parts, first, elapsed,
                   client.connections - opened, sizes)


def fava_prefix(client: Client) -> str:
    """Fava's URL prefix for the ledger: ``/`` redirects into ``/<bfile slug>/…``."""
    status, headers, body = client.get("/")
    if status not in (301, 302, 303, 307, 308) or "location" not in headers:
        raise ServeError(f"Fava's / answered {status} without a redirect: {body[:300]!r}")
    path = urlsplit(headers["location"]).path
    slug = path.strip("/").split("/")[0]
    if not slug:
        raise ServeError(f"Fava redirected / to {headers['location']!r}; no ledger slug")
    return f"/{slug}"


def time_pdf(factory: sessionmaker[Session], actor: Actor, year: int) -> tuple[float, int]:
    """Draft the year's annual report with a short narrative and time ``annual_pdf``;
    the seconds and the PDF's size."""
    from reports.annual import annual_pdf, report_for, save_narrative

    with transaction(factory) as session:
        report = report_for(session, actor, COUNTY[0], year, create=True)
        save_narrative(session, actor, report, {
            "overview": f"{year}年，雁江区儿童专项基金按照资府发〔2017〕25号文件要求，"
                        "专款专用、独立核算，全年资助项目均按程序审批。",
            "work": "全年开展助学、助孤、助残、助医、助困和赈灾项目，"
                    "项目资金按批准的分期计划拨付。",
            "finance": "本报告所列数字均来自基金账簿，与银行对账一致。",
            "plans": "下一年度继续做好项目管理和信息公开工作。",
        })
        start = time.perf_counter()
        pdf = annual_pdf(session, report)
        elapsed = time.perf_counter() - start
    if not pdf.startswith(b"%PDF"):
        raise ServeError("annual_pdf did not return a PDF")
    return elapsed, len(pdf)


def profile_request(database_url: str, instance: Path, path: str, out: Path) -> str:
    """One request of ``path`` through the Flask test client in this process, under
    cProfile (after one unprofiled request; page cache off, so the page is rendered);
    the top of the profile as text."""
    os.environ.setdefault("SPECIALFUND_INSTANCE", str(instance))
    os.environ.setdefault("SPECIALFUND_ENV", "development")  # keys of the bench's own instance
    os.environ.setdefault("SPECIALFUND_RATE_LIMITS", "0")
    from webapp import create_app

    app = create_app({"DATABASE_URL": database_url, "SESSION_COOKIE_SECURE": False,
                      "PUBLIC_PAGE_CACHE": 0})
    client = app.test_client()
    client.get(path)
    profiler = cProfile.Profile()
    profiler.enable()
    response = client.get(path)
    profiler.disable()
    if response.status_code != 200:
        raise ServeError(f"profiled GET {path} answered {response.status_code}")
    profiler.dump_stats(out)
    text = io.StringIO()
    pstats.Stats(str(out), stream=text).sort_stats("cumulative").print_stats(40)
    return text.getvalue()


# --- Under load ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OtherFund:
    """The fund that is signed in to and written while the county's page is measured."""

    sign_in: str  # the user who signs in
    writer: str  # the user whose API token posts the donations
    token: str
    donor_id: int


def other_fund(url: str) -> OtherFund:
    """The other county fund, its two users and a donor, made through the real code
    paths if the database has none yet; and a new API token of its charity office,
    made by that user as ``people.tokens`` requires."""
    engine = make_engine(url)
    names = {key: f"{OTHER[0].lower()}_{key}" for key, _, _ in OTHER_USERS}
    try:
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            if session.execute(select(Fund.id).where(Fund.code == OTHER[0])).first() is None:
                # Opened with the city, as the demo's counties are: the city's page of an
                # earlier year links to each county's page of that year, which a county
                # opened later does not have (publish-static would stop at that 404).
                add_fund(session, CONSOLE, code=OTHER[0], name_zh=OTHER[1], name_en=OTHER[2],
                         opened_on=find_fund(session, CITY[0]).opened_on,
                         parent_code=CITY[0])
                for key, role, name in OTHER_USERS:
                    add_user(session, CONSOLE, username=names[key], display_name=name,
                             role=role, fund_code=OTHER[0], password=PASSWORD)
                writer = session.execute(select(User).where(User.username == names["co"])
                                         ).scalar_one()
                donations.add_donor(session, writer.actor(), OTHER[0], kind="enterprise",
                                    name="安岳县爱心企业",
                                    credit_code=donations.credit_code(f"915121{1:011d}"))
        with transaction(factory) as session:
            writer = session.execute(select(User).where(User.username == names["co"])
                                     ).scalar_one()
            token, _row = create_token(session, writer.actor(), writer, name="public bench",
                                       expires_on=None)
            fund = find_fund(session, OTHER[0])
            donor_id = session.execute(select(Donor.id).where(Donor.fund_id == fund.id)
                                       .order_by(Donor.id).limit(1)).scalar_one()
        return OtherFund(names["fin1"], names["co"], token, donor_id)
    finally:
        engine.dispose()


class Paced:
    """Starts ``act`` ``rate`` times a second on a fixed schedule, each on a thread of its
    own, whether or not the ones before have finished, as independent visitors do: the
    rate holds however long each act waits for the server. Each act's time is kept; a
    failed act is counted, not raised."""

    def __init__(self, name: str, rate: float, act: Callable[[], None]) -> None:
        self.name = name
        self.period = 1 / rate
        self.act = act
        self.halt = threading.Event()
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="paced")
        self.scheduler = threading.Thread(target=self._schedule, name=name, daemon=True)
        self.times: list[float] = []
        self.failures = 0
        self.first_failure = ""
        self.began = self.halted = 0.0

    def start(self) -> None:
        self.began = time.perf_counter()
        self.scheduler.start()

    def _schedule(self) -> None:
        started = 0
        while not self.halt.wait(max(0.0, self.began + started * self.period
                                     - time.perf_counter())):
            self.pool.submit(self._one)
            started += 1

    def _one(self) -> None:
        start = time.perf_counter()
        try:
            self.act()
        except Exception as error:  # counted, and shown in the report
            with self.lock:
                self.failures += 1
                self.first_failure = self.first_failure or f"{error}"
        else:
            with self.lock:
                self.times.append(time.perf_counter() - start)

    def stop(self) -> Paced:
        """Start no more; wait for those under way."""
        self.halt.set()
        self.halted = time.perf_counter()
        self.scheduler.join()
        self.pool.shutdown(wait=True)
        return self

    @property
    def span(self) -> float:
        return self.halted - self.began

    @property
    def rate(self) -> float:
        """Acts completed per second of the time they were being started."""
        return len(self.times) / self.span if self.span > 0 else 0.0

    def problem(self) -> str | None:
        if self.failures:
            return f"{self.failures} of {self.failures + len(self.times)} failed, the " \
                   f"first: {self.first_failure}"
        return None


CSRF_FIELD = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"')


def sign_in(port: int, username: str) -> None:
    """Sign in as a browser does: the form (its session cookie and CSRF token), then
    the form posted back; the answer must send the user on (302), not back to /login.
    The page it sends the user to is not fetched."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    try:
        conn.request("GET", "/login")
        response = conn.getresponse()
        body = response.read()
        found = CSRF_FIELD.search(body)
        if response.status != 200 or found is None:
            raise ServeError(f"GET /login answered {response.status} without a CSRF token")
        cookies = "; ".join(c.split(";", 1)[0]
                            for c in response.msg.get_all("Set-Cookie") or [])
        form = urlencode({"csrf_token": found.group(1).decode(), "username": username,
                          "password": PASSWORD})
        conn.request("POST", "/login", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies})
        response = conn.getresponse()
        response.read()
        location = response.getheader("Location") or ""
        if response.status != 302 or "/login" in location:
            raise ServeError(f"POST /login answered {response.status} to {location!r}")
    finally:
        conn.close()


def post_donation(port: int, other: OtherFund) -> None:
    """One donation to the other fund through the JSON API, as a program posts it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    try:
        body = json.dumps({"donor_id": other.donor_id, "date": clock.today().isoformat(),
                           "amount": "100.00"})
        conn.request("POST", f"/api/v1/funds/{OTHER[0]}/donations", body=body, headers={
            "Authorization": f"Bearer {other.token}", "Content-Type": "application/json"})
        response = conn.getresponse()
        answer = response.read()
        if response.status != 201:
            raise ServeError(f"POST donations answered {response.status}: {answer[:200]!r}")
    finally:
        conn.close()


def etag(port: int, path: str) -> str:
    """The ETag of a public page: it changes exactly when the page's public version does
    (webapp.responses), and that version is what the page is kept under."""
    client = Client(port)
    try:
        status, headers, _body = client.get(path)
    finally:
        client.close()
    if status != 200 or "etag" not in headers:
        raise ServeError(f"GET {path} answered {status} without an ETag")
    return headers["etag"]


LOADS = {  # key: label
    "cached": "Public page, cache on",
    "sign-ins": "Public page, cache on, with sign-ins elsewhere",
    "cached+writes": "Public page, cache on, another fund written",
    "uncached": "Public page, cache off (every request renders)",
    "uncached+writes": "Public page, cache off, another fund written",
    "fava": "Fava balance sheet (page + api)",
}


@dataclass
class Load:
    """Sections 4 to 6: every round's wrk runs, and what ran beside them."""

    clients: int
    seconds: float
    sign_in_rate: float
    write_rate: float
    sign_in_user: str
    rounds: list[dict[str, wrk.Run]] = field(default_factory=list)
    besides: list[dict[str, Paced]] = field(default_factory=list)  # per round, as rounds
    kept: list[tuple[bool, bool]] = field(default_factory=list)  # A's ETag same, B's moved

    def runs(self, key: str) -> list[wrk.Run]:
        return [r[key] for r in self.rounds if key in r]

    def paced(self, key: str) -> list[Paced]:
        return [b[key] for b in self.besides if key in b]

    def ratios(self, top: str, bottom: str, *, p95: bool = False) -> list[float]:
        """``top`` over ``bottom`` in each round that has both: views/s, or p95."""
        return [(r[top].p95 / r[bottom].p95) if p95 else (r[top].rate / r[bottom].rate)
                for r in self.rounds if top in r and bottom in r]


class UnderLoad:
    """Sections 4 to 6: every configuration in turn, round after round."""

    def __init__(self, args: argparse.Namespace, servers: Servers, other: OtherFund,
                 failures: list[str]) -> None:
        self.args, self.servers, self.other, self.failures = args, servers, other, failures
        self.load = Load(args.clients, args.seconds, args.sign_ins, args.writes, other.sign_in)
        self.page_path = f"/public/funds/{COUNTY[0]}"
        self.page = [wrk.Step(self.page_path, text=COUNTY[1])]
        prefix = servers.fava_prefix
        self.fava = [wrk.Step(f"{prefix}/balance_sheet/", text=f"{COUNTY[1]}儿童专项基金"),
                     wrk.Step(f"{prefix}/api/balance_sheet", text="Assets:Fund:General")]
        self.beside_now: dict[str, Paced] = {}

    def hammer(self, server: Server, steps: list[wrk.Step], seconds: float) -> wrk.Run:
        """``--clients`` connections asking for ``steps`` (one view) for ``seconds``."""
        clients = self.args.clients
        measured = wrk.run(server.port, steps, view=len(steps), connections=clients,
                           seconds=seconds, timeout=HTTP_TIMEOUT)
        problem = measured.problem()
        if problem:
            raise ServeError(f"{server.name}, {clients} clients: {problem}")
        return measured

    def beside(self, paced: Paced, server: Server) -> wrk.Run:
        """The public page under load while ``paced`` acts on the same server."""
        paced.start()
        try:
            measured = self.hammer(server, self.page, self.args.seconds)
        finally:
            paced.stop()
        problem = paced.problem()
        if problem:
            raise ServeError(f"{paced.name} beside {server.name}: {problem}")
        return measured

    def quiet(self, server: Server) -> wrk.Run:
        return self.hammer(server, self.page, self.args.seconds)

    def signed_in(self, server: Server) -> wrk.Run:
        user = self.other.sign_in
        signer = Paced(f"{user}'s sign-ins", self.args.sign_ins,
                       lambda: sign_in(server.port, user))
        self.beside_now["sign-ins"] = signer
        return self.beside(signer, server)

    def written(self, server: Server, key: str) -> wrk.Run:
        """The page while the other fund gets postings through the same server; the ETags
        of both funds' pages before and after."""
        pages = (self.page_path, f"/public/funds/{OTHER[0]}")
        before = [etag(server.port, path) for path in pages]
        writer = Paced(f"{self.other.writer}'s postings to {OTHER[0]}", self.args.writes,
                       lambda: post_donation(server.port, self.other))
        self.beside_now[key] = writer
        measured = self.beside(writer, server)
        after = [etag(server.port, path) for path in pages]
        self.load.kept.append((before[0] == after[0], before[1] != after[1]))
        return measured

    def plan(self) -> list[tuple[str, Server | None, Callable[[Server], wrk.Run]]]:
        cached, uncached = self.servers.cached, self.servers.uncached
        return [
            ("cached", cached, self.quiet),
            ("sign-ins", cached, self.signed_in),
            ("cached+writes", cached, lambda s: self.written(s, "cached+writes")),
            ("uncached", uncached, self.quiet),
            ("uncached+writes", uncached, lambda s: self.written(s, "uncached+writes")),
            ("fava", self.servers.fava,
             lambda s: self.hammer(s, self.fava, self.args.seconds)),
        ]

    def warm_up(self) -> bool:
        seconds = min(self.args.seconds, 3.0)
        for key, server, _ in self.plan():
            if server is None or key not in ("cached", "uncached", "fava"):
                continue
            _note(f"4. warming up: {LOADS[key]}, {self.args.clients} clients, {seconds:g} s")
            try:
                self.hammer(server, self.fava if key == "fava" else self.page, seconds)
            except (ServeError, RuntimeError) as error:
                self.failures.append(f"load, warm-up, {LOADS[key]}: {error}")
                return False
        return True

    def run(self) -> Load:
        if wrk.find() is None:
            self.failures.append("load: wrk is not installed (apt-get install wrk)")
            return self.load
        if not self.warm_up():
            return self.load
        rounds = self.args.rounds
        for number in range(1, rounds + 1):
            measured: dict[str, wrk.Run] = {}
            self.beside_now = {}
            for key, server, step in self.plan():
                if server is None:
                    continue
                try:
                    got = measured[key] = step(server)
                except (ServeError, RuntimeError, OSError, http.client.HTTPException) as error:
                    self.failures.append(f"load, round {number}, {LOADS[key]}: {error}")
                    _note(f"   FAILED: {error}")
                    continue
                _note(f"4. round {number}/{rounds}, {LOADS[key]}: {got.rate:,.1f} views/s, "
                      f"median {got.median * 1000:.2f} ms, p95 {got.p95 * 1000:.2f} ms, "
                      f"wrk {got.cpu_share:.0%} of a CPU")
            self.load.rounds.append(measured)
            self.load.besides.append(self.beside_now)
        return self.load


# --- Report ----------------------------------------------------------------------------------


Row = tuple[str, str, str, str]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f}"


def _pooled(runs: list[wrk.Run]) -> str:
    """Median / p95 / slowest view (ms) over every round's views."""
    samples = [t for r in runs for t in r.samples]
    if not samples:
        return "-"
    spread = Spread.of(samples)
    return f"{_ms(spread.median)} / {_ms(spread.p95)} / {_ms(max(samples))}"


def _best_worst(runs: list[wrk.Run]) -> str:
    rates = [r.rate for r in runs]
    return f"{max(rates):,.1f} / {min(rates):,.1f}"


def _times(paced: list[Paced]) -> str:
    """Acts per second over all rounds; their median / p95 (ms)."""
    times = [t for p in paced for t in p.times]
    span = sum(p.span for p in paced)
    if not times or not span:
        return "none"
    spread = Spread.of(times)
    return f"{len(times) / span:,.1f}/s; {_ms(spread.median)} / {_ms(spread.p95)}"


def load_rows(load: Load) -> list[Row]:
    """Sections 4 to 6 of the table."""
    if not load.rounds:
        return []
    rows: list[Row] = []
    n, clients = len(load.rounds), load.clients

    def figures(key: str, label: str, unit: str = "requests/s") -> list[Row]:
        runs = load.runs(key)
        if not runs:
            return []
        return [(f"   {label}: {unit}, best / worst round", _best_worst(runs), "", ""),
                (f"   {label.partition(' (')[0]}: median / p95 / slowest (ms), all rounds",
                 _pooled(runs), "", "")]

    def ratio(top: str, bottom: str, label: str, target: float | None = None, *,
              p95: bool = False) -> list[Row]:
        ratios = load.ratios(top, bottom, p95=p95)
        if not ratios:
            return []
        median = statistics.median(ratios)
        worst = max(ratios) if p95 else min(ratios)
        value = f"{median:,.2f}x ({worst:,.2f}x)"
        if target is None:
            return [(f"   {label}: median of rounds (worst)", value, "", "")]
        ok = median <= target if p95 else median >= target
        return [(f"   {label}: median of rounds (worst)", value,
                 f"{'<=' if p95 else '>='} {target:g}x", _verdict(ok))]

    rows.append((f"4. {clients} clients (wrk), {n} rounds of {load.seconds:g} s, interleaved",
                 "", "", ""))
    rows += figures("cached", "Public page, cache on")
    rows += figures("uncached", "Cache off (renders every request)")
    rows += figures("fava", "Fava balance sheet (page + api)", "views/s")
    rows += ratio("uncached", "fava", f"Cache off / Fava, {clients} clients",
                  TARGET_LOAD_UNCACHED)
    rows += ratio("cached", "fava", f"Cache on / Fava, {clients} clients", TARGET_LOAD_CACHED)
    every = [r for measured in load.rounds for r in measured.values()]
    rows.append(("   wrk's own CPU, the most in one run (of one CPU)",
                 f"{max(r.cpu_share for r in every):.0%}", "", ""))

    if load.runs("sign-ins"):
        rows.append((f"5. Cache on, {clients} clients, {load.sign_in_user} ({OTHER[0]}) signing "
                     f"in {load.sign_in_rate:g}/s", "", "", ""))
        rows += figures("sign-ins", "Cache on, with sign-ins")
        rows.append(("   Sign-ins (GET + POST /login): per s; median / p95 (ms)",
                     _times(load.paced("sign-ins")), "", ""))
        rows += ratio("sign-ins", "cached", "p95 / the same round's quiet p95",
                      TARGET_SIGN_IN_P95, p95=True)

    if load.runs("cached+writes") or load.runs("uncached+writes"):
        rows.append((f"6. {clients} clients, {OTHER[0]} getting {load.write_rate:g} postings/s "
                     "through the API", "", "", ""))
        for key, quiet, label in (("cached+writes", "cached", "Cache on"),
                                  ("uncached+writes", "uncached", "Cache off")):
            rows += figures(key, f"{label}, {OTHER[0]} written")
            rows += ratio(key, quiet, f"{label}: requests/s / the same round's quiet")
        rows.append((f"   Postings (API, {OTHER[0]} donations): per s; median / p95 (ms)",
                     _times(load.paced("cached+writes") + load.paced("uncached+writes")),
                     "", ""))
        same = sum(a for a, _ in load.kept)
        moved = sum(b for _, b in load.kept)
        phases = len(load.kept)
        rows.append((f"   {COUNTY[0]}'s ETag unchanged / {OTHER[0]}'s changed, of write phases",
                     f"{same} / {moved} of {phases}", f"{COUNTY[0]} page kept",
                     _verdict(phases > 0 and same == moved == phases)))
    return rows


def load_notes(load: Load) -> list[str]:
    """What the load sections' figures rest on, printed under the tables."""
    notes = [
        f"Servers: {gunicorn_settings()}; Fava {_fava_version()} (fava FILE). Rate limits "
        "off on both gunicorns (SPECIALFUND_RATE_LIMITS=0): one address far over the "
        "limits' 30 sign-ins and 120 public pages a minute.",
        f"Load: wrk, {load.clients} connections (a thread each), every answer checked; a view "
        "is one request, or Fava's page then its api data; views/s counts each "
        "connection's views over its own span.",
    ]
    if load.runs("sign-ins"):
        notes.append(f"Sign-ins: {load.sign_in_user} of {OTHER[0]}, started {load.sign_in_rate:g} "
                     "a second whether or not earlier ones finished; GET /login, then POST "
                     "/login with its CSRF token and cookie, answered 302 (not followed).")
    if load.kept:
        notes.append(f"Writes: donations to {OTHER[0]} through the server measured, started "
                     f"{load.write_rate:g} a second; the ETags are read before and after each "
                     "phase (the ETag changes exactly when the page's public version, the key "
                     "of the kept page, does).")
    return notes


def round_rows(load: Load) -> list[tuple[str, ...]]:
    """Every wrk run, round by round, for the second table."""
    rows: list[tuple[str, ...]] = [
        ("Round", "Configuration", "Views/s", "Median ms", "p95 ms", "Slowest ms", "wrk CPU",
         "Beside it")]
    for number, (measured, besides) in enumerate(
            zip(load.rounds, load.besides, strict=True), start=1):
        for key, got in measured.items():
            paced = besides.get(key)
            what = "sign-ins" if key == "sign-ins" else "postings"
            rows.append((str(number), LOADS[key], f"{got.rate:,.1f}", _ms(got.median),
                         _ms(got.p95), _ms(got.worst), f"{got.cpu_share:.0%}",
                         f"{paced.rate:,.1f} {what}/s" if paced else ""))
    return rows


def print_columns(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
              .rstrip())
        if i == 0:
            print("  ".join("-" * width for width in widths))


def _fava_version() -> str:
    from importlib.metadata import version

    return version("fava")


@dataclass
class Results:
    entries: int
    projects: int
    public: HttpRun | None = None
    uncached: HttpRun | None = None  # the public page with the page cache off
    fava: HttpRun | None = None
    fava_load: float = 0.0  # seconds from starting Fava to its first answer
    export: float = 0.0
    pdf: float | None = None
    pdf_bytes: int = 0
    pdf_year: int = 0
    contention: str = "unknown"
    load: Load | None = None  # sections 4 to 6
    failures: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, str, str, str]]:
        rows: list[tuple[str, str, str, str]] = [
            ("   County fund: entries, projects", f"{self.entries:,}, {self.projects:,}", "", "")]
        pub, fava = self.public, self.fava
        if pub is not None:
            spread = pub.spread
            rows += [
                (f"1. Public fund page, {spread.count} requests, median / p95 (ms)", spread.ms(),
                 f"p95 <= {TARGET_P95_MS:.0f} ms",
                 _verdict(spread.p95 * 1000 <= TARGET_P95_MS)),
                ("   Public fund page (requests/s, one client)", f"{pub.rate:,.1f}", "", ""),
                ("   First request of the warm-up (ms)", f"{pub.first * 1000:,.0f}", "", ""),
                ("   Page size (KiB), TCP connections opened",
                 f"{pub.sizes[0] / 1024:,.0f}, {pub.connections}", "", ""),
            ]
        if self.uncached is not None:
            rows.append(("   The same, page cache off (every request renders), median / p95 (ms)",
                         self.uncached.spread.ms(), "", ""))
            rows.append(("   The same, page cache off (requests/s, one client)",
                         f"{self.uncached.rate:,.1f}", "", ""))
        if fava is not None:
            spread = fava.spread
            shell, data = (Spread.of(part) for part in fava.parts)
            rows += [
                (f"2. Fava balance sheet, {spread.count} views, median / p95 (ms)",
                 spread.ms(), "", ""),
                ("   of which the page / its data (api), median (ms)",
                 f"{shell.median * 1000:.2f} / {data.median * 1000:.2f}", "", ""),
                ("   Fava balance sheet (views/s, one client)", f"{fava.rate:,.1f}", "", ""),
                ("   Fava start to first answer / first view (s)",
                 f"{self.fava_load:.1f} / {fava.first:.2f}", "", ""),
                ("   Page / data size (KiB), TCP connections opened",
                 f"{fava.sizes[0] / 1024:,.0f} / {fava.sizes[1] / 1024:,.0f}, "
                 f"{fava.connections}", "", ""),
            ]
        if pub is not None and fava is not None:
            ratio = pub.rate / fava.rate
            rows.append(("   Public page requests/s over Fava views/s", f"{ratio:,.2f}x",
                         f">= {TARGET_RATIO:.0f}x", _verdict(ratio >= TARGET_RATIO)))
        rows.append(("   Export with write_ledger (s)", f"{self.export:.2f}", "", ""))
        if self.pdf is not None:
            rows.append((f"3. Annual report {self.pdf_year} PDF (s, KiB)",
                         f"{self.pdf:.2f}, {self.pdf_bytes / 1024:,.0f}",
                         f"<= {TARGET_PDF_S:.0f} s", _verdict(self.pdf <= TARGET_PDF_S)))
        if self.load is not None:
            rows += load_rows(self.load)
        rows.append(("   Meanwhile: CPU stolen, CPUs used by others", self.contention, "", ""))
        return rows

    def print_table(self) -> None:
        print_table(self.rows())
        if self.load is not None and self.load.rounds:
            print()
            print_columns(round_rows(self.load))
            print()
            for note in load_notes(self.load):
                print(note)


# --- Main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.public_bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000, metavar="N",
                        help="ledger entries of the county fund (default 100000)")
    parser.add_argument("--projects", type=int, default=10_000, metavar="P",
                        help="projects of the county fund, all approved (default 10000)")
    parser.add_argument("--requests", type=int, default=500, metavar="R",
                        help="timed requests of the public fund page (default 500)")
    parser.add_argument("--fava-requests", type=int, default=50, metavar="F",
                        help="timed requests of Fava's balance sheet (default 50)")
    parser.add_argument("--max-seconds", type=float, default=300.0, metavar="S",
                        help="stop a series of timed requests after this long (default 300)")
    parser.add_argument("--clients", type=int, default=8, metavar="C",
                        help="concurrent clients (wrk connections) of sections 4-6 (default 8)")
    parser.add_argument("--rounds", type=int, default=3, metavar="K",
                        help="rounds of sections 4-6, each running every configuration "
                             "(default 3)")
    parser.add_argument("--seconds", type=float, default=10.0, metavar="S",
                        help="length of one configuration's run in a round (default 10)")
    parser.add_argument("--sign-ins", type=float, default=10.0, metavar="RATE",
                        help="sign-ins a second to the other fund in section 5 (default 10)")
    parser.add_argument("--writes", type=float, default=5.0, metavar="RATE",
                        help="postings a second to the other fund in section 6 (default 5)")
    parser.add_argument("--no-load", action="store_true",
                        help="skip sections 4-6 (and leave the database without the other "
                             "fund)")
    parser.add_argument("--years", type=int, default=3, metavar="Y",
                        help="full years of history before this year (default 3)")
    parser.add_argument("--database-url", metavar="URL",
                        help="a new SQLite file or an empty PostgreSQL database, kept "
                             "afterwards (default: SQLite in a temporary directory)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the history")
    parser.add_argument("--profile", metavar="FILE",
                        help="also profile one public page request in process (the Flask "
                             "test client) and write the cProfile stats to FILE")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the database of an earlier run (--database-url, or the "
                             "bench.db that --keep left) instead of building one")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database, the export and the server logs")
    args = parser.parse_args(argv)
    if args.requests < 20 or args.fava_requests < 5:
        parser.error("--requests must be at least 20 and --fava-requests at least 5")
    if args.projects < 1 or args.years < 1:
        parser.error("--projects and --years must be at least 1")
    if args.clients < 1 or args.rounds < 1 or args.seconds < 1:
        parser.error("--clients, --rounds and --seconds must be at least 1")
    if args.sign_ins <= 0 or args.writes <= 0:
        parser.error("--sign-ins and --writes must be above 0")
    return args


def prepare_database(url: str | None, workdir: Path, *, reuse: bool) -> str:
    if url is None:
        if reuse:
            raise SystemExit("--reuse needs --database-url.")
        return f"sqlite:///{workdir / 'bench.db'}"
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise SystemExit("The benchmark needs a SQLite file (sqlite:///path): the servers "
                             "run in other processes.")
        if Path(parsed.database).exists() != reuse:
            raise SystemExit(f"{parsed.database} exists; the benchmark needs a new file."
                             if not reuse else f"{parsed.database} does not exist.")
    return url


def count_entries(url: str) -> tuple[int, int]:
    """The county fund's entries and projects in an existing benchmark database."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            fund = find_fund(session, COUNTY[0])
            projects = session.execute(select(func.count()).select_from(Project).where(
                Project.fund_id == fund.id)).scalar_one()
            return fund.entry_count, projects
    finally:
        engine.dispose()


def build(url: str, args: argparse.Namespace, first: dt.date, last: dt.date) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine, SCRIPT_LOCATION)
        factory = make_session_factory(engine)
        with factory() as session:
            if session.execute(select(Fund.id).limit(1)).first():
                raise SystemExit("The database already holds funds; the benchmark needs an "
                                 "empty one.")
        history = FundHistory(entries=args.entries, projects=args.projects, first=first,
                              last=last, seed=args.seed)
        _note(f"building {COUNTY[1]} ({COUNTY[0]}): {args.entries:,} entries, "
              f"{args.projects:,} projects, {first} to {last}")
        history.run(factory)
        with factory() as session:
            fund = find_fund(session, COUNTY[0])
            count = fund.entry_count
        _note("   mix: " + ", ".join(f"{k} {v:,}" for k, v in
                                     sorted(history.kinds.items(), key=lambda kv: -kv[1])))
        if count != args.entries:
            raise SystemExit(f"the fund holds {count:,} entries, not {args.entries:,}")
    finally:
        engine.dispose()  # on SQLite, checkpoints the WAL into the main file


def export(url: str, path: Path, moment: dt.datetime) -> float:
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        with clock.frozen_at(moment), factory() as session, path.open("w",
                                                                       encoding="utf-8") as out:
            start = time.perf_counter()
            write_ledger(session, find_fund(session, COUNTY[0]), out)
            return time.perf_counter() - start
    finally:
        engine.dispose()


def public_env(url: str, workdir: Path, keys: tuple[str, str, str], *,
               page_cache: bool) -> dict[str, str]:
    secret, data_key, hash_key = keys
    instance = workdir / "instance"
    instance.mkdir(exist_ok=True)
    return server_env({
        "DATABASE_URL": url, "SESSION_COOKIE_SECURE": "0", "SECRET_KEY": secret,
        "SPECIALFUND_DATA_KEY": data_key, "SPECIALFUND_HASH_KEY": hash_key,
        "SPECIALFUND_INSTANCE": str(instance),
        # Off, not raised: one address makes every request here, far over the public
        # pages' 120 and the sign-ins' 30 a minute (webapp.limits); the app is unchanged.
        "SPECIALFUND_RATE_LIMITS": "0",
        **({} if page_cache else {"SPECIALFUND_PUBLIC_PAGE_CACHE": "0"})})


@dataclass
class Servers:
    """The servers that started and answer; None for one that did not."""

    cached: Server | None = None
    uncached: Server | None = None
    fava: Server | None = None
    fava_prefix: str = ""


def start_servers(url: str, ledger: Path, workdir: Path, stack: ExitStack,
                  results: Results) -> Servers:
    """Both gunicorns and Fava, side by side, each until ``stack`` closes."""
    servers = Servers()
    keys = (secrets.token_hex(32), *generate_keys())
    for page_cache in (True, False):
        port = free_port()
        cache = "on" if page_cache else "off"
        _note(f"gunicorn on 127.0.0.1:{port}, page cache {cache}: {gunicorn_settings()}")
        server = stack.enter_context(started(
            f"gunicorn, page cache {cache}", gunicorn_command(port, workdir),
            public_env(url, workdir, keys, page_cache=page_cache),
            workdir / f"gunicorn-cache-{cache}.log", port))
        try:
            server.wait_ready(120)
        except ServeError as error:
            results.failures.append(f"public, page cache {cache}: {error}")
            _note(f"   FAILED: {error}")
            continue
        if page_cache:
            servers.cached = server
        else:
            servers.uncached = server
    port = free_port()
    _note(f"Fava on 127.0.0.1:{port}, loading {ledger.name}")
    server = stack.enter_context(started(
        "fava", [venv_tool("fava"), "--host", "127.0.0.1", "--port", str(port), str(ledger)],
        server_env({}), workdir / "fava.log", port))
    start = time.perf_counter()
    client = Client(port)
    try:
        server.wait_ready(600)
        servers.fava_prefix = fava_prefix(client)
        results.fava_load = time.perf_counter() - start
        servers.fava = server
    except (ServeError, OSError, http.client.HTTPException) as error:
        results.failures.append(f"fava: {error}")
        _note(f"   FAILED: {error}")
    finally:
        client.close()
    return servers


def public_view() -> list[tuple[str, list[bytes]]]:
    return [(f"/public/funds/{COUNTY[0]}", [COUNTY[1].encode()])]


def fava_view(prefix: str) -> list[tuple[str, list[bytes]]]:
    # Fava 1.30 renders the balance sheet in the browser: the page is the app's shell,
    # and its script then loads the figures from the JSON API.
    return [(f"{prefix}/balance_sheet/", [f"{COUNTY[1]}儿童专项基金".encode()]),
            (f"{prefix}/api/balance_sheet", [b"Assets:Fund:General"])]


def one_client(args: argparse.Namespace, servers: Servers, results: Results) -> None:
    """Sections 1 and 2: one client, one request after another."""
    runs: list[tuple[str, Server | None, list[tuple[str, list[bytes]]], int, int]] = [
        ("public", servers.cached, public_view(), args.requests, WARMUP),
        ("public, no page cache", servers.uncached, public_view(), args.requests, WARMUP),
        ("fava", servers.fava, fava_view(servers.fava_prefix), args.fava_requests, 3)]
    for name, server, view, count, warmup in runs:
        if server is None:
            continue
        _note(f"{'2' if name == 'fava' else '1'}. one client, {name}: {count} views")
        client = Client(server.port)
        try:
            measured = measure(client, view, count=count, warmup=warmup,
                               max_seconds=args.max_seconds)
        except (ServeError, OSError, http.client.HTTPException) as error:
            results.failures.append(f"{name}: {error}")
            _note(f"   FAILED: {error}")
            continue
        finally:
            client.close()
        if name == "fava":
            results.fava = measured
        elif name == "public":
            results.public = measured
        else:
            results.uncached = measured


def run(args: argparse.Namespace, workdir: Path) -> Results:
    results = Results(args.entries, args.projects)
    now = clock.now()
    last = now.date() - dt.timedelta(days=1)
    first = dt.date(now.year - args.years, 1, 1)
    url = prepare_database(args.database_url, workdir, reuse=args.reuse)
    _note(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"{os.cpu_count()} CPUs, {platform.platform()}; {revision()}")
    if args.reuse:
        results.entries, results.projects = count_entries(url)
        _note(f"reusing {url}: {results.entries:,} entries, {results.projects:,} projects")
    else:
        build(url, args, first, last)
    ledger = workdir / f"{COUNTY[0]}.beancount"
    results.export = export(url, ledger, now)
    other = None
    if not args.no_load:
        other = other_fund(url)
        _note(f"the other fund {OTHER[0]}: user {other.sign_in} signs in, {other.writer} posts "
              f"donations from donor {other.donor_id} through a new API token")

    cpu = CpuClock.read()
    with ExitStack() as stack:
        servers = start_servers(url, ledger, workdir, stack, results)
        one_client(args, servers, results)
        if other is not None:
            results.load = UnderLoad(args, servers, other, results.failures).run()
    _note(f"3. annual report {now.year - 1} PDF")
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            user = session.execute(select(User).where(User.username == "yjq_fin1")
                                   ).scalar_one()
            actor = user.actor()
        with clock.frozen_at(now):
            results.pdf, results.pdf_bytes = time_pdf(factory, actor, now.year - 1)
        results.pdf_year = now.year - 1
    except Exception as error:  # reported in the table's place
        results.failures.append(f"pdf: {error!r}")
    finally:
        engine.dispose()
    results.contention = CpuClock.read().since(cpu)

    if args.profile:
        _note(f"profiling one public page request into {args.profile}")
        print(profile_request(url, workdir / "instance", f"/public/funds/{COUNTY[0]}",
                              Path(args.profile)), file=sys.stderr)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="sf_public_bench-"))
    try:
        results = run(args, workdir)
    finally:
        if args.keep:
            _note(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    results.print_table()
    for failure in results.failures:
        print(f"FAILED {failure}")
    return 1 if results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
