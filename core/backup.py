"""Backups of a whole installation and their restore, without Flask and without the
domain's types.

A backup is a folder: the database (SQLite through its online backup API, PostgreSQL
through ``pg_dump`` in its custom format), the files the app keeps beside it (each
named folder: attachments, published PDFs) and ``manifest.json``, which holds the
SHA-256 of every other file, the app's version, the database's kind and Alembic
revision, and the heads of the books (whatever ``read_heads`` returns: the ledger gives
each fund's journal head and the audit head). The keys are never in it: the manifest
says so, and the caller never hands them over.

The database is copied first, in one snapshot from which the heads and the revision are
read too (SQLite: read from the copy itself; PostgreSQL: a REPEATABLE READ transaction
whose snapshot ``pg_dump --snapshot`` shares). The folders are copied after it, so a file
a row of the copy names is in the backup (files are only ever added). The backup is
written into ``DIR.partial`` and renamed to ``DIR`` once complete: a folder named DIR is a
whole backup.

A restore refuses, changing nothing, unless the manifest is ours, every file it lists
hashes to its SHA-256 (and nothing else is there), the database is empty (no table at all)
and every folder is empty or missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from core import clock
from core.errors import Conflict, DomainError, InvalidInput
from core.hashing import sha256_of

FORMAT = "specialfund-backup/1"
MANIFEST = "manifest.json"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
KEY_NAMES = ("SECRET_KEY", "SPECIALFUND_DATA_KEY", "SPECIALFUND_HASH_KEY")
KEYS_NOTE = (
    "The keys are not in this backup: SECRET_KEY, SPECIALFUND_DATA_KEY and "
    "SPECIALFUND_HASH_KEY (the environment, or instance/secrets.toml in local development) "
    "were not copied. Keep them separately from the backups (a password manager or a "
    "sealed envelope, never beside the backup): the data key reads children's data in "
    "this backup, and a restore needs the same keys.")
PG_TIMEOUT = 6 * 3600  # seconds a pg_dump or pg_restore may run

ReadHeads = Callable[[Session], dict[str, Any]]


@dataclass(frozen=True)
class Written:
    """What ``write_backup`` wrote: its folder, its manifest and the manifest's SHA-256
    (worth noting down elsewhere: it vouches for every other file)."""

    folder: Path
    manifest: dict[str, Any]
    manifest_sha256: str


def database_kind(engine: Engine) -> str:
    kind = engine.dialect.name
    if kind not in DATABASE_FILES:
        raise InvalidInput("Backups are made of SQLite and PostgreSQL databases only, "
                           "not {kind}.", kind=kind)
    return kind


def _sqlite_path(engine: Engine) -> Path:
    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise InvalidInput("The SQLite database must be a file named in DATABASE_URL "
                           "(sqlite:///path) to be backed up or restored.")
    return Path(name)


def _files_under(folder: Path) -> Iterator[Path]:
    """Every regular file below ``folder``, in a stable order."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


# --- PostgreSQL's own tools -----------------------------------------------------------


def _pg_tool(name: str, server_major: int) -> str:
    """The path of ``pg_dump`` or ``pg_restore``, if installed and not older than the
    server (an older one refuses a newer server's database)."""
    path = shutil.which(name)
    if path is None:
        raise DomainError("{tool} is not installed: PostgreSQL backups need PostgreSQL's "
                          "client tools of the server's version {major} or newer (Debian: "
                          "apt-get install postgresql-client-{major}).", tool=name,
                          major=server_major)
    answer = subprocess.run([path, "--version"], capture_output=True, text=True,  # noqa: S603
                            check=False, timeout=60)
    match = re.search(r"(\d+)(?:\.\d+)?", answer.stdout)
    if answer.returncode != 0 or match is None:
        raise DomainError("{tool} --version did not answer with a version.", tool=path)
    if int(match.group(1)) < server_major:
        raise DomainError("{tool} is version {version}, older than the server's PostgreSQL "
                          "{major}: install postgresql-client-{major} or newer.", tool=path,
                          version=match.group(1), major=server_major)
    return path


def _conninfo_value(value: object) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _pg_connection(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for the tools, and their environment: the password goes
    in PGPASSWORD, never on a command line others can read."""
    parts = {"host": url.host, "port": url.port, "user": url.username, "dbname": url.database}
    parts.update({k: v for k, v in url.query.items() if isinstance(v, str)})
    conninfo = " ".join(f"{k}={_conninfo_value(v)}" for k, v in parts.items() if v is not None)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return conninfo, env


def _run_pg(command: list[str], env: dict[str, str], tool: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True,  # noqa: S603
                          check=False, timeout=PG_TIMEOUT)
    if done.returncode != 0:
        # The first line only: later ones may quote rows.
        first = next((line for line in done.stderr.splitlines() if line.strip()), "")
        raise DomainError("{tool} failed (exit status {status}): {detail}", tool=tool,
                          status=done.returncode, detail=first[:300])


def _server_major(conn: Connection) -> int:
    version = conn.dialect.server_version_info or (0,)
    return int(version[0])


# --- writing a backup ---------------------------------------------------------------


def _dump_sqlite(engine: Engine, target: Path, read_heads: ReadHeads
                 ) -> tuple[dict[str, Any], str | None]:
    source = _sqlite_path(engine)
    if not source.is_file():
        raise InvalidInput("There is no database at {path} to back up.", path=str(source))
    with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(target)) as copy:
        live.backup(copy)  # one consistent snapshot, writers or not
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
    # The heads are read from the copy: they are the copy's, whatever was written since.
    reader = create_engine(f"sqlite:///{target}")
    try:
        with reader.connect() as conn, Session(bind=conn) as session:
            return read_heads(session), _revision(conn)
    finally:
        reader.dispose()


def _dump_postgresql(engine: Engine, target: Path, read_heads: ReadHeads
                     ) -> tuple[dict[str, Any], str | None]:
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, \
            conn.begin():
        # pg_dump reads the snapshot this transaction holds, so the dump, the heads
        # and the revision are of one moment.
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        with Session(bind=conn) as session:
            heads = read_heads(session)
        revision = _revision(conn)
        tool = _pg_tool("pg_dump", _server_major(conn))
        conninfo, env = _pg_connection(engine.url)
        _run_pg([tool, "--format=custom", f"--snapshot={snapshot}", f"--file={target}",
                 f"--dbname={conninfo}"], env, "pg_dump")
    return heads, revision


def write_backup(engine: Engine, destination: Path, *, folders: Mapping[str, Path],
                 read_heads: ReadHeads, app_version: str) -> Written:
    """Write a backup of the database behind ``engine`` and of ``folders`` (name in the
    backup: folder on disk) into ``destination``, which must not exist or be empty."""
    kind = database_kind(engine)
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise Conflict("{path} already exists and is not an empty folder: give each backup "
                       "a folder of its own.", path=str(destination))
    partial = destination.with_name(destination.name + ".partial")
    if partial.exists():
        raise Conflict("{path} exists: an unfinished backup. Remove it and try again.",
                       path=str(partial))
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial.mkdir(mode=0o700)  # children's data, even encrypted, is for its operators only
    try:
        database = partial / DATABASE_FILES[kind]
        dump = _dump_sqlite if kind == "sqlite" else _dump_postgresql
        heads, revision = dump(engine, database, read_heads)
        for name, folder in folders.items():
            if folder.is_dir():
                for path in _files_under(folder):
                    copy = partial / name / path.relative_to(folder)
                    copy.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, copy)
        files = {path.relative_to(partial).as_posix(): sha256_of(path)
                 for path in _files_under(partial)}
        manifest = {
            "format": FORMAT,
            "created_at": clock.now().isoformat(timespec="seconds"),
            "app_version": app_version,
            "database": {"kind": kind, "file": DATABASE_FILES[kind],
                         "alembic_revision": revision},
            "folders": sorted(folders),
            "heads": heads,
            "keys": {"included": False, "names": list(KEY_NAMES), "note": KEYS_NOTE},
            "files": files,
        }
        body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        (partial / MANIFEST).write_text(body, encoding="utf-8")
        for path in _files_under(partial):
            path.chmod(0o600)
        if destination.exists():
            destination.rmdir()  # empty, checked above
        partial.rename(destination)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return Written(destination, manifest, hashlib.sha256(body.encode("utf-8")).hexdigest())


# --- restoring ------------------------------------------------------------------------


def read_manifest(source: Path) -> dict[str, Any]:
    path = source / MANIFEST
    if not path.is_file():
        raise InvalidInput("{path} is not a backup: it has no {manifest}.", path=str(source),
                           manifest=MANIFEST)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("{path} is not valid JSON.", path=str(path)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidInput("{path} is not a manifest of this app's backups ({format}).",
                           path=str(path), format=FORMAT)
    kind = manifest.get("database", {}).get("kind")
    if kind not in DATABASE_FILES or not isinstance(manifest.get("files"), dict) \
            or DATABASE_FILES[kind] not in manifest["files"]:
        raise InvalidInput("{path} names no database file of a kind this app restores.",
                           path=str(path))
    return manifest


def _listed_path(source: Path, name: object, folders: Mapping[str, Path]) -> Path:
    """A path the manifest lists, refused unless it is the database or below one of the
    folders restored (never absolute, never ``..``)."""
    pure = PurePosixPath(str(name))
    if (not pure.parts or pure.is_absolute() or ".." in pure.parts or "\\" in str(name)
            or (pure.parts[0] not in folders and str(pure) not in DATABASE_FILES.values())):
        raise InvalidInput("The manifest lists {name}, which no backup of this app holds.",
                           name=str(name))
    return source.joinpath(*pure.parts)


def check_files(source: Path, manifest: dict[str, Any], folders: Mapping[str, Path]) -> int:
    """Every file the manifest lists is there with its SHA-256, and nothing else is.
    Returns how many files were checked."""
    listed = {_listed_path(source, name, folders): digest
              for name, digest in manifest["files"].items()}
    for path, digest in listed.items():
        if not path.is_file():
            raise InvalidInput("{file} is missing from the backup.", file=str(path))
        if sha256_of(path) != digest:
            raise InvalidInput("{file} does not match its SHA-256 in the manifest: the "
                               "backup was changed or damaged; nothing was restored.",
                               file=str(path))
    extra = [p for p in _files_under(source) if p not in listed and p.name != MANIFEST]
    if extra:
        raise InvalidInput("{file} is in the backup but not in its manifest; nothing was "
                           "restored.", file=str(extra[0]))
    return len(listed)


def check_empty(engine: Engine, folders: Mapping[str, Path]) -> None:
    """Refuse unless the database has no table at all and every folder is empty."""
    if engine.dialect.name == "sqlite" and not _sqlite_path(engine).exists():
        tables: list[str] = []
    else:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
    engine.dispose()
    if tables:
        raise Conflict("The database is not empty ({count} tables): a backup is restored "
                       "only into a new, empty database (not even after specialfund init). "
                       "Nothing was changed.", count=len(tables))
    for folder in folders.values():
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise Conflict("{path} is not empty: a backup is restored only into empty "
                           "folders. Nothing was changed.", path=str(folder))


def _restore_sqlite(engine: Engine, dump: Path) -> None:
    target = _sqlite_path(engine)
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(dump)) as copy, closing(sqlite3.connect(target)) as live:
        copy.backup(live)


def _restore_postgresql(engine: Engine, dump: Path) -> None:
    with engine.connect() as conn:
        tool = _pg_tool("pg_restore", _server_major(conn))
    conninfo, env = _pg_connection(engine.url)
    # One transaction: a restore that fails leaves the database as empty as it was.
    _run_pg([tool, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
             f"--dbname={conninfo}", str(dump)], env, "pg_restore")


def restore_backup(engine: Engine, source: Path, *, folders: Mapping[str, Path],
                   revision: str | None) -> tuple[dict[str, Any], int]:
    """Restore the backup in ``source`` into the empty database behind ``engine`` and
    the empty ``folders``, after every check that it can be (see the module's doc).
    ``revision`` is this code's Alembic head: a backup of another schema is restored by
    the version that made it, and upgraded after. Returns the manifest and the number
    of files checked."""
    manifest = read_manifest(source)
    kind = manifest["database"]["kind"]
    if kind != database_kind(engine):
        raise InvalidInput("This is a backup of a {kind} database; DATABASE_URL names a "
                           "{target} one.", kind=kind, target=engine.dialect.name)
    made_by = manifest["database"].get("alembic_revision")
    if made_by != revision:
        raise InvalidInput("The backup's schema is revision {theirs}, this version's is "
                           "{ours}: restore it with the version that made it ({version}), "
                           "then upgrade with specialfund init.", theirs=str(made_by),
                           ours=str(revision), version=str(manifest.get("app_version")))
    check_empty(engine, folders)
    checked = check_files(source, manifest, folders)

    dump = source / DATABASE_FILES[kind]
    (_restore_sqlite if kind == "sqlite" else _restore_postgresql)(engine, dump)
    engine.dispose()
    for name, folder in folders.items():
        if (source / name).is_dir():
            for path in _files_under(source / name):
                copy = folder / path.relative_to(source / name)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, copy)
                if sha256_of(copy) != manifest["files"][path.relative_to(source).as_posix()]:
                    raise InvalidInput("{file} was not copied intact.", file=str(copy))
    return manifest, checked


def differences(expected: object, found: object, where: str = "") -> list[str]:
    """Where two JSON-like values differ, one line each: the backup's heads against the
    restored books'."""
    if isinstance(expected, dict) and isinstance(found, dict):
        lines = []
        for key in sorted(set(expected) | set(found), key=str):
            name = f"{where}.{key}" if where else str(key)
            lines.extend(differences(expected.get(key), found.get(key), name))
        return lines
    return [] if expected == found else [f"{where}: {expected} ≠ {found}"]
