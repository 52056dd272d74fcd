"""Ledger benchmark: durable posting rate, posting cost as the journal grows,
balance read latency, and ``ledger verify`` beside plain ``bean-check``.

    python -m bench.ledger_bench                        # 100,000 entries, temporary SQLite
    python -m bench.ledger_bench --entries 20000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Every entry goes through the real posting functions of ``ledger.events`` into one
fund, each in its own committed transaction, dated over a few years in order, with
the clock pinned to the day after the last date. On PostgreSQL the URL is only used
to connect: the benchmark creates fresh databases (``--pg-database``, whose name
must start with ``sf_bench``, and a copy of it) and drops them at the end unless
``--keep`` is given.

The figures, numbered as in the printed table:

1. post N entries, one committed transaction each: entries per second over the run;
2. the cost of one posting at 1,000 entries and at N entries: the database is
   copied when the fund holds 1,000 entries; after the run, S entries are posted
   into that copy and S into the N-entry database, alternating in blocks of 10 so
   both samples see the same machine conditions (measured last, after 3 and 4);
3. read balances at N entries: ``balance()`` and ``available()``, each read timed;
4. export the fund with ``write_ledger``, then time ``bean-check`` on that file (cold:
   no pickle cache) and ``verify_fund`` on the same fund, K times each, alternating;
   the median of each and their ratio.

The figures are printed as a table against their targets (PASS or MISS). The
exit status is 1 only when the books fail to verify or bean-check reports
errors; a missed timing target is reported, not raised.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import math
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from core import clock
from core.actors import Actor
from core.db import make_engine, make_session_factory, transaction
from core.migrate import upgrade
from ledger import events
from ledger.balances import available, balance
from ledger.beancount_io import write_ledger
from ledger.chart import load_chart
from ledger.funds import accounts_of, add_fund
from ledger.journal import find_fund
from ledger.verify import verify_fund
from migrations import SCRIPT_LOCATION

ROOT = Path(__file__).resolve().parent.parent
FUND = "BENCH"
ACTOR = Actor("bench", "finance")
OPENED = dt.date(2022, 1, 1)
LAST_DAY = dt.date(2025, 12, 31)
# The day after the last posting date, mid-morning in China: nothing is in the future.
PINNED = dt.datetime.combine(LAST_DAY + dt.timedelta(days=1), dt.time(10),
                             tzinfo=clock.CST)
EARLY = 1_000  # the fund size of the first posting-cost sample
PG_NAME = re.compile(r"^sf_bench[a-z0-9_]{0,40}$")

TARGET_RATE = 300.0  # durable postings per second, on SQLite
TARGET_GROWTH = 1.5  # posting cost at N entries over the cost at 1,000 entries
TARGET_READ_MS = 2.0  # one balance read, 95th percentile
TARGET_VERIFY = 1.0  # verify_fund time over bean-check time

Step = Callable[[Session], object]


def _yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


# --- The workload --------------------------------------------------------------------------


@dataclass
class _Grant:
    ref: str
    purpose: str
    owed: int  # fen committed and not yet paid or released


class Workload:
    """A legal, chronological stream of fund events, the same for the same seed.

    It keeps its own model of the fund's money in fen, so every event it proposes
    passes the journal's rules: no fund account and no purpose's available money
    goes below zero, and no project pays or releases more than it committed. An
    event that the model says cannot happen now becomes a donation instead.
    """

    MIX = (  # event and relative weight
        ("donation", 36), ("allocation", 10), ("commitment", 10), ("disbursement", 22),
        ("release", 3), ("interest", 5), ("bank-fee", 8), ("reversal", 0.2),
    )

    def __init__(self, *, total: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.total = total  # entries this workload will be asked for, to spread the dates
        self.span = (LAST_DAY - OPENED).days + 1
        self.count = 0
        self.general = 0
        self.purposes = [p.key for p in load_chart().purposes]
        self.cash = dict.fromkeys(self.purposes, 0)
        self.owed = dict.fromkeys(self.purposes, 0)
        self.grants: list[_Grant] = []
        self.receipts = 0
        self.reversible: tuple[int, int] | None = None  # (seq, fen) of a general donation
        self.kinds: Counter[str] = Counter()

    def date_of(self, count: int) -> dt.date:
        """The date of the ``count``-th entry (from 0): evenly over the years."""
        return OPENED + dt.timedelta(days=count * self.span // self.total)

    def next(self) -> Step:
        """The next event, already applied to the model; call it to post it."""
        date = self.date_of(self.count)
        self.count += 1
        if self.count == 1:
            self.kinds["seed"] += 1
            return self._seed(date)
        kind = self.rng.choices([k for k, _ in self.MIX], [w for _, w in self.MIX])[0]
        builders: dict[str, Callable[[dt.date], Step | None]] = {
            "donation": self._donation, "allocation": self._allocation,
            "commitment": self._commitment, "disbursement": self._disbursement,
            "release": self._release, "interest": self._interest,
            "bank-fee": self._bank_fee, "reversal": self._reversal,
        }
        step = builders[kind](date)
        if step is None:
            kind, step = "donation", self._donation(date)
        self.kinds[kind] += 1
        return step

    def _seed(self, date: dt.date) -> Step:
        fen = 5_000_000_00
        self.general += fen
        return lambda s: events.post_seed(s, ACTOR, FUND, date=date, amount=_yuan(fen),
                                          doc_no="资财社〔2022〕8号")

    def _donation(self, date: dt.date) -> Step:
        rng = self.rng
        self.receipts += 1
        receipt = f"BR-{self.receipts:07d}"
        enterprise = rng.random() < 0.4
        fen = rng.randint(5_000, 200_000) * 100 if enterprise else rng.randint(20, 1_000) * 500
        purpose = rng.choice(self.purposes) if rng.random() < 0.5 else None
        anonymous = rng.random() < 0.1
        if purpose is None:
            self.general += fen
        else:
            self.cash[purpose] += fen

        def post(session: Session) -> None:
            posted = events.post_donation(
                session, ACTOR, FUND, date=date, amount=_yuan(fen),
                donor="资阳市爱心企业联合会" if enterprise else "王秀英",
                donor_type="enterprise" if enterprise else "individual",
                receipt_no=receipt, purpose=purpose, anonymous=anonymous)
            if purpose is None:
                self.reversible = (posted.seq, fen)

        return post

    def _reversal(self, date: dt.date) -> Step | None:
        if self.reversible is None or self.general < self.reversible[1]:
            return None
        seq, fen = self.reversible
        self.reversible = None
        self.general -= fen
        return lambda s: events.post_reversal(s, ACTOR, FUND, seq=seq, date=date,
                                              reason="重复录入，冲销")

    def _allocation(self, date: dt.date) -> Step | None:
        fen = self.general * self.rng.randint(10, 40) // 100 // 100 * 100
        if fen < 1_000_00:
            return None
        purpose = self.rng.choice(self.purposes)
        self.general -= fen
        self.cash[purpose] += fen
        return lambda s: events.post_allocation(s, ACTOR, FUND, date=date, amount=_yuan(fen),
                                                purpose=purpose, doc_no="资慈基〔2024〕7号")

    def _commitment(self, date: dt.date) -> Step | None:
        purpose = self.rng.choice(self.purposes)
        room = self.cash[purpose] - self.owed[purpose]
        fen = min(room * self.rng.randint(20, 50) // 100 // 100 * 100, 5_000_000_00)
        if fen < 1_000_00:
            return None
        grant = _Grant(f"BG-{self.count:07d}", purpose, fen)
        self.grants.append(grant)
        self.owed[purpose] += fen
        return lambda s: events.post_commitment(s, ACTOR, FUND, date=date, amount=_yuan(fen),
                                                grant=grant.ref, purpose=purpose,
                                                payee="项目实施单位")

    def _disbursement(self, date: dt.date) -> Step | None:
        if not self.grants:
            return None
        grant = self.grants[0]  # the oldest project is paid first
        if grant.owed < 20_000_00 or self.rng.random() < 0.4:
            fen = grant.owed
        else:
            fen = grant.owed * self.rng.randint(30, 70) // 100
        grant.owed -= fen
        self.owed[grant.purpose] -= fen
        self.cash[grant.purpose] -= fen
        if not grant.owed:
            self.grants.pop(0)
        bank_ref = f"ZF{self.count:07d}"
        return lambda s: events.post_disbursement(s, ACTOR, FUND, date=date, amount=_yuan(fen),
                                                  grant=grant.ref, bank_ref=bank_ref,
                                                  payee="项目实施单位")

    def _release(self, date: dt.date) -> Step | None:
        if not self.grants:
            return None
        grant = self.grants.pop(self.rng.randrange(len(self.grants)))
        self.owed[grant.purpose] -= grant.owed
        fen = grant.owed
        return lambda s: events.post_release(s, ACTOR, FUND, date=date, amount=_yuan(fen),
                                             grant=grant.ref, reason="项目终止，释放未拨付承诺")

    def _interest(self, date: dt.date) -> Step:
        fen = self.rng.randint(1_00, 500_00)
        self.general += fen
        return lambda s: events.post_interest(s, ACTOR, FUND, date=date, amount=_yuan(fen),
                                              bank_ref=f"LX{date:%Y%m%d}")

    def _bank_fee(self, date: dt.date) -> Step | None:
        fen = self.rng.choice((5_00, 10_00, 15_50))
        if self.general < fen:
            return None
        self.general -= fen
        return lambda s: events.post_bank_fee(s, ACTOR, FUND, date=date, amount=_yuan(fen),
                                              bank_ref=f"SXF{date:%Y%m%d}")


# --- Measuring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """Median and 95th percentile (nearest rank) of timings, in seconds."""

    median: float
    p95: float
    count: int

    @classmethod
    def of(cls, seconds: list[float]) -> Spread:
        ordered = sorted(seconds)
        return cls(statistics.median(ordered), ordered[math.ceil(0.95 * len(ordered)) - 1],
                   len(ordered))

    def ms(self) -> str:
        return f"{self.median * 1000:.2f} / {self.p95 * 1000:.2f}"


@dataclass(frozen=True)
class CpuClock:
    """The machine's CPU counters (Linux ``/proc/stat``; empty elsewhere), this
    process's CPU time and the wall clock, read together."""

    ticks: tuple[int, ...]
    ours: float
    wall: float

    @classmethod
    def read(cls, also: float = 0.0) -> CpuClock:
        """Read the counters now. ``also``: the CPU seconds other processes have spent so
        far that count as this one's (a server the benchmark started, its database
        connections), so that they are not counted among the others."""
        try:
            line = Path("/proc/stat").read_text().split("\n", 1)[0]
            ticks = tuple(int(v) for v in line.split()[1:9])
        except (OSError, ValueError):
            ticks = ()
        return cls(ticks, time.process_time() + also, time.perf_counter())

    def shares(self, before: CpuClock) -> tuple[float, float, float] | None:
        """Since ``before``: the share of CPU time stolen, the CPUs this process (and what
        ``also`` counted) kept busy, and the CPUs other processes kept busy; None where
        ``/proc/stat`` cannot be read."""
        if len(before.ticks) < 8 or len(self.ticks) < 8:
            return None
        spent = [a - b for a, b in zip(self.ticks, before.ticks, strict=True)]
        user, nice, system, _idle, _iowait, irq, softirq, steal = spent
        busy = (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")
        wall = self.wall - before.wall
        ours = self.ours - before.ours
        return steal / (sum(spent) or 1), ours / wall, max(busy - ours, 0.0) / wall

    def since(self, before: CpuClock) -> str:
        """What else the machine did meanwhile: CPU time the hypervisor gave to other
        guests, and CPUs kept busy by other processes (a database server included)."""
        shares = self.shares(before)
        if shares is None:
            return "unknown"
        stolen, _ours, others = shares
        return f"{stolen:.0%} stolen, others {others:.1f}/{os.cpu_count()}"


def post_one(factory: sessionmaker[Session], workload: Workload) -> float:
    """Post the workload's next entry in its own committed transaction; its time."""
    step = workload.next()
    start = time.perf_counter()
    with transaction(factory) as session:
        step(session)
    return time.perf_counter() - start


def post_many(factory: sessionmaker[Session], workload: Workload, count: int, *,
              goal: int) -> float:
    """Post ``count`` entries, one committed transaction each, noting progress
    towards ``goal`` entries; the elapsed time."""
    every = max(goal // 10, 1)
    first = workload.count
    start = time.perf_counter()
    for _ in range(count):
        post_one(factory, workload)
        if workload.count % every == 0:
            rate = (workload.count - first) / (time.perf_counter() - start)
            _note(f"  posted {workload.count:,} of {goal:,} entries ({rate:,.0f}/s)")
    return time.perf_counter() - start


def paired_costs(first: tuple[sessionmaker[Session], Workload],
                 second: tuple[sessionmaker[Session], Workload],
                 count: int, block: int = 10) -> tuple[list[float], list[float]]:
    """Post ``count`` entries into each of two databases, alternating blocks of
    ``block`` (and which goes first), so that both samples see the same machine
    conditions; the time of each posting, per database."""
    timings: tuple[list[float], list[float]] = ([], [])
    for n in range(0, count, block):
        size = min(block, count - n)
        for side in (0, 1) if (n // block) % 2 == 0 else (1, 0):
            factory, workload = (first, second)[side]
            timings[side].extend(post_one(factory, workload) for _ in range(size))
    return timings


def read_latency(factory: sessionmaker[Session], reads: int) -> tuple[Spread, Spread]:
    """Time ``balance()`` over every account and ``available()`` over every purpose,
    ``reads`` calls each, in one open read transaction."""
    with factory() as session:
        fund = find_fund(session, FUND)
        names = [a.name for a in accounts_of(session, fund)]
        purposes = [p.key for p in load_chart(fund.chart).purposes]
        spreads = []
        for read, keys in ((balance, names), (available, purposes)):
            for key in keys:  # warm up: statement compilation, page cache
                read(session, fund, key)
            timings = []
            for n in range(reads):
                start = time.perf_counter()
                read(session, fund, keys[n % len(keys)])
                timings.append(time.perf_counter() - start)
            spreads.append(Spread.of(timings))
        session.rollback()
    return spreads[0], spreads[1]


@dataclass(frozen=True)
class CheckTimes:
    export: float
    verify: float  # median of ``runs``
    bean_check: float  # median of ``runs``
    runs: int
    problems: list[str]
    bean_check_errors: str

    @property
    def ok(self) -> bool:
        return not self.problems and not self.bean_check_errors


def bean_check_command() -> list[str]:
    beside = Path(sys.executable).with_name("bean-check")
    found = str(beside) if beside.exists() else shutil.which("bean-check")
    if found is None:
        raise SystemExit("bean-check is not installed in this environment.")
    return [found, "--no-cache"]


def run_bean_check(path: Path) -> tuple[float, str]:
    """Time plain ``bean-check`` on the file, cold; its time and any errors it printed."""
    # The cache would turn a second run into a pickle load: remove it and disable it.
    path.with_name(f".{path.name}.picklecache").unlink(missing_ok=True)
    env = {**os.environ, "BEANCOUNT_DISABLE_LOAD_CACHE": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    checked = subprocess.run([*bean_check_command(), str(path)], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    return elapsed, "" if checked.returncode == 0 else (checked.stderr or checked.stdout).strip()


def run_verify(factory: sessionmaker[Session]) -> tuple[float, list[str]]:
    """Time ``verify_fund``; its time and the problems it found."""
    with factory() as session:
        fund = find_fund(session, FUND)
        start = time.perf_counter()
        report = verify_fund(session, fund)
        elapsed = time.perf_counter() - start
        session.rollback()
    return elapsed, report.problems


def export_and_verify(factory: sessionmaker[Session], workdir: Path, repeat: int) -> CheckTimes:
    """Export the fund; then run bean-check on the file and verify_fund ``repeat`` times
    each, alternating which goes first; the median time of each."""
    path = workdir / f"{FUND}.beancount"
    with factory() as session:
        fund = find_fund(session, FUND)
        start = time.perf_counter()
        with path.open("w", encoding="utf-8") as out:
            write_ledger(session, fund, out)
        export = time.perf_counter() - start
        session.rollback()

    verify_times, check_times = [], []
    problems: list[str] = []
    errors = ""
    for n in range(repeat):
        for which in ("check", "verify") if n % 2 == 0 else ("verify", "check"):
            if which == "check":
                elapsed, errors = run_bean_check(path)
                check_times.append(elapsed)
            else:
                elapsed, problems = run_verify(factory)
                verify_times.append(elapsed)
    return CheckTimes(export, statistics.median(verify_times), statistics.median(check_times),
                      repeat, problems, errors)


# --- The databases -------------------------------------------------------------------------


class Databases:
    """The run's fresh databases: the benchmark database and its snapshots.

    With no URL, SQLite files in a temporary directory, removed at the end. With a
    SQLite URL, that new file (and snapshots beside it), all kept. With a PostgreSQL
    URL, databases named ``<pg_database>`` and ``<pg_database>_<label>`` created on
    that server and dropped at the end. ``keep`` keeps everything.
    """

    def __init__(self, url: str | None, pg_database: str, *, keep: bool) -> None:
        self.keep = keep
        self.tempdir: Path | None = None
        self.admin: Engine | None = None
        self.created: list[str] = []  # PostgreSQL databases to drop
        if url is None:
            self.tempdir = Path(tempfile.mkdtemp(prefix="sf_bench-"))
            url = f"sqlite:///{self.tempdir / 'bench.db'}"
        parsed = make_url(url)
        self.backend = parsed.get_backend_name()
        if self.backend == "sqlite":
            if not parsed.database or parsed.database == ":memory:":
                raise SystemExit("A SQLite benchmark needs a database file (sqlite:///path).")
            if Path(parsed.database).exists():
                raise SystemExit(f"{parsed.database} exists; the benchmark needs a new file.")
            self.url = url
        elif self.backend == "postgresql":
            if not PG_NAME.match(pg_database):
                raise SystemExit("--pg-database must start with sf_bench "
                                 "(then up to 40 lower-case letters, digits or _).")
            self.admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
            self.url = self._create_pg(pg_database)
        else:
            raise SystemExit("The benchmark runs on SQLite or PostgreSQL.")

    def _create_pg(self, name: str, template: str | None = None) -> str:
        assert self.admin is not None and PG_NAME.match(name)
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.created.append(name)
            source = f' TEMPLATE "{template}"' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{source}'))
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def snapshot(self, engine: Engine, label: str) -> str:
        """Copy the benchmark database as it is now; returns the copy's URL.
        ``engine`` (the benchmark's) is disposed first: a template must be idle."""
        engine.dispose()
        source = make_url(self.url)
        if self.backend == "postgresql":
            return self._create_pg(f"{source.database}_{label}", template=source.database)
        path = Path(source.database or "")
        clone = path.with_name(f"{path.stem}-{label}{path.suffix}")
        with closing(sqlite3.connect(path)) as src, closing(sqlite3.connect(clone)) as dst:
            src.backup(dst)  # page by page: the copy has the original's layout
        return f"sqlite:///{clone}"

    def __enter__(self) -> Databases:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.keep:
            _note(f"kept {self.tempdir or ', '.join(self.created) or self.url}")
        elif self.tempdir is not None:
            shutil.rmtree(self.tempdir, ignore_errors=True)
        if self.admin is not None:
            if not self.keep:
                with self.admin.connect() as conn:
                    for name in self.created:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.admin.dispose()


def revision() -> str:
    """The checkout measured: commit, and whether the working tree differs from it."""
    git = shutil.which("git")
    if git is None:
        return "unknown revision"
    head = subprocess.run([git, "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=False).stdout.strip()
    changed = subprocess.run([git, "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                             capture_output=True, text=True, check=False).stdout.strip()
    return f"commit {head or 'unknown'}{' with local changes' if changed else ''}"


def describe(url: str, factory: sessionmaker[Session]) -> str:
    if make_url(url).get_backend_name() != "postgresql":
        return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=FULL)"
    with factory() as session:
        version = session.execute(text("SHOW server_version")).scalar_one()
        commit = session.execute(text("SHOW synchronous_commit")).scalar_one()
    return f"PostgreSQL {version} (synchronous_commit={commit})"


# --- Report --------------------------------------------------------------------------------


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


@dataclass(frozen=True)
class Results:
    entries: int
    sqlite: bool
    rate: float
    contention: str  # what else the machine did during figure 1
    early: Spread
    late: Spread
    balance: Spread
    available: Spread
    check: CheckTimes

    def rows(self) -> list[tuple[str, str, str, str]]:
        n = f"{self.entries:,}"
        growth = self.late.median / self.early.median
        growth_p95 = self.late.p95 / self.early.p95
        ratio = self.check.verify / self.check.bean_check
        rate_target = f">= {TARGET_RATE:.0f}/s" if self.sqlite else "(SQLite only)"
        read_ok = [s.p95 * 1000 <= TARGET_READ_MS for s in (self.balance, self.available)]
        problems = len(self.check.problems)
        runs = self.check.runs
        return [
            (f"1. Durable postings, {n} entries (entries/s)", f"{self.rate:,.0f}", rate_target,
             _verdict(self.rate >= TARGET_RATE) if self.sqlite else "-"),
            ("   Meanwhile: CPU stolen, CPUs used by others", self.contention, "", ""),
            (f"2. One posting at {EARLY:,} entries, median / p95 (ms)", self.early.ms(), "", ""),
            (f"   One posting at {n} entries, median / p95 (ms)", self.late.ms(), "", ""),
            ("   Cost growth, median (p95)", f"{growth:.2f}x ({growth_p95:.2f}x)",
             f"<= {TARGET_GROWTH}x", _verdict(growth <= TARGET_GROWTH)),
            (f"3. balance() at {n}, median / p95 (ms)", self.balance.ms(),
             f"p95 <= {TARGET_READ_MS:.0f} ms", _verdict(read_ok[0])),
            (f"   available() at {n}, median / p95 (ms)", self.available.ms(),
             f"p95 <= {TARGET_READ_MS:.0f} ms", _verdict(read_ok[1])),
            ("4. Export with write_ledger (s)", f"{self.check.export:.2f}", "", ""),
            (f"   verify_fund, median of {runs} (s)", f"{self.check.verify:.2f}", "", ""),
            (f"   bean-check, cold, subprocess, median of {runs} (s)",
             f"{self.check.bean_check:.2f}", "", ""),
            ("   verify_fund / bean-check", f"{ratio:.2f}x", f"<= {TARGET_VERIFY}x",
             _verdict(ratio <= TARGET_VERIFY)),
            ("   verify problems / bean-check errors",
             f"{problems} / {'none' if not self.check.bean_check_errors else 'some'}",
             "0 / none", _verdict(self.check.ok)),
        ]

    def print_table(self) -> None:
        print_table(self.rows())


def print_table(rows: Sequence[tuple[str, ...]],
                header: tuple[str, ...] = ("Figure", "Value", "Target", "Result")) -> None:
    """Figures (against their targets), in aligned columns under a header; every row has
    as many cells as the header."""
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
              .rstrip())
        if i == 0:
            print("  ".join("-" * width for width in widths))


# --- Main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger_bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000, metavar="N",
                        help="entries to post into the fund (default 100000)")
    parser.add_argument("--database-url", metavar="URL",
                        help="a new SQLite file, or a PostgreSQL server to create the benchmark "
                             "database on (default: SQLite in a temporary directory)")
    parser.add_argument("--pg-database", default="sf_bench", metavar="NAME",
                        help="database to create (and drop) on PostgreSQL; must start with "
                             "sf_bench (default sf_bench)")
    parser.add_argument("--sample", type=int, default=500, metavar="S",
                        help="postings sampled at 1,000 and at N entries (default 500)")
    parser.add_argument("--reads", type=int, default=5_000, metavar="R",
                        help="timed calls of balance() and of available() (default 5000)")
    parser.add_argument("--repeat", type=int, default=3, metavar="K",
                        help="runs of verify_fund and of bean-check, alternating (default 3)")
    parser.add_argument("--seed", type=int, default=2026, help="workload random seed")
    parser.add_argument("--keep", action="store_true",
                        help="keep the benchmark database (and the export) afterwards")
    args = parser.parse_args(argv)
    if args.sample < 20 or args.reads < 20 or args.repeat < 1:
        parser.error("--sample and --reads must be at least 20, --repeat at least 1")
    if args.entries < 2 * EARLY:
        parser.error(f"--entries must be at least {2 * EARLY:,}")
    return args


def run(args: argparse.Namespace, databases: Databases, workdir: Path) -> Results:
    engine = make_engine(databases.url)
    engines = [engine]
    try:
        upgrade(engine, SCRIPT_LOCATION)
        factory = make_session_factory(engine)
        _note(f"{describe(databases.url, factory)}; Python {platform.python_version()}, "
              f"{os.cpu_count()} CPUs, {platform.platform()}; {revision()}")
        with transaction(factory) as session:
            add_fund(session, ACTOR, code=FUND, name_zh="基准测试", name_en="Benchmark",
                     opened_on=OPENED)
        workload = Workload(total=args.entries + args.sample, seed=args.seed)

        _note(f"1. posting {args.entries:,} entries, one transaction each")
        cpu = CpuClock.read()
        elapsed = post_many(factory, workload, EARLY, goal=args.entries)
        early_workload = copy.deepcopy(workload)
        early_url = databases.snapshot(engine, f"{EARLY}")
        elapsed += post_many(factory, workload, args.entries - EARLY, goal=args.entries)
        contention = CpuClock.read().since(cpu)
        _note("   mix: " + ", ".join(f"{k} {v:,}" for k, v in workload.kinds.most_common()))

        _note(f"3. reading balances, {args.reads:,} calls each")
        balance_spread, available_spread = read_latency(factory, args.reads)

        _note(f"4. export; bean-check and verify_fund, {args.repeat} times each")
        check = export_and_verify(factory, workdir, args.repeat)

        _note(f"2. posting {args.sample:,} entries each at {EARLY:,} and at {args.entries:,}, "
              "alternating")
        early_engine = make_engine(early_url)
        engines.append(early_engine)
        early, late = paired_costs((make_session_factory(early_engine), early_workload),
                                   (factory, workload), args.sample)
    finally:
        for each in engines:
            each.dispose()
    return Results(args.entries, engine.dialect.name == "sqlite", args.entries / elapsed,
                   contention,
                   Spread.of(early), Spread.of(late), balance_spread, available_spread, check)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="sf_bench-export-"))
    try:
        with (Databases(args.database_url, args.pg_database, keep=args.keep) as databases,
              clock.frozen_at(PINNED)):
            results = run(args, databases, workdir)
    finally:
        if args.keep:
            _note(f"kept the export in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    results.print_table()
    for problem in results.check.problems[:10]:
        print(f"verify: {problem}")
    if results.check.bean_check_errors:
        print("bean-check:", results.check.bean_check_errors[:2000])
    return 0 if results.check.ok else 1


if __name__ == "__main__":
    sys.exit(main())
