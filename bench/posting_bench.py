"""Posting throughput through the API: donations posted by concurrent clients to one fund
or spread over several, served by gunicorn on PostgreSQL.

    URL=postgresql+psycopg://postgres@127.0.0.1:5432/test
    python -m bench.posting_bench --database-url $URL      # 1 and 8 clients on 1, 2, 6 funds
    python -m bench.posting_bench --database-url $URL --clients 8 --funds 1,6 \\
        --rounds 1 --seconds 5                              # a quick look

Every fund has its own audit chain and its own row in ``funds``, locked ``FOR UPDATE`` by
each posting: postings to one fund wait for each other, postings to different funds need
not. The benchmark shows how far that carries through the whole stack.

Set-up, through the same doors an operator uses: a new database (on PostgreSQL the URL
only says where to connect; the benchmark creates ``--pg-database``, whose name must start
with ``sf_bench``, and drops it at the end unless ``--keep``), keys from ``specialfund
keys generate``, ``specialfund init``, the funds (资阳市本级 and the counties below it, as
many as the largest ``--funds``) with ``fund add``, in each a charity-office and a finance
user (``user add``), the treasury's seed money (``ledger post seed``, as the finance user)
and an API token the charity-office user makes for themself (``token create``). Then
gunicorn starts from the checked-in ``gunicorn.conf.py`` with its settings that depend on
the machine given on the command line (``--workers`` sync workers, one thread each), the
rate limits off (``SPECIALFUND_RATE_LIMITS=0``: one token per fund would pass 300 a
minute) and no Redis; each fund gets a donor through the API (``POST
/api/v1/funds/{code}/donors``).

The load: C clients, threads of this process, each with its own ``http.client``
connection (gunicorn's sync workers close it after every answer, so a client reconnects
for each posting, inside the timed request), post donations one after another with
``POST /api/v1/funds/{code}/donations`` and a fresh ``Idempotency-Key`` each. Client i
posts to fund i mod F. Each configuration (C, F) runs for ``--warmup`` seconds and then
``--seconds`` measured seconds; a posting counts in the window it ends in. ``--rounds``
rounds, every configuration once a round, in turn (the order reversed every other round),
so all of them see the same machine. Every answer must be 201 with the receipt and the
entry of the fund posted to; anything else is a failure.

Printed: postings per second of every round, the best and the worst, the latency (request
sent, connection included, to body read: median, 95th percentile, worst), in every round
the CPUs the posting kept busy (the clients, gunicorn's processes and, on PostgreSQL, the
server processes of the benchmark's own database connections) and the CPUs other processes
kept busy, the share stolen by the hypervisor (``bench.ledger_bench.CpuClock``), and the
CPU time of one posting (and, over the rounds, how it splits between the three); per
number of clients, each number of funds' throughput over one fund's in the same round. At
the end the server stops and
``specialfund ledger verify`` must find every fund's books in order, each holding its seed
plus exactly the postings answered 201. The exit status is 1 on any failed posting, a
server that did not start, or books that do not verify or do not hold those entries.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, make_url, text

from bench.ledger_bench import CpuClock, Databases, Spread, describe, print_table, revision
from bench.public_bench import ServeError, Server, free_port, server_env, started, venv_tool
from core import clock
from core.db import make_engine, make_session_factory
from ledger.chart import load_chart

ROOT = Path(__file__).resolve().parent.parent
FUNDS = (  # code, Chinese name, English name; the first is the city, the others its counties
    ("ZYS", "资阳市本级", "Ziyang City"),
    ("YJQ", "雁江区", "Yanjiang District"),
    ("AYX", "安岳县", "Anyue County"),
    ("LZX", "乐至县", "Lezhi County"),
    ("GXQ", "高新区", "Hi-tech Zone"),
    ("LKQ", "临空经济区", "Airport Economic Zone"),
)
PASSWORD = "bench-pass-2026"  # throwaway users of a throwaway database
SEED_YUAN = "1000000"
HTTP_TIMEOUT = 120.0
FAILURES_SHOWN = 5
# What the benchmark's environment must not pass on to the console and the server: the
# settings it chooses itself, and what would change them behind its back.
UNSET = ("SPECIALFUND_ENV", "SPECIALFUND_TOKEN", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY",
         "REDIS_URL", "DATABASE_URL", "SPECIALFUND_INSTANCE", "SPECIALFUND_RATE_LIMITS")


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- Set-up through the console ----------------------------------------------------------------


@dataclass
class Fund:
    code: str
    token: str = ""
    donor: int = 0


class Console:
    """``specialfund`` as an operator runs it, each command a new process."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.command = venv_tool("specialfund")

    def __call__(self, *args: str, stdin: str = "") -> str:
        done = subprocess.run([self.command, *args], input=stdin, env=self.env, cwd=self.cwd,
                              capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise SystemExit(f"specialfund {' '.join(args)} failed with status "
                             f"{done.returncode}:\n{done.stderr or done.stdout}")
        return done.stdout


def generated_keys(env: dict[str, str]) -> dict[str, str]:
    """The keys of ``specialfund keys generate`` (its ``NAME=value`` lines)."""
    out = subprocess.run([venv_tool("specialfund"), "keys", "generate"], env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    keys = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    if not {"SECRET_KEY", "SPECIALFUND_DATA_KEY", "SPECIALFUND_HASH_KEY"} <= set(keys):
        raise SystemExit(f"specialfund keys generate printed no keys:\n{out}")
    return keys


def set_up(console: Console, count: int) -> list[Fund]:
    """The database's tables and ``count`` funds, each with its users, seed and token."""
    start = time.perf_counter()
    console("init")
    funds = []
    for n, (code, zh, en) in enumerate(FUNDS[:count]):
        lower = code.lower()
        console("fund", "add", code, "--name-zh", zh, "--name-en", en,
                *(("--parent", FUNDS[0][0]) if n else ()))
        for role, user in (("charity_office", f"{lower}_co"), ("finance", f"{lower}_fin")):
            console("user", "add", user, "--role", role, "--fund", code, "--password-stdin",
                     stdin=f"{PASSWORD}\n")
        console("--user", f"{lower}_fin", "ledger", "post", "seed", "--fund", code,
                "--amount", SEED_YUAN, "--doc-no", "资财社〔2026〕8号", stdin=f"{PASSWORD}\n")
        token = console("token", "create", f"{lower}_co", "--name", "posting-bench",
                        stdin=f"{PASSWORD}\n").strip()
        if not token.startswith("sf_"):
            raise SystemExit(f"token create printed no token for {lower}_co")
        funds.append(Fund(code, token))
        _note(f"  {code}: fund, users, seed ¥{SEED_YUAN}, token "
              f"({time.perf_counter() - start:.0f} s)")
    return funds


# --- The clients -------------------------------------------------------------------------------


class ApiClient:
    """``http.client`` with keep-alive, reconnecting when the server closes."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None
        self.connections = 0

    def post(self, path: str, token: str, body: dict[str, object],
             key: str | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                   "Accept-Language": "en"}
        if key is not None:
            headers["Idempotency-Key"] = key
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
            self.conn.connect()
            self.connections += 1
        try:
            self.conn.request("POST", path, body=json.dumps(body).encode(), headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if response.will_close:
            self.close()
        return response.status, response.headers, data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def add_donors(port: int, funds: list[Fund]) -> None:
    """One donor per fund, added through the API by the fund's charity office."""
    client = ApiClient(port)
    try:
        for fund in funds:
            status, _headers, data = client.post(
                f"/api/v1/funds/{fund.code}/donors", fund.token,
                {"kind": "enterprise", "name": f"{fund.code}基准测试爱心企业"})
            if status != 201:
                raise ServeError(f"adding a donor to {fund.code} answered {status}: "
                                 f"{data[:300]!r}")
            fund.donor = int(json.loads(data)["id"])
    finally:
        client.close()


@dataclass
class Tally:
    """What the clients saw: postings answered 201 per fund, failures."""

    posted: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, posted: dict[str, int], failed: list[str], total_failed: int,
            connections: int) -> None:
        with self.lock:
            for code, n in posted.items():
                self.posted[code] = self.posted.get(code, 0) + n
            self.failed += total_failed
            self.failures.extend(failed[:FAILURES_SHOWN - len(self.failures)])
            self.connections += connections


class Poster(threading.Thread):
    """One client: donations to one fund, one after another, until ``until``."""

    def __init__(self, port: int, fund: Fund, until: float, seed: int, tally: Tally) -> None:
        super().__init__(daemon=True)
        self.client = ApiClient(port)
        self.fund = fund
        self.until = until
        self.rng = random.Random(seed)
        self.purposes = [p.key for p in load_chart().purposes]
        self.tally = tally
        self.done: list[tuple[float, float]] = []  # (end, latency) of every 201
        self.failed: list[str] = []
        self.failed_count = 0

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {
            "donor_id": self.fund.donor, "date": clock.today().isoformat(),
            "amount": f"{self.rng.randint(10_00, 5_000_00) / 100:.2f}"}
        if self.rng.random() < 0.5:
            body["purpose"] = self.rng.choice(self.purposes)
        return body

    def post_one(self) -> tuple[float, str | None]:
        """One donation; its latency and what was wrong with the answer (None if right)."""
        path = f"/api/v1/funds/{self.fund.code}/donations"
        body = self.body()
        began = time.perf_counter()
        try:
            status, headers, data = self.client.post(path, self.fund.token, body,
                                                     key=uuid.uuid4().hex)
        except (OSError, http.client.HTTPException) as error:
            time.sleep(0.05)  # a server that is gone must not be hammered
            return time.perf_counter() - began, f"{type(error).__name__}: {error}"
        took = time.perf_counter() - began
        if status != 201:
            return took, f"{status}: {data[:300]!r}"
        if headers.get("Idempotent-Replayed"):
            return took, f"a fresh key was answered as a replay: {data[:200]!r}"
        try:
            entry = str(json.loads(data)["entry"])
        except (ValueError, KeyError):
            return took, f"201 without an entry: {data[:200]!r}"
        if not entry.startswith(f"{self.fund.code}#"):
            return took, f"posted to {self.fund.code}, answered entry {entry}"
        return took, None

    def run(self) -> None:
        try:
            while time.perf_counter() < self.until:
                took, wrong = self.post_one()
                if wrong is None:
                    self.done.append((time.perf_counter(), took))
                else:
                    self.failed_count += 1
                    if len(self.failed) < FAILURES_SHOWN:
                        self.failed.append(f"{self.fund.code}: {wrong}")
        finally:
            self.client.close()
            self.tally.add({self.fund.code: len(self.done)}, self.failed, self.failed_count,
                           self.client.connections)


# --- CPU of the posting machinery --------------------------------------------------------------


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command's name (state first)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2:].split()


def _cpu_of(pid: int) -> float:
    fields = _proc_stat(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Machinery:
    """Where the posting's CPU time goes: this process (the clients), the server's
    processes (gunicorn's arbiter and its workers) and, on PostgreSQL, the server
    processes of the benchmark database's connections (the workers' pools)."""

    def __init__(self, server: Server, engine: Engine | None) -> None:
        self.server = server
        self.engine = engine

    def server_pids(self) -> set[int]:
        master = self.server.process.pid
        found = {master}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                fields = _proc_stat(int(entry.name))
                if fields is not None and fields[1] == str(master):
                    found.add(int(entry.name))
        return found

    def database_pids(self) -> set[int]:
        if self.engine is None:  # SQLite works inside gunicorn's workers
            return set()
        with self.engine.connect() as conn:
            return set(conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")).scalars())

    def read(self) -> tuple[CpuClock, tuple[float, float, float]]:
        """The machine's counters, with the server's and the database's CPU seconds
        counted as the benchmark's own; and the CPU seconds so far of the clients, the
        server and the database."""
        server = sum(_cpu_of(pid) for pid in self.server_pids())
        database = sum(_cpu_of(pid) for pid in self.database_pids())
        return CpuClock.read(also=server + database), (time.process_time(), server, database)


# --- Measuring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    clients: int
    funds: int

    def __str__(self) -> str:
        return (f"{self.clients} client{'s' if self.clients > 1 else ''}, "
                f"{self.funds} fund{'s' if self.funds > 1 else ''}")


@dataclass
class Round:
    rate: float  # postings answered 201 per second, in the measured window
    latencies: list[float]
    cpu: tuple[float, float, float] | None  # stolen share, the posting's CPUs, others' CPUs
    cost: tuple[float, float, float] | None  # CPU s per posting: clients, server, database


def load(port: int, funds: list[Fund], config: Config, *, warmup: float, seconds: float,
         seed: int, tally: Tally, machinery: Machinery | None) -> Round:
    """Run ``config`` for ``warmup`` + ``seconds``; the measured window's figures."""
    start = time.perf_counter()
    opens, closes = start + warmup, start + warmup + seconds
    posters = [Poster(port, funds[i % config.funds], closes, seed * 1000 + i, tally)
               for i in range(config.clients)]
    for poster in posters:
        poster.start()
    time.sleep(max(opens - time.perf_counter(), 0.0))
    before = machinery.read() if machinery else None
    time.sleep(max(closes - time.perf_counter(), 0.0))
    after = machinery.read() if machinery else None
    for poster in posters:
        poster.join()
    latencies = [took for poster in posters for end, took in poster.done
                 if opens <= end <= closes]
    if before is None or after is None or not latencies:
        return Round(len(latencies) / seconds, latencies, None, None)
    cost = tuple((a - b) / len(latencies) for a, b in zip(after[1], before[1], strict=True))
    return Round(len(latencies) / seconds, latencies, after[0].shares(before[0]),
                 (cost[0], cost[1], cost[2]))


def measure(port: int, funds: list[Fund], configs: list[Config], args: argparse.Namespace,
            tally: Tally, machinery: Machinery | None) -> dict[Config, list[Round]]:
    rounds: dict[Config, list[Round]] = {config: [] for config in configs}
    widest = Config(max(c.clients for c in configs), max(c.funds for c in configs))
    _note(f"warm-up: {widest} for {2 * args.warmup:g} s")
    load(port, funds, widest, warmup=2 * args.warmup, seconds=0.5, seed=args.seed,
         tally=tally, machinery=None)
    for n in range(args.rounds):
        for config in configs if n % 2 == 0 else configs[::-1]:
            run = load(port, funds, config, warmup=args.warmup, seconds=args.seconds,
                       seed=args.seed + n, tally=tally, machinery=machinery)
            rounds[config].append(run)
            _note(f"round {n + 1}/{args.rounds}, {config}: {run.rate:,.1f} postings/s"
                  + (f", failures so far {tally.failed:,}" if tally.failed else ""))
    return rounds


# --- The books afterwards ----------------------------------------------------------------------


def verify_books(console: Console, funds: list[Fund], tally: Tally) -> tuple[bool, str]:
    """``specialfund ledger verify`` over every fund; each fund must hold its seed and the
    postings answered 201. Whether all is well, and what to print."""
    done = subprocess.run([console.command, "ledger", "verify"], env=console.env,
                          cwd=console.cwd, capture_output=True, text=True, timeout=1800,
                          check=False)
    counts = {m[1]: int(m[2]) for m in re.finditer(r"^OK (\w+): (\d+) entries", done.stdout,
                                                   re.MULTILINE)}
    wrong = [f"{f.code} holds {counts.get(f.code, '?')} entries, not 1 + "
             f"{tally.posted.get(f.code, 0):,}" for f in funds
             if counts.get(f.code) != 1 + tally.posted.get(f.code, 0)]
    entries = sum(counts.values())
    posted = sum(tally.posted.values())
    if done.returncode == 0 and not wrong:
        plural = "s" if len(funds) > 1 else ""
        return True, (f"OK, {len(funds)} fund{plural}; {entries:,} = {len(funds)} "
                      f"seed{plural} + {posted:,}")
    detail = "; ".join(wrong) or "see below"
    return False, (f"FAILED (status {done.returncode}): {detail}\n"
                   + (done.stdout + done.stderr).strip()[-3000:])


# --- Report ------------------------------------------------------------------------------------


def _cpus(shares: Sequence[tuple[float, float, float] | None]) -> str:
    """Per round: the CPUs the posting kept busy, the CPUs other processes kept busy; and
    the share of CPU time stolen (the range over the rounds)."""
    known = [s for s in shares if s is not None]
    if not known:
        return "unknown"
    stolen = sorted(s[0] for s in known)
    low, high = f"{stolen[0]:.0%}", f"{stolen[-1]:.0%}"
    spread = low if low == high else f"{low}-{high}"
    return (f"posting {', '.join(f'{s[1]:.1f}' for s in known)}; "
            f"others {', '.join(f'{s[2]:.1f}' for s in known)}; stolen {spread}")


def rows(rounds: dict[Config, list[Round]], condition: list[tuple[str, str]],
         tally: Tally, books: str) -> list[tuple[str, str]]:
    table: list[tuple[str, str]] = list(condition)
    for config, runs in rounds.items():
        rates = [r.rate for r in runs]
        latencies = [t for r in runs for t in r.latencies]
        table.append((f"{config}: postings/s per round", ", ".join(f"{r:,.1f}" for r in rates)))
        table.append(("   best / worst (postings/s)", f"{max(rates):,.1f} / {min(rates):,.1f}"))
        if latencies:
            spread = Spread.of(latencies)
            table.append(("   latency median / p95 / worst (ms)",
                          f"{spread.ms()} / {max(latencies) * 1000:.2f}"))
        table.append((f"   CPUs busy per round (of {os.cpu_count()})",
                      _cpus([r.cpu for r in runs])))
        costs = [r.cost for r in runs if r.cost is not None]
        if costs:
            parts = [statistics.fmean(c[i] for c in costs) * 1000 for i in range(3)]
            table.append(("   CPU per posting per round (ms)",
                          ", ".join(f"{sum(c) * 1000:.1f}" for c in costs)
                          + f"; mean: clients {parts[0]:.1f}, gunicorn {parts[1]:.1f}, "
                          f"database {parts[2]:.1f}"))
    for clients in sorted({c.clients for c in rounds}):
        one = rounds.get(Config(clients, 1))
        if one is None:
            continue
        for config, runs in rounds.items():
            if config.clients != clients or config.funds == 1:
                continue
            ratios = [r.rate / o.rate if o.rate else float("nan")
                      for r, o in zip(runs, one, strict=True)]
            table.append((f"{config} over 1 fund, per round (worst)",
                          ", ".join(f"{x:.2f}x" for x in ratios) + f" ({min(ratios):.2f}x)"))
    posted = sum(tally.posted.values())
    everything = [r.cpu for runs in rounds.values() for r in runs if r.cpu is not None]
    if everything:
        stolen, ours, others = (statistics.fmean(c[i] for c in everything) for i in range(3))
        table.append(("Meanwhile, all rounds: CPU stolen, CPUs used by others",
                      f"{stolen:.0%} stolen, others {others:.1f}/{os.cpu_count()} "
                      f"(posting {ours:.1f})"))
    table.append(("Postings answered 201 (warm-ups included) / failed",
                  f"{posted:,} / {tally.failed:,}"))
    table.append(("   TCP connections opened by the clients", f"{tally.connections:,}"))
    table.append(("ledger verify; entries = seeds + postings", books.split("\n", 1)[0]))
    return table


# --- Main --------------------------------------------------------------------------------------


def _numbers(value: str) -> list[int]:
    try:
        numbers = sorted({int(v) for v in value.split(",") if v.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {value!r}") from None
    if not numbers or numbers[0] < 1:
        raise argparse.ArgumentTypeError(f"numbers of at least 1, e.g. 1,8: {value!r}")
    return numbers


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.posting_bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", metavar="URL",
                        help="a PostgreSQL server to create the benchmark database on, or a "
                             "new SQLite file (default: SQLite in a temporary directory)")
    parser.add_argument("--pg-database", default="sf_bench_post", metavar="NAME",
                        help="database to create (and drop) on PostgreSQL; must start with "
                             "sf_bench (default sf_bench_post)")
    parser.add_argument("--clients", type=_numbers, default=[1, 8], metavar="C,…",
                        help="numbers of concurrent clients (default 1,8)")
    parser.add_argument("--funds", type=_numbers, default=[1, 2, 6], metavar="F,…",
                        help=f"numbers of funds the clients post to, at most {len(FUNDS)} "
                             "(default 1,2,6)")
    parser.add_argument("--workers", type=int, default=4, metavar="W",
                        help="gunicorn sync workers (default 4)")
    parser.add_argument("--seconds", type=float, default=10.0, metavar="S",
                        help="measured seconds of each configuration in each round (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, metavar="S",
                        help="seconds of posting before each measurement (default 2)")
    parser.add_argument("--rounds", type=int, default=3, metavar="R",
                        help="rounds, every configuration once a round (default 3)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the amounts")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database, the instance folder and gunicorn's log")
    args = parser.parse_args(argv)
    if max(args.funds) > len(FUNDS):
        parser.error(f"--funds: at most {len(FUNDS)}")
    if args.workers < 1 or args.rounds < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--workers and --rounds must be at least 1, --seconds above 0")
    return args


def gunicorn_settings(args: argparse.Namespace) -> list[str]:
    """What the figures depend on, given explicitly: the command line wins over
    ``gunicorn.conf.py``, whose ``workers`` would otherwise follow the machine's CPUs."""
    return ["--workers", str(args.workers), "--worker-class", "sync", "--threads", "1",
            "--timeout", "180", "--backlog", "2048"]


@contextmanager
def serving(args: argparse.Namespace, env: dict[str, str], workdir: Path,
            instance: Path) -> Iterator[Server]:
    """gunicorn from the checked-in configuration, run from the instance folder (as
    docs/operations.md's Production does), on a free port of loopback."""
    port = free_port()
    command = [venv_tool("gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
               "--chdir", str(instance), "--bind", f"127.0.0.1:{port}",
               *gunicorn_settings(args)]
    _note(f"starting gunicorn on 127.0.0.1:{port}, {' '.join(gunicorn_settings(args))}")
    with started("gunicorn", command, env, workdir / "gunicorn.log", port) as server:
        server.wait_ready(120)
        yield server


def run(args: argparse.Namespace, databases: Databases, workdir: Path) -> int:
    configs = [Config(c, f) for c in args.clients for f in args.funds]
    instance = workdir / "instance"
    instance.mkdir()
    base = {k: v for k, v in server_env({}).items() if k not in UNSET}
    env = {**base, **generated_keys(base), "DATABASE_URL": databases.url,
           "SPECIALFUND_INSTANCE": str(instance), "SPECIALFUND_LANG": "en",
           "SPECIALFUND_ACTOR": "posting-bench", "SPECIALFUND_RATE_LIMITS": "0"}
    console = Console(env, instance)
    _note(f"setting up {max(args.funds)} funds with the console")
    funds = set_up(console, max(args.funds))

    engine = make_engine(databases.url)
    try:
        database = describe(databases.url, make_session_factory(engine))
        postgres = engine.dialect.name == "postgresql"
        _note(f"{database}; Python {platform.python_version()}, {os.cpu_count()} CPUs, "
              f"{platform.platform()}; {revision()}")
        tally = Tally()
        with serving(args, env, workdir, instance) as server:
            add_donors(server.port, funds)
            machinery = Machinery(server, engine if postgres else None)
            rounds = measure(server.port, funds, configs, args, tally, machinery)
    finally:
        engine.dispose()
    _note("ledger verify")
    books_ok, books = verify_books(console, funds, tally)
    load_average = ", ".join(f"{x:.1f}" for x in os.getloadavg())

    condition = [
        ("Server", f"gunicorn -c gunicorn.conf.py {' '.join(gunicorn_settings(args))}"),
        ("Database", f"{database}, on the same machine" if postgres else database),
        ("Machine", f"{os.cpu_count()} CPUs shared by clients, server and database; "
                    f"load average {load_average} at the end"),
        ("Code", f"{revision()}, Python {platform.python_version()}"),
        ("Rounds", f"{args.rounds} x {args.seconds:g} s, each after {args.warmup:g} s of "
                   "warm-up; configurations in turn"),
    ]
    print()
    print_table(rows(rounds, condition, tally, books), header=("Figure", "Value"))
    for failure in tally.failures:
        print(f"FAILED posting {failure}")
    if not books_ok:
        print(books)
    return 0 if books_ok and tally.failed == 0 else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="sf_posting_bench-"))
    try:
        with Databases(args.database_url, args.pg_database, keep=args.keep) as databases:
            if make_url(databases.url).get_backend_name() != "postgresql":
                _note("not PostgreSQL: every posting takes the database's one write lock, "
                      "so the funds cannot post side by side")
            return run(args, databases, workdir)
    except ServeError as error:
        print(f"FAILED: {error}")
        return 1
    finally:
        if args.keep:
            _note(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
