"""Two app servers, one database: the race tests across servers.

Two gunicorn processes, started from the checked-in ``gunicorn.conf.py`` as
docs/operations.md's "Production" starts one (two sync workers each, on ports of their
own), share one fresh PostgreSQL database, the local Redis and one instance folder, as
"Another server" there describes. Requests fired at once (a barrier), split between the
two servers, through the JSON API, show that

1. concurrent approvals that would each fit alone never together overdraw a purpose:
   exactly the affordable ones succeed, the rest are refused with a problem document;
2. concurrent donations get receipt numbers that are unique and consecutive;
3. the same POST with the same Idempotency-Key sent to both servers at once makes one
   record, and every copy gets the same answer;
4. the API's rate limit is counted once for both servers, not once per server.

The world (funds, users, money, projects ready for approval) is built with the domain
functions in the test's own database while the servers start. PostgreSQL only: two
servers on one SQLite file is not a supported production.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db import transaction
from grants import operations as ops
from ledger import donations
from ledger.balances import available
from ledger.income_models import Receipt
from ledger.journal import find_fund
from people.models import IdempotentRequest
from tests.conftest import TODAY
from tests.worlds import make_token, project_input

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
REDIS = ("127.0.0.1", 6379)
STARTS_WITHIN = 60  # seconds for both servers to answer /readyz
API_LIMIT = 6  # SPECIALFUND_LIMIT_API, per token, for both servers together
PROJECTS = 16  # concurrent approvals of PROJECT_AMOUNT against the purpose's money
PROJECT_AMOUNT = Decimal("45000.00")
DONATIONS = 16


@pytest.fixture
def on_postgres() -> None:
    """Asked for first: skips before any database is made."""
    if not (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgresql"):
        pytest.skip("TEST_DATABASE_URL does not name a PostgreSQL server; two servers "
                    "share one PostgreSQL database (SQLite is one machine's file)")
    try:
        with socket.create_connection(REDIS, timeout=1):
            pass
    except OSError:
        pytest.skip("no Redis at 127.0.0.1:6379: the servers share their counters there")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: Any


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def call(self, method: str, path: str, token: str, body: object = None,
             key: str | None = None) -> Answer:
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, "/api/v1" + path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        return Answer(response.status, response.headers, json.loads(raw) if raw else None)

    def ready(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", "/readyz")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()


def start(env: dict[str, str], instance: Path, log: Path) -> Server:
    """gunicorn as the Production section runs it, on a free port with two workers."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--chdir", str(instance),
             "-c", str(ROOT / "gunicorn.conf.py")],
            env={**env, "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port} --workers 2"},
            cwd=instance, stdin=subprocess.DEVNULL, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True)
    return Server(port, process, log)


def stop(server: Server) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


@pytest.fixture
def servers(on_postgres, database_url, instance_folder, tmp_path,
            ) -> Iterator[Callable[[], tuple[Server, Server]]]:
    """Two servers on the test's database, Redis and instance folder, started at once
    (they boot while the test builds its world); servers() waits until both answer and
    returns them. Stopped, and their keys in Redis deleted, after."""
    import redis

    queue = f"sftest-two-servers-{uuid.uuid4().hex[:12]}"
    env = {**os.environ,  # the test's keys and instance folder (conftest.instance_folder)
           "DATABASE_URL": database_url,
           "REDIS_URL": f"redis://{REDIS[0]}:{REDIS[1]}/0",
           # The counters' keys are the tokens' digests, unique to this run; the queue's
           # name keeps its keys apart from any other run's.
           "SPECIALFUND_JOBS_QUEUE_NAME": queue,
           "SPECIALFUND_RATE_LIMITS": "1",
           # Per day: a window that cannot roll over during the test.
           "SPECIALFUND_LIMIT_API": f"{API_LIMIT} per day",
           "SPECIALFUND_LOG_LEVEL": "WARNING"}
    env.pop("GUNICORN_CMD_ARGS", None)
    env.pop("WEB_CONCURRENCY", None)
    instance_folder.mkdir(parents=True, exist_ok=True)
    running = [start(env, instance_folder, tmp_path / f"server-{n}.log") for n in (1, 2)]

    def ready() -> tuple[Server, Server]:
        deadline = time.monotonic() + STARTS_WITHIN
        for server in running:
            while not server.ready():
                if server.process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server on port {server.port} did not start:\n"
                                + server.log.read_text(errors="replace")[-4000:],
                                pytrace=False)
                time.sleep(0.2)
        return running[0], running[1]

    try:
        yield ready
    finally:
        for server in running:
            stop(server)
        client = redis.Redis(*REDIS)
        for pattern in (f"*{queue}*", *(f"*token:{d}*" for d in TOKEN_DIGESTS)):
            for key in client.scan_iter(pattern):
                client.delete(key)
        client.close()
        TOKEN_DIGESTS.clear()


TOKEN_DIGESTS: list[str] = []  # of the tokens made: their rate limit counters in Redis


def tokens(factory, username: str, count: int) -> list[str]:
    """``count`` fresh API tokens of a user: a token per request (the limit is per
    token), made as a user makes their own."""
    made = []
    with transaction(factory) as session:
        for n in range(count):
            token, _row = make_token(session, username, name=f"two-servers-{n}")
            made.append(token)
            TOKEN_DIGESTS.append(hashlib.sha256(token.encode()).hexdigest()[:32])
    return made


def at_once(calls: list[Callable[[], Answer]]) -> list[Answer]:
    """Run every call in its own thread, all released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def fire(call: Callable[[], Answer]) -> Answer:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(fire, calls))


def is_problem(answer: Answer, status: int, code: str) -> bool:
    return (answer.status == status and answer.headers.get_content_type()
            == "application/problem+json" and answer.body["code"] == code
            and bool(answer.body["detail"]))


def ready_for_approval(world, count: int) -> list[int]:
    """``count`` checked projects of 雁江区's education purpose, each asking PROJECT_AMOUNT
    (below the fund's dual-approval threshold: one finance user approves)."""
    amount = str(PROJECT_AMOUNT)
    ids = []
    for n in range(count):
        project = world.run("ca", ops.create_project, data=project_input(
            title=f"两台服务器同时批准的项目{n + 1}", requested_amount=amount,
            budget=[("助学金", amount)],
            tranches=[(dt.date(2026, 7, 10), amount, "none")], progress_report_due=None))
        world.run("ca", ops.submit, project)
        world.run("co", ops.check, project, no_conflict=True)
        ids.append(project)
    return ids


def test_two_servers_share_the_books_the_receipts_the_keys_and_the_limits(
        on_postgres, servers, world, factory, database_url):
    education = available_education(factory)
    projects = ready_for_approval(world, PROJECTS)
    with transaction(factory) as session:
        donor = donations.add_donor(session, world["co"], "YJQ", kind="enterprise",
                                    name="资阳两台服务器捐赠公司").id
    approvers = (tokens(factory, "fin1", PROJECTS // 2) + tokens(factory, "fin2", PROJECTS // 2))
    givers = tokens(factory, "co", DONATIONS // 2) + tokens(factory, "co2", DONATIONS // 2)
    repeaters = tokens(factory, "co", 3)
    limited, burst = tokens(factory, "co2", 2)
    pair = servers()

    # 1. No overdraft: each approval fits alone; together they are worth more.
    approve = {"amount": str(PROJECT_AMOUNT), "no_conflict": True}
    answers = at_once([
        lambda n=n, project=project: pair[n % 2].call(
            "POST", f"/projects/{project}/transitions/approve", approvers[n], approve)
        for n, project in enumerate(projects)])
    affordable = int(education // PROJECT_AMOUNT)
    assert affordable < PROJECTS
    approved = [a for a in answers if a.status == 200]
    refused = [a for a in answers if a.status != 200]
    assert len(approved) == affordable, [(a.status, a.body) for a in answers]
    assert all(a.body["state"] == "approved" for a in approved)
    assert all(is_problem(a, 422, "rule-violation") for a in refused), [a.body for a in refused]
    assert available_education(factory) == education - affordable * PROJECT_AMOUNT >= 0

    # 2. Receipts: unique and consecutive, whichever server issued them.
    gift = {"donor_id": donor, "date": TODAY.date().isoformat(), "amount": "100.00"}
    answers = at_once([lambda n=n: pair[n % 2].call("POST", "/funds/YJQ/donations",
                                                    givers[n], gift)
                       for n in range(DONATIONS)])
    assert [a.status for a in answers] == [201] * DONATIONS, [a.body for a in answers]
    numbers = sorted(a.body["number"] for a in answers)
    assert numbers == list(range(1, DONATIONS + 1))
    assert len({a.body["code"] for a in answers}) == DONATIONS
    assert receipt_numbers(factory) == numbers

    # 3. Idempotency: the same donation, with the same key, twice to each server at once.
    for round_, token in enumerate(repeaters):
        key = f"two-servers-gift-{round_}"
        answers = at_once([lambda n=n, token=token, key=key: pair[n % 2].call(
            "POST", "/funds/YJQ/donations", token, gift, key=key) for n in range(4)])
        assert [a.status for a in answers] == [201] * 4, [a.body for a in answers]
        assert all(a.body == answers[0].body for a in answers), [a.body for a in answers]
        assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 3
        assert answers[0].body["number"] == DONATIONS + round_ + 1
        with factory() as session:
            assert session.execute(select(func.count()).select_from(IdempotentRequest).where(
                IdempotentRequest.key == key)).scalar_one() == 1
    assert receipt_numbers(factory) == list(range(1, DONATIONS + len(repeaters) + 1))

    # 4. The rate limit is one count for both servers: alternating, then all at once.
    answers = [pair[n % 2].call("GET", "/funds", limited) for n in range(API_LIMIT + 4)]
    assert [a.status for a in answers] == [200] * API_LIMIT + [429] * 4
    assert all(is_problem(a, 429, "too-many-requests") and int(a.headers["Retry-After"]) >= 1
               for a in answers[API_LIMIT:])
    answers = at_once([lambda n=n: pair[n % 2].call("GET", "/funds", burst)
                       for n in range(3 * API_LIMIT)])
    assert sorted(a.status for a in answers) == [200] * API_LIMIT + [429] * (2 * API_LIMIT)

    # Each server answered its share: gunicorn's access logs.
    for server in pair:
        assert served(server, "POST", "/transitions/approve", 200)
        assert served(server, "POST", "/donations", 201)
        assert served(server, "GET", "/funds", 429)

    # The books verify as an operator checks them (conftest verifies them again after).
    verified = subprocess.run(
        [str(Path(sys.executable).parent / "specialfund"), "ledger", "verify"],
        env={**os.environ, "DATABASE_URL": database_url, "SPECIALFUND_LANG": "en",
             "SPECIALFUND_ACTOR": "two-servers-test"},
        capture_output=True, text=True, timeout=120, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "OK YJQ" in verified.stdout


def served(server: Server, method: str, path_end: str, status: int) -> bool:
    """Whether the server's access log has an answer of this status to such a request
    (gunicorn writes the line once the answer has gone)."""
    pattern = re.compile(rf'"{method} /api/v1\S*{re.escape(path_end)}(?: HTTP/[\d.]+)?" '
                         rf'{status} ')
    deadline = time.monotonic() + 10
    while not pattern.search(server.log.read_text(errors="replace")):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def available_education(factory) -> Decimal:
    with factory() as session:
        return available(session, find_fund(session, "YJQ"), "Education")


def receipt_numbers(factory) -> list[int]:
    with factory() as session:
        fund = find_fund(session, "YJQ")
        return list(session.execute(select(Receipt.number).where(
            Receipt.fund_id == fund.id).order_by(Receipt.number)).scalars())
