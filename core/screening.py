"""Text that can reach the public is screened for children's personal data.

Two things are looked for (``grants.screening`` puts them together for the
operations that write public text):

- **A resident ID number** (GB 11643): 17 digits and a check character whose check
  is right and whose birth date is a real day, anywhere in the text, whatever is
  written around or inside it (spaces or hyphens between the digits, full-width
  digits, invisible characters). Every child aided today was born after the old
  15-digit numbers were retired (1999–2013), so those are not looked for: a 15-digit
  run is far more often an account or document number.
- **A name on a beneficiary list**, compared by keyed hash (``name_hash``): the
  screen never needs the names in clear, and the hash is worthless without the key.

Refusals name the field and say why; they never repeat the number or the name.

Also here: the invisible characters stripped from names, titles and file names
(bidirectional overrides and isolates, which make text display in another order than
it is stored, and zero-width characters, which hide inside words).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Mapping

from sqlalchemy.orm import Session, sessionmaker

from core.errors import InvalidInput
from core.i18n import gettext
from core.protection import Protector

# Bidi embeddings and overrides (U+202A–U+202E), isolates (U+2066–U+2069), the marks
# (U+200E, U+200F, U+061C), zero-width space, joiners (U+200B–U+200D), word joiner
# (U+2060) and the byte-order mark (U+FEFF).
INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b-\u200d\u2060\ufeff]")

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# Digits, each optionally after one space or hyphen, and perhaps a final check X.
_RUN = re.compile(r"[0-9](?:[ \-]?[0-9])*(?:[ \-]?[Xx])?")
_SEPARATORS = re.compile(r"[ \-]")
_DOTS = re.compile("[\u00b7\u2022\u2027\u30fb\uff65\u2219\u22c5]")  # the dot in 阿依古丽·买买提

# The session's Protector (the keys), for screens that need them: put there by the
# session factory of the app and the console (``keep_protector``).
PROTECTOR = "specialfund.protector"


def strip_invisible(text: str) -> str:
    return INVISIBLE.sub("", text)


def _visible(text: str) -> str:
    """The text as a reader sees it: compatibility forms folded (full-width digits and
    letters), format characters (all of Unicode's category Cf) removed."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(c for c in folded if unicodedata.category(c) != "Cf")


def is_id_number(candidate: str) -> bool:
    """Whether 18 characters are a resident ID number: check character and birth date."""
    if len(candidate) != 18 or not candidate[:17].isdigit() or not candidate[:17].isascii():
        return False
    total = sum(int(d) * w for d, w in zip(candidate[:17], _WEIGHTS, strict=True))
    if _CHECK[total % 11] != candidate[17].upper():
        return False
    try:
        born = dt.date(int(candidate[6:10]), int(candidate[10:12]), int(candidate[12:14]))
    except ValueError:
        return False
    return born.year >= 1900


def contains_id_number(text: str | None) -> bool:
    """Whether a resident ID number is written anywhere in the text."""
    if not text:
        return False
    for run in _RUN.finditer(_visible(text)):
        digits = _SEPARATORS.sub("", run.group())
        for start in range(len(digits) - 17):
            if is_id_number(digits[start:start + 18]):
                return True
    return False


Fields = Iterable[tuple[str, str | None]]  # (message id naming the field, its text)


def screen_id_numbers(fields: Fields) -> None:
    """Refuse the first field that holds an ID number."""
    for field, text in fields:
        if contains_id_number(text):
            raise InvalidInput("{field} contains what looks like a resident ID number. "
                               "Children's ID numbers are never published: remove it.",
                               field=gettext(field))


# --- names, by keyed hash ---------------------------------------------------------------

MIN_NAME = 2  # a single character is not a name to look for


def normalize_name(text: str) -> str:
    """A name or a text as the name screen compares them: as a reader sees it, without
    spaces, one kind of middle dot, case folded."""
    return _DOTS.sub("·", "".join(_visible(text).split())).casefold()


def _keyed(protector: Protector) -> hmac.HMAC:
    return hmac.new(protector.hash_key, b"name\x00", hashlib.sha256)


def name_hash(protector: Protector, name: str) -> tuple[str, int]:
    """The keyed hash of a normalized name, and the name's length in characters."""
    normal = normalize_name(name)
    digest = _keyed(protector)
    digest.update(normal.encode("utf-8"))
    return digest.hexdigest(), len(normal)


def contains_name(protector: Protector, names: Mapping[int, set[str]], text: str | None) -> bool:
    """Whether the text contains one of the names, given as {length: {keyed hash}}: every
    stretch of the normalized text of each length is hashed and looked up."""
    if not text or not names:
        return False
    normal = normalize_name(text)
    base = _keyed(protector)
    for length, digests in names.items():
        if length < MIN_NAME:
            continue
        for start in range(len(normal) - length + 1):
            digest = base.copy()
            digest.update(normal[start:start + length].encode("utf-8"))
            if digest.hexdigest() in digests:
                return True
    return False


def keep_protector(factory: sessionmaker[Session], protector: Protector) -> None:
    """Give every session of a ``sessionmaker`` the keys (``Session.info``)."""
    factory.configure(info={PROTECTOR: protector})


def session_protector(session: Session) -> Protector | None:
    found = session.info.get(PROTECTOR)
    return found if isinstance(found, Protector) else None

