"""core.backup without the app: PostgreSQL's tools found or refused in one clear
sentence, the manifest's paths kept inside the backup, heads compared line by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from core import backup
from core.errors import DomainError, InvalidInput
from core.hashing import sha256_of
from core.i18n import locale_as


@pytest.fixture(autouse=True)
def english():
    """The messages are read in English here (the translations have their own test)."""
    with locale_as("en"):
        yield


def fake_tool(folder: Path, name: str, version: str) -> None:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n", encoding="utf-8")
    path.chmod(0o755)


def test_a_missing_pg_dump_is_named_with_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DomainError) as refused:
        backup._pg_tool("pg_dump", 15)
    message = refused.value.message
    assert "pg_dump is not installed" in message and "postgresql-client-15" in message
    assert "\n" not in message


def test_a_pg_dump_older_than_the_server_is_refused(monkeypatch, tmp_path):
    fake_tool(tmp_path / "bin", "pg_dump", "14.11")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(DomainError, match="older than the server's PostgreSQL 15"):
        backup._pg_tool("pg_dump", 15)
    fake_tool(tmp_path / "bin", "pg_dump", "16.2")  # a newer client reads an older server
    assert backup._pg_tool("pg_dump", 15) == str(tmp_path / "bin" / "pg_dump")


def test_the_password_reaches_the_tools_in_their_environment_only():
    url = make_url("postgresql+psycopg://fund:s3cr'et@db.example:5433/special?sslmode=require")
    conninfo, env = backup._pg_connection(url)
    assert "s3cr" not in conninfo and env["PGPASSWORD"] == "s3cr'et"
    assert conninfo == ("host='db.example' port='5433' user='fund' dbname='special' "
                        "sslmode='require'")


@pytest.mark.parametrize("name", ["../outside", "/etc/passwd", "attachments/../../x",
                                  "secrets.toml", "attachments\\..\\x", ""])
def test_a_manifest_path_outside_the_backup_is_refused(tmp_path, name):
    folders = {"attachments": tmp_path / "a", "published": tmp_path / "p"}
    with pytest.raises(InvalidInput, match="no backup of this app holds"):
        backup._listed_path(tmp_path, name, folders)
    assert backup._listed_path(tmp_path, "attachments/x.pdf", folders) == \
        tmp_path / "attachments" / "x.pdf"


def test_a_folder_without_our_manifest_is_not_a_backup(tmp_path):
    with pytest.raises(InvalidInput, match=r"has no manifest\.json"):
        backup.read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "other"}), encoding="utf-8")
    with pytest.raises(InvalidInput, match="not a manifest of this app's backups"):
        backup.read_manifest(tmp_path)


def test_heads_are_compared_line_by_line():
    expected = {"funds": {"YJQ": {"entry_count": 3, "last_entry_hash": "a"}},
                "audit": {"YJQ": {"seq": 9, "id": 12, "hash": "h"}}}
    assert backup.differences(expected, expected) == []
    found = {"funds": {"YJQ": {"entry_count": 2, "last_entry_hash": "a"},
                       "AYX": {"entry_count": 0, "last_entry_hash": "g"}},
             "audit": {"YJQ": {"seq": 9, "id": 12, "hash": "h"}}}
    assert backup.differences(expected, found) == [
        "funds.AYX: None ≠ {'entry_count': 0, 'last_entry_hash': 'g'}",
        "funds.YJQ.entry_count: 3 ≠ 2"]


def test_files_are_hashed_as_sha256(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    assert sha256_of(path) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
