"""Public disclosure benchmark: the public fund page served by the app beside Fava's
balance sheet of the same books, and the time to make the fund's annual report PDF.

    python -m bench.public_bench                    # 100,000 entries, 10,000 projects, SQLite
    python -m bench.public_bench --entries 20000 --projects 2000 --requests 200

The benchmark builds one county fund (雁江区, under the city fund 资阳市本级) with N
ledger entries and P projects, everything through the real code paths with the
clock pinned to each day in turn: four users (civil affairs, charity office, two
finance), the treasury's seed money and yearly top-ups, donations with their
receipts (``ledger.donations.record_donation``), allocations, interest, bank fees;
every project drafted, submitted, checked and approved (its commitment entry; two
finance approvals above the fund's threshold), and about half of them with their
first tranche requested, approved and paid (a disbursement entry). One database
transaction holds a day's work; the data builder's speed is not measured.

Then, each server in its own process on loopback and the benchmark as the client:

1. the app under gunicorn (2 sync workers, as ``docs/operations.md`` runs it) on the
   same database; ``GET /public/funds/<code>`` with ``http.client`` (keep-alive, but
   gunicorn's sync workers close the connection after each answer, so the client
   reconnects), a warm-up and then ``--requests`` requests one after another: median
   and 95th percentile latency (request sent to body read) and requests per second.
   Every answer must be 200 and name the fund. Measured twice: as configured (a page is
   rendered once and kept until the books change, ``webapp.public.page_cache``), then
   with the page cache off (``SPECIALFUND_PUBLIC_PAGE_CACHE=0``, every request renders
   the page from the database: what the first view after any change costs);
2. the fund exported with ``write_ledger`` and opened in Fava (``fava FILE``, its own
   server); its balance sheet as a browser gets it, ``--fava-requests`` times after a
   warm-up, measured the same way. Fava 1.30 draws its reports in the browser, so one
   view is two requests: the page (``/<slug>/balance_sheet/``, the slug found by
   following the redirect of ``/``) and then its figures (``/<slug>/api/balance_sheet``).
   The target compares the public page's requests per second with Fava's views per
   second;
3. the fund's annual report for the last full year (a draft with a short narrative),
   ``reports.annual.annual_pdf`` timed in this process.

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
import os
import platform
import pstats
import random
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import func, make_url, select
from sqlalchemy.orm import Session, sessionmaker

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
from ledger.journal import find_fund
from ledger.models import Fund
from migrations import SCRIPT_LOCATION
from people.models import User
from people.users import add_user

ROOT = Path(__file__).resolve().parent.parent
CITY = ("ZYS", "资阳市本级", "Ziyang City")
COUNTY = ("YJQ", "雁江区", "Yanjiang District")
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
    return {**os.environ, "PYTHONPATH": path, **extra}


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


# --- Report ----------------------------------------------------------------------------------


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
        rows.append(("   Meanwhile: CPU stolen, CPUs used by others", self.contention, "", ""))
        return rows

    def print_table(self) -> None:
        print_table(self.rows())


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


def serve_public(args: argparse.Namespace, url: str, workdir: Path, *,
                 page_cache: bool) -> HttpRun:
    data_key, hash_key = generate_keys()
    instance = workdir / "instance"
    instance.mkdir(exist_ok=True)
    env = server_env({
        "DATABASE_URL": url, "SESSION_COOKIE_SECURE": "0", "SECRET_KEY": secrets.token_hex(32),
        "SPECIALFUND_DATA_KEY": data_key, "SPECIALFUND_HASH_KEY": hash_key,
        "SPECIALFUND_INSTANCE": str(instance),
        "SPECIALFUND_RATE_LIMITS": "0",  # one client measures throughput, not the limits
        **({} if page_cache else {"SPECIALFUND_PUBLIC_PAGE_CACHE": "0"})})
    port = free_port()
    command = [venv_tool("gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
               "--chdir", str(ROOT), "--timeout", "300", "webapp:create_app()"]
    cache = "on" if page_cache else "off"
    _note(f"1. gunicorn, 2 workers, on 127.0.0.1:{port}, page cache {cache}")
    with started("gunicorn", command, env, workdir / "gunicorn.log", port) as server:
        server.wait_ready(120)
        client = Client(port)
        try:
            return measure(client, [(f"/public/funds/{COUNTY[0]}", [COUNTY[1].encode()])],
                           count=args.requests, warmup=WARMUP, max_seconds=args.max_seconds)
        finally:
            client.close()


def serve_fava(args: argparse.Namespace, ledger: Path, workdir: Path,
               results: Results) -> None:
    port = free_port()
    command = [venv_tool("fava"), "--host", "127.0.0.1", "--port", str(port), str(ledger)]
    _note(f"2. Fava on 127.0.0.1:{port}, loading {ledger.name}")
    with started("fava", command, server_env({}), workdir / "fava.log", port) as server:
        start = time.perf_counter()
        server.wait_ready(600)
        client = Client(port)
        try:
            prefix = fava_prefix(client)
            results.fava_load = time.perf_counter() - start
            # Fava 1.30 renders the balance sheet in the browser: the page is the app's
            # shell, and its script then loads the figures from the JSON API.
            view = [(f"{prefix}/balance_sheet/", [f"{COUNTY[1]}儿童专项基金".encode()]),
                    (f"{prefix}/api/balance_sheet", [b"Assets:Fund:General"])]
            results.fava = measure(client, view, count=args.fava_requests, warmup=3,
                                   max_seconds=args.max_seconds)
        finally:
            client.close()


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

    cpu = CpuClock.read()
    def public(page_cache: bool) -> Callable[[], None]:
        def serve() -> None:
            run = serve_public(args, url, workdir, page_cache=page_cache)
            if page_cache:
                results.public = run
            else:
                results.uncached = run
        return serve

    for name, serve in (("public", public(True)), ("public, no page cache", public(False)),
                        ("fava", lambda: serve_fava(args, ledger, workdir, results))):
        try:
            serve()
        except (ServeError, OSError, http.client.HTTPException) as error:
            results.failures.append(f"{name}: {error}")
            _note(f"   FAILED: {error}")

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
