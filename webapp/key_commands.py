"""``specialfund keys``: make the keys, and replace the data key.

The session key and the two keys that protect children's data come from the
environment (``webapp.config``). ``keys generate`` prints a fresh set as environment
lines; ``keys rotate-data`` re-encrypts every protected value with the newest data
key while the older keys, listed after it, still read what is not yet re-encrypted.
"""

from __future__ import annotations

import hashlib

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

import audit

# Every model on Base.metadata, as Alembic sees it: the protected columns are found there.
import audit.models
import grants.models  # noqa: F401
import ledger.income_models
import ledger.models  # noqa: F401
import people.models  # noqa: F401
import reports.models  # noqa: F401
from core.db import Base
from core.errors import InvalidInput
from core.i18n import gettext as _
from core.protection import Protector, data_keys, rotate_encrypted
from core.signing import new_signing_key
from webapp.config import KEY_NAMES, SIGNING_KEY, new_keys
from webapp.console import actor, in_transaction, say

keys_group = AppGroup("keys", help="The session key and the keys that protect children's data.")


def fingerprint(key: bytes) -> str:
    """Tells keys apart in the audit log and on screen; reveals nothing of the key."""
    return hashlib.sha256(key).hexdigest()[:12]


@keys_group.command("generate", with_appcontext=False)
@click.option("--data-key", "data_key_only", is_flag=True,
              help="Print only a new SPECIALFUND_DATA_KEY (to rotate the data key)")
def keys_generate(data_key_only: bool) -> None:
    """Print a new SECRET_KEY, SPECIALFUND_DATA_KEY, SPECIALFUND_HASH_KEY and
    SPECIALFUND_SIGNING_KEY (which signs the published static site) as environment
    lines (NAME=value). Give every server the same keys."""
    keys = {**new_keys(), SIGNING_KEY: new_signing_key()}
    names = ("SPECIALFUND_DATA_KEY",) if data_key_only else (*KEY_NAMES, SIGNING_KEY)
    for name in names:
        click.echo(f"{name}={keys[name]}")


@keys_group.command("rotate-data")
@in_transaction
def keys_rotate_data(session: Session) -> None:
    """Re-encrypt every protected value (children's names, ID numbers and guardians,
    donors' ID numbers) with the first key of SPECIALFUND_DATA_KEY, in one transaction.

    Set SPECIALFUND_DATA_KEY=NEW,OLD on every server first; run this; then keep only NEW.
    """
    keys = data_keys(str(current_app.config["DATA_KEY"]))
    if len(keys) < 2:
        raise InvalidInput("SPECIALFUND_DATA_KEY holds one key: put the new key first and the "
                           "old one after it, separated by a comma (NEW,OLD), then run this "
                           "again.")
    protector = Protector(b",".join(keys), str(current_app.config["HASH_KEY"]).encode())
    counts = rotate_encrypted(session, protector, Base.metadata)
    total = sum(counts.values())
    audit.record(session, actor(), "keys.rotate-data", "data-key", fingerprint(keys[0]),
                 after={"key": fingerprint(keys[0]),
                        "retired": [fingerprint(k) for k in keys[1:]],
                        "values": total, "columns": dict(sorted(counts.items()))})
    for column, count in sorted(counts.items()):
        say(f"{column}: {count}")
    say(_("{count} protected values re-encrypted with data key {key}. Now set "
          "SPECIALFUND_DATA_KEY to that key alone on every server.",
          count=total, key=fingerprint(keys[0])))
