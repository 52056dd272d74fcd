"""Children's personal data: encryption at rest, keyed hashes, masking.

The keys come from configuration (``SPECIALFUND_DATA_KEY`` for Fernet encryption,
``SPECIALFUND_HASH_KEY`` for the HMAC of ID numbers) and never from the database.
The keyed hash lets the system find the same child in two projects, in any county,
without decrypting anything; without the key the hash reveals nothing.

The data key may be several Fernet keys separated by commas, newest first: values are
encrypted with the newest and read with any of them, so a key can be replaced while
the servers run; ``rotate_encrypted`` then re-encrypts every stored value with the
newest key (``specialfund keys rotate-data``), after which the old key can go.
Encrypted columns are the binary columns whose names end in ``_ct``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Column, LargeBinary, MetaData, Table, select, update
from sqlalchemy.orm import Session

from core.errors import InvalidInput

_ID = re.compile(r"^[0-9]{17}[0-9X]$")  # [0-9], unlike \d, matches no other script's digits
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def normalize_id(value: str) -> str:
    return value.strip().upper().replace(" ", "")


def validate_id(value: str) -> str:
    """A mainland resident ID number (GB 11643): 18 characters with a valid check digit."""
    number = normalize_id(value)
    if not _ID.match(number):
        raise InvalidInput("An ID number has 17 digits and a check digit (0–9 or X).")
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True))
    if _CHECK[total % 11] != number[17]:
        raise InvalidInput("The ID number's check digit is wrong; please check the number.")
    birth_date(number)
    return number


def birth_date(number: str) -> dt.date:
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidInput("The ID number does not contain a valid birth date.") from None


def age_on(number: str, day: dt.date) -> int:
    born = birth_date(number)
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def mask_id(number: str) -> str:
    """510***********1234: region prefix and last four only."""
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def data_keys(value: bytes | str) -> list[bytes]:
    """The Fernet keys of a data-key setting: one key, or several separated by commas,
    newest first. Raises ValueError naming the position of a key that is not one."""
    raw = value.encode("ascii") if isinstance(value, str) else value
    keys = [k.strip() for k in raw.split(b",")]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ValueError(position) from None
    return keys


@dataclass(frozen=True)
class Protector:
    data_key: bytes  # one Fernet key, or several separated by commas, newest first
    hash_key: bytes

    @cached_property
    def _fernet(self) -> MultiFernet:
        return MultiFernet([Fernet(key) for key in data_keys(self.data_key)])

    def encrypt(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken:
            raise InvalidInput("Protected data cannot be read with the configured key.") from None

    def rotate(self, token: bytes) -> bytes:
        """The same value encrypted with the newest key (read with any configured key)."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            raise InvalidInput("Protected data cannot be read with the configured key.") from None

    def id_hash(self, number: str) -> str:
        return hmac.new(self.hash_key, normalize_id(number).encode("ascii"),
                        hashlib.sha256).hexdigest()


def generate_keys() -> tuple[str, str]:
    """A fresh (data key, hash key) pair, for set-up."""
    return Fernet.generate_key().decode("ascii"), Fernet.generate_key().decode("ascii")


def encrypted_columns(metadata: MetaData) -> list[tuple[Table, list[Column[bytes]]]]:
    """Every table with encrypted columns (binary, named ``*_ct``), and those columns."""
    found = []
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns
                   if c.name.endswith("_ct") and isinstance(c.type, LargeBinary)]
        if columns:
            found.append((table, columns))
    return found


def rotate_encrypted(session: Session, protector: Protector,
                     metadata: MetaData) -> Counter[str]:
    """Re-encrypt every stored protected value with the newest data key, in the caller's
    transaction; returns how many values of each ``table.column`` were re-encrypted.
    A value no configured key can read stops the whole rotation (nothing is changed)."""
    counts: Counter[str] = Counter()
    for table, columns in encrypted_columns(metadata):
        keys = list(table.primary_key.columns)
        query = select(*keys, *columns).order_by(*keys)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        for row in session.execute(query).mappings():
            values = {}
            for column in columns:
                if row[column] is not None:
                    values[column.name] = protector.rotate(bytes(row[column]))
                    counts[f"{table.name}.{column.name}"] += 1
            if values:
                session.execute(update(table).where(*(k == row[k] for k in keys))
                                .values(**values))
    return counts
