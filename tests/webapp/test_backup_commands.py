"""`specialfund backup` and `specialfund restore`, as an operator runs them: a backup
restores into a new empty database and folders with the same books and files, and a
restore that cannot be trusted or would overwrite something changes nothing."""

from __future__ import annotations

import filecmp
import json
import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from core.db import make_engine, transaction
from grants.attachments import store
from grants.models import Project
from ledger.balances import balances
from ledger.funds import list_funds
from ledger.heads import book_heads
from people.users import find_user
from tests.conftest import _pg_admin, pg_admin_url

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
KEYS = ("SECRET_KEY", "SPECIALFUND_DATA_KEY", "SPECIALFUND_HASH_KEY")


@pytest.fixture
def empty_target(tmp_path, monkeypatch):
    """point() -> (url, instance folder): a new empty database and instance folder, which
    the console uses from then on (same keys)."""
    made: list[str] = []

    def point() -> tuple[str, Path]:
        if pg_admin_url():
            name = f"sf_restore_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            admin = _pg_admin()
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
            admin.dispose()
            made.append(name)
            url = pg_admin_url().rsplit("/", 1)[0] + f"/{name}"
        else:
            url = f"sqlite:///{tmp_path / f'restored-{len(made)}.db'}"
            made.append(url)
        instance = tmp_path / f"restored-instance-{len(made)}"
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("SPECIALFUND_INSTANCE", str(instance))
        return url, instance

    yield point
    if pg_admin_url():
        admin = _pg_admin()
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def attach(factory, folder: Path, username: str, data: bytes = PDF) -> None:
    """A file attached to the first project of the user's fund, as the pages store it."""
    with transaction(factory) as session:
        user = find_user(session, username)
        project = session.execute(select(Project).where(
            Project.fund_id == user.jurisdiction_id).order_by(Project.id)).scalars().first()
        store(session, user.actor(), project, filename="申报书.pdf", data=data, folder=folder)


def tables(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return inspect(conn).get_table_names()
    finally:
        engine.dispose()


def books(url: str) -> tuple[dict, dict]:
    """Every fund's balances, and the heads of the books."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return ({f.code: balances(session, f) for f in list_funds(session)},
                    book_heads(session))
    finally:
        engine.dispose()


def same_files(left: Path, right: Path) -> bool:
    names = sorted(p.name for p in left.iterdir())
    match, mismatch, errors = filecmp.cmpfiles(left, right, names, shallow=False)
    return names == sorted(p.name for p in right.iterdir()) and not mismatch and not errors \
        and len(match) == len(names)


@pytest.fixture
def backed_up(run, world, draft, factory, instance_folder, tmp_path):
    """A small world with an attachment and a published PDF, backed up into a folder."""
    attach(factory, instance_folder / "attachments", "ca")
    (instance_folder / "published").mkdir(parents=True)
    (instance_folder / "published" / "annual-YJQ-2025.pdf").write_bytes(PDF + b"annual")
    status, out, err = run("backup", str(tmp_path / "backup"))
    assert status == 0, err
    assert "The keys are not in the backup" in out
    return tmp_path / "backup"


@pytest.mark.slow
def test_a_backup_of_the_demo_restores_with_the_same_books_and_files(
        run, database_url, factory, instance_folder, tmp_path, empty_target):
    assert run("init")[0] == 0
    status, _, err = run("demo", "--years", "1")
    assert status == 0, err
    attach(factory, instance_folder / "attachments", "yjq_ca")
    attach(factory, instance_folder / "attachments", "ayx_co", data=PDF + b"second")
    (instance_folder / "published").mkdir()
    (instance_folder / "published" / "annual-YJQ-2025.pdf").write_bytes(PDF + b"annual")
    status, out, err = run("backup", str(tmp_path / "backup"))
    assert status == 0, err
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["heads"]["funds"]) == 6
    assert manifest["heads"] == books(database_url)[1]

    url, instance = empty_target()
    status, out, err = run("restore", str(tmp_path / "backup"))
    assert status == 0, out + err
    assert out.count("OK ") == 6 and "Audit chain YJQ intact" in out and "BROKEN" not in out
    assert "equal the backup's manifest" in out and "Restore complete" in out

    original, restored = books(database_url), books(url)
    assert set(original[0]) == {"ZYS", "YJQ", "AYX", "LZX", "GXQ", "LKQ"}
    assert restored == original  # every balance of every fund, and the heads
    assert same_files(instance_folder / "attachments", instance / "attachments")
    assert same_files(instance_folder / "published", instance / "published")
    assert len(list((instance / "attachments").iterdir())) == 2
    # The restored books pass the verifies as separate commands too.
    assert run("ledger", "verify")[0] == 0
    assert run("audit", "verify")[0] == 0


def test_a_tampered_backup_is_refused_before_anything_is_written(backed_up, run,
                                                                  empty_target):
    attachment = next((backed_up / "attachments").iterdir())
    attachment.write_bytes(attachment.read_bytes() + b"x")
    url, instance = empty_target()
    status, out, err = run("restore", str(backed_up))
    assert status == 1 and out == ""
    assert "does not match its SHA-256" in err and len(err.strip().splitlines()) == 1
    assert tables(url) == [] and not instance.exists()


def test_a_file_not_in_the_manifest_or_missing_is_refused(backed_up, run, empty_target):
    url, instance = empty_target()
    (backed_up / "attachments" / "planted.pdf").write_bytes(PDF)
    status, _, err = run("restore", str(backed_up))
    assert status == 1 and "not in its manifest" in err
    (backed_up / "attachments" / "planted.pdf").unlink()
    (backed_up / "published" / "annual-YJQ-2025.pdf").unlink()
    status, _, err = run("restore", str(backed_up))
    assert status == 1 and "is missing from the backup" in err
    assert tables(url) == [] and not instance.exists()


def test_a_manifest_naming_a_path_outside_the_backup_is_refused(backed_up, run, empty_target,
                                                                tmp_path):
    manifest = json.loads((backed_up / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["attachments/../../outside.pdf"] = "0" * 64
    (backed_up / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    url, _ = empty_target()
    status, _, err = run("restore", str(backed_up))
    assert status == 1 and "no backup of this app holds" in err
    assert tables(url) == []


def test_restored_books_that_are_not_the_manifests_fail_the_restore(backed_up, run,
                                                                   empty_target):
    manifest = json.loads((backed_up / "manifest.json").read_text(encoding="utf-8"))
    manifest["heads"]["funds"]["YJQ"]["entry_count"] += 1
    (backed_up / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    empty_target()
    status, out, err = run("restore", str(backed_up))
    assert status == 1
    assert "funds.YJQ.entry_count: 3 ≠ 2" in out and "Restore FAILED" in err


def test_restore_into_a_database_or_folder_in_use_is_refused_and_changes_nothing(
        backed_up, run, database_url, instance_folder, empty_target):
    before = books(database_url)
    attachments = sorted(p.name for p in (instance_folder / "attachments").iterdir())
    status, out, err = run("restore", str(backed_up))  # into the database it came from
    assert status == 1 and out == ""
    assert "not empty" in err and len(err.strip().splitlines()) == 1
    assert books(database_url) == before
    assert sorted(p.name for p in (instance_folder / "attachments").iterdir()) == attachments

    url, instance = empty_target()  # an empty database, but an attachment already there
    (instance / "attachments").mkdir(parents=True)
    (instance / "attachments" / "other.pdf").write_bytes(PDF)
    status, _, err = run("restore", str(backed_up))
    assert status == 1 and "is not empty" in err
    assert tables(url) == [] and [p.name for p in (instance / "attachments").iterdir()] == [
        "other.pdf"]


def test_the_backup_holds_no_key(backed_up, instance_folder):
    manifest = json.loads((backed_up / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["keys"]["included"] is False
    assert set(manifest["keys"]["names"]) == set(KEYS)
    assert sorted(manifest["files"]) == sorted(
        p.relative_to(backed_up).as_posix() for p in backed_up.rglob("*")
        if p.is_file() and p.name != "manifest.json")
    for path in backed_up.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for name in KEYS:
                assert os.environ[name].encode() not in content, (name, path)


def test_secrets_in_the_instance_folder_are_not_copied(run, world, instance_folder, tmp_path):
    instance_folder.mkdir(parents=True, exist_ok=True)
    secrets = "".join(f'{name} = "{os.environ[name]}"\n' for name in KEYS)
    (instance_folder / "secrets.toml").write_text(secrets, encoding="utf-8")
    status, _, err = run("backup", str(tmp_path / "backup"))
    assert status == 0, err
    assert not list((tmp_path / "backup").rglob("secrets.toml"))
    everything = b"".join(p.read_bytes() for p in (tmp_path / "backup").rglob("*")
                          if p.is_file())
    assert all(os.environ[name].encode() not in everything for name in KEYS)


def test_a_backup_never_writes_into_a_folder_in_use(backed_up, run):
    before = sorted(p.name for p in backed_up.iterdir())
    status, out, err = run("backup", str(backed_up))
    assert status == 1 and out == "" and "not an empty folder" in err
    assert sorted(p.name for p in backed_up.iterdir()) == before
    assert not backed_up.with_name("backup.partial").exists()
