"""Children's personal data: encryption at rest, keyed hashes, masking.

The keys come from configuration (``SPECIALFUND_DATA_KEY`` for Fernet encryption,
``SPECIALFUND_HASH_KEY`` for the HMAC of ID numbers) and never from the database.
The keyed hash lets the system find the same child in two projects, in any county,
without decrypting anything; without the key the hash reveals nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken

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


@dataclass(frozen=True)
class Protector:
    data_key: bytes
    hash_key: bytes

    def encrypt(self, text: str) -> bytes:
        return Fernet(self.data_key).encrypt(text.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        try:
            return Fernet(self.data_key).decrypt(token).decode("utf-8")
        except InvalidToken:
            raise InvalidInput("Protected data cannot be read with the configured key.") from None

    def id_hash(self, number: str) -> str:
        return hmac.new(self.hash_key, normalize_id(number).encode("ascii"),
                        hashlib.sha256).hexdigest()


def generate_keys() -> tuple[str, str]:
    """A fresh (data key, hash key) pair, for set-up."""
    return Fernet.generate_key().decode("ascii"), Fernet.generate_key().decode("ascii")
