"""Test fixtures: a fresh, migrated database per test, on SQLite by default and on
PostgreSQL when TEST_DATABASE_URL names one (the suite then runs there).

Each test gets its own database cloned from a template migrated once per run:
a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL. Tests may
commit freely, race processes against each other and edit rows behind the
application's back, and nothing leaks into the next test.

When a test that used a database has passed, the books it left must pass what
`ledger verify` and `audit verify` check; a failure is reported as an error of the
test. A test that corrupts the books on purpose says so: ``@pytest.mark.tampers``.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from core import clock
from core.actors import Actor
from core.db import make_engine, make_session_factory, transaction
from core.i18n import locale_as
from core.migrate import upgrade
from core.protection import Protector
from core.screening import keep_protector
from ledger.funds import add_fund
from migrations import SCRIPT_LOCATION

pytest_plugins = ["tests.worlds"]

TODAY = dt.datetime(2026, 7, 1, 10, 0, tzinfo=clock.CST)
OPENED = dt.date(2025, 1, 1)
_counter = itertools.count()


def pg_admin_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def _pg_admin() -> Engine:
    url = pg_admin_url()
    assert url
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def db_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated template database: a file path (SQLite) or a database name (PostgreSQL)."""
    if pg_admin_url():
        # Unique per test session, not per process: a test that runs pytest in process
        # (tests/test_books_verified.py) must not drop the outer session's template.
        name = f"sf_template_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(make_url(pg_admin_url()).set(database=name).render_as_string(False))
        upgrade(engine, SCRIPT_LOCATION)
        engine.dispose()
        yield name
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        return
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, SCRIPT_LOCATION)
    engine.dispose()  # checkpoints the WAL into the main file
    yield str(path)


# Shared by the per-test verifications: each test's database has its own engine, and
# compiling verify's statements afresh for every test would cost more than running them.
_verify_statements: dict[object, object] = {}


def books_problems(url: str, workdir: Path) -> list[str]:
    """What `ledger verify` and `audit verify` would report on this database."""
    from audit import verify_chain
    from grants.verify import check_projects
    from ledger.funds import list_funds
    from ledger.verify import verify_fund

    engine = make_engine(url)
    try:
        cached = engine.execution_options(compiled_cache=_verify_statements)
        with make_session_factory(cached)() as session:
            chain = verify_chain(session)
            problems = [] if chain.ok else [f"audit verify: {chain.problem}"]
            for fund in list_funds(session):
                report = verify_fund(session, fund, checks=[check_projects],
                                     keep=workdir / f"verified-{fund.code}.beancount")
                problems.extend(f"ledger verify {fund.code}: {p}" for p in report.problems)
            return problems
    finally:
        engine.dispose()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if report.when == "call":
        item.stash[_test_failed] = report.failed
    return report


_test_failed = pytest.StashKey[bool]()


def _books_verify(request: pytest.FixtureRequest, url: str, workdir: Path) -> None:
    """The books a test leaves behind pass `ledger verify` and `audit verify`, unless
    the test tampers with them on purpose (``@pytest.mark.tampers``) or failed already."""
    if request.node.get_closest_marker("tampers") or request.node.stash.get(_test_failed, True):
        return
    with locale_as("en"):
        problems = books_problems(url, workdir)
    if problems:
        pytest.fail("the books this test left do not verify (mark the test "
                    "@pytest.mark.tampers if it corrupts them on purpose):\n  "
                    + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def database_url(db_template: str, tmp_path: Path,
                 request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database for this test, cloned from the template; verified at the end."""
    if pg_admin_url():
        name = f"sf_t_{os.getpid()}_{next(_counter)}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{db_template}"'))
        url = make_url(pg_admin_url()).set(database=name).render_as_string(False)
        try:
            yield url
            _books_verify(request, url, tmp_path)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        return
    path = tmp_path / "test.db"
    shutil.copyfile(db_template, path)
    yield f"sqlite:///{path}"
    _books_verify(request, f"sqlite:///{path}", tmp_path)


@pytest.fixture
def empty_url(tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, on the suite's database system (for tests that
    build one revision by revision)."""
    if not pg_admin_url():
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"sf_empty_{os.getpid()}"
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(pg_admin_url()).set(database=name).render_as_string(False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine: Engine, instance_folder: Path) -> sessionmaker[Session]:
    """Sessions carrying the test's keys (those of ``instance_folder``), as the app's do."""
    made = make_session_factory(engine)
    keep_protector(made, Protector(os.environ["SPECIALFUND_DATA_KEY"].encode(),
                                   os.environ["SPECIALFUND_HASH_KEY"].encode()))
    return made


@pytest.fixture
def session(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    yield session
    session.rollback()
    session.close()


@pytest.fixture(autouse=True)
def instance_folder(tmp_path, monkeypatch):
    """Each test's own instance folder and keys: nothing touches the checkout's instance/.
    Tests run as production does (keys required, none generated)."""
    from core.protection import generate_keys

    data_key, hash_key = generate_keys()
    monkeypatch.delenv("SPECIALFUND_ENV", raising=False)
    # Tests make many requests from one address; tests/webapp/test_rate_limits.py turns
    # the limits on for its own apps.
    monkeypatch.setenv("SPECIALFUND_RATE_LIMITS", "0")
    monkeypatch.setenv("SPECIALFUND_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", "test-secret-key-" * 4)
    monkeypatch.setenv("SPECIALFUND_DATA_KEY", data_key)
    monkeypatch.setenv("SPECIALFUND_HASH_KEY", hash_key)
    return tmp_path / "instance"


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch):
    """Argon2 at full strength costs ~0.1 s a hash; tests hash many passwords."""
    from argon2 import PasswordHasher

    from people import users

    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                         parallelism=1))


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[dt.datetime]:
    """Every test runs on 2026-07-01 in China Standard Time, in Chinese."""
    with clock.frozen_at(TODAY), locale_as("zh_CN"):
        yield TODAY


@pytest.fixture
def actor() -> Actor:
    return Actor("tester", "finance")


@pytest.fixture
def make_fund(factory: sessionmaker[Session], actor: Actor) -> Callable[..., str]:
    """Open a fund (committed) and return its code."""
    codes = (f"F{n}" for n in itertools.count(1))

    def make(code: str | None = None, parent: str | None = None,
             opened_on: dt.date = OPENED) -> str:
        code = code or next(codes)
        with transaction(factory) as s:
            add_fund(s, actor, code=code, name_zh=f"测试基金{code}", name_en=f"Test fund {code}",
                     opened_on=opened_on, parent_code=parent)
        return code

    return make


@pytest.fixture
def post(factory: sessionmaker[Session], actor: Actor) -> Callable[..., object]:
    """Post one event in its own committed transaction: post("donation", "F1", ...)."""
    from ledger.events import EVENTS

    def run(event: str, fund: str, **kwargs: object) -> object:
        with transaction(factory) as s:
            return EVENTS[event](s, actor, fund, **kwargs)

    return run


@pytest.fixture
def run(database_url, monkeypatch, capsys):
    """Run `specialfund ARGS...` as an operator would, in English, with ``stdin`` as its
    standard input; returns (exit status, stdout, stderr). It names no user: steps reserved
    to a role need ``run_as``."""
    from webapp.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SPECIALFUND_ACTOR", "cli-test")
    monkeypatch.setenv("SPECIALFUND_LANG", "en")
    monkeypatch.delenv("SPECIALFUND_TOKEN", raising=False)

    def invoke(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        with pytest.raises(SystemExit) as done:
            main(list(args))
        out, err = capsys.readouterr()
        return done.value.code or 0, out, err

    return invoke


@pytest.fixture
def run_as(run):
    """run_as("fin1", ARGS...): `specialfund --user fin1 ARGS...` with the user's password
    (the worlds' PASSWORD unless given) as the first line of standard input and ``stdin``
    after it."""
    from tests.worlds import PASSWORD

    def invoke(user: str, *args: str, stdin: str = "",
               password: str = PASSWORD) -> tuple[int, str, str]:
        return run("--user", user, *args, stdin=f"{password}\n{stdin}")

    return invoke
