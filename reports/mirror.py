"""The public site as signed static files, and how a copy of it is checked, without Flask.

A published site is a folder of files (the pages, the open data, the annual reports,
the style sheets) plus:

- ``SHA256SUMS``: every file's SHA-256 as ``sha256sum -c`` reads it;
- ``manifest.json``: every file's SHA-256 (``SHA256SUMS`` included), when it was made,
  the app's version, each fund's journal head and the audit chain's head, and the
  fingerprint of the key that signs it;
- ``manifest.json.sig``: the Ed25519 signature of ``manifest.json``'s exact bytes;
- ``public-key.pem``: the public half of that key (a convenience: trust the key printed
  on the live site, not the one in a copy).

The web layer renders the files (``webapp.static_site``); this module writes, signs and
verifies them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy.orm import Session

from core import clock
from core.errors import Conflict, InvalidInput
from core.hashing import sha256_of
from core.i18n import gettext
from core.signing import fingerprint, load_public_key, public_pem, sign, signature_holds
from ledger.heads import book_heads

FORMAT = "specialfund-static/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
PUBLIC_KEY = "public-key.pem"
SUMS = "SHA256SUMS"
UNLISTED = frozenset({MANIFEST, SIGNATURE, PUBLIC_KEY})  # the files the manifest cannot list


def heads(session: Session) -> dict[str, Any]:
    """Where the books end as the site shows them: each fund's journal head and the audit
    chain's head -- the same heads a backup records (``ledger.heads``), in one place so
    a change of the audit chain changes both."""
    return book_heads(session)


def _checked_name(name: str) -> PurePosixPath:
    """A relative path that stays inside the folder, or refused."""
    path = PurePosixPath(name)
    if (not name or path.is_absolute() or any(part in ("", ".", "..") for part in path.parts)
            or "\\" in name or "\n" in name):
        raise InvalidInput("{path} is not a plain path inside the folder.", path=name)
    return path


def _sums(files: Mapping[str, str]) -> bytes:
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(files.items())).encode()


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """One file per line, so ``grep`` finds a file's sum in it."""
    return (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


@dataclass(frozen=True)
class Published:
    folder: Path
    manifest: dict[str, Any]
    files: int
    key_fingerprint: str


def _previous_site(folder: Path) -> bool:
    return (folder / MANIFEST).is_file()


def write_site(folder: Path, files: Mapping[str, bytes], *, book_heads: Mapping[str, Any],
               app_version: str, key: Ed25519PrivateKey) -> Published:
    """Write ``files`` (relative path: content) into ``folder`` with their sums, the
    signed manifest and the public key. ``folder`` is new, empty, or a site published
    before, which is replaced whole once the new one is complete."""
    if folder.exists() and any(folder.iterdir()) and not _previous_site(folder):
        raise Conflict("{path} is neither empty nor a site published before; choose a new "
                       "folder.", path=str(folder))
    partial = folder.with_name(folder.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    sums: dict[str, str] = {}
    for name, content in files.items():
        relative = _checked_name(name)
        if str(relative) in UNLISTED or str(relative) == SUMS:
            raise InvalidInput("{path} is a name the manifest keeps for itself.", path=name)
        target = partial.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        sums[str(relative)] = hashlib.sha256(content).hexdigest()
    listing = _sums(sums)
    (partial / SUMS).write_bytes(listing)
    public = key.public_key()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "generated_at": clock.now().isoformat(timespec="seconds"),
        "app_version": app_version,
        "heads": dict(book_heads),
        "public_key_sha256": fingerprint(public),
        "files": {**sums, SUMS: hashlib.sha256(listing).hexdigest()},
    }
    data = manifest_bytes(manifest)
    (partial / MANIFEST).write_bytes(data)
    (partial / SIGNATURE).write_bytes(sign(key, data))
    (partial / PUBLIC_KEY).write_bytes(public_pem(public))
    if folder.exists():
        retired = folder.with_name(folder.name + ".old")
        if retired.exists():
            shutil.rmtree(retired)
        folder.rename(retired)
        partial.rename(folder)
        shutil.rmtree(retired)
    else:
        partial.rename(folder)
    return Published(folder, manifest, len(manifest["files"]), fingerprint(public))


def _files_under(folder: Path) -> Iterator[str]:
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            yield path.relative_to(folder).as_posix()


def _signature_problems(folder: Path, data: bytes, key: Ed25519PublicKey) -> list[str]:
    problems = []
    signature = folder / SIGNATURE
    if not signature.is_file():
        problems.append(gettext("manifest.json.sig is missing: the manifest is not signed."))
    elif not signature_holds(key, data, signature.read_bytes()):
        problems.append(gettext(
            "The signature of manifest.json does not hold for the key {key}: the manifest "
            "was changed or signed by another key.", key=fingerprint(key)))
    copied_key = folder / PUBLIC_KEY
    if copied_key.is_file() and copied_key.read_bytes().strip() != public_pem(key).strip():
        problems.append(gettext("public-key.pem in the folder is not the key {key}.",
                                key=fingerprint(key)))
    return problems


def _file_problems(folder: Path, listed: Mapping[str, str]) -> list[str]:
    problems = []
    for name, expected in sorted(listed.items()):
        try:
            relative = _checked_name(name)
        except InvalidInput as refused:
            problems.append(refused.message)
            continue
        path = folder.joinpath(*relative.parts)
        if not path.is_file():
            problems.append(gettext("Missing: {path}", path=name))
        elif (actual := sha256_of(path)) != expected:
            problems.append(gettext("Changed: {path} (SHA-256 {actual}, the manifest says "
                                    "{expected})", path=name, actual=actual,
                                    expected=expected))
    problems.extend(gettext("Not in the manifest: {path}", path=name)
                    for name in _files_under(folder)
                    if name not in listed and name not in UNLISTED)
    sums = folder / SUMS
    if sums.is_file() and SUMS in listed and sha256_of(sums) == listed[SUMS] \
            and sums.read_bytes() != _sums({k: v for k, v in listed.items() if k != SUMS}):
        problems.append(gettext("SHA256SUMS does not list what manifest.json lists."))
    return problems


def verify_site(folder: Path, key: Ed25519PublicKey) -> list[str]:
    """Every problem of the copy in ``folder``, one sentence each (none: it is the site
    signed with ``key``, complete and unchanged)."""
    if not (folder / MANIFEST).is_file():
        return [gettext("{path} has no manifest.json: it is not a published site.",
                        path=str(folder))]
    data = (folder / MANIFEST).read_bytes()
    problems = _signature_problems(folder, data, key)
    try:
        manifest = json.loads(data)
        listed = manifest["files"]
        if manifest.get("format") != FORMAT or not isinstance(listed, dict):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        return [*problems, gettext("manifest.json is not the manifest of a published site.")]
    return problems + _file_problems(folder, listed)


def read_public_key(path: Path) -> Ed25519PublicKey:
    try:
        return load_public_key(path.read_bytes())
    except OSError as error:
        raise InvalidInput("{path} cannot be read ({reason}).", path=str(path),
                           reason=error.strerror or type(error).__name__) from None
