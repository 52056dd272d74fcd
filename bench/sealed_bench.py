"""Sealed periods: the daily ``ledger verify`` beside ``bean-check``, as whole commands.

    python -m bench.sealed_bench --database-url sqlite:////tmp/sealed/bench.db --keep
    python -m bench.sealed_bench --reuse --database-url sqlite:////tmp/sealed/bench.db

Builds one fund of N entries (``--entries``, default 100,000) with the ledger
benchmark's workload (``bench.ledger_bench.Workload``: every entry through the real
posting functions, one committed transaction each), dated from 2022-01-01 to
2025-11-30; closes 2022, 2023 and 2024 and every month of 2025 to November (each
close seals its period); then posts ``--open`` more entries (default 1,000) dated in
December 2025. Then, K times each (``--repeat``), alternating which goes first:

* ``specialfund ledger verify --fund BENCH``: the daily verify, a whole command (a new
  process: interpreter, imports, app, connection), which checks the sealed periods
  against their seals and re-derives the 1,000 open entries;
* ``bean-check --no-cache`` on the fund's full export, a whole command, from cold (no
  pickle cache), with the fund-rules plugin;
* for information, ``specialfund ledger verify --fund BENCH --full``.

Prints the median of each and the ratio bean-check / daily verify (target >= 10x). The
exit status is 1 when a command fails (a verify problem or a bean-check error).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import make_url

from bench.ledger_bench import (
    ACTOR,
    FUND,
    OPENED,
    PINNED,
    ROOT,
    Workload,
    _note,
    bean_check_command,
    post_many,
    revision,
)
from core import clock
from core.db import make_engine, make_session_factory, transaction
from core.migrate import upgrade
from ledger.beancount_io import write_ledger
from ledger.funds import add_fund
from ledger.journal import find_fund
from ledger.periods import close_period
from ledger.seals import latest_seal
from migrations import SCRIPT_LOCATION
from webapp.config import new_keys

SEALED_LAST = dt.date(2025, 11, 30)
OPEN_FIRST, OPEN_LAST = dt.date(2025, 12, 1), dt.date(2025, 12, 31)
PERIODS = ("2022", "2023", "2024", *(f"2025-{m:02d}" for m in range(1, 12)))
TARGET = 10.0  # bean-check time over the daily verify's


class SealedWorkload(Workload):
    """The ledger benchmark's workload, its last ``open`` entries dated in December."""

    def __init__(self, *, total: int, open_entries: int, seed: int) -> None:
        super().__init__(total=total, seed=seed)
        self.sealed = total - open_entries
        self.open = open_entries

    def date_of(self, count: int) -> dt.date:
        if count < self.sealed:
            span = (SEALED_LAST - OPENED).days + 1
            return OPENED + dt.timedelta(days=count * span // self.sealed)
        span = (OPEN_LAST - OPEN_FIRST).days + 1
        return OPEN_FIRST + dt.timedelta(days=(count - self.sealed) * span // self.open)


def build(url: str, entries: int, open_entries: int, seed: int) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine, SCRIPT_LOCATION)
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            add_fund(session, ACTOR, code=FUND, name_zh="基准测试", name_en="Benchmark",
                     opened_on=OPENED)
        workload = SealedWorkload(total=entries, open_entries=open_entries, seed=seed)
        with clock.frozen_at(PINNED):
            _note(f"posting {entries - open_entries:,} entries to {SEALED_LAST}")
            post_many(factory, workload, entries - open_entries, goal=entries)
            for period in PERIODS:
                start = time.perf_counter()
                with transaction(factory) as session:
                    close_period(session, ACTOR, FUND, period,
                                 unreconciled_reason="基准测试：无银行对账单")
                _note(f"  closed {period} in {time.perf_counter() - start:.2f} s")
            _note(f"posting {open_entries:,} entries in December 2025")
            post_many(factory, workload, open_entries, goal=entries)
        _note("   mix: " + ", ".join(f"{k} {v:,}" for k, v in workload.kinds.most_common()))
    finally:
        engine.dispose()


def export(url: str, path: Path) -> tuple[int, int]:
    """Export the fund; its number of entries and of entries after the last seal."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            fund = find_fund(session, FUND)
            with path.open("w", encoding="utf-8") as out:
                write_ledger(session, fund, out)
            seal = latest_seal(session, fund)
            counts = fund.entry_count, fund.entry_count - (seal.seq if seal else 0)
            session.rollback()
    finally:
        engine.dispose()
    return counts


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - start
    return elapsed, "" if done.returncode == 0 else (done.stdout + done.stderr).strip()


def specialfund() -> str:
    return str(Path(sys.executable).with_name("specialfund"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=1_000, dest="open_entries")
    parser.add_argument("--database-url", help="a new SQLite file (sqlite:///path); "
                        "a temporary one when omitted")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the books already in --database-url")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="sf_sealed-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    database = make_url(url).database
    if args.reuse:
        if not args.database_url:
            raise SystemExit("--reuse needs --database-url.")
    else:
        if make_url(url).get_backend_name() == "sqlite" and database and Path(database).exists():
            raise SystemExit(f"{database} exists; use --reuse to measure it again.")
        build(url, args.entries, args.open_entries, args.seed)
    ledger = workdir / f"{FUND}.beancount"
    entries, open_entries = export(url, ledger)
    _note(f"{revision()}; books in {url}; export in {ledger}")

    # A console command needs the server's three keys; the books have no encrypted data
    # the verify reads, so fresh ones do.
    env = {**os.environ, **new_keys(), "DATABASE_URL": url, "SPECIALFUND_LANG": "en",
           "SPECIALFUND_ACTOR": "bench", "BEANCOUNT_DISABLE_LOAD_CACHE": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                       os.environ.get("PYTHONPATH")]))}
    commands = {
        "daily": [specialfund(), "ledger", "verify", "--fund", FUND],
        "bean-check": [*bean_check_command(), str(ledger)],
        "full": [specialfund(), "ledger", "verify", "--fund", FUND, "--full"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    failed = ""
    for n in range(args.repeat):
        order = list(commands) if n % 2 == 0 else ["bean-check", "daily", "full"]
        for name in order:
            ledger.with_name(f".{ledger.name}.picklecache").unlink(missing_ok=True)
            elapsed, problem = timed(commands[name], env)
            times[name].append(elapsed)
            failed = failed or (f"{name}: {problem[:2000]}" if problem else "")
    daily, check, full = (statistics.median(times[k]) for k in ("daily", "bean-check", "full"))
    print()
    print(f"Whole commands, median of {args.repeat}, books of {entries:,} entries, "
          f"{open_entries:,} since the last close:")
    print(f"  specialfund ledger verify --fund {FUND}         {daily:8.2f} s  "
          f"(min {min(times['daily']):.2f}, max {max(times['daily']):.2f})")
    print(f"  bean-check --no-cache (full export)          {check:8.2f} s  "
          f"(min {min(times['bean-check']):.2f}, max {max(times['bean-check']):.2f})")
    print(f"  specialfund ledger verify --fund {FUND} --full  {full:8.2f} s  "
          f"(min {min(times['full']):.2f}, max {max(times['full']):.2f})")
    ratio = check / daily
    print(f"  bean-check / daily verify                    {ratio:8.1f}x  target >= "
          f"{TARGET:.0f}x  {'PASS' if ratio >= TARGET else 'MISS'}")
    if failed:
        print(failed)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
